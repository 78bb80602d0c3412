package schema

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Engine is the kind of database a DSN names.
type Engine string

// Engines.
const (
	Postgres Engine = "postgres"
	SQLite   Engine = "sqlite"
)

// EngineOf tells which engine a DSN names: postgres://… and postgresql://…
// are PostgreSQL; sqlite:PATH, file:PATH and a path ending in .db, .sqlite
// or .sqlite3 are SQLite.
func EngineOf(dsn string) (Engine, error) {
	lower := strings.ToLower(dsn)
	switch {
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return Postgres, nil
	case strings.HasPrefix(lower, "sqlite:"), strings.HasPrefix(lower, "file:"):
		return SQLite, nil
	}
	path := lower
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	for _, ext := range []string{".db", ".sqlite", ".sqlite3"} {
		if strings.HasSuffix(path, ext) {
			return SQLite, nil
		}
	}
	return "", fmt.Errorf("%s is not a database address: use postgres://…, postgresql://…, sqlite:PATH, file:PATH or a path ending in .db or .sqlite", Redact(dsn))
}

var passwordKV = regexp.MustCompile(`(?i)(password\s*=\s*)('[^']*'|\S+)`)

// Redact returns dsn with its password, if any, replaced by xxxxx:
// postgres://user:xxxxx@host:port/db. Every error of this package that
// mentions a DSN mentions it redacted.
func Redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if _, ok := u.User.Password(); ok {
			dsn = u.Redacted()
		}
	}
	return passwordKV.ReplaceAllString(dsn, "${1}xxxxx")
}

// scrub removes a DSN's password from an error message a driver wrote,
// in case the driver quoted it.
func scrub(err error, dsn string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			clean = strings.ReplaceAll(clean, pw, "xxxxx")
			clean = strings.ReplaceAll(clean, url.QueryEscape(pw), "xxxxx")
			clean = strings.ReplaceAll(clean, url.PathEscape(pw), "xxxxx")
		}
	}
	clean = passwordKV.ReplaceAllString(clean, "${1}xxxxx")
	if clean == msg {
		return err
	}
	return &scrubbedError{msg: clean, err: err}
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }

// Unwrap keeps errors.Is and errors.As working (context.DeadlineExceeded,
// *pgconn.PgError); their own text may still hold the password.
func (e *scrubbedError) Unwrap() error { return e.err }

// Option changes how Inspect reads a schema.
type Option func(*options)

type options struct {
	pgSchema string
}

// WithPostgresSchema reads the named PostgreSQL schema instead of the first
// one of the DSN's search_path parameter, or public. SQLite ignores it.
func WithPostgresSchema(name string) Option {
	return func(o *options) { o.pgSchema = name }
}

// Inspect reads the schema of the database dsn names (see EngineOf). A
// SQLite file is opened read-only and must exist. Errors name the DSN with
// its password redacted, and for PostgreSQL the host:port that could not be
// reached.
func Inspect(ctx context.Context, dsn string, opts ...Option) (*Schema, error) {
	var o options
	for _, f := range opts {
		f(&o)
	}
	engine, err := EngineOf(dsn)
	if err != nil {
		return nil, err
	}
	var s *Schema
	switch engine {
	case Postgres:
		s, err = inspectPostgres(ctx, dsn, o)
	default:
		s, err = inspectSQLiteFile(ctx, dsn)
	}
	if err != nil {
		return nil, fmt.Errorf("inspecting %s: %w", Redact(dsn), scrub(err, dsn))
	}
	return s, nil
}
