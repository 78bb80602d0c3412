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

// pendingEntries are log entries about to be appended, with their Values
// encoded for the values column.
type pendingEntries struct {
	entries []upfactory.LogEntry
	values  []sql.NullString // NULL for an entry without Values
}

// prepare copies entries and replaces each one's Values with the map the
// database will give back: JSON numbers read back as float64 and structs as
// maps, so hashing the original values could give a hash that VerifyLog
// does not find again. Values JSON cannot represent (NaN, a channel) are
// EINVALID, before anything is written.
func prepare(entries []upfactory.LogEntry) (*pendingEntries, error) {
	p := &pendingEntries{
		entries: slices.Clone(entries),
		values:  make([]sql.NullString, len(entries)),
	}
	for i := range p.entries {
		e := &p.entries[i]
		if y := e.Time.UTC().Year(); y < 0 || y > 9999 {
			return nil, upfactory.Errorf(upfactory.EINVALID, "log entry %s %s: time %v is out of range", e.Action, e.Subject, e.Time)
		}
		if e.Values == nil {
			continue
		}
		b, err := json.Marshal(e.Values)
		if err != nil {
			return nil, upfactory.Errorf(upfactory.EINVALID, "values of log entry %s %s cannot be written as JSON: %v", e.Action, e.Subject, err)
		}
		var back map[string]any
		if err := json.Unmarshal(b, &back); err != nil {
			return nil, fmt.Errorf("decoding values of log entry %s %s: %w", e.Action, e.Subject, err)
		}
		e.Values = back
		p.values[i] = sql.NullString{String: string(b), Valid: true}
	}
	return p, nil
}

// copyTo hands the appended entries back to the caller's slice.
func (p *pendingEntries) copyTo(entries []upfactory.LogEntry) { copy(entries, p.entries) }

// appendEntries chains p's entries to the head of the log, inserts them and
// moves the head, all within tx.
func appendEntries(ctx context.Context, tx *sql.Tx, p *pendingEntries) error {
	if len(p.entries) == 0 {
		return nil
	}
	var headSeq int64
	var headHash string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM oplog_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return fmt.Errorf("reading log head: %w", err)
	}
	upfactory.Chain(p.entries, headSeq, headHash)

	stmt, err := tx.PrepareContext(ctx, `INSERT INTO oplog (seq, time, actor, action, service, subject, reason, "values", prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("preparing log insert: %w", err)
	}
	defer stmt.Close()
	for i, e := range p.entries {
		if _, err := stmt.ExecContext(ctx, e.Seq, e.Time.UTC().Format(time.RFC3339Nano), e.Actor, e.Action,
			e.Service, e.Subject, e.Reason, p.values[i], e.PrevHash, e.Hash); err != nil {
			return fmt.Errorf("appending log entry %d: %w", e.Seq, err)
		}
	}
	last := p.entries[len(p.entries)-1]
	if _, err := tx.ExecContext(ctx, `UPDATE oplog_head SET seq = ?, hash = ? WHERE id = 1`, last.Seq, last.Hash); err != nil {
		return fmt.Errorf("moving log head: %w", err)
	}
	return nil
}

// AppendLog appends entries that change no state. EINVALID when an entry's
// Values cannot be written as JSON; EUNAVAILABLE when another process keeps
// the database locked. On success entries have Seq, PrevHash and
// Hash filled in; on any error nothing is appended and entries are unchanged.
func (db *DB) AppendLog(ctx context.Context, entries []upfactory.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	pending, err := prepare(entries)
	if err != nil {
		return err
	}
	if err := db.write(ctx, func(tx *sql.Tx) error { return appendEntries(ctx, tx, pending) }); err != nil {
		return fmt.Errorf("appending to the operation log: %w", err)
	}
	pending.copyTo(entries)
	return nil
}

const selectEntries = `SELECT seq, time, actor, action, service, subject, reason, "values", prev_hash, hash FROM oplog`

// Log returns the entries f selects in Seq order. EINVALID when f.Limit is
// negative.
func (db *DB) Log(ctx context.Context, f upfactory.LogFilter) ([]upfactory.LogEntry, error) {
	if f.Limit < 0 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "log limit %d is negative", f.Limit)
	}
	q, args := selectEntries+` WHERE seq > ?`, []any{f.AfterSeq}
	if f.Service != "" {
		q += ` AND service = ?`
		args = append(args, f.Service)
	}
	if f.Newest {
		q += ` ORDER BY seq DESC`
	} else {
		q += ` ORDER BY seq`
	}
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("reading the operation log: %w", err)
	}
	entries, err := scanEntries(rows, false)
	if err != nil {
		return nil, fmt.Errorf("reading the operation log: %w", err)
	}
	if f.Newest {
		slices.Reverse(entries)
	}
	return entries, nil
}

// VerifyLog checks the whole hash chain against the recorded head of the log
// and names the first entry that was edited, removed or inserted. An entry
// whose time or values can no longer be decoded counts as edited.
func (db *DB) VerifyLog(ctx context.Context) (*upfactory.LogVerification, error) {
	// One read transaction, so that entries and head are the same snapshot
	// even while others append.
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("verifying the operation log: %w", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, selectEntries+` ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("verifying the operation log: %w", err)
	}
	entries, err := scanEntries(rows, true)
	if err != nil {
		return nil, fmt.Errorf("verifying the operation log: %w", err)
	}
	var headSeq int64
	var headHash string
	if err := tx.QueryRowContext(ctx, `SELECT seq, hash FROM oplog_head WHERE id = 1`).Scan(&headSeq, &headHash); err != nil {
		return nil, fmt.Errorf("verifying the operation log: reading log head: %w", err)
	}
	return upfactory.VerifyChain(entries, headSeq, headHash), nil
}

// scanEntries reads and closes rows. With lenient set, a time or values
// column that does not decode is left zero instead of failing, so that the
// entry's hash no longer matches and VerifyChain names it.
func scanEntries(rows *sql.Rows, lenient bool) ([]upfactory.LogEntry, error) {
	defer rows.Close()
	var entries []upfactory.LogEntry
	for rows.Next() {
		var e upfactory.LogEntry
		var at string
		var values sql.NullString
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Service, &e.Subject, &e.Reason, &values, &e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		err := decodeEntry(&e, at, values)
		if err != nil && !lenient {
			return nil, fmt.Errorf("decoding log entry %d: %w", e.Seq, err)
		}
		entries = append(entries, e)
	}
	return entries, rows.Err()
}

func decodeEntry(e *upfactory.LogEntry, at string, values sql.NullString) error {
	t, terr := time.Parse(time.RFC3339Nano, at)
	e.Time = t.UTC()
	var verr error
	if values.Valid {
		verr = json.Unmarshal([]byte(values.String), &e.Values)
		if verr != nil {
			e.Values = nil
		}
	}
	return errors.Join(terr, verr)
}
