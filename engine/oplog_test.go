package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/proxy"
	"github.com/upfactory/upfactory/sqlite"
	"github.com/upfactory/upfactory/static"
)

// brokenLog is SQLite whose log appends and saves fail while down is set:
// a full disk, a lost database connection.
type brokenLog struct {
	*sqlite.DB
	down atomic.Bool
}

var errLogDown = errors.New("disk full")

func (b *brokenLog) AppendLog(ctx context.Context, entries []upfactory.LogEntry) error {
	if b.down.Load() {
		return errLogDown
	}
	return b.DB.AppendLog(ctx, entries)
}

func (b *brokenLog) Save(ctx context.Context, st *upfactory.ServiceState, entries []upfactory.LogEntry) error {
	if b.down.Load() && len(entries) > 0 {
		return errLogDown
	}
	return b.DB.Save(ctx, st, entries)
}

// An event that cannot be logged is an error, is kept, and holds every
// decision and command until the log takes it; then it is appended once,
// in order, and the rollout goes on.
func TestAFailedLogAppendStopsTheEngineUntilTheLogTakesIt(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := &brokenLog{DB: db}
	svc := &upfactory.Service{
		Name: "checkout", StableVersion: "1.0.0",
		Target: upfactory.TargetSpec{Type: "static", Versions: map[string][]string{
			"1.0.0": {backend(t, false)}, "2.0.0": {backend(t, false)},
		}, Readiness: upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(5 * time.Second), Interval: upfactory.Duration(20 * time.Millisecond)}},
		Router:   upfactory.RouterSpec{Type: "builtin", DrainTimeout: upfactory.Duration(time.Second)},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{{Weight: ptr(50)}, {Pause: &upfactory.PauseStep{}}}}},
	}
	p := proxy.New(proxy.Options{Service: svc.Name})
	target, err := static.New(svc, static.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(store, []engine.Runtime{{Service: svc, Target: target, Router: p, Metrics: p}}, engine.Options{})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx, true)

	store.down.Store(true)
	restart := upfactory.LogEntry{Actor: upfactory.ActorSystem, Action: "instance.restart", Service: "checkout", Subject: "i-1", Reason: "exited 1"}
	if err := eng.Record(restart); !errors.Is(err, errLogDown) {
		t.Fatalf("Record with the log down = %v, want the store's error", err)
	}
	if _, err := eng.StartRollout(ctx, "checkout", "2.0.0", "alice"); !errors.Is(err, errLogDown) {
		t.Fatalf("StartRollout with an entry held = %v, want the store's error", err)
	}
	st, err := eng.Status(ctx, "checkout")
	if err != nil {
		t.Fatal(err)
	}
	if st.RolloutID != "" {
		t.Fatalf("a rollout started while the log was down: %+v", st)
	}

	store.down.Store(false)
	if _, err := eng.StartRollout(ctx, "checkout", "2.0.0", "alice"); err != nil {
		t.Fatalf("StartRollout once the log is back: %v", err)
	}
	log, err := db.Log(ctx, upfactory.LogFilter{Service: "checkout"})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	restarts, startAt, restartAt := 0, -1, -1
	for i, a := range actions {
		switch a {
		case "instance.restart":
			restarts++
			restartAt = i
		case "rollout.start":
			startAt = i
		}
	}
	if restarts != 1 || restartAt > startAt {
		t.Fatalf("log actions %v: want the held restart once, before rollout.start", actions)
	}
}
