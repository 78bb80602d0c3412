package rollout_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/rollout"
)

func TestHealth(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	inst := func(v string, s upfactory.InstanceState, reason string) upfactory.Instance {
		return upfactory.Instance{Version: v, State: s, Reason: reason}
	}
	R, S, F, U := upfactory.InstanceReady, upfactory.InstanceStarting, upfactory.InstanceFailed, upfactory.InstanceUnhealthy
	stable := &upfactory.ServiceState{Service: "shop", StableVersion: "1.0.0"}
	canary := &upfactory.ServiceState{Service: "shop", StableVersion: "1.0.0",
		Rollout: &upfactory.Rollout{CanaryVersion: "2.0.0", Phase: upfactory.PhaseProgressing, CanaryWeight: 5, CanaryReady: true}}
	header := &upfactory.ServiceState{Service: "shop", StableVersion: "1.0.0",
		Rollout: &upfactory.Rollout{CanaryVersion: "2.0.0", Phase: upfactory.PhaseProgressing, CanaryWeight: 0}}
	two := func(string) int { return 2 }
	for _, tc := range []struct {
		name  string
		st    *upfactory.ServiceState
		insts []upfactory.Instance
		why   map[string]string
		want  upfactory.Health
	}{
		{"all ready", stable, []upfactory.Instance{inst("1.0.0", R, ""), inst("1.0.0", R, "")}, nil,
			upfactory.Health{State: upfactory.HealthHealthy}},
		{"one of two ready is enough to serve", stable, []upfactory.Instance{inst("1.0.0", R, ""), inst("1.0.0", F, "exit 1")}, nil,
			upfactory.Health{State: upfactory.HealthHealthy}},
		{"starting", stable, []upfactory.Instance{inst("1.0.0", S, ""), inst("1.0.0", S, "")}, nil,
			upfactory.Health{State: upfactory.HealthStarting, Reason: "stable 1.0.0: 0 of 2 instances ready, 2 starting"}},
		{"no instance and a start error", stable, nil, map[string]string{"1.0.0": "/x/shop does not exist"},
			upfactory.Health{State: upfactory.HealthDegraded, Reason: "stable 1.0.0: 0 of 2 instances ready: /x/shop does not exist"}},
		{"no instance and no reason", stable, nil, nil,
			upfactory.Health{State: upfactory.HealthDegraded, Reason: "stable 1.0.0: 0 of 2 instances ready"}},
		{"failed instance names its reason", stable, []upfactory.Instance{inst("1.0.0", F, "not ready within 1s")}, nil,
			upfactory.Health{State: upfactory.HealthDegraded, Reason: "stable 1.0.0: 0 of 2 instances ready: not ready within 1s"}},
		{"unhealthy instances", stable, []upfactory.Instance{inst("1.0.0", U, "failed 3 readiness checks in a row")}, nil,
			upfactory.Health{State: upfactory.HealthDegraded, Reason: "stable 1.0.0: 0 of 2 instances ready: failed 3 readiness checks in a row"}},
		{"a replacement starting after failures is still degraded", stable, []upfactory.Instance{inst("1.0.0", S, "")}, map[string]string{"1.0.0": "exit 2"},
			upfactory.Health{State: upfactory.HealthDegraded, Reason: "stable 1.0.0: 0 of 2 instances ready: exit 2"}},
		{"weighted canary with none ready", canary, []upfactory.Instance{inst("1.0.0", R, ""), inst("2.0.0", F, "crashed")}, nil,
			upfactory.Health{State: upfactory.HealthDegraded, Reason: "canary 2.0.0: 0 of 2 instances ready: crashed"}},
		{"a canary at weight 0 is not served to users", header, []upfactory.Instance{inst("1.0.0", R, ""), inst("2.0.0", S, "")}, nil,
			upfactory.Health{State: upfactory.HealthHealthy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rollout.Health(tc.st, rollout.DesiredState(tc.st, now), tc.insts, two, tc.why)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Health (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadiness(t *testing.T) {
	insts := []upfactory.Instance{
		{ID: "a", Version: "2.0.0", State: upfactory.InstanceReady},
		{ID: "b", Version: "2.0.0", State: upfactory.InstanceStarting},
		{ID: "c", Version: "1.0.0", State: upfactory.InstanceReady},
	}
	if ready, failed := rollout.Readiness(insts, "2.0.0", 2, ""); ready || failed != "" {
		t.Errorf("one of two ready: %v %q", ready, failed)
	}
	if ready, _ := rollout.Readiness(insts, "2.0.0", 1, ""); !ready {
		t.Error("a batch of one with its instance ready is not ready")
	}
	insts[1].State, insts[1].Reason = upfactory.InstanceFailed, "exit status 1"
	if _, failed := rollout.Readiness(insts, "2.0.0", 2, ""); failed != "instance b: exit status 1" {
		t.Errorf("failed %q", failed)
	}
	if _, failed := rollout.Readiness(nil, "2.0.0", 2, "no binary for 2.0.0"); failed != "no binary for 2.0.0" {
		t.Errorf("a start that failed: %q", failed)
	}
}

func TestLookDueFallsAtTheStepsIntervalMarks(t *testing.T) {
	svc := &upfactory.Service{Analysis: upfactory.AnalysisSpec{Interval: upfactory.Duration(10 * time.Second)},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{{Analysis: &upfactory.AnalysisStep{Duration: upfactory.Duration(time.Minute)}}}}}}
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	r := &upfactory.Rollout{Phase: upfactory.PhaseProgressing, CanaryReady: true, StepStartedAt: t0}
	due, last := rollout.LookDue(svc, r, time.Time{}, t0.Add(3*time.Second))
	if due || !last.Equal(t0) {
		t.Fatalf("first tick of the step: due %v, last %s; want the step's start remembered", due, last)
	}
	if due, _ := rollout.LookDue(svc, r, last, t0.Add(9*time.Second)); due {
		t.Error("a look before the interval mark")
	}
	due, last = rollout.LookDue(svc, r, last, t0.Add(10*time.Second))
	if !due || !last.Equal(t0.Add(10*time.Second)) {
		t.Errorf("at the first mark: due %v, last %s", due, last)
	}
	r.CanaryReady = false
	if due, last := rollout.LookDue(svc, r, last, t0.Add(time.Minute)); due || !last.IsZero() {
		t.Error("a canary not ready is measured")
	}
}

func TestRetryStart(t *testing.T) {
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	if rollout.RetryStart(true, t0, t0.Add(time.Hour)) {
		t.Error("a canary that could not start is tried again: it fails its rollout instead")
	}
	if rollout.RetryStart(false, t0, t0.Add(rollout.StartRetry-time.Second)) || !rollout.RetryStart(false, t0, t0.Add(rollout.StartRetry)) {
		t.Error("a stable version's failed start is tried again after StartRetry, not before")
	}
}
