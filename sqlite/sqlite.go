// Package sqlite keeps upfactory's store in one SQLite file, through the
// pure-Go driver: the embedded default for a single server. The store
// itself is package sqlstore's; this package brings SQLite's migrations,
// connection settings and busy handling.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/sqlstore"
	modernc "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// busyTimeout is how long a write waits for another process (a CLI command,
// a second server) to release the database's write lock.
const busyTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the store in one SQLite file: safe for concurrent use, writes
// serialized.
type DB = sqlstore.DB

// dialect is SQLite's: BEGIN IMMEDIATE (see dsn) serializes writers of
// every process, and SQLITE_BUSY after busyTimeout is EUNAVAILABLE.
var dialect = sqlstore.Dialect{
	Name:       "SQLite",
	Migrations: must(fs.Sub(migrations, "migrations")),
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL
	) STRICT`,
	NowMillis: "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
	Busy: func(err error) error {
		if e, ok := errors.AsType[*modernc.Error](err); ok && e.Code()&0xff == sqlite3.SQLITE_BUSY {
			return fmt.Errorf("%w: %w", upfactory.Errorf(upfactory.EUNAVAILABLE,
				"the database is locked: another connection held its write lock for more than %v", busyTimeout), err)
		}
		return err
	},
}

func must(f fs.FS, err error) fs.FS {
	if err != nil {
		panic(err)
	}
	return f
}

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
	db, err := sqlstore.Open(ctx, sqldb, dialect)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", path, err)
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
