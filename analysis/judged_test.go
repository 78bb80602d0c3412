package analysis_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/analysis"
	"github.com/upfactory/upfactory/judge"
)

func latencyCheck() upfactory.Check {
	return upfactory.Check{Name: "latency", Metric: upfactory.MetricP95Latency, Provider: "builtin", Weight: 1,
		Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1, FloorValue: 0.001}}
}

func lognormal(r *rand.Rand, n int, median float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = median * math.Exp(0.5*r.NormFloat64())
	}
	return out
}

func TestJudgeMeasurement(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	since := now.Add(-30 * time.Second)
	look := judge.Look{Index: 6, Planned: 6}
	c := latencyCheck()

	slow := analysis.Judge(c, lognormal(r, 300, 0.130), lognormal(r, 3000, 0.100), look, 0.05, 20, since, now)
	if slow.Verdict != upfactory.VerdictFail || slow.Judgement == nil {
		t.Fatalf("a 30%% slower canary: %s (%s)", slow.Verdict, slow.Reason)
	}
	j := slow.Judgement
	if !(j.PValue < j.Alpha) || !(j.ShiftLow <= j.Shift && j.Shift <= j.ShiftHigh) || j.Shift < 0.015 {
		t.Errorf("judgement %+v: want a significant shift near +30ms inside its interval", j)
	}
	if slow.Since != since || slow.CanaryCount != 300 || slow.BaselineCount != 3000 {
		t.Errorf("measurement %+v", slow)
	}

	same := analysis.Judge(c, lognormal(r, 300, 0.100), lognormal(r, 3000, 0.100), look, 0.05, 20, since, now)
	if same.Verdict == upfactory.VerdictFail {
		t.Errorf("an A/A comparison failed: %s", same.Reason)
	}

	// A thin A/A canary: the interval is too wide to prove anything at an
	// early look, and at the last one nothing significant was seen: pass.
	thinC, thinB := lognormal(r, 40, 0.100), lognormal(r, 800, 0.100)
	early := analysis.Judge(c, thinC, thinB, judge.Look{Index: 3, Planned: 6}, 0.05, 20, since, now)
	last := analysis.Judge(c, thinC, thinB, judge.Look{Index: 6, Planned: 6}, 0.05, 20, since, now)
	if early.Verdict != upfactory.VerdictInconclusive || last.Verdict != upfactory.VerdictPass {
		t.Errorf("thin A/A: look 3 %s (%s), look 6 %s (%s); want inconclusive then pass", early.Verdict, early.Reason, last.Verdict, last.Reason)
	}

	few := analysis.Judge(c, lognormal(r, 10, 0.5), lognormal(r, 3000, 0.1), look, 0.05, 20, since, now)
	if few.Verdict != upfactory.VerdictNoData || few.Judgement != nil {
		t.Errorf("10 canary samples with min 20: %s, judgement %v", few.Verdict, few.Judgement)
	}
}

func TestSamplesFromCounts(t *testing.T) {
	d := upfactory.Distribution{Requests: 6, Latency: []upfactory.LatencyBucket{{Seconds: 0.01, Count: 4}, {Seconds: 0.2, Count: 2}}}
	got := analysis.LatencySamples(d, 0)
	if len(got) != 6 || got[0] != 0.01 || got[5] != 0.2 {
		t.Fatalf("LatencySamples = %v", got)
	}
	big := upfactory.Distribution{Latency: []upfactory.LatencyBucket{{Seconds: 0.01, Count: 300_000}, {Seconds: 0.02, Count: 100_000}}}
	thin := analysis.LatencySamples(big, 40_000)
	n1 := 0
	for _, x := range thin {
		if x == 0.01 {
			n1++
		}
	}
	if len(thin) < 39_999 || len(thin) > 40_001 || n1 != 30_000 {
		t.Errorf("thinned to %d samples with %d fast ones, want 40000 with 30000", len(thin), n1)
	}

	o := analysis.OutcomeSamples(1000, 30, 0)
	ones := 0
	for _, x := range o {
		ones += int(x)
	}
	if len(o) != 1000 || ones != 30 {
		t.Errorf("OutcomeSamples(1000, 30) has %d samples, %d events", len(o), ones)
	}
	o = analysis.OutcomeSamples(100_000, 500, 50_000)
	ones = 0
	for _, x := range o {
		ones += int(x)
	}
	if len(o) != 50_000 || ones != 250 {
		t.Errorf("thinned OutcomeSamples has %d samples, %d events; want 50000 and 250 (same rate)", len(o), ones)
	}
}

func TestPlanSplitsAlpha(t *testing.T) {
	svc := &upfactory.Service{
		Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{
			{Weight: new(5)}, {Analysis: &upfactory.AnalysisStep{Duration: upfactory.Duration(time.Minute)}},
			{Weight: new(50)}, {Analysis: &upfactory.AnalysisStep{Duration: upfactory.Duration(2 * time.Minute)}},
			{Weight: new(100)},
		}}},
		Analysis: upfactory.AnalysisSpec{Interval: upfactory.Duration(10 * time.Second), Alpha: 0.04,
			Checks: []upfactory.Check{latencyCheck(), {Metric: upfactory.MetricErrorRate, Max: "1%"}, {Name: "e", Metric: upfactory.MetricErrorRate, Judge: &upfactory.JudgeSpec{}}}},
	}
	planned, alpha := analysis.Plan(svc, 2*time.Minute)
	if planned != 12 || alpha != 0.01 {
		t.Errorf("Plan = %d looks, alpha %g; want 12 looks and 0.04 / (2 judged × 2 steps) = 0.01", planned, alpha)
	}
	if p, _ := analysis.Plan(svc, 5*time.Second); p != 1 {
		t.Errorf("a step shorter than the interval has %d looks, want 1", p)
	}
}

func TestScoreOfTheStep(t *testing.T) {
	since := now.Add(-time.Minute)
	svc := &upfactory.Service{Analysis: upfactory.AnalysisSpec{Score: upfactory.ScoreSpec{Pass: 95, Marginal: 75}, MinSamples: 20,
		Checks: []upfactory.Check{
			{Metric: upfactory.MetricErrorRate, Max: "1%"},
			{Name: "a", Metric: upfactory.MetricP95Latency, Judge: &upfactory.JudgeSpec{}, Weight: 3},
			{Name: "b", Metric: upfactory.MetricErrorRate, Judge: &upfactory.JudgeSpec{}, Weight: 1},
		}}}
	status := func(v upfactory.Verdict, from time.Time) upfactory.CheckStatus {
		return upfactory.CheckStatus{Status: v, LooksFrom: from, Last: &upfactory.Measurement{At: now}}
	}
	tests := []struct {
		name string
		a, b upfactory.CheckStatus
		want upfactory.Verdict
	}{
		{"all pass", status(upfactory.VerdictPass, since), status(upfactory.VerdictPass, since), upfactory.VerdictPass},
		{"light one inconclusive", status(upfactory.VerdictPass, since), status(upfactory.VerdictInconclusive, since), upfactory.VerdictInconclusive},
		{"heavy one fails", status(upfactory.VerdictFail, since), status(upfactory.VerdictPass, since), upfactory.VerdictFail},
		{"verdict from an earlier step", status(upfactory.VerdictPass, since), status(upfactory.VerdictPass, since.Add(-time.Hour)), upfactory.VerdictNoData},
		{"nodata", status(upfactory.VerdictPass, since), status(upfactory.VerdictNoData, since), upfactory.VerdictNoData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc, ok := analysis.Score(svc, []upfactory.CheckStatus{status(upfactory.VerdictFail, since), tt.a, tt.b}, since, now)
			if !ok || sc.Verdict != tt.want || sc.Reason == "" {
				t.Errorf("Score = %+v (ok %v), want %s", sc, ok, tt.want)
			}
		})
	}
	if _, ok := analysis.Score(&upfactory.Service{Analysis: upfactory.AnalysisSpec{Checks: svc.Analysis.Checks[:1]}}, nil, since, now); ok {
		t.Error("a service without judged checks has a score")
	}
}

func TestCompareLimits(t *testing.T) {
	conv := upfactory.Check{Metric: upfactory.MetricConversion, Min: "20%", Floor: 0.2}
	rel := upfactory.Check{Metric: upfactory.MetricConversion, MinVsBaseline: 0.9}
	mem := upfactory.Check{Metric: upfactory.MetricMemory, Max: "512MiB", Limit: 512 << 20}
	tests := []struct {
		name  string
		check upfactory.Check
		r     analysis.Reading
		want  upfactory.Verdict
	}{
		{"conversion above min", conv, analysis.Reading{Canary: 0.25, CanaryCount: 100}, upfactory.VerdictPass},
		{"conversion under min by noise", conv, analysis.Reading{Canary: 0.15, CanaryCount: 100}, upfactory.VerdictInconclusive},
		{"conversion under min", conv, analysis.Reading{Canary: 0.15, CanaryCount: 1000}, upfactory.VerdictFail},
		{"conversion 0.95 of stable", rel, analysis.Reading{Canary: 0.19, Baseline: 0.2, CanaryCount: 100, BaselineCount: 100}, upfactory.VerdictPass},
		{"conversion 0.8 of stable by noise", rel, analysis.Reading{Canary: 0.16, Baseline: 0.2, CanaryCount: 100, BaselineCount: 100}, upfactory.VerdictInconclusive},
		{"conversion 0.8 of stable", rel, analysis.Reading{Canary: 0.16, Baseline: 0.2, CanaryCount: 10000, BaselineCount: 10000}, upfactory.VerdictFail},
		{"no stable to compare", rel, analysis.Reading{Canary: 0.16, Baseline: math.NaN(), CanaryCount: 100}, upfactory.VerdictNoData},
		{"not a number", conv, analysis.Reading{Canary: math.NaN(), CanaryCount: 100}, upfactory.VerdictNoData},
		{"memory over", mem, analysis.Reading{Canary: 600 << 20, CanaryCount: 2}, upfactory.VerdictFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := analysis.Compare(tt.check, tt.r, 20, now)
			if tt.check.Metric == upfactory.MetricMemory {
				m = analysis.Compare(tt.check, tt.r, 1, now)
			}
			if m.Verdict != tt.want {
				t.Fatalf("verdict %s (%s), want %s", m.Verdict, m.Reason, tt.want)
			}
			if m.Verdict != upfactory.VerdictPass && m.Reason == "" {
				t.Error("no reason")
			}
		})
	}
	if got := analysis.Format(upfactory.MetricMemory, 600<<20); got != "600 MiB" {
		t.Errorf("Format(memory) = %q", got)
	}
}
