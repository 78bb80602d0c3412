package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/loadgen"
)

// binary is upfactory built once for the end-to-end tests: `serve` runs as
// its own process (so it can be killed with SIGKILL) and the bundled shop is
// the same binary, as in the demo.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "upfactory-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "upfactory")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building upfactory: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const testSteps = `
          - weight: 5
          - analysis: {duration: 6s}
          - approval: {role: approver}
          - weight: 25
          - analysis: {duration: 3s}
          - weight: 50
          - pause: {duration: 2s}
          - weight: 100`

// served is a running `upfactory serve` process.
type served struct {
	cmd      *exec.Cmd
	dir      string
	cfg      string
	api      string
	router   string
	stderr   *lockedBuffer
	waitDone chan error
}

// gatesOff switches off the line's gates that need a person or a staging
// run (release notes, compat, preflight, drill) for the tests that are
// about delivery; line_e2e_test.go goes through them. Freezes stay on.
// It also switches off post-release verification, which compares the new
// version with the time before the rollout rather than side by side:
// verification_e2e_test.go tests it.
const gatesOff = "\n    gates: {notes: false, compat: false, preflight: false, drill: false}" + verificationOff

const verificationOff = "\n    verification: {off: true}"

func writeConfig(t *testing.T, dir, steps string) (cfgPath, api, router string) {
	t.Helper()
	apiPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	routerPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`server:
  listen: 127.0.0.1:%s
  data_dir: %s
  tick_interval: 100ms
services:
  - name: checkout
    owner: payments-team
    tier: 1
    critical_paths: [payment, auth]
    stable_version: 1.0.0%s
    target:
      type: exec
      command: [%q, "shop", "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"]
      replicas: 2
      readiness: {path: /healthz, timeout: 8s}
    router:
      type: builtin
      listen: 127.0.0.1:%s
      sticky: true
    strategy:
      canary:
        steps:%s
        rollback_window: 10m
    analysis:
      interval: 1s
      min_samples: 10
      checks:
        - {metric: error_rate, max: 1%%, for: 2s}
        - {metric: p95_latency, max_vs_baseline: 5, for: 4s}
        - {metric: p99_latency, max: 800ms}
`, apiPort, filepath.Join(dir, "data"), gatesOff, binary, routerPort, steps)
	cfgPath = filepath.Join(dir, "upfactory.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, "http://127.0.0.1:" + apiPort, "http://127.0.0.1:" + routerPort
}

// startEdited is startServe with the config edited first: a strategy
// replaced, verification turned on, a section added.
func startEdited(t *testing.T, steps string, edit func(cfg string) string) *served {
	t.Helper()
	dir := t.TempDir()
	cfg, api, router := writeConfig(t, dir, steps)
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(edit(string(b))), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &served{dir: dir, cfg: cfg, api: api, router: router}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	s.waitStable(t, "1.0.0")
	return s
}

// withStrategy replaces the config's strategy section with strategy, and
// keeps the error rate as the only check: at 100% a blue or old version
// takes no traffic to compare p95 with, and a p99 needs more requests
// than a loaded machine may send in a short analysis.
func withStrategy(strategy string) func(string) string {
	return func(cfg string) string {
		cfg = regexp.MustCompile(`(?s)    strategy:\n.*?(    analysis:)`).ReplaceAllString(cfg, strategy+"$1")
		cfg = strings.Replace(cfg, "        - {metric: p95_latency, max_vs_baseline: 5, for: 4s}\n", "", 1)
		return strings.Replace(cfg, "        - {metric: p99_latency, max: 800ms}\n", "", 1)
	}
}

// startServe runs `upfactory serve` on a fresh config and waits until the
// stable version takes traffic.
func startServe(t *testing.T, steps string, extraArgs ...string) *served {
	t.Helper()
	dir := t.TempDir()
	cfg, api, router := writeConfig(t, dir, steps)
	s := &served{dir: dir, cfg: cfg, api: api, router: router}
	s.start(t, extraArgs...)
	t.Cleanup(func() { s.stop(t) })
	s.waitStable(t, "1.0.0")
	return s
}

func (s *served) start(t *testing.T, extraArgs ...string) {
	t.Helper()
	s.stderr = &lockedBuffer{}
	s.cmd = exec.Command(binary, append([]string{"serve", "-c", s.cfg}, extraArgs...)...)
	s.cmd.Stderr = s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.waitDone = make(chan error, 1)
	go func() { s.waitDone <- s.cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-s.waitDone:
			t.Fatalf("serve exited: %v\n%s", err, s.stderr)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not answer within 30s:\n%s", s.stderr)
		}
	}
}

func (s *served) stop(t *testing.T) {
	if s.cmd == nil || s.cmd.ProcessState != nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.waitDone:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		t.Errorf("serve did not stop within 60s after SIGTERM")
	}
	if t.Failed() {
		t.Logf("serve stderr:\n%s", s.stderr)
	}
}

// cli runs the upfactory CLI in-process against s and returns its exit
// code and standard output.
func (s *served) cli(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"--server", s.api}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

func (s *served) status(t *testing.T) *engine.Status {
	t.Helper()
	code, out := s.cli(t, "rollout", "status", "checkout", "-o", "json")
	if code != 0 {
		t.Fatalf("rollout status: exit %d: %s", code, out)
	}
	var st engine.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("decoding status: %v\n%s", err, out)
	}
	return &st
}

// eventually polls cond every 100ms until it holds. After timeout it fails
// the test naming what it waited for and where things last stood (cond's
// second result).
func eventually(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s: %s", timeout, what, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitFor polls the status until cond holds or the deadline passes.
func (s *served) waitFor(t *testing.T, what string, timeout time.Duration, cond func(*engine.Status) bool) *engine.Status {
	t.Helper()
	var st *engine.Status
	eventually(t, what, timeout, func() (bool, string) {
		st = s.status(t)
		return cond(st), fmt.Sprintf("still %s step %d weight %d: %s", st.Phase, st.StepIndex, st.CanaryWeight, st.Message)
	})
	return st
}

// waitServed waits until the load has had n more answers from version
// (from any version when version is empty) than when it was called.
func waitServed(t *testing.T, res *loadgen.Result, version string, n int64) {
	t.Helper()
	served := func() int64 {
		c := res.Snapshot()
		if version == "" {
			return c.Total
		}
		return c.ByVersion[version]
	}
	from := served()
	what := fmt.Sprintf("%d more answers from %s", n, cmp.Or(version, "any version"))
	eventually(t, what, 30*time.Second, func() (bool, string) {
		got := served() - from
		return got >= n, fmt.Sprintf("%d so far; load: %+v", got, res.Snapshot())
	})
}

func (s *served) waitStable(t *testing.T, version string) {
	s.waitFor(t, "stable "+version+" to take traffic", 30*time.Second, func(st *engine.Status) bool {
		for _, v := range st.Versions {
			if v.Version == version && v.Weight == 100 {
				return true
			}
		}
		return false
	})
}

func phaseIs(p upfactory.Phase) func(*engine.Status) bool {
	return func(st *engine.Status) bool { return st.Phase == p }
}

func startLoad(t *testing.T, s *served, rate float64) (*loadgen.Result, func() loadgen.Counts) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	res, done := loadgen.Run(ctx, loadgen.Options{BaseURL: s.router, Rate: rate, Clients: 12, Limit: int64(rate * 300), SessionRequests: 2,
		Mix: []loadgen.Request{{Method: http.MethodGet, Path: "/api/products"}, {Method: http.MethodPost, Path: "/api/checkout"}, {Method: http.MethodGet, Path: "/"}}})
	stopped := false
	stop := func() loadgen.Counts {
		if !stopped {
			cancel()
			<-done
			stopped = true
		}
		return res.Snapshot()
	}
	t.Cleanup(func() { stop() })
	return res, stop
}

// Given steady load, when a good version is rolled out 5 → 100 through an
// approval gate and then rolled back, then no request fails.
func TestRolloutAndRollbackDropNoRequest(t *testing.T) {
	s := startServe(t, testSteps)
	res, stop := startLoad(t, s, 300)
	waitServed(t, res, "1.0.0", 600) // a baseline for the analysis

	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start: exit %d: %s", code, out)
	}
	s.waitFor(t, "the approval gate", 40*time.Second, phaseIs(upfactory.PhaseAwaitingApproval))
	if code, out := s.cli(t, "rollout", "approve", "checkout", "--as", "bob", "--comment", "metrics fine"); code != 0 {
		t.Fatalf("approve: exit %d: %s", code, out)
	}
	done := s.waitFor(t, "completion", 40*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	if done.Phase != upfactory.PhaseCompleted || done.StableVersion != "2.0.0" || done.PreviousVersion != "1.0.0" {
		t.Fatalf("end state: %s stable %s previous %s: %s", done.Phase, done.StableVersion, done.PreviousVersion, done.Message)
	}
	waitServed(t, res, "2.0.0", 300) // the new stable takes the load
	if code, out := s.cli(t, "rollout", "rollback", "checkout", "--as", "carol"); code != 0 {
		t.Fatalf("rollback: exit %d: %s", code, out)
	}
	back := s.status(t)
	if back.Phase != upfactory.PhaseRolledBack || back.StableVersion != "1.0.0" {
		t.Fatalf("after rollback: %s stable %s", back.Phase, back.StableVersion)
	}
	waitServed(t, res, "1.0.0", 600) // the old stable takes it back
	c := stop()
	t.Logf("requests %d, by version %v, statuses %v", c.Total, c.ByVersion, c.Status)
	if c.Failed() != 0 {
		t.Fatalf("%d requests failed to be delivered (connection errors %d, gateway errors %d; last: %s)", c.Failed(), c.ConnErrs, c.Gateway, c.LastErr)
	}
	if c.ByVersion["2.0.0"] == 0 || c.ByVersion["1.0.0"] == 0 {
		t.Fatalf("both versions should have served: %v", c.ByVersion)
	}

	// The operation log holds every decision with its actor, and verifies.
	code, out := s.cli(t, "log", "--service", "checkout", "-o", "json")
	if code != 0 {
		t.Fatalf("log: %d %s", code, out)
	}
	var lg struct{ Entries []upfactory.LogEntry }
	if err := json.Unmarshal([]byte(out), &lg); err != nil {
		t.Fatal(err)
	}
	actors := map[string]string{}
	for _, e := range lg.Entries {
		actors[e.Action] = e.Actor
	}
	for action, actor := range map[string]string{"rollout.start": "alice", "approval.granted": "bob", "rollback.manual": "carol", "rollout.completed": "system"} {
		if actors[action] != actor {
			t.Errorf("log action %s by %q, want %q (log: %v)", action, actors[action], actor, actors)
		}
	}
	if code, out := s.cli(t, "log", "--verify"); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("log --verify: exit %d: %s", code, out)
	}
	// The router's per-version counters are exported for Prometheus.
	resp, err := http.Get(s.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`upfactory_router_requests_total{`, `version="2.0.0"`, `upfactory_router_request_duration_seconds_bucket{`} {
		if !bytes.Contains(metrics, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// Given steady load, when a version that fails 8% of requests and is 120ms
// slower is rolled out, then it is rolled back automatically and the log says why.
func TestBadVersionRolledBackAutomatically(t *testing.T) {
	s := startServe(t, testSteps)
	res, stop := startLoad(t, s, 300)
	waitServed(t, res, "1.0.0", 600) // a baseline for the analysis
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.1.0"); code != 0 {
		t.Fatalf("rollout start: exit %d: %s", code, out)
	}
	st := s.waitFor(t, "automatic rollback", 40*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	if st.Phase != upfactory.PhaseRolledBack || st.CanaryWeight != 0 || st.StableVersion != "1.0.0" {
		t.Fatalf("end: %s weight %d stable %s: %s", st.Phase, st.CanaryWeight, st.StableVersion, st.Message)
	}
	if st.StepIndex > 2 {
		t.Errorf("the bad version got past the first analysis: step %d", st.StepIndex)
	}
	for _, v := range st.Versions {
		if v.Version == "2.1.0" && (v.Weight != 0 || v.Role != "canary") {
			t.Errorf("kept canary: %+v", v)
		}
	}
	c := stop()
	code, out := s.cli(t, "log", "--service", "checkout", "-o", "json")
	if code != 0 {
		t.Fatal(out)
	}
	var lg struct{ Entries []upfactory.LogEntry }
	json.Unmarshal([]byte(out), &lg)
	var rb *upfactory.LogEntry
	for i, e := range lg.Entries {
		if e.Action == "rollback.automatic" {
			rb = &lg.Entries[i]
		}
	}
	if rb == nil || rb.Actor != upfactory.ActorSystem || !strings.Contains(rb.Reason, "failed") || rb.Values["canary"] == nil {
		t.Fatalf("rollback entry: %+v", rb)
	}
	first, ok := c.FirstErr5xx["2.1.0"]
	if ok {
		t.Logf("first bad response from 2.1.0 to canary weight 0: %s (reason: %s)", rb.Time.Sub(first).Round(time.Millisecond), rb.Reason)
	}
	t.Logf("requests %d; served by 2.1.0: %d, of which 5xx: %d", c.Total, c.ByVersion["2.1.0"], c.Errors5xx["2.1.0"])
	// After the rollback no user request reaches the bad version.
	before := res.Snapshot().ByVersion["2.1.0"]
	res2, stop2 := startLoad(t, s, 100)
	waitServed(t, res2, "", 200)
	if c2 := stop2(); c2.ByVersion["2.1.0"] != 0 {
		t.Errorf("after rollback 2.1.0 still served %d requests (before: %d)", c2.ByVersion["2.1.0"], before)
	}
	// The kept canary is reachable for inspection with the header, until cleanup.
	req, _ := http.NewRequest(http.MethodGet, s.router+"/api/version", nil)
	req.Header.Set("X-Upfactory-Version", "2.1.0")
	for i := 0; i < 20; i++ { // the bad version fails some requests on purpose
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			if got := resp.Header.Get("X-Shop-Version"); got != "2.1.0" {
				t.Fatalf("header override served %q", got)
			}
			break
		}
	}
	if code, out := s.cli(t, "rollout", "cleanup", "checkout"); code != 0 {
		t.Fatalf("cleanup: %d %s", code, out)
	}
}

// Given sticky clients, when the canary's weight rises 5 → 25 → 50, each
// client stays on the version it first got.
func TestStickyClientsStayOnTheirVersion(t *testing.T) {
	steps := `
          - weight: 5
          - pause: {}
          - weight: 25
          - pause: {}
          - weight: 50
          - pause: {}
          - weight: 100`
	s := startServe(t, steps)
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0"); code != 0 {
		t.Fatal(out)
	}
	s.waitFor(t, "weight 5", 30*time.Second, func(st *engine.Status) bool { return st.CanaryWeight == 5 && st.Phase == upfactory.PhasePaused })

	type client struct {
		c       *http.Client
		version string
	}
	var clients []*client
	for i := 0; i < 200; i++ {
		jar := newJar()
		clients = append(clients, &client{c: &http.Client{Jar: jar, Timeout: 5 * time.Second}})
	}
	visit := func(c *client) string {
		resp, err := c.c.Get(s.router + "/api/version")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("X-Shop-Version")
	}
	for _, c := range clients {
		c.version = visit(c)
	}
	onCanary := 0
	for _, c := range clients {
		if c.version == "2.0.0" {
			onCanary++
		}
	}
	// The router spreads new clients evenly: exactly 1 in 20 at 5%.
	if onCanary != len(clients)/20 {
		t.Fatalf("at 5%%: %d of %d clients on the canary, want %d", onCanary, len(clients), len(clients)/20)
	}
	for _, w := range []int{25, 50} {
		if code, out := s.cli(t, "rollout", "resume", "checkout"); code != 0 {
			t.Fatal(out)
		}
		s.waitFor(t, fmt.Sprintf("weight %d", w), 10*time.Second, func(st *engine.Status) bool { return st.CanaryWeight == w && st.Phase == upfactory.PhasePaused })
		for i, c := range clients {
			for j := 0; j < 3; j++ {
				if got := visit(c); got != c.version {
					t.Fatalf("at %d%% client %d moved from %s to %s", w, i, c.version, got)
				}
			}
		}
	}
}

// Given a rollout in progress, when serve is killed with SIGKILL and started
// again, it re-adopts its instances, restores the weights and resumes the
// same step, and no log entry is lost or doubled.
func TestKillNineResumesTheSameStep(t *testing.T) {
	steps := `
          - weight: 5
          - pause: {duration: 3s}
          - weight: 25
          - pause: {}
          - weight: 100`
	s := startServe(t, steps)
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0"); code != 0 {
		t.Fatal(out)
	}
	before := s.waitFor(t, "the open-ended pause at 25%", 30*time.Second, func(st *engine.Status) bool {
		return st.CanaryWeight == 25 && st.Phase == upfactory.PhasePaused
	})
	pids := map[int]bool{}
	for _, v := range before.Versions {
		for _, in := range v.Instances {
			pids[in.PID] = true
		}
	}
	_, lg := s.cli(t, "log", "-o", "json")
	var logBefore struct{ Entries []upfactory.LogEntry }
	json.Unmarshal([]byte(lg), &logBefore)

	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.waitDone
	s.start(t)
	after := s.waitFor(t, "the resumed rollout", 20*time.Second, func(st *engine.Status) bool {
		ready := 0
		for _, v := range st.Versions {
			for _, in := range v.Instances {
				if in.State == upfactory.InstanceReady {
					ready++
				}
			}
		}
		return ready == 4
	})
	if after.Phase != upfactory.PhasePaused || after.StepIndex != before.StepIndex || after.CanaryWeight != 25 || after.RolloutID != before.RolloutID {
		t.Fatalf("after restart: %s step %d weight %d rollout %s; before: step %d rollout %s", after.Phase, after.StepIndex, after.CanaryWeight, after.RolloutID, before.StepIndex, before.RolloutID)
	}
	adopted := 0
	for _, v := range after.Versions {
		if v.Weight != map[string]int{"1.0.0": 75, "2.0.0": 25}[v.Version] {
			t.Errorf("router weight of %s = %d after restart", v.Version, v.Weight)
		}
		for _, in := range v.Instances {
			if pids[in.PID] {
				adopted++
			}
		}
	}
	if adopted != 4 {
		t.Errorf("%d of 4 instances re-adopted with the same PID", adopted)
	}
	// The log is the same up to the kill, then goes on.
	_, lg = s.cli(t, "log", "-o", "json")
	var logAfter struct{ Entries []upfactory.LogEntry }
	json.Unmarshal([]byte(lg), &logAfter)
	if len(logAfter.Entries) < len(logBefore.Entries) {
		t.Fatalf("log shrank from %d to %d entries", len(logBefore.Entries), len(logAfter.Entries))
	}
	for i, e := range logBefore.Entries {
		if logAfter.Entries[i].Hash != e.Hash {
			t.Fatalf("entry %d changed across the restart", e.Seq)
		}
	}
	seen := map[string]int{}
	for _, e := range logAfter.Entries {
		if e.Action == "step.weight" {
			seen[fmt.Sprint(e.Values["to"])]++
		}
	}
	if seen["5"] != 1 || seen["25"] != 1 {
		t.Errorf("weight steps logged %v, want each once", seen)
	}
	// And it finishes.
	if code, out := s.cli(t, "rollout", "resume", "checkout"); code != 0 {
		t.Fatal(out)
	}
	s.waitFor(t, "completion", 20*time.Second, phaseIs(upfactory.PhaseCompleted))
	if code, out := s.cli(t, "log", "--verify"); code != 0 {
		t.Errorf("log --verify after restart: %s", out)
	}
}
