// Package sqlstore is upfactory's Store over database/sql, for the
// engines that keep it: SQLite (package sqlite, the embedded default) and
// PostgreSQL (package postgres, for several servers). Queries are written
// once, with ? placeholders; an engine whose driver wants others rewrites
// them in its driver. What differs between engines is a Dialect: the
// migrations, how writers across processes are serialized, and which
// driver errors mean the database is busy.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"
	"sort"
	"time"

	"github.com/upfactory/upfactory"
)

// Dialect is what an engine brings.
type Dialect struct {
	// Name names the engine in errors.
	Name string
	// Migrations holds the engine's migrations, *.sql at its root,
	// applied in name order, each once.
	Migrations fs.FS
	// MigrationsTable creates schema_migrations (name, applied_at) when
	// it is not there.
	MigrationsTable string
	// Lock, when set, is run first in every write transaction: what
	// serializes writers of every process (PostgreSQL's transaction
	// advisory lock). SQLite's BEGIN IMMEDIATE does it already.
	Lock string
	// NowMillis is an SQL expression of the database's clock, in
	// milliseconds since 1970: what leases are timed by.
	NowMillis string
	// Busy turns a driver error that means another process held the
	// database for too long into one with code EUNAVAILABLE; nil: none.
	Busy func(error) error
}

// DB is an upfactory.Store kept in one database. It is safe for
// concurrent use; writes are serialized.
type DB struct {
	db      *sql.DB
	dialect Dialect

	// writing holds at most one token, taken for the length of each write
	// transaction: writers in this process queue here, giving up when their
	// context ends, instead of polling the engine's lock.
	writing chan struct{}

	now func() time.Time // stamps updated_at columns

	// fence, when set, is the lease every write is made under (Fenced).
	fence *fence
}

var _ upfactory.Store = (*DB)(nil)

// Open takes over sqldb, applies the migrations of d it has not applied
// yet, and returns the store. On error sqldb is closed.
func Open(ctx context.Context, sqldb *sql.DB, d Dialect) (*DB, error) {
	db := &DB{db: sqldb, dialect: d, writing: make(chan struct{}, 1), now: time.Now}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("migrating the %s database: %w", d.Name, err)
	}
	return db, nil
}

// Close closes the database. Transactions under way are rolled back.
func (db *DB) Close() error {
	if err := db.db.Close(); err != nil {
		return fmt.Errorf("closing database: %w", err)
	}
	return nil
}

// migrate applies, in file name order, each embedded migration not yet
// recorded in schema_migrations, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, db.dialect.MigrationsTable); err != nil {
		return fmt.Errorf("creating table schema_migrations: %w", err)
	}
	names, err := fs.Glob(db.dialect.Migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("listing migrations: %w", err)
	}
	sort.Strings(names)
	// Look before taking the write lock, so that opening an up-to-date
	// database does not wait for another process that is writing.
	applied := map[string]bool{}
	rows, err := db.db.QueryContext(ctx, `SELECT name FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("reading applied migrations: %w", err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("reading applied migrations: %w", err)
		}
		applied[name] = true
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return fmt.Errorf("reading applied migrations: %w", err)
	}
	for _, name := range names {
		if applied[path.Base(name)] {
			continue
		}
		if err := db.migrateFile(ctx, name); err != nil {
			return fmt.Errorf("applying migration %s: %w", path.Base(name), err)
		}
	}
	return nil
}

// migrateFile applies one migration and records it, unless another process
// did so in the meantime.
func (db *DB) migrateFile(ctx context.Context, name string) error {
	body, err := fs.ReadFile(db.dialect.Migrations, name)
	if err != nil {
		return err
	}
	name = path.Base(name)
	return db.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`,
			name, db.now().UTC().Format(time.RFC3339))
		return err
	})
}

// write runs fn in a write transaction and commits it when fn returns nil;
// otherwise, or when ctx ends first, nothing fn did is kept.
//
// ctx is honored while waiting for writers in this process. Waiting for
// another process's lock is the engine's (SQLite's busy_timeout cannot be
// cut short by ctx); an engine that gives up says EUNAVAILABLE.
func (db *DB) write(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	select {
	case db.writing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-db.writing }()
	defer func() {
		if err != nil && db.dialect.Busy != nil {
			err = db.dialect.Busy(err)
		}
	}()

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer tx.Rollback() // a no-op once committed
	if db.dialect.Lock != "" {
		if _, err := tx.ExecContext(ctx, db.dialect.Lock); err != nil {
			return fmt.Errorf("taking the write lock: %w", err)
		}
	}
	if err := db.checkFence(ctx, tx); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// State returns the stored state of service, with Rev its stored revision.
// ENOTFOUND when no state was saved for service.
func (db *DB) State(ctx context.Context, service string) (*upfactory.ServiceState, error) {
	var rev int64
	var body string
	err := db.db.QueryRowContext(ctx, `SELECT rev, state FROM service_states WHERE service = ?`, service).Scan(&rev, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "no state stored for service %q", service)
	} else if err != nil {
		return nil, fmt.Errorf("reading state of service %s: %w", service, err)
	}
	var st upfactory.ServiceState
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		return nil, fmt.Errorf("decoding state of service %s: %w", service, err)
	}
	st.Rev = rev
	return &st, nil
}

// Save writes st and appends entries in one transaction. ECONFLICT when
// st.Rev is not the stored revision (0 when none is stored); EINVALID when st
// has no service name or st or an entry cannot be written as JSON;
// EUNAVAILABLE when another process keeps the database locked. On success
// st.Rev is the new revision and entries have Seq, PrevHash and Hash filled
// in, and their Values are as Log will return them. On any error nothing is
// written and neither st nor entries are changed.
func (db *DB) Save(ctx context.Context, st *upfactory.ServiceState, entries []upfactory.LogEntry) error {
	if st == nil || st.Service == "" {
		return upfactory.Errorf(upfactory.EINVALID, "a service state to save needs a service name")
	}
	pending, err := prepare(entries)
	if err != nil {
		return err
	}
	saved := *st
	saved.Rev = st.Rev + 1
	body, err := json.Marshal(&saved)
	if err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "state of service %q cannot be written as JSON: %v", st.Service, err)
	}

	err = db.write(ctx, func(tx *sql.Tx) error {
		var rev int64
		err := tx.QueryRowContext(ctx, `SELECT rev FROM service_states WHERE service = ?`, st.Service).Scan(&rev)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("reading revision: %w", err)
		}
		if rev != st.Rev {
			return upfactory.Errorf(upfactory.ECONFLICT, "service %q was changed by someone else (revision %d, expected %d)", st.Service, rev, st.Rev)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO service_states (service, rev, state, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (service) DO UPDATE SET rev = excluded.rev, state = excluded.state, updated_at = excluded.updated_at`,
			st.Service, saved.Rev, string(body), db.now().UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("writing state: %w", err)
		}
		return appendEntries(ctx, tx, pending)
	})
	if err != nil {
		return fmt.Errorf("saving state of service %s: %w", st.Service, err)
	}
	st.Rev = saved.Rev
	pending.copyTo(entries)
	return nil
}

// noLimit is a LIMIT that keeps every row, on every engine (SQLite takes
// -1 for it, PostgreSQL refuses a negative one).
const noLimit = math.MaxInt64
