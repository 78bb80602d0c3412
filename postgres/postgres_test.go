package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/postgres"
	"github.com/upfactory/upfactory/storetest"
)

// serverDSN returns UPFACTORY_TEST_POSTGRES, the server scripts/test.sh
// starts; the tests skip without it, except under CI=true, where they fail.
func serverDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("UPFACTORY_TEST_POSTGRES")
	if dsn != "" {
		return dsn
	}
	const how = `UPFACTORY_TEST_POSTGRES is not set: the PostgreSQL store tests need a server from the Debian package postgresql; start one with eval "$(scripts/postgres.sh start)"`
	if os.Getenv("CI") == "true" {
		t.Fatal(how + " (CI=true: not skipping)")
	}
	t.Skip(how)
	return ""
}

var schemas atomic.Int64

// freshDSN makes an empty schema on the test server, dropped when the
// test ends, and returns a DSN whose search_path is that schema: each
// store of a test starts empty, as a new SQLite file does.
func freshDSN(t *testing.T) string {
	t.Helper()
	base := serverDSN(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("upf_test_%d_%d", os.Getpid(), schemas.Add(1))
	if _, err := admin.ExecContext(t.Context(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Error(err)
			return
		}
		defer admin.Close()
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// mustOpen opens the store at dsn and closes it when the test ends.
func mustOpen(t *testing.T, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func fresh(t *testing.T) *postgres.DB { return mustOpen(t, freshDSN(t)) }

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) upfactory.Store { return fresh(t) })
}

func TestIntakeStore(t *testing.T) {
	storetest.RunIntake(t, func(t *testing.T) storetest.IntakeStore { return fresh(t) })
}

func TestPolicyStore(t *testing.T) {
	storetest.RunPolicy(t, func(t *testing.T) storetest.PolicyStore { return fresh(t) })
}

func TestCompatStore(t *testing.T) {
	storetest.RunCompat(t, func(t *testing.T) storetest.CompatStore { return fresh(t) })
}

func TestLineStore(t *testing.T) {
	storetest.RunLine(t, func(t *testing.T) storetest.LineStore { return fresh(t) })
}

func TestIncidentStore(t *testing.T) {
	storetest.RunIncident(t, func(t *testing.T) storetest.IncidentStore { return fresh(t) })
}

func TestReviewStore(t *testing.T) {
	storetest.RunReview(t, func(t *testing.T) storetest.ReviewStore { return fresh(t) })
}

func TestTokenStore(t *testing.T) {
	storetest.RunToken(t, func(t *testing.T) storetest.TokenStore { return fresh(t) })
}

func TestLeaseStore(t *testing.T) {
	storetest.RunLease(t, func(t *testing.T) (*postgres.DB, func(t *testing.T) *postgres.DB) {
		dsn := freshDSN(t)
		return mustOpen(t, dsn), func(t *testing.T) *postgres.DB { return mustOpen(t, dsn) }
	}, func(s *postgres.DB, l upfactory.Lease) upfactory.Store { return s.Fenced(l) })
}

// TestSeveralServers writes through three stores on one database, as
// three serve replicas would: the advisory lock keeps the log one chain.
func TestSeveralServers(t *testing.T) {
	storetest.RunSeveralWriters(t, func(t *testing.T) (*postgres.DB, func(t *testing.T) *postgres.DB) {
		dsn := freshDSN(t)
		return mustOpen(t, dsn), func(t *testing.T) *postgres.DB { return mustOpen(t, dsn) }
	})
}

// TestReopenAppliesNoMigrationTwice opens a migrated database again.
func TestReopenAppliesNoMigrationTwice(t *testing.T) {
	dsn := freshDSN(t)
	db := mustOpen(t, dsn)
	st := &upfactory.ServiceState{Service: "shop", StableVersion: "1.0.0"}
	if err := db.Save(t.Context(), st, nil); err != nil {
		t.Fatal(err)
	}
	again := mustOpen(t, dsn)
	got, err := again.State(t.Context(), "shop")
	if err != nil || got.StableVersion != "1.0.0" {
		t.Fatalf("state after reopening: %+v, %v", got, err)
	}
}

func TestADSNThatDoesNotConnectNamesTheServerNotThePassword(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there.
	_, err := postgres.Open(ctx, "postgres://upf:s3cret-pw@127.0.0.1:1/upfactory?sslmode=disable&connect_timeout=5")
	if err == nil {
		t.Fatal("Open of a server that is not there succeeded")
	}
	if upfactory.ErrorCode(err) != upfactory.EUNAVAILABLE || !strings.Contains(err.Error(), "127.0.0.1:1") || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("error %q: want EUNAVAILABLE naming 127.0.0.1:1, without the password", err)
	}
	_, err = postgres.Open(ctx, "postgres://upf:s3cret-pw@127.0.0.1:notaport/x")
	if upfactory.ErrorCode(err) != upfactory.EINVALID || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("a DSN that does not parse: %v, want EINVALID without the password", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://upf:pw@db.internal:5432/upf":     "postgres://upf:xxxxx@db.internal:5432/upf",
		"host=db.internal user=upf password=pw":      "host=db.internal user=upf password=xxxxx",
		"postgres://db.internal/upf?sslmode=require": "postgres://db.internal/upf?sslmode=require",
		"postgres://upf:p@ss@db:bad/upf":             "postgres://upf:xxxxx@db:bad/upf",
	} {
		if got := postgres.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		`SELECT a FROM t WHERE b = ? AND c = ?`:               `SELECT a FROM t WHERE b = $1 AND c = $2`,
		`SELECT '?', "x?" FROM t WHERE b = ? -- why?` + "\n?": `SELECT '?', "x?" FROM t WHERE b = $1 -- why?` + "\n$2",
		`SELECT json_object('by', a.by) FROM t`:               `SELECT json_build_object('by', a.by) FROM t`,
		`SELECT my_json_object(1)`:                            `SELECT my_json_object(1)`,
		`INSERT INTO t (a) VALUES ('it''s ?') RETURNING id`:   `INSERT INTO t (a) VALUES ('it''s ?') RETURNING id`,
	} {
		if got := postgres.Rebind(in); got != want {
			t.Errorf("Rebind(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRebind(f *testing.F) {
	for _, s := range []string{"SELECT ? FROM t", "'?'", `"?"`, "-- ?\n?", "json_object(?)", "'unterminated ?"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		out := postgres.Rebind(q)
		if strings.Count(out, "?") > strings.Count(q, "?") {
			t.Errorf("Rebind(%q) = %q adds question marks", q, out)
		}
		if !strings.Contains(q, "?") && !strings.Contains(q, "json_object(") && out != q {
			t.Errorf("Rebind(%q) = %q changed a query with nothing to rebind", q, out)
		}
	})
}
