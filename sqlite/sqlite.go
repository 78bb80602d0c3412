// Package sqlite stores service state and the operation log in one SQLite
// file: the embedded upfactory.Store for a single server.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"github.com/upfactory/upfactory"
	modernc "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout is how long a write waits for another process (a CLI command,
// a second server) to release the database's write lock.
const busyTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an upfactory.Store kept in one SQLite file. It is safe for
// concurrent use; writes are serialized.
type DB struct {
	db *sql.DB

	// writing holds at most one token, taken for the length of each write
	// transaction: writers in this process queue here, giving up when their
	// context ends, instead of polling SQLite's lock through busy_timeout.
	// BEGIN IMMEDIATE (see dsn) still guards against other processes.
	writing chan struct{}

	now func() time.Time // stamps service_states.updated_at
}

var _ upfactory.Store = (*DB)(nil)

// Open opens the store in the file at path, creating the file and its parent
// directory when they do not exist, and applies the migrations it has not
// applied yet. EINVALID when path is empty.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "no database file given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("creating database directory: %w", err)
	}
	sqldb, err := sql.Open("sqlite", dsn(abs))
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	db := &DB{db: sqldb, writing: make(chan struct{}, 1), now: time.Now}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("migrating database %s: %w", path, err)
	}
	return db, nil
}

// dsn returns the data source name of the database file at the absolute path
// abs, as a file: URI so that any character may appear in the path.
func dsn(abs string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(on)")
	// WAL lets readers work while a write is under way.
	q.Add("_pragma", "journal_mode(WAL)")
	// In WAL mode synchronous=NORMAL skips the fsync at each commit but not
	// the write to the WAL file: a committed transaction survives the process
	// being killed (kill -9), because the operating system still holds the
	// written pages. Only a power loss or an OS crash can lose the last
	// commits, and even then the database is not corrupted.
	q.Add("_pragma", "synchronous(NORMAL)")
	// Write transactions take the write lock when they begin, so a
	// transaction that reads and then writes never fails to upgrade its lock
	// because another process wrote in between. Read-only transactions
	// (VerifyLog) still begin deferred.
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String()
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
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("creating table schema_migrations: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
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
	body, err := fs.ReadFile(migrations, name)
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
// another process's lock is SQLite's busy_timeout, which ctx cannot cut
// short; when it runs out the error is EUNAVAILABLE.
func (db *DB) write(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	select {
	case db.writing <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-db.writing }()
	defer func() {
		if e, ok := errors.AsType[*modernc.Error](err); ok && e.Code()&0xff == sqlite3.SQLITE_BUSY {
			err = fmt.Errorf("%w: %w", upfactory.Errorf(upfactory.EUNAVAILABLE,
				"the database is locked: another connection held its write lock for more than %v", busyTimeout), err)
		}
	}()

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning transaction: %w", err)
	}
	defer tx.Rollback() // a no-op once committed
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
