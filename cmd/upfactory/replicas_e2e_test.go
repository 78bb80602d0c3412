package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/haproxy/haproxytest"
)

// health reads a server's GET /api/v1/health.
func health(t *testing.T, api string) (Health, error) {
	t.Helper()
	resp, err := http.Get(api + "/api/v1/health")
	if err != nil {
		return Health{}, err
	}
	defer resp.Body.Close()
	var h Health
	return h, json.NewDecoder(resp.Body).Decode(&h)
}

// TestTwoServersSurviveKillingTheLeader runs two serve replicas on one
// PostgreSQL, with the data plane apart from them (the standalone router
// process, or Debian's HAProxy), under steady load. The leader is killed
// with SIGKILL mid-rollout: the other takes over within the lease time,
// re-adopts the instances, and the rollout resumes at the same step and
// completes; no request fails and the log verifies with no gap or
// duplicate.
func TestTwoServersSurviveKillingTheLeader(t *testing.T) {
	t.Run("standalone", func(t *testing.T) { killTheLeader(t, "standalone") })
	t.Run("haproxy", func(t *testing.T) { killTheLeader(t, "haproxy") })
}

func killTheLeader(t *testing.T, kind string) {
	dsn := freshPostgres(t, "replicas_e2e")
	t.Setenv("UPFACTORY_E2E_STORE", dsn)
	dir := t.TempDir()
	steps := `
          - weight: 20
          - pause: {duration: 2s}
          - weight: 50
          - pause: {}
          - weight: 100`
	ports := make([]string, 4)
	for i := range ports {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = p
	}
	routerPort, routerAPI := ports[2], ports[3]
	router := fmt.Sprintf(`{type: standalone, listen: "127.0.0.1:%s", api: "127.0.0.1:%s"}`, routerPort, routerAPI)
	checks := "\n      checks:\n        - {metric: error_rate, max: 1%, for: 2s}"
	var hap *haproxytest.Instance
	if kind == "haproxy" {
		hap = haproxytest.Start(t)
		routerPort = strings.TrimPrefix(hap.URL, "http://127.0.0.1:")
		router = fmt.Sprintf(`{type: haproxy, listen: "127.0.0.1:%s", socket: %q, backend: be}`, routerPort, hap.Socket)
		checks = "" // HAProxy keeps its own counts: no builtin checks, and the steps need none
	}
	replica := func(name, apiPort string) *served {
		d := filepath.Join(dir, name)
		cfg := fmt.Sprintf(`server: {listen: "127.0.0.1:%s", data_dir: %q, tick_interval: 100ms, lease: 2s}
store: {dsn: "${UPFACTORY_E2E_STORE}"}
services:
  - name: checkout
    owner: payments-team
    stable_version: 1.0.0%s
    target:
      type: exec
      command: [%q, "shop", "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"]
      replicas: 2
      readiness: {path: /healthz, timeout: 8s}
    router: %s
    strategy:
      canary:
        steps:%s
    analysis:
      interval: 1s
      min_samples: 10%s
`, apiPort, filepath.Join(d, "data"), gatesOff, binary, router, steps, checks)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(d, "upfactory.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		return &served{dir: d, cfg: path, api: "http://127.0.0.1:" + apiPort, router: "http://127.0.0.1:" + routerPort}
	}
	a, b := replica("a", ports[0]), replica("b", ports[1])

	if kind == "standalone" {
		startRouter(t, a.cfg, filepath.Join(dir, "router"), routerAPI)
	}

	a.start(t)
	t.Cleanup(func() { a.stop(t) })
	a.waitStable(t, "1.0.0")
	b.start(t)
	t.Cleanup(func() { b.stop(t) })
	if h, err := health(t, b.api); err != nil || h.Leader || h.LeaderAPI == "" {
		t.Fatalf("b's health: %+v, %v; want a follower that knows the leader", h, err)
	}

	res, stop := startLoad(t, a, 200)
	waitServed(t, res, "1.0.0", 200)
	// Through the follower: forwarded to the leader.
	if code, out := b.cli(t, "rollout", "start", "checkout", "--version", "2.0.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start through the follower: %s", out)
	}
	before := b.waitFor(t, "the open-ended pause at 50%", 40*time.Second, func(st *engine.Status) bool {
		return st.CanaryWeight == 50 && st.Phase == upfactory.PhasePaused
	})
	waitServed(t, res, "2.0.0", 100)

	killed := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.waitDone
	var took time.Duration
	eventually(t, "b to take over", 30*time.Second, func() (bool, string) {
		h, err := health(t, b.api)
		if err != nil {
			return false, err.Error()
		}
		took = time.Since(killed)
		return h.Leader, fmt.Sprintf("%+v", h)
	})
	t.Logf("takeover: b leads %v after the leader was killed (lease 2s)", took.Round(time.Millisecond))
	after := b.waitFor(t, "the resumed rollout", 30*time.Second, func(st *engine.Status) bool {
		return st.RolloutID == before.RolloutID && st.Phase == upfactory.PhasePaused
	})
	if after.StepIndex != before.StepIndex || after.CanaryWeight != 50 {
		t.Fatalf("after the take-over: step %d weight %d, want step %d weight 50", after.StepIndex, after.CanaryWeight, before.StepIndex)
	}
	if code, out := b.cli(t, "rollout", "resume", "checkout", "--as", "bob"); code != 0 {
		t.Fatalf("resume on the new leader: %s", out)
	}
	b.waitFor(t, "completion", 40*time.Second, phaseIs(upfactory.PhaseCompleted))
	waitServed(t, res, "2.0.0", 200)
	c := stop()
	t.Logf("requests %d, by version %v, statuses %v", c.Total, c.ByVersion, c.Status)
	if c.Failed() != 0 {
		t.Fatalf("%d requests failed (connection errors %d, gateway errors %d; last: %s)", c.Failed(), c.ConnErrs, c.Gateway, c.LastErr)
	}
	code, out := b.cli(t, "log", "--verify")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("log --verify: %s", out)
	}
	_, lg := b.cli(t, "log", "-o", "json")
	var entries struct{ Entries []upfactory.LogEntry }
	if err := json.Unmarshal([]byte(lg), &entries); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for i, e := range entries.Entries {
		if i > 0 && e.Seq != entries.Entries[i-1].Seq+1 {
			t.Errorf("a gap in the log: %d after %d", e.Seq, entries.Entries[i-1].Seq)
		}
		if e.Action == "step.weight" {
			seen[fmt.Sprint(e.Values["to"])]++
		}
	}
	if seen["20"] != 1 || seen["50"] != 1 || seen["100"] != 1 {
		t.Errorf("weight steps logged %v, want each once", seen)
	}
}

// startRouter runs `upfactory router -c cfg` until the test ends, and
// waits for its control API on port api.
func startRouter(t *testing.T, cfg, stateDir, api string) {
	t.Helper()
	router := exec.Command(binary, "router", "-c", cfg, "--state-dir", stateDir)
	routerErr := &lockedBuffer{}
	router.Stderr = routerErr
	if err := router.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		router.Process.Signal(syscall.SIGTERM)
		router.Wait()
		if t.Failed() {
			t.Logf("router stderr:\n%s", routerErr)
		}
	})
	eventually(t, "the standalone router's API", 20*time.Second, func() (bool, string) {
		resp, err := http.Get("http://127.0.0.1:" + api + "/v1/pools")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}
