package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/flagd"
	"github.com/upfactory/upfactory/proxy"
	"github.com/upfactory/upfactory/rollout"
	"github.com/upfactory/upfactory/sqlite"
	"github.com/upfactory/upfactory/static"
)

// flagState reads a flag's definition from the flagd file.
func flagState(t *testing.T, path, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var doc struct {
		Flags map[string]map[string]any `json:"flags"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the flag file is not JSON: %v", err)
	}
	return doc.Flags[name]
}

// The engine writes the flag steps' percents to the flag file as the
// rollout moves, and the rollback's 0 with the rollback.
func TestFlagStepsWriteTheFlagFile(t *testing.T) {
	ctx := context.Background()
	flags := filepath.Join(t.TempDir(), "flags.json")
	svc := &upfactory.Service{
		Name: "checkout", StableVersion: "1.0.0",
		Target: upfactory.TargetSpec{Type: "static", Versions: map[string][]string{"1.0.0": {backend(t, false)}, "2.0.0": {backend(t, false)}},
			Readiness: upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(5 * time.Second), Interval: upfactory.Duration(20 * time.Millisecond)}},
		Router: upfactory.RouterSpec{Type: "builtin", DrainTimeout: upfactory.Duration(time.Second)},
		Flags:  upfactory.FlagsSpec{Type: "flagd-file", Path: flags},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{
			{Weight: ptr(100)}, {Flag: &upfactory.FlagStep{Name: "new-checkout", Percent: 10}}, {Pause: &upfactory.PauseStep{}}, {Flag: &upfactory.FlagStep{Name: "new-checkout", Percent: 100}}}}},
		Analysis: upfactory.AnalysisSpec{Interval: upfactory.Duration(100 * time.Millisecond), MinSamples: 5},
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	target, err := static.New(svc, static.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := proxy.New(proxy.Options{Service: svc.Name})
	eng := engine.New(db, []engine.Runtime{{Service: svc, Target: target, Router: p, Metrics: p, Flags: flagd.File(flags)}}, engine.Options{Tick: 20 * time.Millisecond})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { eng.Run(runCtx) })
	defer func() { stop(); wg.Wait(); eng.Close(ctx, false) }()

	if _, err := eng.StartRollout(ctx, "checkout", "2.0.0", "alice"); err != nil {
		t.Fatal(err)
	}
	h := &harness{svc: svc, eng: eng}
	h.waitFor(t, "the pause after 10%", func(st *engine.Status) bool { return st.Phase == upfactory.PhasePaused })
	f := flagState(t, flags, "new-checkout")
	if f == nil || f["targeting"] == nil {
		t.Fatalf("at 10%%: %v, want fractional targeting", f)
	}
	if _, err := eng.Do(ctx, "checkout", rollout.Command{Action: "rollback", Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	f = flagState(t, flags, "new-checkout")
	if f == nil || f["targeting"] != nil || f["defaultVariant"] != "off" {
		t.Errorf("after the rollback: %v, want the flag off for everyone", f)
	}
}
