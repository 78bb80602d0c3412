package engine_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/proxy"
	"github.com/upfactory/upfactory/rollout"
	"github.com/upfactory/upfactory/sqlite"
	"github.com/upfactory/upfactory/static"
)

func ptr(i int) *int { return &i }

// backend is a real HTTP server for one version; failing makes it answer 500.
func backend(t *testing.T, failing bool) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing && r.URL.Path != "/healthz" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

type harness struct {
	svc    *upfactory.Service
	store  *sqlite.DB
	router *proxy.Proxy
	eng    *engine.Engine
	stop   func()
}

// MustHarness runs an engine over SQLite, the real proxy and a static target
// whose versions are real HTTP servers: 1.0.0 healthy, 2.0.0 healthy, 3.0.0 failing.
func MustHarness(t *testing.T, dbPath string, steps []upfactory.Step, opts ...func(*upfactory.Service)) *harness {
	t.Helper()
	svc := &upfactory.Service{
		Name: "checkout", StableVersion: "1.0.0",
		Target: upfactory.TargetSpec{Type: "static", Versions: map[string][]string{
			"1.0.0": {backend(t, false)}, "2.0.0": {backend(t, false)}, "3.0.0": {backend(t, true)},
		}, Readiness: upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(5 * time.Second), Interval: upfactory.Duration(20 * time.Millisecond)}},
		Router:   upfactory.RouterSpec{Type: "builtin", DrainTimeout: upfactory.Duration(time.Second)},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: steps}},
		Analysis: upfactory.AnalysisSpec{Interval: upfactory.Duration(100 * time.Millisecond), MinSamples: 5,
			Checks: []upfactory.Check{{Metric: upfactory.MetricErrorRate, Max: "1%", Limit: 0.01}}},
	}
	for _, o := range opts {
		o(svc)
	}
	return openHarness(t, dbPath, svc)
}

func openHarness(t *testing.T, dbPath string, svc *upfactory.Service) *harness {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	p := proxy.New(proxy.Options{Service: svc.Name})
	target, err := static.New(svc, static.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(db, []engine.Runtime{{Service: svc, Target: target, Router: p, Metrics: p}}, engine.Options{Tick: 20 * time.Millisecond})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); eng.Run(runCtx) }()
	h := &harness{svc: svc, store: db, router: p, eng: eng}
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			eng.Close(ctx, false)
			db.Close()
		})
	}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) weights(t *testing.T) map[string]int {
	t.Helper()
	pools, err := h.router.Pools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]int{}
	for _, p := range pools {
		w[p.Version] = p.Weight
	}
	return w
}

func (h *harness) waitFor(t *testing.T, what string, cond func(*engine.Status) bool) *engine.Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := h.eng.Status(context.Background(), h.svc.Name)
		if err != nil {
			t.Fatal(err)
		}
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s step %d weight %d: %s", what, st.Phase, st.StepIndex, st.CanaryWeight, st.Message)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drive sends requests through the router until stop is closed.
func drive(h *harness, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		rec := httptest.NewRecorder()
		h.router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		time.Sleep(time.Millisecond)
	}
}

// There is no moment at which the state says rolled back while the router
// still sends the canary new requests: the decision and the weights change
// under one lock, state first.
func TestAutomaticRollbackReachesTheRouterWithTheDecision(t *testing.T) {
	h := MustHarness(t, filepath.Join(t.TempDir(), "db"), []upfactory.Step{{Weight: ptr(50)}, {Pause: &upfactory.PauseStep{}}, {Weight: ptr(100)}})
	stop := make(chan struct{})
	defer close(stop)
	go drive(h, stop)
	if _, err := h.eng.StartRollout(context.Background(), "checkout", "3.0.0", "alice"); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor(t, "the automatic rollback", func(st *engine.Status) bool { return st.Phase.Done() })
	if st.Phase != upfactory.PhaseRolledBack {
		t.Fatalf("%s: %s", st.Phase, st.Message)
	}
	if w := h.weights(t); w["3.0.0"] != 0 || w["1.0.0"] != 100 {
		t.Fatalf("router weights %v right after the rollback decision", w)
	}
	entries, err := h.store.Log(context.Background(), upfactory.LogFilter{Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	last := entries[len(entries)-1]
	if last.Action != "rollback.automatic" || last.Values["canary"] == nil || last.Values["rule"] == nil {
		t.Errorf("last entry %+v", last)
	}
}

func TestCommandsTakeEffectWithinTheCall(t *testing.T) {
	h := MustHarness(t, filepath.Join(t.TempDir(), "db"), []upfactory.Step{{Weight: ptr(25)}, {Pause: &upfactory.PauseStep{}}, {Weight: ptr(100)}})
	ctx := context.Background()
	if _, err := h.eng.StartRollout(ctx, "checkout", "2.0.0", "alice"); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "weight 25", func(st *engine.Status) bool { return st.CanaryWeight == 25 })
	if w := h.weights(t); w["2.0.0"] != 25 || w["1.0.0"] != 75 {
		t.Fatalf("weights %v", w)
	}
	st, err := h.eng.Do(ctx, "checkout", rollout.Command{Action: "rollback", Actor: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if w := h.weights(t); st.Phase != upfactory.PhaseRolledBack || w["2.0.0"] != 0 {
		t.Fatalf("after the rollback call: %s, weights %v", st.Phase, w)
	}
	if _, err := h.eng.Do(ctx, "checkout", rollout.Command{Action: "rollback", Actor: "bob"}); upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Errorf("a second rollback: %v", err)
	}
	if _, err := h.eng.Status(ctx, "nope"); upfactory.ErrorCode(err) != upfactory.ENOTFOUND {
		t.Errorf("unknown service: %v", err)
	}
}

// A new engine on the same store resumes the rollout at the same step and
// restores the router's weights before any tick.
func TestReopenResumesTheSameStep(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	steps := []upfactory.Step{{Weight: ptr(25)}, {Pause: &upfactory.PauseStep{}}, {Weight: ptr(100)}}
	h := MustHarness(t, db, steps)
	if _, err := h.eng.StartRollout(context.Background(), "checkout", "2.0.0", "alice"); err != nil {
		t.Fatal(err)
	}
	before := h.waitFor(t, "the pause", func(st *engine.Status) bool { return st.Phase == upfactory.PhasePaused })
	h.stop()

	h2 := openHarness(t, db, h.svc)
	after := h2.waitFor(t, "the canary back in the router", func(st *engine.Status) bool { return h2.weights(t)["2.0.0"] == 25 })
	if after.RolloutID != before.RolloutID || after.StepIndex != before.StepIndex || after.Phase != upfactory.PhasePaused {
		t.Fatalf("after reopen: %s step %d (%s), before: step %d (%s)", after.Phase, after.StepIndex, after.RolloutID, before.StepIndex, before.RolloutID)
	}
	v, err := h2.store.VerifyLog(context.Background())
	if err != nil || !v.OK {
		t.Fatalf("log after reopen: %+v %v", v, err)
	}
}

// After completion the previous version stays warm and routable by header
// for the rollback window, then is released and logged.
func TestRollbackWindowKeepsPreviousWarmThenReleasesIt(t *testing.T) {
	h := MustHarness(t, filepath.Join(t.TempDir(), "db"), []upfactory.Step{{Weight: ptr(100)}}, func(svc *upfactory.Service) {
		svc.Strategy.Canary.RollbackWindow = upfactory.Duration(time.Second)
	})
	ctx := context.Background()
	if _, err := h.eng.StartRollout(ctx, "checkout", "2.0.0", "alice"); err != nil {
		t.Fatal(err)
	}
	st := h.waitFor(t, "completion", func(st *engine.Status) bool { return st.Phase == upfactory.PhaseCompleted })
	if st.PreviousVersion != "1.0.0" {
		t.Fatalf("previous %q", st.PreviousVersion)
	}
	if w, ok := h.weights(t)["1.0.0"]; !ok || w != 0 {
		t.Fatalf("previous version not warm in the router: %v", h.weights(t))
	}
	h.waitFor(t, "the end of the rollback window", func(st *engine.Status) bool { return st.PreviousVersion == "" })
	if _, ok := h.weights(t)["1.0.0"]; ok {
		t.Errorf("previous version still routable after its window: %v", h.weights(t))
	}
	if _, err := h.eng.Do(ctx, "checkout", rollout.Command{Action: "rollback", Actor: "bob"}); upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Errorf("rollback after the window: %v", err)
	}
	entries, _ := h.store.Log(ctx, upfactory.LogFilter{Service: "checkout"})
	if last := entries[len(entries)-1]; last.Action != "previous.release" {
		t.Errorf("last entry %s: %s", last.Action, last.Reason)
	}
}

// The schedule of looks is saved with the rollout: a server that restarts
// mid-analysis knows when the checks were last measured, and reads the
// judged samples of the step so far.
func TestARestartKeepsTheScheduleOfLooks(t *testing.T) {
	db := filepath.Join(t.TempDir(), "db")
	steps := []upfactory.Step{{Weight: ptr(20)}, {Analysis: &upfactory.AnalysisStep{Duration: upfactory.Duration(time.Hour)}}, {Weight: ptr(100)}}
	h := MustHarness(t, db, steps)
	if _, err := h.eng.StartRollout(context.Background(), "checkout", "2.0.0", "alice"); err != nil {
		t.Fatal(err)
	}
	h.waitFor(t, "the analysis step", func(st *engine.Status) bool { return st.StepIndex == 1 })
	var saved *upfactory.ServiceState
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, err := h.store.State(context.Background(), "checkout")
		if err != nil {
			t.Fatal(err)
		}
		// A look taken in the step: a full interval after it began.
		if r := st.Rollout; r != nil && r.StepIndex == 1 && r.LastLook.After(r.StepStartedAt) {
			saved = st
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no look of the analysis step saved: %+v", st.Rollout)
		}
		<-time.After(20 * time.Millisecond)
	}
	h.stop()

	reopened, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	st, err := reopened.State(context.Background(), "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if st.Rollout.LastLook.Before(saved.Rollout.LastLook) {
		t.Errorf("after the restart the last look is %v, want at least %v", st.Rollout.LastLook, saved.Rollout.LastLook)
	}
	due, last := rollout.LookDue(h.svc, st.Rollout, st.Rollout.LastLook, st.Rollout.LastLook.Add(50*time.Millisecond))
	if due || !last.Equal(st.Rollout.LastLook) {
		t.Errorf("half an interval after the saved look: due %v, last %v; want the schedule kept, not started over", due, last)
	}
}

// An engine whose store is fenced by a lease another server took stops at
// its next write, and says so.
func TestALostLeaseStopsTheEngine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, _, err := db.AcquireLease(ctx, "engine", "a", "", 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	svc := &upfactory.Service{
		Name: "checkout", StableVersion: "1.0.0",
		Target:   upfactory.TargetSpec{Type: "static", Versions: map[string][]string{"1.0.0": {backend(t, false)}, "2.0.0": {backend(t, false)}}, Readiness: upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(5 * time.Second), Interval: upfactory.Duration(20 * time.Millisecond)}},
		Router:   upfactory.RouterSpec{Type: "builtin"},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{{Weight: ptr(100)}}}},
		Analysis: upfactory.AnalysisSpec{Interval: upfactory.Duration(100 * time.Millisecond), MinSamples: 5},
	}
	p := proxy.New(proxy.Options{Service: svc.Name})
	target, err := static.New(svc, static.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lost := make(chan error, 4)
	eng := engine.New(db.Fenced(l), []engine.Runtime{{Service: svc, Target: target, Router: p, Metrics: p}},
		engine.Options{Tick: 20 * time.Millisecond, LeaseLost: func(err error) { lost <- err }})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx, false)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(ctx) }()
	// Another server takes the lease once it expires.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, held, err := db.AcquireLease(ctx, "engine", "b", "", time.Hour); err != nil {
			t.Fatal(err)
		} else if held {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b never took the lease")
		}
		<-time.After(10 * time.Millisecond)
	}
	// The engine's next write fails, and it stops. A rollout start is a
	// write too: it is refused.
	if _, err := eng.StartRollout(ctx, "checkout", "2.0.0", "alice"); !errors.Is(err, upfactory.ErrLeaseLost) {
		t.Errorf("a rollout start on an engine whose lease was taken: %v, want ErrLeaseLost", err)
	}
	select {
	case err := <-lost:
		if !errors.Is(err, upfactory.ErrLeaseLost) {
			t.Errorf("LeaseLost got %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the engine never said it lost its lease")
	}
	<-done // Run returns: the engine ticks no more
}
