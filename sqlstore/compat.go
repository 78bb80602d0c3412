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

var _ upfactory.CompatStore = (*DB)(nil)

// SaveCompatRun stores run, filling its ID, and appends entry.
func (db *DB) SaveCompatRun(ctx context.Context, run *upfactory.CompatRun, entry upfactory.LogEntry) error {
	if run == nil || run.CandidateID == "" {
		return upfactory.Errorf(upfactory.EINVALID, "a compatibility run needs a candidate")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return err
	}
	stored := *run
	stored.ID, stored.Reused = 0, false
	body, err := json.Marshal(&stored)
	if err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "compatibility run of %s cannot be written as JSON: %v", run.CandidateID, err)
	}
	var id int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO compat_runs (candidate_id, key, started, outcome, data) VALUES (?, ?, ?, ?, ?) RETURNING id`,
			run.CandidateID, run.Key, run.Started.UTC().Format(time.RFC3339Nano), run.Outcome, string(body)).Scan(&id); err != nil {
			return fmt.Errorf("storing compatibility run: %w", err)
		}
		return appendEntries(ctx, tx, pending)
	})
	if err != nil {
		return err
	}
	run.ID = id
	return nil
}

func scanCompatRun(row interface{ Scan(...any) error }) (*upfactory.CompatRun, error) {
	var id int64
	var data string
	if err := row.Scan(&id, &data); err != nil {
		return nil, err
	}
	var r upfactory.CompatRun
	if err := json.Unmarshal([]byte(data), &r); err != nil {
		return nil, fmt.Errorf("decoding compatibility run %d: %w", id, err)
	}
	r.ID = id
	return &r, nil
}

// CompatRun returns the latest run of candidateID with key.
func (db *DB) CompatRun(ctx context.Context, candidateID, key string) (*upfactory.CompatRun, error) {
	r, err := scanCompatRun(db.db.QueryRowContext(ctx,
		`SELECT id, data FROM compat_runs WHERE candidate_id = ? AND key = ? ORDER BY id DESC LIMIT 1`, candidateID, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "no compatibility run of %s for these inputs", candidateID)
	}
	if err != nil {
		return nil, fmt.Errorf("reading compatibility run of %s: %w", candidateID, err)
	}
	return r, nil
}

// CompatRuns returns the runs of candidateID ("" for all), newest first.
func (db *DB) CompatRuns(ctx context.Context, candidateID string, limit int) ([]*upfactory.CompatRun, error) {
	if limit <= 0 {
		limit = noLimit
	}
	rows, err := db.db.QueryContext(ctx, `SELECT id, data FROM compat_runs WHERE ? = '' OR candidate_id = ? ORDER BY id DESC LIMIT ?`,
		candidateID, candidateID, limit)
	if err != nil {
		return nil, fmt.Errorf("reading compatibility runs: %w", err)
	}
	defer rows.Close()
	out := []*upfactory.CompatRun{}
	for rows.Next() {
		r, err := scanCompatRun(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
