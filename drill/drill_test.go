package drill_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/drill"
)

func ptr(i int) *int { return &i }

func backend(t *testing.T, failing bool) string {
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

// service is a static service whose 2.0.0 is healthy and 3.0.0 fails
// every request, with an approval gate and a pause the drill must pass.
func service(t *testing.T) *upfactory.Service {
	return &upfactory.Service{
		Name: "checkout", StableVersion: "1.0.0",
		Target: upfactory.TargetSpec{Type: "static", Versions: map[string][]string{
			"1.0.0": {backend(t, false)}, "2.0.0": {backend(t, false)}, "3.0.0": {backend(t, true)},
		}, Readiness: upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(5 * time.Second), Interval: upfactory.Duration(20 * time.Millisecond)}},
		Router: upfactory.RouterSpec{Type: "builtin", DrainTimeout: upfactory.Duration(time.Second)},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{
			{Weight: ptr(20)}, {Analysis: &upfactory.AnalysisStep{Duration: upfactory.Duration(2 * time.Second)}},
			{Approval: &upfactory.ApprovalStep{Role: "approver"}}, {Pause: &upfactory.PauseStep{}}, {Weight: ptr(100)}},
			RollbackWindow: upfactory.Duration(time.Minute)}},
		Analysis: upfactory.AnalysisSpec{Interval: upfactory.Duration(100 * time.Millisecond), MinSamples: 5,
			Checks: []upfactory.Check{{Metric: upfactory.MetricErrorRate, Max: "1%", Limit: 0.01}}},
		Compat: upfactory.CompatSpec{Load: &upfactory.LoadSpec{Rate: 100}},
		Drill:  upfactory.DrillSpec{Speed: 2, MaxRollback: upfactory.Duration(time.Minute)},
	}
}

func TestADrillOfAHealthyVersionPasses(t *testing.T) {
	var progress []string
	r, err := drill.Run(context.Background(), drill.Options{Service: service(t), Version: "2.0.0", Stable: "1.0.0", DataDir: t.TempDir(),
		Progress: func(s string) { progress = append(progress, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Passed || r.FailedRequests != 0 || r.Requests == 0 || r.RollbackSeconds < 0 || r.Stable != "1.0.0" {
		t.Fatalf("drill %+v: want passed, 0 failed of some requests", r)
	}
	all := strings.Join(progress, "\n")
	for _, want := range []string{"approved by the drill", "rolling back to 1.0.0"} {
		if !strings.Contains(all, want) {
			t.Errorf("progress does not say %q:\n%s", want, all)
		}
	}
}

func TestADrillOfAFailingVersionFails(t *testing.T) {
	r, err := drill.Run(context.Background(), drill.Options{Service: service(t), Version: "3.0.0", Stable: "1.0.0", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Passed || r.Reason == "" {
		t.Fatalf("drill of a version that fails every request: %+v", r)
	}
}

func TestDrillNeedsALoadATargetAndSteps(t *testing.T) {
	for _, tc := range []struct {
		change func(*upfactory.Service)
		key    string
	}{
		{func(s *upfactory.Service) { s.Compat.Load = nil }, "services[checkout].compat.load.rate"},
		{func(s *upfactory.Service) { s.Target = upfactory.TargetSpec{} }, "services[checkout].target"},
		{func(s *upfactory.Service) { s.Strategy.Canary = nil }, "services[checkout].strategy.canary.steps"},
	} {
		svc := service(t)
		tc.change(svc)
		_, err := drill.Run(context.Background(), drill.Options{Service: svc, Version: "2.0.0", Stable: "1.0.0", DataDir: t.TempDir()})
		if upfactory.ErrorCode(err) != upfactory.EINVALID || !strings.Contains(upfactory.ErrorMessage(err), tc.key) {
			t.Errorf("want EINVALID naming %s, got %v", tc.key, err)
		}
	}
}
