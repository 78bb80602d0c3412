package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/rollout"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func ptr(i int) *int { return &i }

func dur(d time.Duration) upfactory.Duration { return upfactory.Duration(d) }

// MustService returns the example service with short durations.
func MustService(tb testing.TB) *upfactory.Service {
	tb.Helper()
	return &upfactory.Service{
		Name:          "checkout",
		StableVersion: "1.0.0",
		Target:        upfactory.TargetSpec{Type: "exec", Replicas: 2, Readiness: upfactory.Readiness{Timeout: dur(30 * time.Second)}},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{
			Steps: []upfactory.Step{
				{Weight: ptr(5)},
				{Analysis: &upfactory.AnalysisStep{Duration: dur(30 * time.Second)}},
				{Approval: &upfactory.ApprovalStep{Role: "approver"}},
				{Weight: ptr(25)},
				{Weight: ptr(50)},
				{Pause: &upfactory.PauseStep{Duration: dur(10 * time.Second)}},
				{Weight: ptr(100)},
			},
			RollbackWindow: dur(10 * time.Minute),
		}},
		Analysis: upfactory.AnalysisSpec{
			Interval:   dur(5 * time.Second),
			MinSamples: 20,
			Checks: []upfactory.Check{
				{Metric: upfactory.MetricErrorRate, Max: "1%", Limit: 0.01, For: dur(10 * time.Second)},
				{Metric: upfactory.MetricP95Latency, MaxVsBaseline: 1.3},
			},
		},
	}
}

func pass(at time.Time) upfactory.Measurement {
	return upfactory.Measurement{At: at, Verdict: upfactory.VerdictPass, CanaryCount: 100, BaselineCount: 1000}
}

func breach(at time.Time) upfactory.Measurement {
	return upfactory.Measurement{At: at, Verdict: upfactory.VerdictFail, Canary: 0.2, Baseline: 0.001, CanaryCount: 100, BaselineCount: 1000, Reason: "canary error_rate 20% > max 1%"}
}

func actions(entries []upfactory.LogEntry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.Action)
	}
	return out
}

func mustStart(t *testing.T, svc *upfactory.Service) *upfactory.ServiceState {
	t.Helper()
	st := rollout.InitialState(svc)
	if _, err := rollout.Start(svc, st, "2.0.0", "alice", t0); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestHappyPathWalksEveryStep(t *testing.T) {
	svc := MustService(t)
	st := mustStart(t, svc)
	var log []string
	tick := func(now time.Time, obs rollout.Observation) {
		obs.Now = now
		log = append(log, actions(rollout.Tick(svc, st, obs))...)
	}

	tick(t0.Add(time.Second), rollout.Observation{})
	if st.Rollout.CanaryWeight != 0 {
		t.Fatalf("weight %d before the canary is ready", st.Rollout.CanaryWeight)
	}
	tick(t0.Add(2*time.Second), rollout.Observation{CanaryReady: true})
	if got := st.Rollout.CanaryWeight; got != 5 {
		t.Fatalf("weight after ready = %d, want 5", got)
	}
	// The analysis needs passing measurements taken during the step.
	now := t0.Add(2 * time.Second)
	for i := 1; i <= 7; i++ {
		now = now.Add(5 * time.Second)
		tick(now, rollout.Observation{CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: pass(now), 1: pass(now)}})
	}
	if st.Rollout.Phase != upfactory.PhaseAwaitingApproval {
		t.Fatalf("phase %s, want AwaitingApproval (message %q)", st.Rollout.Phase, st.Rollout.Message)
	}
	entries, err := rollout.Apply(svc, st, rollout.Command{Action: "approve", Actor: "bob", Comment: "looks fine"}, now)
	if err != nil {
		t.Fatal(err)
	}
	log = append(log, actions(entries)...)
	tick(now, rollout.Observation{CanaryReady: true})
	if st.Rollout.CanaryWeight != 50 || st.Rollout.Phase != upfactory.PhaseProgressing {
		t.Fatalf("after approval: weight %d phase %s, want 50 Progressing", st.Rollout.CanaryWeight, st.Rollout.Phase)
	}
	tick(now.Add(9*time.Second), rollout.Observation{CanaryReady: true})
	if st.Rollout.CanaryWeight != 50 {
		t.Fatalf("pause ended early: weight %d", st.Rollout.CanaryWeight)
	}
	tick(now.Add(10*time.Second), rollout.Observation{CanaryReady: true})
	if st.Rollout.Phase != upfactory.PhaseCompleted || st.StableVersion != "2.0.0" || st.PreviousVersion != "1.0.0" {
		t.Fatalf("phase %s stable %s previous %s", st.Rollout.Phase, st.StableVersion, st.PreviousVersion)
	}
	want := []string{"canary.ready", "step.weight", "analysis.passed", "approval.requested", "approval.granted",
		"step.weight", "step.weight", "step.weight", "rollout.completed"}
	if diff := cmp.Diff(want, log); diff != "" {
		t.Errorf("log actions (-want +got):\n%s", diff)
	}
	if a := st.Rollout.Approvals; len(a) != 1 || a[0].By != "bob" || a[0].Role != "approver" {
		t.Errorf("approvals = %+v", a)
	}
}

func TestSustainedBreachRollsBackAtAnyStep(t *testing.T) {
	svc := MustService(t)
	st := mustStart(t, svc)
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	// One breach starts a run (For is 10s, interval 5s): not yet a failure.
	at := t0.Add(5 * time.Second)
	rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: breach(at)}})
	if st.Rollout.Phase != upfactory.PhaseProgressing || st.Rollout.Checks[0].Status != upfactory.VerdictInconclusive {
		t.Fatalf("after one breach: phase %s check %s", st.Rollout.Phase, st.Rollout.Checks[0].Status)
	}
	at = at.Add(5 * time.Second)
	entries := rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: breach(at)}})
	if st.Rollout.Phase != upfactory.PhaseRolledBack || st.Rollout.CanaryWeight != 0 {
		t.Fatalf("phase %s weight %d, want RolledBack 0", st.Rollout.Phase, st.Rollout.CanaryWeight)
	}
	if diff := cmp.Diff([]string{"rollback.automatic"}, actions(entries)); diff != "" {
		t.Fatalf("actions (-want +got):\n%s", diff)
	}
	e := entries[0]
	if e.Actor != upfactory.ActorSystem || !strings.Contains(e.Reason, "error_rate") || e.Values["canary"] != 0.2 {
		t.Errorf("entry = %+v", e)
	}
	if st.StableVersion != "1.0.0" || st.Rollout.KeepCanaryUntil.IsZero() {
		t.Errorf("stable %s keep %v", st.StableVersion, st.Rollout.KeepCanaryUntil)
	}
	// The kept canary is routable by header only; stable takes all traffic.
	d := rollout.DesiredState(st, at)
	if d.Weights["1.0.0"] != 100 || d.Weights["2.0.0"] != 0 || !d.Wants("2.0.0") {
		t.Errorf("desired %+v", d)
	}
}

func TestPassBetweenBreachesResetsTheRun(t *testing.T) {
	svc := MustService(t)
	st := mustStart(t, svc)
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	at := t0
	for i, m := range []func(time.Time) upfactory.Measurement{breach, pass, breach, pass, breach} {
		at = at.Add(5 * time.Second)
		rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: m(at)}})
		if st.Rollout.Phase.Done() {
			t.Fatalf("measurement %d ended the rollout: %s", i, st.Rollout.Message)
		}
	}
}

func TestBreachBlocksExpansion(t *testing.T) {
	svc := MustService(t)
	svc.Strategy.Canary.Steps = []upfactory.Step{{Weight: ptr(5)}, {Pause: &upfactory.PauseStep{Duration: dur(10 * time.Second)}}, {Weight: ptr(50)}, {Weight: ptr(100)}}
	st := mustStart(t, svc)
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	at := t0.Add(5 * time.Second)
	rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: breach(at)}})
	// The pause is over, but the error-rate check is breaching (not yet for
	// its full 10s): the weight must stay at 5.
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(11 * time.Second), CanaryReady: true})
	if st.Rollout.CanaryWeight != 5 || !strings.Contains(st.Rollout.Message, "blocked") {
		t.Fatalf("weight %d message %q", st.Rollout.CanaryWeight, st.Rollout.Message)
	}
	at = t0.Add(12 * time.Second)
	rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: pass(at)}})
	if st.Rollout.Phase != upfactory.PhaseCompleted {
		t.Fatalf("after recovery: phase %s weight %d", st.Rollout.Phase, st.Rollout.CanaryWeight)
	}
}

func TestNoDataHaltsAnalysis(t *testing.T) {
	svc := MustService(t)
	st := mustStart(t, svc)
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	nodata := upfactory.Measurement{Verdict: upfactory.VerdictNoData, Reason: "canary served 3 requests in 5s, need 20"}
	for at := t0.Add(5 * time.Second); !at.After(t0.Add(30 * time.Second)); at = at.Add(5 * time.Second) {
		nodata.At = at
		rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: nodata, 1: pass(at)}})
	}
	// At the end of the step it waits up to one more duration for data.
	if st.Rollout.Phase != upfactory.PhaseProgressing || !strings.Contains(st.Rollout.Message, "waiting for data") {
		t.Fatalf("phase %s message %q, want Progressing waiting for data", st.Rollout.Phase, st.Rollout.Message)
	}
	for at := t0.Add(35 * time.Second); !at.After(t0.Add(60 * time.Second)); at = at.Add(5 * time.Second) {
		nodata.At = at
		rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: nodata, 1: pass(at)}})
	}
	if st.Rollout.Phase != upfactory.PhasePaused || !strings.Contains(st.Rollout.Message, "inconclusive") {
		t.Fatalf("phase %s message %q, want Paused inconclusive", st.Rollout.Phase, st.Rollout.Message)
	}
	if st.Rollout.CanaryWeight != 5 {
		t.Errorf("weight %d, want 5 held", st.Rollout.CanaryWeight)
	}
}

func TestReadinessDeadlineFailsWithWeightZero(t *testing.T) {
	svc := MustService(t)
	st := mustStart(t, svc)
	entries := rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(29 * time.Second)})
	if len(entries) != 0 || st.Rollout.Phase != upfactory.PhaseProgressing {
		t.Fatalf("before deadline: %v %s", actions(entries), st.Rollout.Phase)
	}
	entries = rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(30 * time.Second)})
	if st.Rollout.Phase != upfactory.PhaseFailed || st.Rollout.CanaryWeight != 0 {
		t.Fatalf("phase %s weight %d", st.Rollout.Phase, st.Rollout.CanaryWeight)
	}
	if diff := cmp.Diff([]string{"rollout.failed"}, actions(entries)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(entries[0].Reason, "readiness deadline") {
		t.Errorf("reason %q", entries[0].Reason)
	}
}

func TestCommandsRefusedLeaveStateUnchanged(t *testing.T) {
	svc := MustService(t)
	st := mustStart(t, svc)
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	tests := []struct {
		name string
		st   func() *upfactory.ServiceState
		cmd  rollout.Command
		code string
		msg  string
	}{
		{"approve without gate", func() *upfactory.ServiceState { return clone(st) }, rollout.Command{Action: "approve", Actor: "bob"}, upfactory.ECONFLICT, "no approval gate is waiting"},
		{"approve without name", func() *upfactory.ServiceState { return clone(st) }, rollout.Command{Action: "approve"}, upfactory.EINVALID, "--as NAME"},
		{"resume not paused", func() *upfactory.ServiceState { return clone(st) }, rollout.Command{Action: "resume", Actor: "bob"}, upfactory.ECONFLICT, "not Paused"},
		{"cleanup while active", func() *upfactory.ServiceState { return clone(st) }, rollout.Command{Action: "cleanup", Actor: "bob"}, upfactory.ECONFLICT, "in progress"},
		{"no rollout", func() *upfactory.ServiceState { return rollout.InitialState(svc) }, rollout.Command{Action: "abort", Actor: "bob"}, upfactory.ECONFLICT, "has no rollout"},
		{"unknown", func() *upfactory.ServiceState { return clone(st) }, rollout.Command{Action: "explode", Actor: "bob"}, upfactory.EINVALID, "unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.st()
			before := clone(s)
			_, err := rollout.Apply(svc, s, tt.cmd, t0.Add(time.Minute))
			if upfactory.ErrorCode(err) != tt.code || !strings.Contains(upfactory.ErrorMessage(err), tt.msg) {
				t.Fatalf("err = %v, want %s containing %q", err, tt.code, tt.msg)
			}
			if diff := cmp.Diff(before, s); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}
	_, err := rollout.Start(svc, st, "3.0.0", "carol", t0)
	if upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Errorf("second rollout: %v", err)
	}
	_, err = rollout.Start(svc, rollout.InitialState(svc), "1.0.0", "carol", t0)
	if upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Errorf("rollout of the stable version: %v", err)
	}
}

func TestPromoteRefusesApprovalGate(t *testing.T) {
	svc := MustService(t)
	svc.Strategy.Canary.Steps = []upfactory.Step{{Approval: &upfactory.ApprovalStep{Role: "approver"}}, {Weight: ptr(100)}}
	st := mustStart(t, svc)
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	if _, err := rollout.Apply(svc, st, rollout.Command{Action: "promote", Actor: "eve"}, t0); upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Fatalf("promote at approval gate: %v", err)
	}
}

func TestPauseResumePromote(t *testing.T) {
	svc := MustService(t)
	st := mustStart(t, svc)
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	must := func(action string) {
		t.Helper()
		if _, err := rollout.Apply(svc, st, rollout.Command{Action: action, Actor: "ops"}, t0.Add(time.Second)); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
	must("pause")
	if st.Rollout.Phase != upfactory.PhasePaused {
		t.Fatal(st.Rollout.Phase)
	}
	// Time passes while paused: the analysis step must not complete.
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(time.Hour), CanaryReady: true})
	if st.Rollout.StepIndex != 1 {
		t.Fatalf("step advanced while paused: %d", st.Rollout.StepIndex)
	}
	must("resume")
	must("promote") // skip the analysis step
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(2 * time.Second), CanaryReady: true})
	if st.Rollout.Phase != upfactory.PhaseAwaitingApproval {
		t.Fatalf("phase %s after promote", st.Rollout.Phase)
	}
}

func TestRollbackAfterCompletionWithinWindow(t *testing.T) {
	svc := MustService(t)
	svc.Strategy.Canary.Steps = []upfactory.Step{{Weight: ptr(100)}}
	st := mustStart(t, svc)
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	if st.Rollout.Phase != upfactory.PhaseCompleted {
		t.Fatal(st.Rollout.Phase)
	}
	d := rollout.DesiredState(st, t0.Add(time.Minute))
	if d.Weights["2.0.0"] != 100 || d.Weights["1.0.0"] != 0 || !d.Wants("1.0.0") {
		t.Fatalf("previous not warm: %+v", d)
	}
	late := clone(st)
	if _, err := rollout.Apply(svc, late, rollout.Command{Action: "rollback", Actor: "ops"}, t0.Add(11*time.Minute)); upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Fatalf("rollback after window: %v", err)
	}
	if _, err := rollout.Apply(svc, st, rollout.Command{Action: "rollback", Actor: "ops"}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if st.StableVersion != "1.0.0" || st.Rollout.Phase != upfactory.PhaseRolledBack {
		t.Fatalf("stable %s phase %s", st.StableVersion, st.Rollout.Phase)
	}
	if d := rollout.DesiredState(st, t0.Add(time.Minute)); d.Weights["1.0.0"] != 100 {
		t.Fatalf("after rollback: %+v", d)
	}
}

func TestRouterPoolsNeverRouteToNothing(t *testing.T) {
	d := rollout.Desired{Run: []string{"1", "2"}, Weights: map[string]int{"1": 75, "2": 25}}
	ready := func(v, addr string) upfactory.Instance {
		return upfactory.Instance{Version: v, Addr: addr, State: upfactory.InstanceReady}
	}
	tests := []struct {
		name  string
		insts []upfactory.Instance
		want  []upfactory.Pool
	}{
		{"both ready", []upfactory.Instance{ready("1", "a"), ready("2", "b")},
			[]upfactory.Pool{{Version: "1", Weight: 75, Addrs: []string{"a"}}, {Version: "2", Weight: 25, Addrs: []string{"b"}}}},
		{"canary down", []upfactory.Instance{ready("1", "a"), {Version: "2", Addr: "b", State: upfactory.InstanceStarting}},
			[]upfactory.Pool{{Version: "1", Weight: 100, Addrs: []string{"a"}}}},
		{"stable down", []upfactory.Instance{ready("2", "b")},
			[]upfactory.Pool{{Version: "2", Weight: 100, Addrs: []string{"b"}}}},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, rollout.RouterPools(d, tt.insts)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func clone(st *upfactory.ServiceState) *upfactory.ServiceState {
	c := *st
	if st.Rollout != nil {
		r := *st.Rollout
		r.Checks = append([]upfactory.CheckStatus(nil), r.Checks...)
		r.Approvals = append([]upfactory.Approval(nil), r.Approvals...)
		c.Rollout = &r
	}
	return &c
}
