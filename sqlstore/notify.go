package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// NotifyCursor is the seq of the last entry notifier name handled.
func (db *DB) NotifyCursor(ctx context.Context, name string) (int64, error) {
	var seq int64
	err := db.db.QueryRowContext(ctx, `SELECT seq FROM notify_cursors WHERE name = ?`, name).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the cursor of notifier %s: %w", name, err)
	}
	return seq, nil
}

// SetNotifyCursor records that name handled every entry up to seq.
func (db *DB) SetNotifyCursor(ctx context.Context, name string, seq int64) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_cursors (name, seq) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET seq = excluded.seq`, name, seq)
		return err
	})
}
