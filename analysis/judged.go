package analysis

import (
	"fmt"
	"math"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/judge"
)

// MaxSamples bounds the samples one side of a look hands to the judge. A
// busy baseline serves far more requests than its canary; thinning it to
// this many costs the test almost no power (that is set by the smaller
// side) and keeps a look to milliseconds.
const MaxSamples = 50_000

// PerInterval reports whether c's samples are one per measurement interval
// (a query's points, a probe's runs, an instance's usage) rather than one
// per request, which decides the default minimum sample count.
func PerInterval(c upfactory.Check) bool {
	switch c.Provider {
	case upfactory.ProviderBuiltin, "":
		return c.Metric == upfactory.MetricCPU || c.Metric == upfactory.MetricMemory
	}
	return true
}

// Proportion reports whether c's samples are per-event outcomes (0 or 1)
// rather than measurements.
func Proportion(c upfactory.Check) bool {
	switch c.Provider {
	case upfactory.ProviderBuiltin, "":
		switch c.Metric {
		case upfactory.MetricErrorRate, upfactory.MetricErrorRate4xx, upfactory.MetricConversion:
			return true
		}
	case upfactory.ProviderProbe:
		return c.Metric == upfactory.MetricProbeFailures
	}
	return false
}

// JudgeMetric is the judge's view of a judged check. minSamples is the
// analysis' floor for per-request metrics.
func JudgeMetric(c upfactory.Check, minSamples int) judge.Metric {
	m := judge.Metric{Name: c.ID(), Critical: c.Critical, Weight: c.Weight}
	if c.LowerIsWorse() {
		m.Direction = judge.LowerIsWorse
	}
	if Proportion(c) {
		m.Kind = judge.Proportion
	}
	if j := c.Judge; j != nil {
		m.Tolerance, m.Floor, m.MinSamples = j.ToleranceRatio, j.FloorValue, j.MinSamples
	}
	if m.MinSamples <= 0 {
		m.MinSamples = minSamples
		if PerInterval(c) {
			m.MinSamples = 5
		}
	}
	return m
}

// Plan gives the looks of one analysis step of duration and the alpha of
// each judged check in it: the rollout's budget split evenly over the
// judged checks and the analysis steps (Bonferroni), so that the chance of
// failing a canary no worse than its baseline, over every look of every
// step and check, stays within svc.Analysis.Alpha.
func Plan(svc *upfactory.Service, duration time.Duration) (planned int, alpha float64) {
	interval := svc.Analysis.Interval.D()
	if interval <= 0 {
		interval = upfactory.DefaultInterval
	}
	planned = max(1, int(duration/interval))
	judged, steps := 0, 0
	for _, c := range svc.Analysis.Checks {
		if c.Judged() {
			judged++
		}
	}
	for _, st := range svc.Strategy.Steps() {
		if st.Analysis != nil {
			steps++
		}
	}
	overall := svc.Analysis.Alpha
	if overall <= 0 {
		overall = upfactory.DefaultAlpha
	}
	return planned, overall / float64(max(judged, 1)*max(steps, 1))
}

// Judge runs one look of the judge at check c on the samples gathered
// since the analysis step began. At the step's last look, a result that is
// inconclusive only because the interval is too wide (the test is not
// significant) is a pass: see the comment inside.
func Judge(c upfactory.Check, canary, baseline []float64, look judge.Look, alpha float64, minSamples int, since, now time.Time) upfactory.Measurement {
	v := judge.Judge(JudgeMetric(c, minSamples), baseline, canary, look, alpha)
	if v.Outcome == judge.Inconclusive && look.Index >= look.Planned && !(v.PValue < v.Alpha) {
		// The last planned look found no significant regression. The judge
		// alone would still call it inconclusive when the interval is too
		// wide to prove the shift within tolerance, which with a thin
		// canary is nearly always; a step that looked as long as it was
		// planned to, and saw nothing, passes, as Kayenta's judge does.
		v.Outcome = judge.Pass
		v.Reason = "no significant regression after all planned looks: " + v.Reason
	}
	m := upfactory.Measurement{
		At: now, Window: upfactory.Duration(now.Sub(since)), Since: since,
		Canary: v.Canary, Baseline: v.Baseline,
		CanaryCount: int64(v.NCanary), BaselineCount: int64(v.NBaseline),
		Verdict: verdictOf(v.Outcome), Reason: c.ID() + ": " + v.Reason,
	}
	if v.Outcome != judge.NoData {
		m.Judgement = &upfactory.Judgement{
			Look: look.Index, Planned: look.Planned,
			U: v.U, PValue: v.PValue, Alpha: v.Alpha,
			Shift: v.Shift, ShiftLow: v.ShiftLow, ShiftHigh: v.ShiftHigh,
			RelShift: v.RelShift, Allowed: v.Allowed,
		}
	}
	return m
}

func verdictOf(o judge.Outcome) upfactory.Verdict {
	switch o {
	case judge.Pass:
		return upfactory.VerdictPass
	case judge.Fail:
		return upfactory.VerdictFail
	case judge.Inconclusive:
		return upfactory.VerdictInconclusive
	}
	return upfactory.VerdictNoData
}

func outcomeOf(v upfactory.Verdict) judge.Outcome {
	switch v {
	case upfactory.VerdictPass:
		return judge.Pass
	case upfactory.VerdictFail:
		return judge.Fail
	case upfactory.VerdictInconclusive:
		return judge.Inconclusive
	}
	return judge.NoData
}

// Score combines the judged checks' latest verdicts of the analysis step
// that began at since into the weighted score: a critical check's fail
// fails it alone, nodata anywhere makes it nodata, and otherwise the score
// out of 100 is read against th. ok is false when svc has no judged check.
func Score(svc *upfactory.Service, statuses []upfactory.CheckStatus, since, now time.Time) (st upfactory.ScoreStatus, ok bool) {
	var ms []judge.Metric
	var vs []judge.Verdict
	for i, c := range svc.Analysis.Checks {
		if !c.Judged() || i >= len(statuses) {
			continue
		}
		ms = append(ms, JudgeMetric(c, svc.Analysis.MinSamples))
		s := statuses[i]
		if s.Last == nil || !s.LooksFrom.Equal(since) {
			continue // no verdict this step: nodata
		}
		vs = append(vs, judge.Verdict{Metric: c.ID(), Outcome: outcomeOf(s.Status), Reason: s.Reason})
	}
	if len(ms) == 0 {
		return st, false
	}
	th := judge.Thresholds{Pass: svc.Analysis.Score.Pass, Marginal: svc.Analysis.Score.Marginal}
	if th.Pass <= 0 {
		th = judge.Thresholds{Pass: upfactory.DefaultScorePass, Marginal: upfactory.DefaultScoreMarginal}
	}
	score, outcome, reason := judge.Score(ms, vs, th)
	return upfactory.ScoreStatus{At: now, Score: score, Verdict: verdictOf(outcome), Reason: reason}, true
}

// LatencySamples expands a latency histogram into one sample per request,
// in seconds, each at its bucket's value; beyond limit requests the counts
// are scaled down evenly to about limit.
func LatencySamples(d upfactory.Distribution, limit int) []float64 {
	var total int64
	for _, b := range d.Latency {
		total += b.Count
	}
	scale := 1.0
	if limit > 0 && total > int64(limit) {
		scale = float64(limit) / float64(total)
	}
	out := make([]float64, 0, min(total, int64(max(limit, 0))+int64(len(d.Latency))))
	carry := 0.0
	for _, b := range d.Latency {
		if b.Count <= 0 || math.IsNaN(b.Seconds) {
			continue
		}
		x := float64(b.Count)*scale + carry
		n := int64(x)
		carry = x - float64(n)
		for range n {
			out = append(out, b.Seconds)
		}
	}
	return out
}

// OutcomeSamples gives n per-event samples, events of them 1 and the rest
// 0, scaled down evenly beyond limit.
func OutcomeSamples(n, events int64, limit int) []float64 {
	events = max(0, min(events, n))
	if limit > 0 && n > int64(limit) {
		events = int64(math.Round(float64(events) * float64(limit) / float64(n)))
		n = int64(limit)
	}
	out := make([]float64, n)
	for i := range events {
		out[i] = 1
	}
	return out
}

// Describe renders a judged measurement's statistics on one line.
func Describe(c upfactory.Check, m upfactory.Measurement) string {
	j := m.Judgement
	if j == nil {
		return fmt.Sprintf("n=%d vs %d", m.CanaryCount, m.BaselineCount)
	}
	f := func(v float64) string { return Format(c.Metric, v) }
	if upfactory.MetricUnit(c.Metric) == "ratio" {
		f = func(v float64) string { return fmt.Sprintf("%+.2f pp", v*100) }
	}
	return fmt.Sprintf("look %d/%d, n=%d vs %d, p=%.3g (alpha %.3g), shift %s [%s, %s], allowed %s",
		j.Look, j.Planned, m.CanaryCount, m.BaselineCount, j.PValue, j.Alpha,
		f(j.Shift), f(j.ShiftLow), f(j.ShiftHigh), f(j.Allowed))
}
