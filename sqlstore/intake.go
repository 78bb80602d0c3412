package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/upfactory/upfactory"
)

var _ upfactory.IntakeStore = (*DB)(nil)

// AdvisoryDigests returns the digests of the advisories stored, by ID.
func (db *DB) AdvisoryDigests(ctx context.Context) (map[string]upfactory.AdvisoryDigest, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, digest, modified, source FROM advisories`)
	if err != nil {
		return nil, fmt.Errorf("reading advisories: %w", err)
	}
	defer rows.Close()
	out := map[string]upfactory.AdvisoryDigest{}
	for rows.Next() {
		var a upfactory.AdvisoryDigest
		if err := rows.Scan(&a.ID, &a.Digest, &a.Modified, &a.Source); err != nil {
			return nil, fmt.Errorf("reading advisories: %w", err)
		}
		out[a.ID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading advisories: %w", err)
	}
	return out, nil
}

// SaveIntake stores one intake run in one transaction; on any error
// nothing is written and run and entries are unchanged.
func (db *DB) SaveIntake(ctx context.Context, run *upfactory.IntakeRun, upsert []upfactory.AdvisoryDigest, remove []string,
	candidates []*upfactory.Candidate, unchanged []string, entries []upfactory.LogEntry) error {
	if run == nil {
		return upfactory.Errorf(upfactory.EINVALID, "no intake run to save")
	}
	pending, err := prepare(entries)
	if err != nil {
		return err
	}
	bodies := make([][]byte, len(candidates))
	for i, c := range candidates {
		if c == nil || c.ID == "" {
			return upfactory.Errorf(upfactory.EINVALID, "candidate %d has no ID", i)
		}
		stored := *c
		stored.FirstSeen, stored.LastSeen, stored.ResolvedAt, stored.Ack, stored.Status = time.Time{}, time.Time{}, nil, nil, ""
		if bodies[i], err = json.Marshal(&stored); err != nil {
			return upfactory.Errorf(upfactory.EINVALID, "candidate %s cannot be written as JSON: %v", c.ID, err)
		}
	}
	now := db.now().UTC().Format(time.RFC3339Nano)
	var runID int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		for _, id := range remove {
			if _, err := tx.ExecContext(ctx, `DELETE FROM advisories WHERE id = ?`, id); err != nil {
				return fmt.Errorf("removing advisory %s: %w", id, err)
			}
		}
		if len(upsert) > 0 {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO advisories (id, digest, modified, source, updated_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET digest = excluded.digest, modified = excluded.modified, source = excluded.source, updated_at = excluded.updated_at`)
			if err != nil {
				return fmt.Errorf("preparing advisory upsert: %w", err)
			}
			defer stmt.Close()
			for _, a := range upsert {
				if _, err := stmt.ExecContext(ctx, a.ID, a.Digest, a.Modified, a.Source, now); err != nil {
					return fmt.Errorf("storing advisory %s: %w", a.ID, err)
				}
			}
		}
		r := *run
		r.ID = 0
		body, err := json.Marshal(&r)
		if err != nil {
			return fmt.Errorf("encoding intake run: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO intake_runs (started, finished, data) VALUES (?, ?, ?) RETURNING id`,
			run.Started.UTC().Format(time.RFC3339Nano), run.Finished.UTC().Format(time.RFC3339Nano), string(body)).Scan(&runID); err != nil {
			return fmt.Errorf("recording intake run: %w", err)
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO candidates (id, risk, first_seen, last_seen, resolved_at, run_id, data)
			VALUES (?, ?, ?, ?, NULL, ?, ?)
			ON CONFLICT (id) DO UPDATE SET risk = excluded.risk, last_seen = excluded.last_seen, resolved_at = NULL,
				run_id = excluded.run_id, data = excluded.data`)
		if err != nil {
			return fmt.Errorf("preparing candidate upsert: %w", err)
		}
		defer stmt.Close()
		for i, c := range candidates {
			seen := c.LastSeen.UTC().Format(time.RFC3339Nano)
			if _, err := stmt.ExecContext(ctx, c.ID, c.Risk.Total, seen, seen, runID, string(bodies[i])); err != nil {
				return fmt.Errorf("storing candidate %s: %w", c.ID, err)
			}
		}
		if len(unchanged) > 0 {
			seen, err := tx.PrepareContext(ctx, `UPDATE candidates SET last_seen = ?, run_id = ? WHERE id = ? AND resolved_at IS NULL`)
			if err != nil {
				return fmt.Errorf("preparing candidate update: %w", err)
			}
			defer seen.Close()
			at := run.Finished.UTC().Format(time.RFC3339Nano)
			for _, id := range unchanged {
				if _, err := seen.ExecContext(ctx, at, runID, id); err != nil {
					return fmt.Errorf("marking candidate %s seen: %w", id, err)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE candidates SET resolved_at = ? WHERE resolved_at IS NULL AND run_id != ? AND run_id != 0`,
			run.Finished.UTC().Format(time.RFC3339Nano), runID); err != nil {
			return fmt.Errorf("resolving candidates: %w", err)
		}
		return appendEntries(ctx, tx, pending)
	})
	if err != nil {
		return fmt.Errorf("saving intake run: %w", err)
	}
	run.ID = runID
	pending.copyTo(entries)
	return nil
}

const candidateColumns = `c.id, c.first_seen, c.last_seen, c.resolved_at, c.data,
	(SELECT json_object('by', a.acked_by, 'at', a.at, 'digest', a.digest) FROM candidate_acks a
	 WHERE a.candidate_id = c.id ORDER BY a.seq DESC LIMIT 1)`

func scanCandidate(row interface{ Scan(...any) error }) (*upfactory.Candidate, error) {
	var id, first, last, data string
	var resolved, ack sql.NullString
	if err := row.Scan(&id, &first, &last, &resolved, &data, &ack); err != nil {
		return nil, err
	}
	var c upfactory.Candidate
	if err := json.Unmarshal([]byte(data), &c); err != nil {
		return nil, fmt.Errorf("decoding candidate %s: %w", id, err)
	}
	var err error
	if c.FirstSeen, err = time.Parse(time.RFC3339Nano, first); err != nil {
		return nil, fmt.Errorf("decoding candidate %s: %w", id, err)
	}
	if c.LastSeen, err = time.Parse(time.RFC3339Nano, last); err != nil {
		return nil, fmt.Errorf("decoding candidate %s: %w", id, err)
	}
	if resolved.Valid {
		t, err := time.Parse(time.RFC3339Nano, resolved.String)
		if err != nil {
			return nil, fmt.Errorf("decoding candidate %s: %w", id, err)
		}
		c.ResolvedAt = &t
	}
	if ack.Valid {
		var a struct{ By, At, Digest string }
		if err := json.Unmarshal([]byte(ack.String), &a); err != nil {
			return nil, fmt.Errorf("decoding acknowledgement of candidate %s: %w", id, err)
		}
		at, err := time.Parse(time.RFC3339Nano, a.At)
		if err != nil {
			return nil, fmt.Errorf("decoding acknowledgement of candidate %s: %w", id, err)
		}
		c.Ack = &upfactory.CandidateAck{By: a.By, At: at, Digest: a.Digest}
	}
	c.Status = c.ComputeStatus()
	return &c, nil
}

// Candidates returns candidates by descending risk, then ID.
func (db *DB) Candidates(ctx context.Context, f upfactory.CandidateFilter) ([]*upfactory.Candidate, error) {
	q := `SELECT ` + candidateColumns + ` FROM candidates c`
	if !f.Resolved {
		q += ` WHERE c.resolved_at IS NULL`
	}
	q += ` ORDER BY c.risk DESC, c.id`
	rows, err := db.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("reading candidates: %w", err)
	}
	defer rows.Close()
	out := []*upfactory.Candidate{}
	for rows.Next() {
		c, err := scanCandidate(rows)
		if err != nil {
			return nil, fmt.Errorf("reading candidates: %w", err)
		}
		if f.Service != "" && !slices.Contains(c.Services, f.Service) {
			continue
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading candidates: %w", err)
	}
	return out, nil
}

// Candidate returns one candidate; ENOTFOUND when there is none.
func (db *DB) Candidate(ctx context.Context, id string) (*upfactory.Candidate, error) {
	return candidate(ctx, db.db, id)
}

func candidate(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id string) (*upfactory.Candidate, error) {
	c, err := scanCandidate(q.QueryRowContext(ctx, `SELECT `+candidateColumns+` FROM candidates c WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "no candidate %q", id)
	} else if err != nil {
		return nil, fmt.Errorf("reading candidate %s: %w", id, err)
	}
	return c, nil
}

// AckCandidate records ack with its log entry in one transaction.
// ENOTFOUND for an unknown candidate; ECONFLICT when ack.Digest is not the
// candidate's BreakingDigest (an intake found other breaking items since
// the caller looked); EINVALID without a name.
func (db *DB) AckCandidate(ctx context.Context, id string, ack upfactory.CandidateAck, entry upfactory.LogEntry) (*upfactory.Candidate, error) {
	if ack.By == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "an acknowledgement needs the name of who gives it")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return nil, err
	}
	var out *upfactory.Candidate
	err = db.write(ctx, func(tx *sql.Tx) error {
		c, err := candidate(ctx, tx, id)
		if err != nil {
			return err
		}
		switch {
		case c.ResolvedAt != nil:
			return upfactory.Errorf(upfactory.ECONFLICT, "candidate %s is resolved: nothing to acknowledge", id)
		case c.BreakingDigest == "":
			return upfactory.Errorf(upfactory.ECONFLICT, "candidate %s has no breaking items to acknowledge", id)
		case c.BreakingDigest != ack.Digest:
			return upfactory.Errorf(upfactory.ECONFLICT, "candidate %s has other breaking items than the ones acknowledged: read them again", id)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO candidate_acks (candidate_id, acked_by, at, digest) VALUES (?, ?, ?, ?)`,
			id, ack.By, ack.At.UTC().Format(time.RFC3339Nano), ack.Digest); err != nil {
			return fmt.Errorf("recording acknowledgement: %w", err)
		}
		if err := appendEntries(ctx, tx, pending); err != nil {
			return err
		}
		out, err = candidate(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// IntakeRuns returns the latest runs, newest first.
func (db *DB) IntakeRuns(ctx context.Context, limit int) ([]*upfactory.IntakeRun, error) {
	if limit <= 0 {
		limit = noLimit
	}
	rows, err := db.db.QueryContext(ctx, `SELECT id, data FROM intake_runs ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("reading intake runs: %w", err)
	}
	defer rows.Close()
	out := []*upfactory.IntakeRun{}
	for rows.Next() {
		var id int64
		var data string
		if err := rows.Scan(&id, &data); err != nil {
			return nil, fmt.Errorf("reading intake runs: %w", err)
		}
		var r upfactory.IntakeRun
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			return nil, fmt.Errorf("decoding intake run %d: %w", id, err)
		}
		r.ID = id
		out = append(out, &r)
	}
	return out, rows.Err()
}
