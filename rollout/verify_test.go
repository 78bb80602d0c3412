package rollout_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/rollout"
)

// completed returns a state whose rollout of 2.0.0 reached 100% at t0,
// with a baseline of 1.0.0 serving 10,000 requests at 0.1% errors.
func completed(t *testing.T, svc *upfactory.Service) *upfactory.ServiceState {
	t.Helper()
	svc.Strategy.Canary.Steps = []upfactory.Step{{Weight: ptr(100)}}
	st := rollout.InitialState(svc)
	if _, err := rollout.Start(svc, st, "2.0.0", "alice", t0.Add(-10*time.Second)); err != nil {
		t.Fatal(err)
	}
	st.Rollout.Baseline = &upfactory.Figures{Version: "1.0.0", From: t0.Add(-31 * time.Minute), To: t0.Add(-time.Minute),
		Requests: 10000, Errors5xx: 10, P95: 0.010, P99: 0.020, Rate: 5.5}
	got := rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	if st.Rollout.Phase != upfactory.PhaseCompleted || !rollout.Verifying(st) {
		t.Fatalf("phase %s, verifying %v; log %v", st.Rollout.Phase, rollout.Verifying(st), actions(got))
	}
	return st
}

func served(from, to time.Time, requests, errors int64, p95 float64) *upfactory.Figures {
	return &upfactory.Figures{Version: "2.0.0", From: from, To: to, Requests: requests, Errors5xx: errors, P95: p95, P99: 2 * p95, Rate: float64(requests) / to.Sub(from).Seconds()}
}

func TestVerificationPassesAfterTheWindow(t *testing.T) {
	svc := MustService(t)
	svc.Verification = upfactory.VerificationSpec{Window: dur(10 * time.Minute), OnRegression: upfactory.OnRegressionRollback}
	st := completed(t, svc)
	if until := st.Rollout.Verification.Until; !until.Equal(t0.Add(10 * time.Minute)) {
		t.Fatalf("verification until %s, want 10m after 100%%", until)
	}
	for i := 1; i <= 20; i++ {
		now := t0.Add(time.Duration(i) * 30 * time.Second)
		log := rollout.Tick(svc, st, rollout.Observation{Now: now, Verified: served(t0, now, int64(i)*200, 0, 0.011)})
		switch {
		case i < 20 && len(log) > 0:
			t.Fatalf("at %s: %v before the window closed", now, actions(log))
		case i == 20 && !slices.Equal(actions(log), []string{upfactory.ActionVerificationPassed}):
			t.Fatalf("at the window's end: %v, want verification.passed", actions(log))
		}
	}
	v := st.Rollout.Verification
	if v.Verdict != upfactory.VerdictPass || st.StableVersion != "2.0.0" || rollout.Verifying(st) {
		t.Fatalf("verdict %s, stable %s", v.Verdict, st.StableVersion)
	}
}

func TestVerificationRegressionRollsBackWhileWarm(t *testing.T) {
	svc := MustService(t)
	svc.Verification = upfactory.VerificationSpec{Window: dur(30 * time.Minute), OnRegression: upfactory.OnRegressionRollback}
	st := completed(t, svc)
	// Healthy for a minute, then 5% of requests fail: the error rate
	// limit (1% for 10s) fails once the breach has lasted 10s.
	now := t0.Add(time.Minute)
	if log := rollout.Tick(svc, st, rollout.Observation{Now: now, Verified: served(t0, now, 600, 0, 0.010)}); len(log) > 0 {
		t.Fatalf("healthy: %v", actions(log))
	}
	var log []upfactory.LogEntry
	for i := 1; i <= 3 && len(log) == 0; i++ {
		now = now.Add(5 * time.Second)
		log = rollout.Tick(svc, st, rollout.Observation{Now: now, Verified: served(t0, now, 1000, 50, 0.010)})
	}
	want := []string{upfactory.ActionVerificationFailed, upfactory.ActionRollbackVerification}
	if !slices.Equal(actions(log), want) {
		t.Fatalf("log %v, want %v", actions(log), want)
	}
	if st.StableVersion != "1.0.0" || st.PreviousVersion != "" || st.Rollout.Phase != upfactory.PhaseRolledBack || !st.Rollout.Verification.RolledBack {
		t.Fatalf("stable %s previous %q phase %s", st.StableVersion, st.PreviousVersion, st.Rollout.Phase)
	}
	reason := log[0].Reason
	for _, want := range []string{"error_rate", "5.00%", "0.10%", "1000 requests since 100%", "10000 requests before the rollout"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}
	if log[0].Values["baseline_requests"] != int64(10000) || log[0].Values["after_requests"] != int64(1000) {
		t.Errorf("values %v", log[0].Values)
	}
	if d := rollout.DesiredState(st, now); !slices.Equal(d.Run, []string{"1.0.0"}) || d.Weights["1.0.0"] != 100 {
		t.Fatalf("desired after the rollback: %+v", d)
	}
}

func TestVerificationRegressionAfterTheRollbackWindowOnlyReports(t *testing.T) {
	for _, tc := range []struct {
		name      string
		on        string
		rollbackW time.Duration
		why       string
	}{
		{"window closed", upfactory.OnRegressionRollback, time.Minute, "rollback window has closed"},
		{"incident only", upfactory.OnRegressionIncident, 10 * time.Minute, "on_regression is incident"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := MustService(t)
			svc.Verification = upfactory.VerificationSpec{Window: dur(30 * time.Minute), OnRegression: tc.on}
			svc.Strategy.Canary.RollbackWindow = dur(tc.rollbackW)
			st := completed(t, svc)
			now := t0.Add(2 * time.Minute)
			rollout.Expire(st, now)
			var log []upfactory.LogEntry
			for i := 0; i < 4 && len(log) == 0; i++ {
				now = now.Add(5 * time.Second)
				log = rollout.Tick(svc, st, rollout.Observation{Now: now, Verified: served(t0, now, 1000, 80, 0.010)})
			}
			if !slices.Equal(actions(log), []string{upfactory.ActionVerificationFailed}) || !strings.Contains(log[0].Reason, tc.why) {
				t.Fatalf("log %v %+v", actions(log), log)
			}
			if st.StableVersion != "2.0.0" || st.Rollout.Phase != upfactory.PhaseCompleted || st.Rollout.Verification.Verdict != upfactory.VerdictFail {
				t.Fatalf("stable %s phase %s verdict %s", st.StableVersion, st.Rollout.Phase, st.Rollout.Verification.Verdict)
			}
		})
	}
}

func TestVerificationDefaultsAndOff(t *testing.T) {
	svc := MustService(t)
	svc.Analysis.Checks = []upfactory.Check{{Metric: upfactory.MetricCPU, Max: "2"}}
	if got := rollout.VerificationChecks(svc); len(got) != 2 || got[0].Metric != upfactory.MetricErrorRate || got[1].Metric != upfactory.MetricP95Latency {
		t.Fatalf("defaults: %+v", got)
	}
	svc.Analysis.Checks = []upfactory.Check{{Metric: upfactory.MetricErrorRate, Max: "1%"}, {Name: "latency", Metric: upfactory.MetricP95Latency, MaxVsBaseline: 3}}
	if got := rollout.VerificationChecks(svc); len(got) != 2 {
		t.Fatalf("every verifiable check: %+v", got)
	}
	svc.Verification.Checks = []string{"error_rate"}
	if got := rollout.VerificationChecks(svc); len(got) != 1 || got[0].Metric != upfactory.MetricErrorRate {
		t.Fatalf("the checks named: %+v", got)
	}
	svc.Verification.Off = true
	st := completed0(t, svc)
	if st.Rollout.Verification != nil || rollout.Verifying(st) {
		t.Fatal("verification off still verifies")
	}
}

func completed0(t *testing.T, svc *upfactory.Service) *upfactory.ServiceState {
	t.Helper()
	svc.Strategy.Canary.Steps = []upfactory.Step{{Weight: ptr(100)}}
	st := rollout.InitialState(svc)
	if _, err := rollout.Start(svc, st, "2.0.0", "alice", t0); err != nil {
		t.Fatal(err)
	}
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	rollout.Tick(svc, st, rollout.Observation{Now: t0, CanaryReady: true})
	return st
}

func TestVerificationJudgesConversionAgainstTheBaseline(t *testing.T) {
	svc := MustService(t)
	conv := upfactory.Check{Name: "checkout", Metric: upfactory.MetricConversion, Numerator: "POST /api/checkout", Denominator: "GET /api/cart", MinVsBaseline: 0.8}
	svc.Analysis.Checks = []upfactory.Check{conv}
	svc.Verification = upfactory.VerificationSpec{Window: dur(30 * time.Minute), OnRegression: upfactory.OnRegressionIncident}
	st := completed(t, svc)
	st.Rollout.Baseline.Conversion = map[string]upfactory.Funnel{"checkout": {N: 4000, Events: 400}}
	now := t0.Add(time.Minute)
	healthy := served(t0, now, 3000, 0, 0.010)
	healthy.Conversion = map[string]upfactory.Funnel{"checkout": {N: 1000, Events: 95}}
	if log := rollout.Tick(svc, st, rollout.Observation{Now: now, Verified: healthy}); len(log) > 0 {
		t.Fatalf("9.5%% against 10%%: %v", actions(log))
	}
	now = now.Add(5 * time.Second)
	worse := served(t0, now, 6000, 0, 0.010)
	worse.Conversion = map[string]upfactory.Funnel{"checkout": {N: 2000, Events: 100}}
	log := rollout.Tick(svc, st, rollout.Observation{Now: now, Verified: worse})
	if !slices.Equal(actions(log), []string{upfactory.ActionVerificationFailed}) || !strings.Contains(log[0].Reason, "checkout") {
		t.Fatalf("5%% against 10%%: %v %+v", actions(log), log)
	}
	if log[0].Values["baseline_conversion_checkout"] != 0.1 || log[0].Values["after_conversion_checkout"] != 0.05 {
		t.Errorf("values %v", log[0].Values)
	}
}

// A freeze that begins while a rollout runs holds its next expansion,
// logged once, until it ends; rolling back is never held.
func TestAHoldStopsExpansionsNotRollbacks(t *testing.T) {
	svc := MustService(t)
	svc.Strategy.Canary.Steps = []upfactory.Step{{Weight: ptr(5)}, {Weight: ptr(25)}, {Weight: ptr(100)}}
	st := mustStart(t, svc)
	var log []string
	tick := func(now time.Time, hold string, ms map[int]upfactory.Measurement) {
		log = append(log, actions(rollout.Tick(svc, st, rollout.Observation{Now: now, CanaryReady: true, Hold: hold, Measurements: ms}))...)
	}
	freeze := "freeze black-friday is in force until 2026-11-30T00:00:00Z"
	tick(t0.Add(time.Second), freeze, nil)
	tick(t0.Add(2*time.Second), freeze, nil)
	if st.Rollout.CanaryWeight != 0 || st.Rollout.HeldBy != freeze || !slices.Equal(log, []string{"canary.ready", "rollout.held"}) {
		t.Fatalf("held: weight %d, log %v", st.Rollout.CanaryWeight, log)
	}
	tick(t0.Add(3*time.Second), "", nil)
	if st.Rollout.Phase != upfactory.PhaseCompleted || !slices.Contains(log, "rollout.unheld") {
		t.Fatalf("after the freeze: phase %s, log %v", st.Rollout.Phase, log)
	}

	st = mustStart(t, svc)
	log = nil
	tick(t0.Add(time.Second), freeze, nil)
	tick(t0.Add(2*time.Second), freeze, map[int]upfactory.Measurement{0: breach(t0.Add(2 * time.Second))})
	tick(t0.Add(20*time.Second), freeze, map[int]upfactory.Measurement{0: breach(t0.Add(20 * time.Second))})
	if st.Rollout.Phase != upfactory.PhaseRolledBack {
		t.Fatalf("a failing check while held: phase %s, log %v", st.Rollout.Phase, log)
	}
}

// Flag steps ramp a feature flag under the same checks as weights; a
// rollback turns every flag the rollout ramped off at once.
func TestFlagStepsRampAndARollbackTurnsThemOff(t *testing.T) {
	svc := MustService(t)
	flag := func(p int) upfactory.Step {
		return upfactory.Step{Flag: &upfactory.FlagStep{Name: "new-checkout", Percent: p}}
	}
	svc.Strategy.Canary.Steps = []upfactory.Step{{Weight: ptr(100)}, flag(1), flag(10), {Pause: &upfactory.PauseStep{Duration: dur(time.Minute)}}, flag(50), flag(100)}
	st := mustStart(t, svc)
	var log []string
	log = append(log, actions(rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(time.Second), CanaryReady: true}))...)
	if got := st.Rollout.Flags["new-checkout"]; got != 10 || st.Rollout.Phase != upfactory.PhaseProgressing {
		t.Fatalf("before the pause: flag at %d%%, phase %s, log %v", got, st.Rollout.Phase, log)
	}
	if n := strings.Count(strings.Join(log, " "), "step.flag"); n != 2 {
		t.Errorf("%d step.flag entries, want 2 (1%% and 10%%): %v", n, log)
	}
	// A check that fails rolls back: the flag goes to 0 with the traffic.
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(2 * time.Second), CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: breach(t0.Add(2 * time.Second))}})
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(20 * time.Second), CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: breach(t0.Add(20 * time.Second))}})
	if st.Rollout.Phase != upfactory.PhaseRolledBack || st.Rollout.Flags["new-checkout"] != 0 {
		t.Fatalf("after a failed check: phase %s, flag %d%%", st.Rollout.Phase, st.Rollout.Flags["new-checkout"])
	}
}
