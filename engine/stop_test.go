package engine_test

import (
	"context"
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

// stopRecorder is a real static target that remembers how long each Stop
// call was given.
type stopRecorder struct {
	upfactory.Target
	mu    sync.Mutex
	given []time.Duration
	done  chan struct{}
}

func (r *stopRecorder) Stop(ctx context.Context, id string) error {
	dl, _ := ctx.Deadline()
	r.mu.Lock()
	r.given = append(r.given, time.Until(dl))
	r.mu.Unlock()
	defer func() {
		select {
		case r.done <- struct{}{}:
		default:
		}
	}()
	return r.Target.Stop(ctx, id)
}

// An instance is stopped with the service's stop_timeout, not a default:
// a service that needs 45s to shut down gracefully gets them.
func TestStopHonoursTheConfiguredStopTimeout(t *testing.T) {
	ctx := context.Background()
	svc := &upfactory.Service{
		Name: "checkout", StableVersion: "1.0.0",
		Target: upfactory.TargetSpec{Type: "static", StopTimeout: upfactory.Duration(45 * time.Second), Versions: map[string][]string{
			"1.0.0": {backend(t, false)}, "2.0.0": {backend(t, false)},
		}, Readiness: upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(5 * time.Second), Interval: upfactory.Duration(20 * time.Millisecond)}},
		Router:   upfactory.RouterSpec{Type: "builtin", DrainTimeout: upfactory.Duration(time.Second)},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{{Pause: &upfactory.PauseStep{}}}}},
		Analysis: upfactory.AnalysisSpec{Interval: upfactory.Duration(100 * time.Millisecond), MinSamples: 5},
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := static.New(svc, static.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &stopRecorder{Target: st, done: make(chan struct{}, 1)}
	p := proxy.New(proxy.Options{Service: svc.Name})
	eng := engine.New(db, []engine.Runtime{{Service: svc, Target: rec, Router: p, Metrics: p}}, engine.Options{Tick: 20 * time.Millisecond})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx, false)
	if _, err := eng.StartRollout(ctx, "checkout", "2.0.0", "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Do(ctx, "checkout", rollout.Command{Action: "abort", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := eng.Do(ctx, "checkout", rollout.Command{Action: "cleanup", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rec.done:
	case <-time.After(30 * time.Second):
		t.Fatal("the aborted canary's instance was never stopped")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, d := range rec.given {
		if d < 45*time.Second {
			t.Errorf("Stop was given %s, want at least the configured stop_timeout of 45s", d.Round(time.Second))
		}
	}
}
