package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

var _ upfactory.PolicyStore = (*DB)(nil)

// Plans returns every stored plan, by window name.
func (db *DB) Plans(ctx context.Context) ([]upfactory.WindowPlan, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT window_name, data FROM window_plans ORDER BY window_name`)
	if err != nil {
		return nil, fmt.Errorf("reading plans: %w", err)
	}
	defer rows.Close()
	out := []upfactory.WindowPlan{}
	for rows.Next() {
		var name, data string
		if err := rows.Scan(&name, &data); err != nil {
			return nil, fmt.Errorf("reading plans: %w", err)
		}
		var p upfactory.WindowPlan
		if err := json.Unmarshal([]byte(data), &p); err != nil {
			return nil, fmt.Errorf("decoding plan of window %s: %w", name, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// SavePlan replaces the plan of p.Window and appends entry.
func (db *DB) SavePlan(ctx context.Context, p upfactory.WindowPlan, entry upfactory.LogEntry) error {
	if p.Window == "" {
		return upfactory.Errorf(upfactory.EINVALID, "a plan needs a window")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return err
	}
	body, err := json.Marshal(&p)
	if err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "plan of window %s cannot be written as JSON: %v", p.Window, err)
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO window_plans (window_name, data, updated_at) VALUES (?, ?, ?)
			ON CONFLICT (window_name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
			p.Window, string(body), db.now().UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("saving plan of window %s: %w", p.Window, err)
		}
		return appendEntries(ctx, tx, pending)
	})
}

// Overrides returns every override, oldest first.
func (db *DB) Overrides(ctx context.Context) ([]upfactory.PolicyOverride, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT violation_id, approver, reason, at FROM policy_overrides ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("reading overrides: %w", err)
	}
	defer rows.Close()
	out := []upfactory.PolicyOverride{}
	for rows.Next() {
		var o upfactory.PolicyOverride
		var at string
		if err := rows.Scan(&o.ID, &o.By, &o.Reason, &at); err != nil {
			return nil, fmt.Errorf("reading overrides: %w", err)
		}
		if o.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			return nil, fmt.Errorf("reading override of %s: %w", o.ID, err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

// AddOverride records o and appends entry in one transaction.
func (db *DB) AddOverride(ctx context.Context, o upfactory.PolicyOverride, entry upfactory.LogEntry) error {
	switch {
	case strings.TrimSpace(o.ID) == "":
		return upfactory.Errorf(upfactory.EINVALID, "an override names the violation it lets pass")
	case strings.TrimSpace(o.By) == "":
		return upfactory.Errorf(upfactory.EINVALID, "an override needs the name of the approver who gives it")
	case strings.TrimSpace(o.Reason) == "":
		return upfactory.Errorf(upfactory.EINVALID, "an override needs a reason")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO policy_overrides (violation_id, approver, reason, at) VALUES (?, ?, ?, ?)`,
			o.ID, o.By, o.Reason, o.At.UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("recording override of %s: %w", o.ID, err)
		}
		return appendEntries(ctx, tx, pending)
	})
}
