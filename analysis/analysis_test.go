package analysis_test

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/analysis"
)

var now = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func stats(req, e5 int64, p95 time.Duration) upfactory.TrafficStats {
	return upfactory.TrafficStats{Window: 5 * time.Second, Requests: req, Errors5xx: e5, P95: p95, P99: p95 * 2}
}

func TestMeasure(t *testing.T) {
	errRate := upfactory.Check{Metric: upfactory.MetricErrorRate, Max: "1%", Limit: 0.01}
	p95Ratio := upfactory.Check{Metric: upfactory.MetricP95Latency, MaxVsBaseline: 1.3}
	p99Max := upfactory.Check{Metric: upfactory.MetricP99Latency, Max: "800ms", Limit: 0.8}
	tests := []struct {
		name           string
		check          upfactory.Check
		canary, stable upfactory.TrafficStats
		want           upfactory.Verdict
	}{
		{"errors under max", errRate, stats(1000, 5, 0), stats(1000, 0, 0), upfactory.VerdictPass},
		{"errors at max", errRate, stats(1000, 10, 0), stats(1000, 0, 0), upfactory.VerdictPass},
		// 11 of 1000 is over 1% but not beyond the noise; 25 of 1000 is.
		{"errors over max by noise", errRate, stats(1000, 11, 0), stats(1000, 0, 0), upfactory.VerdictInconclusive},
		{"errors over max", errRate, stats(1000, 25, 0), stats(1000, 0, 0), upfactory.VerdictFail},
		{"one error of 37 is no breach of 1%", errRate, stats(37, 1, 0), stats(700, 1, 0), upfactory.VerdictInconclusive},
		{"three errors of 37 are", errRate, stats(37, 3, 0), stats(700, 1, 0), upfactory.VerdictFail},
		{"too few canary requests", errRate, stats(19, 19, 0), stats(1000, 0, 0), upfactory.VerdictNoData},
		{"p95 from too few requests", p95Ratio, stats(19, 0, 500*time.Millisecond), stats(1000, 0, 100*time.Millisecond), upfactory.VerdictNoData},
		{"ratio within", p95Ratio, stats(100, 0, 120*time.Millisecond), stats(100, 0, 100*time.Millisecond), upfactory.VerdictPass},
		{"ratio over", p95Ratio, stats(100, 0, 131*time.Millisecond), stats(100, 0, 100*time.Millisecond), upfactory.VerdictFail},
		// A p95 of 20 requests is the slowest one: measured, never a breach.
		{"ratio over on 20 requests", p95Ratio, stats(20, 0, 200*time.Millisecond), stats(1000, 0, 100*time.Millisecond), upfactory.VerdictInconclusive},
		{"ratio without baseline data", p95Ratio, stats(100, 0, 500*time.Millisecond), stats(3, 0, 100*time.Millisecond), upfactory.VerdictNoData},
		{"p99 absolute over on 100 requests", p99Max, stats(100, 0, 900*time.Millisecond), stats(100, 0, 0), upfactory.VerdictInconclusive},
		{"p99 absolute over", p99Max, stats(500, 0, 900*time.Millisecond), stats(100, 0, 0), upfactory.VerdictFail},
		{"p99 absolute under", p99Max, stats(100, 0, 300*time.Millisecond), stats(100, 0, 0), upfactory.VerdictPass},
		{"p99 from too few requests", p99Max, stats(99, 0, 900*time.Millisecond), stats(100, 0, 0), upfactory.VerdictNoData},
		{"one error vs a zero baseline is noise", upfactory.Check{Metric: upfactory.MetricErrorRate, MaxVsBaseline: 2}, stats(100, 1, 0), stats(1000, 0, 0), upfactory.VerdictInconclusive},
		{"error ratio vs zero baseline", upfactory.Check{Metric: upfactory.MetricErrorRate, MaxVsBaseline: 2}, stats(100, 10, 0), stats(1000, 0, 0), upfactory.VerdictFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := analysis.Measure(tt.check, tt.canary, tt.stable, 20, now)
			if m.Verdict != tt.want {
				t.Fatalf("verdict %s (%s), want %s", m.Verdict, m.Reason, tt.want)
			}
			if m.Verdict != upfactory.VerdictPass && m.Reason == "" {
				t.Error("a verdict other than Pass needs a reason")
			}
		})
	}
}

func TestUpdateSustainedBreach(t *testing.T) {
	c := upfactory.Check{Metric: upfactory.MetricErrorRate, Max: "1%", Limit: 0.01, For: upfactory.Duration(15 * time.Second)}
	var st upfactory.CheckStatus
	seq := []struct {
		verdict upfactory.Verdict
		want    upfactory.Verdict
	}{
		{upfactory.VerdictFail, upfactory.VerdictInconclusive}, // 5s of breach
		{upfactory.VerdictNoData, upfactory.VerdictNoData},     // neither extends nor clears
		{upfactory.VerdictFail, upfactory.VerdictFail},         // the run began 15s ago
		{upfactory.VerdictPass, upfactory.VerdictPass},         // recovery clears it
		{upfactory.VerdictFail, upfactory.VerdictInconclusive}, // a new run starts
	}
	for i, s := range seq {
		at := now.Add(time.Duration(i+1) * 5 * time.Second)
		analysis.Update(&st, c, upfactory.Measurement{At: at, Verdict: s.verdict, Reason: "r"}, 5*time.Second)
		if st.Status != s.want {
			t.Fatalf("measurement %d (%s): status %s, want %s", i, s.verdict, st.Status, s.want)
		}
	}
}

func TestWindowWidensForLowTraffic(t *testing.T) {
	perSecond := func(rate int64) func(time.Duration) int64 {
		return func(w time.Duration) int64 { return rate * int64(w/time.Second) }
	}
	errRate := upfactory.Check{Metric: upfactory.MetricErrorRate, For: upfactory.Duration(30 * time.Second)}
	p99 := upfactory.Check{Metric: upfactory.MetricP99Latency}
	tests := []struct {
		name  string
		check upfactory.Check
		rate  int64
		want  time.Duration
	}{
		{"busy canary keeps the interval", errRate, 100, 5 * time.Second},
		{"quiet canary doubles until enough", errRate, 2, 10 * time.Second},
		{"p99 needs a hundred requests", p99, 6, 20 * time.Second},
		{"never more than a minute without For", p99, 0, time.Minute},
		{"up to For when For is longer", upfactory.Check{Metric: upfactory.MetricErrorRate, For: upfactory.Duration(5 * time.Minute)}, 0, 5 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := analysis.Window(tt.check, 5*time.Second, perSecond(tt.rate), 20); got != tt.want {
				t.Errorf("window %s, want %s", got, tt.want)
			}
		})
	}
}
