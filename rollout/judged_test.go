package rollout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/rollout"
)

// judgedService has one weight step, one analysis step of 30s (six looks
// at a 5s interval), then 100%, with two judged checks and a limit check.
func judgedService(critical bool) *upfactory.Service {
	return &upfactory.Service{
		Name:          "checkout",
		StableVersion: "1.0.0",
		Target:        upfactory.TargetSpec{Type: "exec", Replicas: 1, Readiness: upfactory.Readiness{Timeout: dur(30 * time.Second)}},
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{
			Steps: []upfactory.Step{
				{Weight: ptr(5)},
				{Analysis: &upfactory.AnalysisStep{Duration: dur(30 * time.Second)}},
				{Weight: ptr(100)},
			},
			RollbackWindow: dur(10 * time.Minute),
		}},
		Analysis: upfactory.AnalysisSpec{
			Interval: dur(5 * time.Second), MinSamples: 20, Alpha: 0.05, MaxErrors: 3,
			Score: upfactory.ScoreSpec{Pass: 95, Marginal: 75},
			Checks: []upfactory.Check{
				{Metric: upfactory.MetricErrorRate, Provider: "builtin", Max: "5%", Limit: 0.05, Weight: 1},
				{Name: "latency", Metric: upfactory.MetricP95Latency, Provider: "builtin", Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1}, Critical: critical, Weight: 1},
				{Name: "errors", Metric: upfactory.MetricErrorRate, Provider: "builtin", Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1}, Weight: 1},
			},
		},
	}
}

// judged is a judge's measurement at look k of 6 of the step that began at since.
func judged(at, since time.Time, k int, v upfactory.Verdict) upfactory.Measurement {
	return upfactory.Measurement{At: at, Since: since, Verdict: v, Reason: "judge said " + string(v),
		CanaryCount: 100, BaselineCount: 2000,
		Judgement: &upfactory.Judgement{Look: k, Planned: 6, PValue: 0.5, Alpha: 0.001}}
}

// toAnalysis starts a rollout and walks it to its analysis step; it returns
// the state and the step's start.
func toAnalysis(t *testing.T, svc *upfactory.Service) (*upfactory.ServiceState, time.Time) {
	t.Helper()
	st := rollout.InitialState(svc)
	if _, err := rollout.Start(svc, st, "2.0.0", "alice", t0); err != nil {
		t.Fatal(err)
	}
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(time.Second), CanaryReady: true})
	if st.Rollout.StepIndex != 1 || st.Rollout.CanaryWeight != 5 {
		t.Fatalf("not at the analysis step: step %d weight %d", st.Rollout.StepIndex, st.Rollout.CanaryWeight)
	}
	return st, st.Rollout.StepStartedAt
}

// looks feeds the analysis step one look per interval with verdicts for
// the two judged checks, the limit check passing, and returns the entries.
func looks(svc *upfactory.Service, st *upfactory.ServiceState, since time.Time, verdicts ...[2]upfactory.Verdict) []upfactory.LogEntry {
	var entries []upfactory.LogEntry
	for k, v := range verdicts {
		at := since.Add(time.Duration(k+1) * 5 * time.Second)
		entries = append(entries, rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{
			0: pass(at), 1: judged(at, since, k+1, v[0]), 2: judged(at, since, k+1, v[1]),
		}})...)
		if st.Rollout.Phase.Done() {
			break
		}
	}
	return entries
}

func repeat(n int, v [2]upfactory.Verdict) [][2]upfactory.Verdict {
	out := make([][2]upfactory.Verdict, n)
	for i := range out {
		out[i] = v
	}
	return out
}

var (
	pp = [2]upfactory.Verdict{upfactory.VerdictPass, upfactory.VerdictPass}
	ii = [2]upfactory.Verdict{upfactory.VerdictInconclusive, upfactory.VerdictInconclusive}
)

func TestJudgedStepAdvancesOnlyAfterItsLastLook(t *testing.T) {
	svc := judgedService(false)
	st, since := toAnalysis(t, svc)
	looks(svc, st, since, repeat(5, pp)...)
	if st.Rollout.StepIndex != 1 {
		t.Fatalf("a pass at look 5 of 6 advanced the step: %s", st.Rollout.Message)
	}
	// The step's duration is over, but the sixth look has not come yet.
	rollout.Tick(svc, st, rollout.Observation{Now: since.Add(30*time.Second + time.Millisecond), CanaryReady: true})
	if st.Rollout.StepIndex != 1 || !strings.Contains(st.Rollout.Message, "waiting for data") {
		t.Fatalf("step %d, message %q: want the step held for its last look", st.Rollout.StepIndex, st.Rollout.Message)
	}
	at := since.Add(31 * time.Second)
	entries := rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{
		0: pass(at), 1: judged(at, since, 6, upfactory.VerdictPass), 2: judged(at, since, 6, upfactory.VerdictPass),
	}})
	if got := actions(entries); !strings.Contains(strings.Join(got, " "), "analysis.passed") {
		t.Fatalf("actions %v, want analysis.passed after the last look", got)
	}
	if st.Rollout.Score == nil || st.Rollout.Score.Score != 100 || st.Rollout.Score.Verdict != upfactory.VerdictPass {
		t.Fatalf("score %+v, want 100 pass", st.Rollout.Score)
	}
	var passed upfactory.LogEntry
	for _, e := range entries {
		if e.Action == "analysis.passed" {
			passed = e
		}
	}
	lat, ok := passed.Values["latency"].(map[string]any)
	if !ok || lat["p_value"] != 0.5 || lat["look"] != 6 {
		t.Errorf("the log entry lacks the judge's figures: %v", passed.Values)
	}
}

func TestCriticalJudgedFailRollsBackAtOnce(t *testing.T) {
	svc := judgedService(true)
	st, since := toAnalysis(t, svc)
	entries := looks(svc, st, since, pp, [2]upfactory.Verdict{upfactory.VerdictFail, upfactory.VerdictPass})
	if st.Rollout.Phase != upfactory.PhaseRolledBack {
		t.Fatalf("phase %s, want RolledBack at the look that failed: %s", st.Rollout.Phase, st.Rollout.Message)
	}
	if got := actions(entries); got[len(got)-1] != "rollback.automatic" || !strings.Contains(st.Rollout.Message, "latency") {
		t.Errorf("actions %v, message %q", got, st.Rollout.Message)
	}
}

func TestNonCriticalFailCountsInTheScore(t *testing.T) {
	svc := judgedService(false)
	st, since := toAnalysis(t, svc)
	// One of two equal-weight checks fails: the score is at most 50 even
	// if the other passes, under the marginal 75, so the analysis fails.
	looks(svc, st, since, [2]upfactory.Verdict{upfactory.VerdictFail, upfactory.VerdictInconclusive})
	if st.Rollout.Phase != upfactory.PhaseRolledBack || !strings.Contains(st.Rollout.Message, "score") || !strings.Contains(st.Rollout.Message, "failed: latency: judge said Fail") {
		t.Fatalf("phase %s, message %q: want a rollback on the score", st.Rollout.Phase, st.Rollout.Message)
	}
}

func TestMarginalScorePausesAtTheStepEnd(t *testing.T) {
	svc := judgedService(false)
	svc.Analysis.Checks[2].Weight = 9 // errors pass with weight 9, latency inconclusive with 1: score 95 → pass
	st, since := toAnalysis(t, svc)
	looks(svc, st, since, repeat(6, [2]upfactory.Verdict{upfactory.VerdictInconclusive, upfactory.VerdictPass})...)
	if st.Rollout.Phase != upfactory.PhaseCompleted {
		t.Fatalf("phase %s, score %+v: want the step passed with a score of 95 and the rollout done", st.Rollout.Phase, st.Rollout.Score)
	}

	svc = judgedService(false)
	st, since = toAnalysis(t, svc)
	entries := looks(svc, st, since, repeat(6, ii)...)
	if st.Rollout.Phase != upfactory.PhasePaused || !strings.Contains(st.Rollout.Message, "marginal") {
		t.Fatalf("phase %s, message %q: a score of 50 with nothing failed should pause as marginal", st.Rollout.Phase, st.Rollout.Message)
	}
	if got := actions(entries); got[len(got)-1] != "analysis.inconclusive" {
		t.Errorf("actions %v", got)
	}
}

func TestNoDataNeverPasses(t *testing.T) {
	svc := judgedService(false)
	st, since := toAnalysis(t, svc)
	for k := 1; k <= 12; k++ {
		at := since.Add(time.Duration(k) * 5 * time.Second)
		nodata := upfactory.Measurement{At: at, Since: since, Verdict: upfactory.VerdictNoData, Reason: "canary has 3 samples"}
		rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: pass(at), 1: nodata, 2: nodata}})
	}
	if st.Rollout.Phase != upfactory.PhasePaused || st.Rollout.StepIndex != 1 {
		t.Fatalf("phase %s step %d: want paused at the analysis step after twice its duration without data", st.Rollout.Phase, st.Rollout.StepIndex)
	}
	if !strings.Contains(st.Rollout.Message, "inconclusive") {
		t.Errorf("message %q", st.Rollout.Message)
	}
}

func TestConsecutiveErrorsPauseNotRollBack(t *testing.T) {
	svc := judgedService(false)
	st, since := toAnalysis(t, svc)
	var entries []upfactory.LogEntry
	for k := 1; k <= 3; k++ {
		at := since.Add(time.Duration(k) * 5 * time.Second)
		e := upfactory.Measurement{At: at, Verdict: upfactory.VerdictError, Reason: "prometheus at http://127.0.0.1:1 did not answer within 2s"}
		entries = rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{0: e, 1: judged(at, since, k, upfactory.VerdictPass), 2: judged(at, since, k, upfactory.VerdictPass)}})
		if k < 3 && st.Rollout.Phase != upfactory.PhaseProgressing {
			t.Fatalf("paused after %d errors, want 3", k)
		}
	}
	r := st.Rollout
	if r.Phase != upfactory.PhasePaused || !strings.Contains(r.Message, "not rolled back") || !strings.Contains(r.Message, "did not answer") {
		t.Fatalf("phase %s, message %q", r.Phase, r.Message)
	}
	if got := actions(entries); len(got) != 1 || got[0] != "analysis.errors" {
		t.Errorf("actions %v", got)
	}
	if _, err := rollout.Apply(svc, st, rollout.Command{Action: "resume", Actor: "bob"}, since.Add(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	if r.Checks[0].Errors != 0 || r.Phase != upfactory.PhaseProgressing {
		t.Errorf("after resume: errors %d, phase %s", r.Checks[0].Errors, r.Phase)
	}
}

func TestErrorBlocksExpansion(t *testing.T) {
	svc := MustService(t)
	svc.Strategy.Canary.Steps = []upfactory.Step{{Weight: ptr(5)}, {Pause: &upfactory.PauseStep{Duration: dur(time.Second)}}, {Weight: ptr(100)}}
	svc.Analysis.MaxErrors = 3
	st := mustStart(t, svc)
	// Ready at t0+1s takes 5% and starts the pause; once it is over the
	// rollout would take 100%, but check 0 cannot be measured.
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(time.Second), CanaryReady: true})
	at := t0.Add(3 * time.Second)
	rollout.Tick(svc, st, rollout.Observation{Now: at, CanaryReady: true, Measurements: map[int]upfactory.Measurement{
		0: {At: at, Verdict: upfactory.VerdictError, Reason: "query failed"}, 1: pass(at)}})
	if st.Rollout.CanaryWeight != 5 || !strings.Contains(st.Rollout.Message, "blocked") {
		t.Fatalf("weight %d, message %q: an unmeasurable check must block expansion", st.Rollout.CanaryWeight, st.Rollout.Message)
	}
}

func mirrorService() *upfactory.Service {
	svc := judgedService(false)
	svc.Analysis.Checks = svc.Analysis.Checks[:1]
	svc.Strategy.Canary.Steps = []upfactory.Step{
		{Mirror: &upfactory.MirrorSpec{Duration: dur(20 * time.Second), Sample: "50%", SampleRatio: 0.5, MaxMismatch: "1%", MismatchLimit: 0.01, MinCompared: 20}},
		{Weight: ptr(100)},
	}
	return svc
}

func TestMirrorStep(t *testing.T) {
	start := func() *upfactory.ServiceState {
		svc := mirrorService()
		st := rollout.InitialState(svc)
		if _, err := rollout.Start(svc, st, "2.0.0", "alice", t0); err != nil {
			t.Fatal(err)
		}
		rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(time.Second), CanaryReady: true})
		if _, on := rollout.MirrorStep(svc, st); !on {
			t.Fatal("not at the mirror step")
		}
		return st
	}
	svc := mirrorService()
	report := func(compared, mismatches int64) *upfactory.MirrorReport {
		return &upfactory.MirrorReport{Version: "2.0.0", Mirrored: compared, Compared: compared, Mismatches: mismatches, Top: []string{"2xx→5xx ×" + "3"}}
	}

	st := start()
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(10 * time.Second), CanaryReady: true, Mirror: report(100, 0)})
	if st.Rollout.StepIndex != 0 || st.Rollout.CanaryWeight != 0 {
		t.Fatalf("mirror step ended early: %s", st.Rollout.Message)
	}
	entries := rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(22 * time.Second), CanaryReady: true, Mirror: report(200, 1)})
	if got := actions(entries); len(got) == 0 || got[0] != "mirror.passed" || st.Rollout.CanaryWeight != 100 {
		t.Fatalf("actions %v weight %d: 0.5%% mismatches under 1%% should pass", got, st.Rollout.CanaryWeight)
	}

	st = start()
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(5 * time.Second), CanaryReady: true, Mirror: report(50, 3)})
	if st.Rollout.Phase != upfactory.PhaseRolledBack || !strings.Contains(st.Rollout.Message, "2xx→5xx") {
		t.Fatalf("phase %s, message %q: 6%% mismatches should roll back before the step ends", st.Rollout.Phase, st.Rollout.Message)
	}

	st = start()
	rollout.Tick(svc, st, rollout.Observation{Now: t0.Add(42 * time.Second), CanaryReady: true, Mirror: report(5, 0)})
	if st.Rollout.Phase != upfactory.PhasePaused || !strings.Contains(st.Rollout.Message, "mirror inconclusive") {
		t.Fatalf("phase %s, message %q: too few copies after twice the duration should pause", st.Rollout.Phase, st.Rollout.Message)
	}
}

func TestJudgedLookPlansTheStep(t *testing.T) {
	svc := judgedService(false)
	st, since := toAnalysis(t, svc)
	k, planned, alpha, ok := rollout.JudgedLook(svc, st.Rollout, 1)
	if !ok || k != 1 || planned != 6 {
		t.Fatalf("look %d of %d (ok %v), want 1 of 6", k, planned, ok)
	}
	if want := 0.05 / 2; alpha != want { // two judged checks, one analysis step
		t.Errorf("alpha %g, want %g", alpha, want)
	}
	looks(svc, st, since, repeat(6, ii)...)
	if _, _, _, ok := rollout.JudgedLook(svc, st.Rollout, 1); ok {
		t.Error("a seventh look was planned for a step of six")
	}
}
