package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/upfactory/upfactory"
)

var _ upfactory.LineStore = (*DB)(nil)

// Upgrades returns upgrades, oldest first.
func (db *DB) Upgrades(ctx context.Context, f upfactory.UpgradeFilter) ([]*upfactory.Upgrade, error) {
	q, args := `SELECT id, data FROM upgrades WHERE 1 = 1`, []any{}
	if f.Service != "" {
		q, args = q+` AND service = ?`, append(args, f.Service)
	}
	if !f.Closed {
		q += ` AND stage NOT IN ('done', 'rolled_back', 'dismissed')`
	}
	rows, err := db.db.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("reading upgrades: %w", err)
	}
	defer rows.Close()
	out := []*upfactory.Upgrade{}
	for rows.Next() {
		var id, data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("reading upgrades: %w", err)
		}
		var u upfactory.Upgrade
		if err := json.Unmarshal([]byte(data), &u); err != nil {
			return nil, fmt.Errorf("decoding upgrade %s: %w", id, err)
		}
		out = append(out, &u)
	}
	return out, rows.Err()
}

// LineCursor is the last log entry the line was derived up to.
func (db *DB) LineCursor(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.db.QueryRowContext(ctx, `SELECT seq FROM line_cursor WHERE id = 1`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("reading the line's cursor: %w", err)
	}
	return seq, nil
}

// SaveLine writes upgrades and entries and moves the cursor, in one transaction.
func (db *DB) SaveLine(ctx context.Context, from, to int64, upgrades []*upfactory.Upgrade, entries []upfactory.LogEntry) error {
	pending, err := prepare(entries)
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(upgrades))
	for i, u := range upgrades {
		if u.ID == "" || u.Service == "" {
			return upfactory.Errorf(upfactory.EINVALID, "an upgrade needs an ID and a service")
		}
		if bodies[i], err = json.Marshal(u); err != nil {
			return upfactory.Errorf(upfactory.EINVALID, "upgrade %s cannot be written as JSON: %v", u.ID, err)
		}
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		var cur int64
		if err := tx.QueryRowContext(ctx, `SELECT seq FROM line_cursor WHERE id = 1`).Scan(&cur); err != nil {
			return fmt.Errorf("reading the line's cursor: %w", err)
		}
		if cur != from {
			return upfactory.Errorf(upfactory.ECONFLICT, "the line moved on (cursor %d, not %d): derive it again", cur, from)
		}
		for i, u := range upgrades {
			if _, err := tx.ExecContext(ctx, `INSERT INTO upgrades (id, service, stage, created_at, data) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET stage = excluded.stage, data = excluded.data`,
				u.ID, u.Service, string(u.Stage), u.CreatedAt.UTC().Format(time.RFC3339Nano), string(bodies[i])); err != nil {
				return fmt.Errorf("saving upgrade %s: %w", u.ID, err)
			}
		}
		if err := appendEntries(ctx, tx, pending); err != nil {
			return err
		}
		// The line's own entries come after to: they are derived already.
		next := to
		if n := len(pending.entries); n > 0 && pending.entries[n-1].Seq > next {
			next = pending.entries[n-1].Seq
		}
		_, err := tx.ExecContext(ctx, `UPDATE line_cursor SET seq = ? WHERE id = 1`, next)
		return err
	})
	if err != nil {
		return err
	}
	pending.copyTo(entries)
	return nil
}

// AddCandidate stores a candidate a rollout named (run_id 0: intake runs
// leave it open) and appends entry.
func (db *DB) AddCandidate(ctx context.Context, c *upfactory.Candidate, entry upfactory.LogEntry) error {
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return err
	}
	stored := *c
	stored.FirstSeen, stored.LastSeen, stored.ResolvedAt, stored.Ack, stored.Status = time.Time{}, time.Time{}, nil, nil, ""
	body, err := json.Marshal(&stored)
	if err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "candidate %s cannot be written as JSON: %v", c.ID, err)
	}
	seen := c.FirstSeen.UTC().Format(time.RFC3339Nano)
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO candidates (id, risk, first_seen, last_seen, resolved_at, run_id, data)
			VALUES (?, ?, ?, ?, NULL, 0, ?) ON CONFLICT (id) DO NOTHING`, c.ID, c.Risk.Total, seen, seen, string(body))
		if err != nil {
			return fmt.Errorf("storing candidate %s: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return upfactory.Errorf(upfactory.ECONFLICT, "candidate %s exists already", c.ID)
		}
		return appendEntries(ctx, tx, pending)
	})
}

// ResolveCandidate marks an open candidate resolved at at.
func (db *DB) ResolveCandidate(ctx context.Context, id string, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE candidates SET resolved_at = ? WHERE id = ? AND resolved_at IS NULL`, at.UTC().Format(time.RFC3339Nano), id)
		return err
	})
}

// addRecord stores one line record and appends entry, in one transaction,
// and returns the record's ID.
func (db *DB) addRecord(ctx context.Context, kind, service, version string, at time.Time, v any, entry *upfactory.LogEntry) (int64, error) {
	var entries []upfactory.LogEntry
	if entry != nil {
		entries = []upfactory.LogEntry{*entry}
	}
	pending, err := prepare(entries)
	if err != nil {
		return 0, err
	}
	body, err := json.Marshal(v)
	if err != nil {
		return 0, upfactory.Errorf(upfactory.EINVALID, "%s of %s cannot be written as JSON: %v", kind, service, err)
	}
	var id int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO line_records (kind, service, version, at, data) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			kind, service, version, at.UTC().Format(time.RFC3339Nano), string(body)).Scan(&id); err != nil {
			return fmt.Errorf("storing %s of %s: %w", kind, service, err)
		}
		return appendEntries(ctx, tx, pending)
	})
	if err != nil {
		return 0, err
	}
	if entry != nil {
		*entry = pending.entries[0]
	}
	return id, nil
}

// records reads line records of kind for service (and version, unless
// empty), newest first, decoding each with decode.
func (db *DB) records(ctx context.Context, kind, service, version string, limit int, decode func(id int64, data []byte) error) error {
	q, args := `SELECT id, data FROM line_records WHERE kind = ? AND service = ?`, []any{kind, service}
	if version != "" {
		q, args = q+` AND version = ?`, append(args, version)
	}
	q += ` ORDER BY id DESC`
	if limit > 0 {
		q, args = q+` LIMIT ?`, append(args, limit)
	}
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("reading %s records: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var data string
		if err := rows.Scan(&id, &data); err != nil {
			return fmt.Errorf("reading %s records: %w", kind, err)
		}
		if err := decode(id, []byte(data)); err != nil {
			return fmt.Errorf("decoding %s record %d: %w", kind, id, err)
		}
	}
	return rows.Err()
}

func needService(kind, service string) error {
	if service == "" {
		return upfactory.Errorf(upfactory.EINVALID, "a %s needs a service", kind)
	}
	return nil
}

// SavePreflight stores r (filling its ID) and appends entry.
func (db *DB) SavePreflight(ctx context.Context, r *upfactory.PreflightResult, entry upfactory.LogEntry) error {
	if err := needService("preflight", r.Service); err != nil {
		return err
	}
	id, err := db.addRecord(ctx, "preflight", r.Service, r.Version, r.At, r, &entry)
	if err == nil {
		r.ID = id
	}
	return err
}

// Preflights returns a service's results, newest first.
func (db *DB) Preflights(ctx context.Context, service, version string, limit int) ([]*upfactory.PreflightResult, error) {
	return readRecords(ctx, db, "preflight", service, version, limit, func(r *upfactory.PreflightResult, id int64) { r.ID = id })
}

// AddConfirmation stores a person's confirmation of an item and appends entry.
func (db *DB) AddConfirmation(ctx context.Context, c upfactory.PreflightConfirmation, entry upfactory.LogEntry) error {
	if err := needService("confirmation", c.Service); err != nil {
		return err
	}
	if c.By == "" || c.Item == "" {
		return upfactory.Errorf(upfactory.EINVALID, "a confirmation needs an item and a name")
	}
	_, err := db.addRecord(ctx, "confirmation", c.Service, c.Version, c.At, c, &entry)
	return err
}

// Confirmations returns the confirmations for a service's version, newest first.
func (db *DB) Confirmations(ctx context.Context, service, version string) ([]upfactory.PreflightConfirmation, error) {
	out, err := readRecords[upfactory.PreflightConfirmation](ctx, db, "confirmation", service, version, 0, nil)
	return derefs(out), err
}

// SaveDrill stores r (filling its ID) and appends entry.
func (db *DB) SaveDrill(ctx context.Context, r *upfactory.DrillResult, entry upfactory.LogEntry) error {
	if err := needService("drill", r.Service); err != nil {
		return err
	}
	id, err := db.addRecord(ctx, "drill", r.Service, r.Version, r.At, r, &entry)
	if err == nil {
		r.ID = id
	}
	return err
}

// Drills returns a service's drills, newest first.
func (db *DB) Drills(ctx context.Context, service string, limit int) ([]*upfactory.DrillResult, error) {
	return readRecords(ctx, db, "drill", service, "", limit, func(r *upfactory.DrillResult, id int64) { r.ID = id })
}

// SaveSnapshot stores a service's config snapshot.
func (db *DB) SaveSnapshot(ctx context.Context, s upfactory.ConfigSnapshot) error {
	if err := needService("config snapshot", s.Service); err != nil {
		return err
	}
	_, err := db.addRecord(ctx, "snapshot", s.Service, s.Version, s.At, s, nil)
	return err
}

// Snapshots returns a service's config snapshots, newest first.
func (db *DB) Snapshots(ctx context.Context, service string, limit int) ([]upfactory.ConfigSnapshot, error) {
	out, err := readRecords[upfactory.ConfigSnapshot](ctx, db, "snapshot", service, "", limit, nil)
	return derefs(out), err
}

// readRecords reads line records of kind as T, newest first, giving each
// its record ID through withID when set.
func readRecords[T any](ctx context.Context, db *DB, kind, service, version string, limit int, withID func(*T, int64)) ([]*T, error) {
	out := []*T{}
	err := db.records(ctx, kind, service, version, limit, func(id int64, data []byte) error {
		v := new(T)
		if err := json.Unmarshal(data, v); err != nil {
			return err
		}
		if withID != nil {
			withID(v, id)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func derefs[T any](ps []*T) []T {
	out := make([]T, 0, len(ps))
	for _, p := range ps {
		out = append(out, *p)
	}
	return out
}

// scanJSON reads one row of (id, data) whose data is T as JSON, giving it
// its ID through withID; what names T in errors.
func scanJSON[T any](row interface{ Scan(...any) error }, what string, withID func(*T, int64)) (*T, error) {
	var id int64
	var data string
	if err := row.Scan(&id, &data); err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal([]byte(data), v); err != nil {
		return nil, fmt.Errorf("decoding %s %d: %w", what, id, err)
	}
	withID(v, id)
	return v, nil
}

// queryJSON runs a query of (id, data) rows and reads each as T.
func queryJSON[T any](ctx context.Context, db *sql.DB, what, query string, args []any, withID func(*T, int64)) ([]*T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reading %ss: %w", what, err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		v, err := scanJSON(rows, what, withID)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
