package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/upfactory/upfactory"
)

var _ upfactory.IncidentStore = (*DB)(nil)

// OpenIncident stores in and appends entry, in one transaction.
func (db *DB) OpenIncident(ctx context.Context, in *upfactory.Incident, entry upfactory.LogEntry) error {
	if in.Service == "" || in.Title == "" || in.StartedAt.IsZero() {
		return upfactory.Errorf(upfactory.EINVALID, "an incident needs a service, a title and a start")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return err
	}
	var id int64
	stored := *in
	err = db.write(ctx, func(tx *sql.Tx) error {
		if err := appendEntries(ctx, tx, pending); err != nil {
			return err
		}
		if stored.Seq == 0 {
			stored.Seq = pending.entries[0].Seq
		}
		body, err := json.Marshal(&stored)
		if err != nil {
			return upfactory.Errorf(upfactory.EINVALID, "incident cannot be written as JSON: %v", err)
		}
		var ended sql.NullString
		if !stored.EndedAt.IsZero() {
			ended = sql.NullString{String: stored.EndedAt.UTC().Format(time.RFC3339Nano), Valid: true}
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM incidents WHERE seq = ?`, stored.Seq).Scan(&n); err != nil {
			return fmt.Errorf("reading incidents: %w", err)
		}
		if n > 0 {
			return upfactory.Errorf(upfactory.ECONFLICT, "an incident was opened for log entry %d already", stored.Seq)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO incidents (service, seq, started_at, ended_at, data) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			stored.Service, stored.Seq, stored.StartedAt.UTC().Format(time.RFC3339Nano), ended, string(body)).Scan(&id); err != nil {
			return fmt.Errorf("storing incident: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	*in = stored
	in.ID = id
	return nil
}

// CloseIncident ends incident id and appends entry.
func (db *DB) CloseIncident(ctx context.Context, id int64, at time.Time, by, resolution string, entry upfactory.LogEntry) (*upfactory.Incident, error) {
	if by == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "closing an incident needs a name")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return nil, err
	}
	var out *upfactory.Incident
	err = db.write(ctx, func(tx *sql.Tx) error {
		in, err := scanIncident(tx.QueryRowContext(ctx, `SELECT id, data FROM incidents WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return upfactory.Errorf(upfactory.ENOTFOUND, "no incident %d (upfactory incident list)", id)
		} else if err != nil {
			return err
		}
		if !in.Open() {
			return upfactory.Errorf(upfactory.ECONFLICT, "incident %d ended already, at %s", id, in.EndedAt.Format(time.RFC3339))
		}
		if at.Before(in.StartedAt) {
			return upfactory.Errorf(upfactory.EINVALID, "incident %d started at %s: it cannot end before", id, in.StartedAt.Format(time.RFC3339))
		}
		in.EndedAt, in.ClosedBy, in.Resolution = at.UTC(), by, resolution
		body, err := json.Marshal(in)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE incidents SET ended_at = ?, data = ? WHERE id = ?`, in.EndedAt.Format(time.RFC3339Nano), string(body), id); err != nil {
			return fmt.Errorf("closing incident %d: %w", id, err)
		}
		out = in
		return appendEntries(ctx, tx, pending)
	})
	return out, err
}

// Incidents returns incidents, newest first.
func (db *DB) Incidents(ctx context.Context, f upfactory.IncidentFilter) ([]*upfactory.Incident, error) {
	q, args := `SELECT id, data FROM incidents WHERE 1 = 1`, []any{}
	if f.Service != "" {
		q, args = q+` AND service = ?`, append(args, f.Service)
	}
	if f.OpenOnly {
		q += ` AND ended_at IS NULL`
	}
	return queryJSON(ctx, db.db, "incident", q+` ORDER BY started_at DESC, id DESC`, args, setIncidentID)
}

func scanIncident(row interface{ Scan(...any) error }) (*upfactory.Incident, error) {
	return scanJSON(row, "incident", setIncidentID)
}

func setIncidentID(in *upfactory.Incident, id int64) { in.ID = id }
