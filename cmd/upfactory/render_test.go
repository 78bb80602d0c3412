package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/internal/golden"
)

func TestRenderStatusGolden(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	st := &engine.Status{
		Service: "checkout", Phase: upfactory.PhaseAwaitingApproval, StepIndex: 2, CanaryWeight: 5,
		StableVersion: "1.0.0", CanaryVersion: "2.0.0", RolloutID: "checkout-2.0.0-1",
		Message: "waiting for approval by role approver (upfactory rollout approve checkout --as NAME)",
		Steps:   []string{"weight 5%", "analysis 30s", "approval by approver", "weight 25%", "weight 100%"},
		Gate:    &engine.Gate{Kind: "approval", Role: "approver"},
		Health:  upfactory.Health{State: upfactory.HealthHealthy},
		Checks: []upfactory.CheckStatus{
			{Name: "error_rate", Metric: "error_rate", Provider: "builtin", Rule: "error_rate <= 1% for 30s", Status: upfactory.VerdictPass,
				Last: &upfactory.Measurement{At: at, Canary: 0.002, Baseline: 0.001, CanaryCount: 412, BaselineCount: 7830, Verdict: upfactory.VerdictPass}},
			{Name: "p99_latency", Metric: "p99_latency", Provider: "builtin", Rule: "p99_latency <= 800ms", Status: upfactory.VerdictNoData, Reason: "canary had 12 requests in 5s, need 100"},
			{Name: "latency", Metric: "p95_latency", Provider: "builtin", Rule: "latency (p95_latency) judged: within +10% of stable, critical",
				Status: upfactory.VerdictPass, Looks: 6, LooksFrom: at.Add(-30 * time.Second),
				Last: &upfactory.Measurement{At: at, Since: at.Add(-30 * time.Second), Canary: 0.0041, Baseline: 0.0040, CanaryCount: 310, BaselineCount: 5702, Verdict: upfactory.VerdictPass,
					Judgement: &upfactory.Judgement{Look: 6, Planned: 6, PValue: 0.21, Alpha: 0.0213, Shift: 0.0001, ShiftLow: -0.0002, ShiftHigh: 0.0003, Allowed: 0.001}}},
			{Name: "queue", Metric: "queue_backlog", Provider: "prometheus", Rule: "queue <= 1000", Status: upfactory.VerdictError, Errors: 2,
				Reason: "queue: prometheus provider: prometheus at http://127.0.0.1:9090 did not answer within 2s"},
		},
		Score: &upfactory.ScoreStatus{At: at, Score: 100, Verdict: upfactory.VerdictPass, Reason: "score 100.0 >= pass threshold 95 (1 pass, 0 inconclusive, 0 fail)"},
		Mirror: &upfactory.MirrorReport{Version: "2.0.0", Mirrored: 420, Compared: 418, Mismatches: 3, Worse: 2, Errors: 2,
			PrimaryP95: upfactory.Duration(4 * time.Millisecond), MirrorP95: upfactory.Duration(7570590 * time.Nanosecond), Top: []string{"2xx→5xx ×2", "GET /cart ×2"}},
		Versions: []engine.VersionStatus{
			{Version: "1.0.0", Role: "stable", Weight: 95, Traffic: engine.TrafficView{RequestRate: 190.2, ErrorRate: 0.001, P95Ms: 4.1, P99Ms: 7.9},
				Instances: []upfactory.Instance{{State: upfactory.InstanceReady}, {State: upfactory.InstanceReady}}},
			{Version: "2.0.0", Role: "canary", Weight: 5, Traffic: engine.TrafficView{RequestRate: 10.1, ErrorRate: 0.002, P95Ms: 4.4, P99Ms: 8.2},
				Instances: []upfactory.Instance{{State: upfactory.InstanceReady}, {State: upfactory.InstanceStarting}}},
		},
	}
	var b bytes.Buffer
	renderStatus(&b, st)
	golden.Equal(t, "status.golden", b.Bytes())
}

// After completion: the new version is stable and the old one warm for a
// rollback, no "stable 2.0.0 -> canary 2.0.0"; steps count from 1 to the
// last; a degraded service says so and why.
func TestRenderStatusCompletedGolden(t *testing.T) {
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = time.UTC // the rollback deadline is shown in local time
	at := time.Date(2026, 11, 22, 9, 30, 0, 0, time.UTC)
	st := &engine.Status{
		Service: "checkout", Phase: upfactory.PhaseCompleted, StepIndex: 3, CanaryWeight: 100,
		StableVersion: "2.0.0", CanaryVersion: "2.0.0", PreviousVersion: "1.0.0", RollbackUntil: at.Add(10 * time.Minute), RolloutID: "checkout-2.0.0-1",
		Message: "2.0.0 is stable; 1.0.0 stays warm for rollback",
		Steps:   []string{"weight 5%", "analysis 30s", "weight 100%"},
		Health:  upfactory.Health{State: upfactory.HealthDegraded, Reason: "stable 2.0.0: 0 of 2 instances ready: exit status 1"},
		Versions: []engine.VersionStatus{
			{Version: "2.0.0", Role: "stable", Weight: 100, Instances: []upfactory.Instance{{State: upfactory.InstanceFailed}, {State: upfactory.InstanceFailed}}},
			{Version: "1.0.0", Role: "previous", Weight: 0, Instances: []upfactory.Instance{{State: upfactory.InstanceReady}, {State: upfactory.InstanceReady}}},
		},
		Baseline: &upfactory.Figures{Version: "1.0.0", Requests: 18000, Errors5xx: 9, P95: 0.0041},
		Verification: &upfactory.Verification{Until: at.Add(30 * time.Minute), Verdict: upfactory.VerdictPending,
			Latest: &upfactory.Figures{Version: "2.0.0", Requests: 5400, Errors5xx: 2, P95: 0.0043}},
	}
	var b bytes.Buffer
	renderStatus(&b, st)
	b.WriteString("\n" + statusLine(st) + "\n")
	st.Health = upfactory.Health{State: upfactory.HealthHealthy}
	b.WriteString(statusLine(st) + "\n")
	golden.Equal(t, "status-completed.golden", b.Bytes())
}
