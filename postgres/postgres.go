// Package postgres keeps upfactory's store in PostgreSQL, through pgx:
// for several servers sharing one store. The store itself is package
// sqlstore's, whose queries are written once for every engine; this
// package brings PostgreSQL's migrations, a driver that rebinds the
// queries' placeholders (Rebind), and the write lock: every write
// transaction first takes one transaction-level advisory lock, so writers
// of every process are serialized as SQLite's are, and the hash chain of
// the operation log has no gap and no duplicate under concurrent writers.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the store in PostgreSQL.
type DB = sqlstore.DB

// lockKey names upfactory's advisory lock: "upfa" as a number.
const lockKey = 0x75706661

var dialect = sqlstore.Dialect{
	Name:       "PostgreSQL",
	Migrations: must(fs.Sub(migrations, "migrations")),
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		name       TEXT COLLATE "C" PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`,
	Lock:      fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", lockKey),
	NowMillis: "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
}

func must(f fs.FS, err error) fs.FS {
	if err != nil {
		panic(err)
	}
	return f
}

// connectTimeout bounds connecting when the DSN does not say.
const connectTimeout = 10 * time.Second

// Open connects to the database dsn names (a postgres:// URL or
// key=value pairs), checks that it answers, and applies the migrations it
// has not applied yet. A DSN that does not parse is EINVALID and one that
// does not connect EUNAVAILABLE, each naming the server, never the
// password.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "PostgreSQL DSN %s: %v", Redact(dsn), redactErr(err, dsn))
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = connectTimeout
	}
	where := fmt.Sprintf("%s:%d (database %s, user %s)", cfg.Host, cfg.Port, cfg.Database, cfg.User)
	sqldb := sql.OpenDB(connector{stdlib.GetConnector(*cfg)})
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, upfactory.Errorf(upfactory.EUNAVAILABLE, "cannot connect to PostgreSQL at %s: %v", where, redactErr(err, dsn))
	}
	db, err := sqlstore.Open(ctx, sqldb, dialect)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s: %w", where, err)
	}
	return db, nil
}

var userinfo = regexp.MustCompile(`(://[^:/@]*:)[^/]*@`)

// Redact hides the password of a DSN, in URL or key=value form.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	if strings.Contains(dsn, "://") { // a URL that does not parse
		return userinfo.ReplaceAllString(dsn, "${1}xxxxx@")
	}
	fields := strings.Fields(dsn)
	for i, f := range fields {
		if k, _, ok := strings.Cut(f, "="); ok && strings.EqualFold(k, "password") {
			fields[i] = k + "=xxxxx"
		}
	}
	return strings.Join(fields, " ")
}

// redactErr is err's message with dsn's password, should it appear,
// hidden.
func redactErr(err error, dsn string) string {
	msg := err.Error()
	cfg, perr := pgx.ParseConfig(dsn)
	if perr == nil && cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "xxxxx")
	}
	if u, uerr := url.Parse(dsn); uerr == nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "xxxxx")
		}
	}
	return msg
}
