package schema_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/upfactory/upfactory/schema"
)

// engine is one database engine the conformance tests run against: it
// makes a fresh database holding some DDL and returns its DSN.
type engine struct {
	name string
	// MustDB returns the DSN of a new database to which ddl was applied.
	MustDB func(tb testing.TB, ddl string) string
}

// engines returns SQLite always, and PostgreSQL when UPFACTORY_TEST_POSTGRES
// names a server (see postgresDSN).
func engines(t *testing.T) []engine {
	es := []engine{{name: "sqlite", MustDB: MustSQLiteDB}}
	if dsn := postgresDSN(t, false); dsn != "" {
		es = append(es, engine{name: "postgres", MustDB: func(tb testing.TB, ddl string) string { return MustPostgresDB(tb, dsn, ddl) }})
	}
	return es
}

// postgresDSN returns UPFACTORY_TEST_POSTGRES. When it is not set the test
// is skipped (skip true) or the PostgreSQL half of it left out (skip false),
// except under CI=true, where it fails: CI must run the real thing.
func postgresDSN(t *testing.T, skip bool) string {
	t.Helper()
	dsn := os.Getenv("UPFACTORY_TEST_POSTGRES")
	if dsn != "" {
		return dsn
	}
	const how = `UPFACTORY_TEST_POSTGRES is not set: the PostgreSQL tests need a server from the Debian package postgresql; start one with eval "$(scripts/postgres.sh start)"`
	if os.Getenv("CI") == "true" {
		t.Fatal(how + " (CI=true: not skipping)")
	}
	if skip {
		t.Skip(how)
	}
	t.Log(how + "; testing SQLite only")
	return ""
}

// MustSQLiteDB creates a SQLite file holding ddl and returns its DSN.
func MustSQLiteDB(tb testing.TB, ddl string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "live.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(ddl); err != nil {
		tb.Fatalf("applying DDL to %s: %v\n%s", path, err, ddl)
	}
	return "sqlite:" + path
}

// MustPostgresDB creates a database on the server of serverDSN, applies
// ddl, drops the database when the test ends, and returns its DSN.
func MustPostgresDB(tb testing.TB, serverDSN, ddl string) string {
	tb.Helper()
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, serverDSN)
	if err != nil {
		tb.Fatalf("connecting to the test server: %v", err)
	}
	var b [4]byte
	rand.Read(b[:])
	name := "schema_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(ctx)
	})
	u, err := url.Parse(serverDSN)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	dsn := u.String()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, ddl); err != nil {
		tb.Fatalf("applying DDL to %s: %v\n%s", name, err, ddl)
	}
	return dsn
}

func MustInspect(tb testing.TB, dsn string) *schema.Schema {
	tb.Helper()
	s, err := schema.Inspect(context.Background(), dsn)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
