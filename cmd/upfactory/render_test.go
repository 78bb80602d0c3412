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
		Checks: []upfactory.CheckStatus{
			{Metric: "error_rate", Rule: "error_rate <= 1% for 30s", Status: upfactory.VerdictPass,
				Last: &upfactory.Measurement{At: at, Canary: 0.002, Baseline: 0.001, CanaryCount: 412, BaselineCount: 7830, Verdict: upfactory.VerdictPass}},
			{Metric: "p99_latency", Rule: "p99_latency <= 800ms", Status: upfactory.VerdictNoData, Reason: "canary served 12 requests in 5s, need 100"},
		},
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
