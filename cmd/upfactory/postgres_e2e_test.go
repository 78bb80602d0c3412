package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
)

// freshPostgres makes an empty database on the PostgreSQL server of
// UPFACTORY_TEST_POSTGRES, dropped when the test ends, and returns its
// DSN. Without that server the test skips, or fails under CI=true.
func freshPostgres(t *testing.T, prefix string) string {
	t.Helper()
	server := os.Getenv("UPFACTORY_TEST_POSTGRES")
	if server == "" {
		const how = `UPFACTORY_TEST_POSTGRES is not set: this test needs PostgreSQL from the Debian package postgresql; start one with eval "$(scripts/postgres.sh start)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(how + " (CI=true: not skipping)")
		}
		t.Skip(how)
	}
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	rand.Read(b[:]) // a name apart from other runs' on the same server
	name := prefix + "_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close(context.Background())
	})
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestServeOnPostgreSQL runs a rollout with the store in PostgreSQL,
// kills serve mid-rollout and starts it again: the rollout resumes at
// the same step, completes, and the log verifies.
func TestServeOnPostgreSQL(t *testing.T) {
	dsn := freshPostgres(t, "serve_e2e")
	t.Setenv("UPFACTORY_E2E_STORE", dsn) // serve reads the DSN from the environment
	steps := `
          - weight: 25
          - pause: {}
          - weight: 100`
	s := startEdited(t, steps, func(cfg string) string {
		return cfg + "store: {dsn: \"${UPFACTORY_E2E_STORE}\"}\n"
	})
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0"); code != 0 {
		t.Fatal(out)
	}
	before := s.waitFor(t, "the pause at 25%", 30*time.Second, func(st *engine.Status) bool {
		return st.CanaryWeight == 25 && st.Phase == upfactory.PhasePaused
	})
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.waitDone
	s.start(t)
	after := s.waitFor(t, "the resumed rollout", 30*time.Second, func(st *engine.Status) bool {
		return st.RolloutID == before.RolloutID
	})
	if after.StepIndex != before.StepIndex || after.CanaryWeight != 25 || after.Phase != upfactory.PhasePaused {
		t.Fatalf("after restart: %s step %d weight %d; before: step %d", after.Phase, after.StepIndex, after.CanaryWeight, before.StepIndex)
	}
	if code, out := s.cli(t, "rollout", "resume", "checkout"); code != 0 {
		t.Fatal(out)
	}
	s.waitFor(t, "completion", 30*time.Second, phaseIs(upfactory.PhaseCompleted))
	code, out := s.cli(t, "log", "--verify", "-c", s.cfg)
	if code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("log --verify on PostgreSQL: exit %d\n%s", code, out)
	}
	// The state is in PostgreSQL, not in a SQLite file of the data dir.
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var entries int
	if err := conn.QueryRow(context.Background(), "SELECT COUNT(*) FROM oplog WHERE service = 'checkout'").Scan(&entries); err != nil || entries == 0 {
		t.Errorf("oplog rows in PostgreSQL: %d, %v", entries, err)
	}
	if _, err := os.Stat(s.dir + "/.upfactory/upfactory.db"); err == nil {
		t.Errorf("a SQLite file was written beside a PostgreSQL store")
	}
}
