package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	_ "modernc.org/sqlite"
)

func TestConfigErrorsExitTwoWithEveryProblem(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "upfactory.yaml")
	os.WriteFile(cfg, []byte(`server:
  listen: 127.0.0.1:7070
services:
  - name: checkout
    stable_version: 1.0.0
    target:
      type: exec
      command: ["./shop", "--listen", "127.0.0.1:{{.Port}}"]
    router:
      listen: 127.0.0.1:8080
    strategy:
      canary:
        steps:
          - weigth: 5
          - weight: 150
`), 0o644)
	var out strings.Builder
	code := Main(context.Background(), []string{"serve", "-c", cfg}, &out, &out)
	if code != exitUsage {
		t.Fatalf("exit %d, want 2:\n%s", code, out.String())
	}
	for _, want := range []string{"upfactory.yaml:14:", "weigth", "upfactory.yaml:15:", "150"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func logLen(t *testing.T, s *served) int {
	t.Helper()
	_, out := s.cli(t, "log", "-o", "json")
	var lg struct{ Entries []upfactory.LogEntry }
	if err := json.Unmarshal([]byte(out), &lg); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	return len(lg.Entries)
}

// Refused commands say why, exit non-zero, and change nothing.
func TestRefusedCommandsChangeNothing(t *testing.T) {
	steps := `
          - weight: 5
          - pause: {}
          - weight: 100`
	s := startServe(t, steps)
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0"); code != 0 {
		t.Fatal(out)
	}
	s.waitFor(t, "the pause", 30*time.Second, phaseIs(upfactory.PhasePaused))
	before, n := s.status(t), logLen(t, s)
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown service", []string{"rollout", "start", "nope", "--version", "2.0.0"}, exitRefused, "unknown service"},
		{"second rollout", []string{"rollout", "start", "checkout", "--version", "3.0.0"}, exitRefused, "already in progress"},
		{"approval without gate", []string{"rollout", "approve", "checkout", "--as", "bob"}, exitRefused, "no approval gate is waiting"},
		{"version with a shell metacharacter", []string{"rollout", "start", "checkout", "--version", "1.0;rm -rf /"}, exitUsage, "version"},
		{"missing version", []string{"rollout", "start", "checkout"}, exitUsage, "--version is required"},
		{"unknown action", []string{"rollout", "explode", "checkout"}, exitUsage, "unknown command"},
		{"server down", []string{"--server", "http://127.0.0.1:1", "rollout", "status", "checkout"}, exitRefused, "cannot reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := s.cli(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.msg) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, tt.code, tt.msg, out)
			}
		})
	}
	after := s.status(t)
	if after.Phase != before.Phase || after.StepIndex != before.StepIndex || after.CanaryWeight != before.CanaryWeight || after.CanaryVersion != before.CanaryVersion {
		t.Errorf("state changed: before %s/%d/%d/%s after %s/%d/%d/%s", before.Phase, before.StepIndex, before.CanaryWeight, before.CanaryVersion,
			after.Phase, after.StepIndex, after.CanaryWeight, after.CanaryVersion)
	}
	if m := logLen(t, s); m != n {
		t.Errorf("refused commands wrote %d log entries", m-n)
	}
	// A JSON caller gets the error as JSON.
	code, out := s.cli(t, "rollout", "approve", "checkout", "--as", "bob", "-o", "json")
	var e struct {
		Error struct{ Code, Message string }
	}
	if code != exitRefused || json.Unmarshal([]byte(out), &e) != nil || e.Error.Code != upfactory.ECONFLICT {
		t.Errorf("json error: exit %d: %s", code, out)
	}
}

// A version that never becomes ready fails at the readiness deadline and
// never gets any traffic.
func TestNeverReadyVersionFailsWithWeightZero(t *testing.T) {
	s := startServe(t, testSteps)
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "9.9.9"); code != 0 {
		t.Fatal(out)
	}
	st := s.waitFor(t, "the readiness deadline", 30*time.Second, func(st *engine.Status) bool {
		if st.CanaryWeight != 0 {
			t.Fatalf("canary weight %d before ready", st.CanaryWeight)
		}
		return st.Phase.Done()
	})
	if st.Phase != upfactory.PhaseFailed || !strings.Contains(st.Message, "ready") {
		t.Fatalf("%s: %s", st.Phase, st.Message)
	}
	_, out := s.cli(t, "log", "--service", "checkout")
	if !strings.Contains(out, "rollout.failed") {
		t.Errorf("log lacks rollout.failed:\n%s", out)
	}
	// The stable version still takes all traffic; a new rollout may start.
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0"); code != 0 {
		t.Errorf("a new rollout after a failed one: %s", out)
	}
}

func TestAPITokenGuardsChanges(t *testing.T) {
	s := startServe(t, testSteps, "--api-token", "s3cret")
	code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0")
	if code != exitRefused || !strings.Contains(out, "none was sent") {
		t.Fatalf("without token: exit %d: %s", code, out)
	}
	if code, out := s.cli(t, "--api-token", "wrong", "rollout", "pause", "checkout"); code != exitRefused || !strings.Contains(out, "not the one this server accepts") {
		t.Fatalf("wrong token: exit %d: %s", code, out)
	}
	// Both failures are in serve's log, with where they came from and what
	// they asked, not with what they sent.
	eventually(t, "serve to log both failed authentications", 10*time.Second, func() (bool, string) {
		log := s.stderr.String()
		return strings.Count(log, "authentication failed") == 2 && strings.Contains(log, "path=/api/v1/services/checkout/rollouts") &&
			strings.Contains(log, "path=/api/v1/services/checkout/actions/pause"), "not both logged yet"
	})
	if strings.Contains(s.stderr.String(), "wrong") {
		t.Error("the server logged the token a client sent")
	}
	if code, out := s.cli(t, "rollout", "status", "checkout"); code != 0 {
		t.Fatalf("reads need no token: %s", out)
	}
	if code, out := s.cli(t, "--api-token", "s3cret", "rollout", "start", "checkout", "--version", "2.0.0"); code != 0 {
		t.Fatalf("with token: %s", out)
	}
	if strings.Contains(s.stderr.String(), "s3cret") {
		t.Error("the server logged its token")
	}
}

// Editing or deleting a log entry in the store is caught by log --verify,
// which names the first bad entry.
func TestLogVerifyNamesTheTamperedEntry(t *testing.T) {
	s := startServe(t, testSteps)
	s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0")
	s.waitFor(t, "the canary", 30*time.Second, func(st *engine.Status) bool { return st.CanaryWeight == 5 })
	s.stop(t)
	if code, out := s.cli(t, "log", "--verify", "-c", s.cfg); code != 0 {
		t.Fatalf("untouched log: exit %d: %s", code, out)
	}
	db, err := sql.Open("sqlite", filepath.Join(s.dir, "data", "upfactory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE oplog SET reason = 'nothing happened' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	code, out := s.cli(t, "log", "--verify", "-c", s.cfg)
	if code != exitRefused || !strings.Contains(out, "entry 3") {
		t.Fatalf("edited entry: exit %d: %s", code, out)
	}
	// With -o json: the verification alone on stdout, the error on stderr.
	var stdout, stderr bytes.Buffer
	code = Main(context.Background(), []string{"log", "--verify", "-c", s.cfg, "-o", "json"}, &stdout, &stderr)
	if code != exitRefused || !strings.Contains(stderr.String(), "entry 3") {
		t.Fatalf("edited entry, -o json: exit %d: %s", code, stderr.String())
	}
	assertOneJSONDocument(t, stdout.Bytes())
}
