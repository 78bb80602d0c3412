package postgres

import (
	"context"
	"database/sql/driver"
	"strconv"
	"strings"
)

// Rebind rewrites a query of the store, written once for every engine
// with ? placeholders and SQLite's json_object, into PostgreSQL's: $1, $2,
// … and json_build_object. Question marks inside string literals, quoted
// identifiers and comments are left alone.
func Rebind(q string) string {
	if !strings.ContainsAny(q, "?j") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			end := strings.IndexByte(q[i+1:], c)
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+2])
			i += end + 1
		case c == '-' && strings.HasPrefix(q[i:], "--"):
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+end+1])
			i += end
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		case c == 'j' && strings.HasPrefix(q[i:], "json_object(") && (i == 0 || !isIdent(q[i-1])):
			b.WriteString("json_build_object(")
			i += len("json_object(") - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isIdent(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// connector hands out pgx's connections with the store's queries
// rebound.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	inner, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{inner: inner}, nil
}

// pgxConn is what pgx's database/sql connection offers.
type pgxConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.NamedValueChecker
}

// conn is one pgx connection whose queries are rebound first.
type conn struct{ inner driver.Conn }

var (
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)

func (c *conn) pgx() pgxConn { return c.inner.(pgxConn) }

func (c *conn) Prepare(q string) (driver.Stmt, error) { return c.inner.Prepare(Rebind(q)) }
func (c *conn) Close() error                          { return c.inner.Close() }

// Begin is driver.Conn's; database/sql calls BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.pgx().BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.pgx().PrepareContext(ctx, Rebind(q))
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.pgx().BeginTx(ctx, opts)
}

func (c *conn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.pgx().ExecContext(ctx, Rebind(q), args)
}

func (c *conn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.pgx().QueryContext(ctx, Rebind(q), args)
}

func (c *conn) Ping(ctx context.Context) error             { return c.pgx().Ping(ctx) }
func (c *conn) ResetSession(ctx context.Context) error     { return c.pgx().ResetSession(ctx) }
func (c *conn) CheckNamedValue(v *driver.NamedValue) error { return c.pgx().CheckNamedValue(v) }
func (c *conn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
