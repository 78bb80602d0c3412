package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

var _ upfactory.ReviewStore = (*DB)(nil)

// AddAction stores a and appends entry, in one transaction.
func (db *DB) AddAction(ctx context.Context, a *upfactory.ReviewAction, entry upfactory.LogEntry) error {
	if a.Upgrade == "" || a.Service == "" || strings.TrimSpace(a.Text) == "" || a.CreatedBy == "" {
		return upfactory.Errorf(upfactory.EINVALID, "a review action needs an upgrade, a service, a text and a name")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return err
	}
	stored := *a
	var id int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		if err := appendEntries(ctx, tx, pending); err != nil {
			return err
		}
		stored.Seq = pending.entries[0].Seq
		body, err := json.Marshal(&stored)
		if err != nil {
			return upfactory.Errorf(upfactory.EINVALID, "review action cannot be written as JSON: %v", err)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO review_actions (service, upgrade, seq, data) VALUES (?, ?, ?, ?) RETURNING id`,
			stored.Service, stored.Upgrade, stored.Seq, string(body)).Scan(&id); err != nil {
			return fmt.Errorf("storing review action: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	*a = stored
	a.ID = id
	return nil
}

// CloseAction marks action id done and appends entry.
func (db *DB) CloseAction(ctx context.Context, id int64, at time.Time, by string, entry upfactory.LogEntry) (*upfactory.ReviewAction, error) {
	if by == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "marking a review action done needs a name")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return nil, err
	}
	var out *upfactory.ReviewAction
	err = db.write(ctx, func(tx *sql.Tx) error {
		a, err := scanAction(tx.QueryRowContext(ctx, `SELECT id, data FROM review_actions WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return upfactory.Errorf(upfactory.ENOTFOUND, "no review action %d (upfactory review actions)", id)
		} else if err != nil {
			return err
		}
		if !a.Open() {
			return upfactory.Errorf(upfactory.ECONFLICT, "review action %d was done already, by %s at %s", id, a.DoneBy, a.DoneAt.Format(time.RFC3339))
		}
		a.DoneAt, a.DoneBy = at.UTC(), by
		body, err := json.Marshal(a)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE review_actions SET done_at = ?, data = ? WHERE id = ?`, a.DoneAt.Format(time.RFC3339Nano), string(body), id); err != nil {
			return fmt.Errorf("closing review action %d: %w", id, err)
		}
		out = a
		return appendEntries(ctx, tx, pending)
	})
	return out, err
}

// Actions returns review actions, oldest first.
func (db *DB) Actions(ctx context.Context, f upfactory.ActionFilter) ([]*upfactory.ReviewAction, error) {
	q, args := `SELECT id, data FROM review_actions WHERE 1 = 1`, []any{}
	if f.Service != "" {
		q, args = q+` AND service = ?`, append(args, f.Service)
	}
	if f.Upgrade != "" {
		q, args = q+` AND upgrade = ?`, append(args, f.Upgrade)
	}
	if f.OpenOnly {
		q += ` AND done_at IS NULL`
	}
	return queryJSON(ctx, db.db, "review action", q+` ORDER BY id`, args, setActionID)
}

func scanAction(row interface{ Scan(...any) error }) (*upfactory.ReviewAction, error) {
	return scanJSON(row, "review action", setActionID)
}

func setActionID(a *upfactory.ReviewAction, id int64) { a.ID = id }
