package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	uhttp "github.com/upfactory/upfactory/http"
	"github.com/upfactory/upfactory/internal/readme"
)

// withPorts is the config at path with fresh API and router ports, same
// data dir: what an operator gets by copying a config to try something.
func withPorts(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`listen: 127\.0\.0\.1:\d+`)
	out := re.ReplaceAllStringFunc(string(b), func(string) string {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		return "listen: 127.0.0.1:" + p
	})
	copyPath := filepath.Join(t.TempDir(), "copy.yaml")
	if err := os.WriteFile(copyPath, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return copyPath
}

// Given a serving upfactory, when a second serve starts on the same data
// dir (other ports), then it refuses at once with exit 2 naming the first
// server's process, and the first server's instances keep serving.
func TestSecondServeOnTheSameDataDirIsRefused(t *testing.T) {
	s := startServe(t, testSteps)
	before := s.status(t)

	// A server that wrongly starts runs until its context ends: the
	// deadline turns that into a failure instead of a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"serve", "-c", withPorts(t, s.cfg)}, &out, &errb)
	if code != exitUsage {
		t.Fatalf("second serve: exit %d, want %d\nstderr: %s", code, exitUsage, errb.String())
	}
	msg := errb.String()
	for _, want := range []string{"in use by upfactory serve", "pid " + strconv.Itoa(s.cmd.Process.Pid), s.api} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal does not say %q:\n%s", want, msg)
		}
	}

	after := s.status(t)
	pids := func(st []upfactory.Instance) []int {
		var p []int
		for _, in := range st {
			p = append(p, in.PID)
		}
		return p
	}
	if len(before.Versions) != 1 || len(after.Versions) != 1 {
		t.Fatalf("versions before %d after %d, want 1", len(before.Versions), len(after.Versions))
	}
	b, a := pids(before.Versions[0].Instances), pids(after.Versions[0].Instances)
	if len(b) == 0 || !slices.Equal(a, b) {
		t.Errorf("the first server's instances changed: before %v, after %v", b, a)
	}
	for _, in := range after.Versions[0].Instances {
		if in.State != upfactory.InstanceReady {
			t.Errorf("instance %s is %s after the refused start, want Ready", in.ID, in.State)
		}
	}
}

// Given a stable version whose instances never become ready, then serve
// says the service is degraded (its output, rollout status and /metrics),
// instead of "Completed: takes all traffic".
func TestStableWithNoReadyInstanceIsDegraded(t *testing.T) {
	dir := t.TempDir()
	cfg, api, router := writeConfig(t, dir, testSteps)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(strings.Replace(string(b), "stable_version: 1.0.0", "stable_version: 9.9.9", 1), "timeout: 8s", "timeout: 1s", 1)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &served{dir: dir, cfg: cfg, api: api, router: router}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })

	st := s.waitFor(t, "the service to be degraded", 30*time.Second, func(st *engine.Status) bool {
		return st.Health.State == upfactory.HealthDegraded
	})
	if !strings.Contains(st.Health.Reason, "stable 9.9.9: 0 of 2 instances ready") || !strings.Contains(st.Message, "degraded") {
		t.Errorf("health %+v, message %q: want the stable version named with 0 of 2 ready", st.Health, st.Message)
	}
	if code, out := s.cli(t, "rollout", "status", "checkout"); code != 0 || !strings.Contains(out, "Health:   Degraded: stable 9.9.9") {
		t.Errorf("rollout status (exit %d) does not show the degraded health:\n%s", code, out)
	}
	// /metrics reports the health of the engine's last reconcile, a tick
	// behind a status that looked itself.
	want := `upfactory_service_health{service="checkout",state="Degraded"} 1`
	eventually(t, "/metrics to say "+want, 10*time.Second, func() (bool, string) {
		resp, err := http.Get(api + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		metrics, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(metrics), want), "not in /metrics yet"
	})
	eventually(t, "serve to print that the service is degraded", 10*time.Second, func() (bool, string) {
		return strings.Contains(s.stderr.String(), "service degraded"), "not in its output yet"
	})
	// Each key once a line: a reader (or a log pipeline) cannot tell which
	// of two "component=" is meant.
	for _, line := range strings.Split(s.stderr.String(), "\n") {
		for _, key := range []string{" component=", " service="} {
			if strings.Count(line, key) > 1 {
				t.Errorf("serve's log line has%s twice: %s", key, line)
			}
		}
	}
}

// Given a rollout that reaches an approval gate, when a CI job runs
// rollout start --wait, then it ends there with exit 3 instead of hanging;
// status --watch does the same; and --timeout ends a watch with exit 4.
func TestWaitEndsWhenTheRolloutNeedsAPerson(t *testing.T) {
	s := startServe(t, testSteps)
	startLoad(t, s, 300)

	code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0", "--as", "ci", "--wait", "--timeout", "2m")
	if code != exitPerson || !strings.Contains(out, "AwaitingApproval") || !strings.Contains(out, "upfactory rollout approve checkout") {
		t.Fatalf("start --wait: exit %d, want %d naming the approval gate:\n%s", code, exitPerson, out)
	}
	code, out = s.cli(t, "rollout", "status", "checkout", "--watch", "-o", "json")
	if code != exitPerson {
		t.Fatalf("status --watch at the gate: exit %d, want %d:\n%s", code, exitPerson, out)
	}
	var st engine.Status
	if err := json.Unmarshal([]byte(firstLine(out)), &st); err != nil || st.Phase != upfactory.PhaseAwaitingApproval {
		t.Fatalf("status --watch -o json: want one status a line, got %v:\n%s", err, out)
	}
	// Without --as the approver is the user running the command, as its
	// help says.
	if code, out := s.cli(t, "rollout", "approve", "checkout"); code != 0 || !strings.Contains(out, "by "+currentUser()) {
		t.Fatalf("approve without --as: exit %d, want 0 and the approval by %s: %s", code, currentUser(), out)
	}
	// The rest of the steps take several seconds: a 1s timeout ends first.
	code, out = s.cli(t, "rollout", "status", "checkout", "--watch", "--timeout", "1s", "-o", "json")
	if code != exitTimeout || !strings.Contains(out, "--timeout 1s") {
		t.Fatalf("status --watch --timeout 1s: exit %d, want %d:\n%s", code, exitTimeout, out)
	}
	code, out = s.cli(t, "rollout", "status", "checkout", "--watch", "--timeout", "2m")
	if code != exitOK || !strings.Contains(out, "Completed") {
		t.Fatalf("status --watch to the end: exit %d, want 0:\n%s", code, out)
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func TestWatchOutcome(t *testing.T) {
	for _, tc := range []struct {
		phase upfactory.Phase
		id    string
		code  int
		end   bool
	}{
		{upfactory.PhaseCompleted, "", exitOK, true}, // no rollout at all: nothing to wait for
		{upfactory.PhaseCompleted, "r1", exitOK, true},
		{upfactory.PhaseRolledBack, "r1", exitRefused, true},
		{upfactory.PhaseAborted, "r1", exitRefused, true},
		{upfactory.PhaseFailed, "r1", exitRefused, true},
		{upfactory.PhasePaused, "r1", exitPerson, true},
		{upfactory.PhaseAwaitingApproval, "r1", exitPerson, true},
		{upfactory.PhaseProgressing, "r1", 0, false},
	} {
		code, _, end := watchOutcome(&engine.Status{Service: "shop", Phase: tc.phase, RolloutID: tc.id})
		if code != tc.code || end != tc.end {
			t.Errorf("%s (rollout %q): code %d end %v, want %d %v", tc.phase, tc.id, code, end, tc.code, tc.end)
		}
	}
}

// Given a running serve, when its config file changes, then serve and the
// commands that read the file say the server runs the old one; a reload
// (the API or SIGHUP) applies a valid file whole, to the engine and to
// intake, and keeps the running config when the file is invalid or needs
// a restart, saying why; every reload is in the operation log.
func TestConfigReload(t *testing.T) {
	s := startServe(t, testSteps)
	orig, err := os.ReadFile(s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(s.cfg, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	status := func() *uhttp.ConfigStatus {
		t.Helper()
		st, err := uhttp.NewClient(s.api, "").ConfigStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	before := status()
	if before.Changed || before.SHA256 == "" {
		t.Fatalf("config status at start: %+v", before)
	}

	// A new step and an intake-only service whose inventory is missing.
	changed := strings.Replace(string(orig), "          - weight: 100", "          - pause: {duration: 1s}\n          - weight: 100", 1) +
		"  - name: blog\n    inventory: [{type: gomod, path: missing-go.mod}]\n"
	write(changed)
	eventually(t, "serve to warn that its config file changed", 10*time.Second, func() (bool, string) {
		return strings.Contains(s.stderr.String(), "the config file changed since it was loaded"), "not in its output yet"
	})
	if st := status(); !st.Changed {
		t.Errorf("config status after the edit: %+v, want changed", st)
	}
	if code, out := s.cli(t, "log", "-c", s.cfg, "--limit", "1"); code != 0 || !strings.Contains(out, "has changed since upfactory serve (pid "+strconv.Itoa(s.cmd.Process.Pid)) {
		t.Errorf("a command reading the changed file does not warn (exit %d):\n%s", code, out)
	}

	// An invalid file is refused and the running config stays.
	write(changed + "  - name: blog2\n    no_such_key: 1\n")
	if code, out := s.cli(t, "reload", "--as", "alice"); code != exitUsage || !strings.Contains(out, "no_such_key") {
		t.Errorf("reload of an invalid file: exit %d, want %d naming the key:\n%s", code, exitUsage, out)
	}
	if st := status(); st.SHA256 != before.SHA256 {
		t.Errorf("a refused reload changed the config in force: %s, want %s", st.SHA256, before.SHA256)
	}

	// A change that needs a restart is refused, naming it.
	write(strings.Replace(changed, "sticky: true", "sticky: false", 1))
	if code, out := s.cli(t, "reload", "--as", "alice"); code != exitRefused || !strings.Contains(out, "services[checkout].router") || !strings.Contains(out, "restart serve") {
		t.Errorf("reload of a router change: exit %d, want %d naming services[checkout].router:\n%s", code, exitRefused, out)
	}

	// SIGHUP applies a valid file.
	write(changed)
	if err := s.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "SIGHUP to apply the new config", 10*time.Second, func() (bool, string) {
		st := status()
		return !st.Changed && st.SHA256 != before.SHA256, fmt.Sprintf("config status %+v", st)
	})
	if st := s.status(t); len(st.Steps) != 9 || st.Steps[7] != "pause 1s" {
		t.Errorf("the engine does not run the reloaded strategy: steps %q", st.Steps)
	}
	rep, err := uhttp.NewClient(s.api, "").RunIntake(context.Background())
	if err != nil && !strings.Contains(err.Error(), "missing-go.mod") {
		t.Fatalf("intake through the API: %v", err)
	}
	if err == nil {
		b, _ := json.Marshal(rep)
		if !strings.Contains(string(b), "missing-go.mod") {
			t.Errorf("intake after the reload did not read the new service's inventory:\n%s", b)
		}
	}
	if code, out := s.cli(t, "log", "-c", s.cfg); code != 0 || strings.Contains(out, "has changed since") {
		t.Errorf("a command warns although the file was reloaded (exit %d):\n%s", code, out)
	}
	code, out := s.cli(t, "log", "-o", "json")
	if code != 0 {
		t.Fatalf("log: exit %d: %s", code, out)
	}
	var log struct{ Entries []upfactory.LogEntry }
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("log -o json: %v\n%s", err, out)
	}
	var actions []string
	for _, e := range log.Entries {
		if strings.HasPrefix(e.Action, "config.") {
			actions = append(actions, e.Action+" by "+e.Actor)
		}
	}
	want := []string{"config.reload-refused by alice", "config.reload-refused by alice", "config.reload by signal:SIGHUP"}
	if !slices.Equal(actions, want) {
		t.Errorf("config entries in the log: %q, want %q", actions, want)
	}
}

// log --limit N shows the newest N entries, oldest first, from the API and
// from the store (-c) alike.
func TestLogLimitShowsTheNewest(t *testing.T) {
	s := startServe(t, testSteps)
	seqs := func(args ...string) []int64 {
		t.Helper()
		code, out := s.cli(t, append([]string{"log", "-o", "json"}, args...)...)
		if code != 0 {
			t.Fatalf("log %v: exit %d: %s", args, code, out)
		}
		var log struct{ Entries []upfactory.LogEntry }
		if err := json.Unmarshal([]byte(out), &log); err != nil {
			t.Fatalf("log %v: %v\n%s", args, err, out)
		}
		var s []int64
		for _, e := range log.Entries {
			s = append(s, e.Seq)
		}
		return s
	}
	all := seqs()
	if len(all) < 3 {
		t.Fatalf("want at least 3 entries after start, got %v", all)
	}
	want := all[len(all)-2:]
	if got := seqs("--limit", "2"); !slices.Equal(got, want) {
		t.Errorf("log --limit 2 = %v, want the newest %v", got, want)
	}
	// More entries may have come since (instances report in): still the newest two.
	if got := seqs("--limit", "2", "-c", s.cfg); len(got) != 2 || got[0] < want[0] || got[1] <= got[0] {
		t.Errorf("log --limit 2 -c = %v, want the newest two (at least %v)", got, want)
	}
}

// Given the README's example config, unchanged but for ports, paths and
// the program, and a small service's traffic (25 requests/s), when a
// healthy version is rolled out, then it completes: no rollback or pause
// on the noise of a thin canary. bench/smallcanary measures the rates.
func TestReadmeExampleCompletesAtSmallServiceTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("takes the example's own durations, about two minutes")
	}
	text, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := readme.YAMLExample(string(text), "Configuration")
	if err != nil || !strings.Contains(example, `"./bin/shop"`) {
		t.Fatalf("the README's Configuration example is not where this test reads it: %v", err)
	}
	dir := t.TempDir()
	apiPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	routerPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer(`"./bin/shop"`, fmt.Sprintf("%q, %q", binary, "shop"),
		"127.0.0.1:7070", "127.0.0.1:"+apiPort, "127.0.0.1:8080", "127.0.0.1:"+routerPort,
		"./.upfactory", filepath.Join(dir, "data")).Replace(example)
	// This test is about the canary at small traffic, not the line.
	cfg = strings.Replace(cfg, "\n    stable_version:", gatesOff+"\n    stable_version:", 1)
	path := filepath.Join(dir, "upfactory.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &served{dir: dir, cfg: path, api: "http://127.0.0.1:" + apiPort, router: "http://127.0.0.1:" + routerPort}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	s.waitStable(t, "1.0.0")
	_, stop := startLoad(t, s, 25)

	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start: exit %d: %s", code, out)
	}
	st := s.waitFor(t, "the approval gate", 3*time.Minute, func(st *engine.Status) bool {
		return st.Phase == upfactory.PhaseAwaitingApproval || st.Phase.Done() || st.Phase == upfactory.PhasePaused
	})
	if st.Phase != upfactory.PhaseAwaitingApproval {
		t.Fatalf("at 5%% of 25 requests/s: %s: %s", st.Phase, st.Message)
	}
	if code, out := s.cli(t, "rollout", "approve", "checkout", "--as", "bob"); code != 0 {
		t.Fatalf("approve: exit %d: %s", code, out)
	}
	st = s.waitFor(t, "the end of the rollout", 4*time.Minute, func(st *engine.Status) bool {
		return st.Phase.Done() || st.Phase == upfactory.PhasePaused
	})
	if st.Phase != upfactory.PhaseCompleted {
		t.Fatalf("a healthy 2.0.0 at 25 requests/s: %s: %s", st.Phase, st.Message)
	}
	if c := stop(); c.Failed() != 0 {
		t.Errorf("%d requests failed during the rollout", c.Failed())
	}
}
