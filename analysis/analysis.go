// Package analysis judges a canary against its baseline: it turns traffic
// statistics into measurements and measurements into check verdicts. It is
// pure: time and data come in as arguments, nothing is read or written.
package analysis

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/judge"
)

// Rule renders a check as a person would write it: "error_rate <= 1%",
// "latency (p95_latency) judged: within +10% of stable, critical".
func Rule(c upfactory.Check) string {
	name := c.ID()
	if c.Name != "" && c.Metric != "" && c.Metric != c.Name {
		name = fmt.Sprintf("%s (%s)", c.Name, c.Metric)
	}
	if j := c.Judge; j != nil {
		sign := "+"
		if c.LowerIsWorse() {
			sign = "-"
		}
		s := fmt.Sprintf("%s judged: within %s%s of stable", name, sign, j.Tolerance)
		if c.Critical {
			s += ", critical"
		}
		return s
	}
	var parts []string
	if c.Max != "" {
		parts = append(parts, fmt.Sprintf("%s <= %s", name, c.Max))
	}
	if c.Min != "" {
		parts = append(parts, fmt.Sprintf("%s >= %s", name, c.Min))
	}
	if c.MaxVsBaseline > 0 {
		parts = append(parts, fmt.Sprintf("%s <= %g x stable", name, c.MaxVsBaseline))
	}
	if c.MinVsBaseline > 0 {
		parts = append(parts, fmt.Sprintf("%s >= %g x stable", name, c.MinVsBaseline))
	}
	s := strings.Join(parts, " and ")
	if c.For > 0 {
		s += " for " + c.For.String()
	}
	return s
}

// Value extracts a metric from traffic stats, in the metric's base unit
// (a fraction for rates, seconds for latencies, requests/s for request_rate).
func Value(metric string, s upfactory.TrafficStats) float64 {
	switch metric {
	case upfactory.MetricErrorRate:
		return ratio(s.Errors5xx, s.Requests)
	case upfactory.MetricErrorRate4xx:
		return ratio(s.Errors4xx, s.Requests)
	case upfactory.MetricP50Latency:
		return s.P50.Seconds()
	case upfactory.MetricP95Latency:
		return s.P95.Seconds()
	case upfactory.MetricP99Latency:
		return s.P99.Seconds()
	case upfactory.MetricRequestRate:
		return s.Rate
	}
	return math.NaN()
}

func ratio(n, d int64) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

// Format renders v in the metric's unit: "1.25%", "412ms", "38.5/s",
// "0.42 cores", "120 MiB"; a metric of unknown unit as a plain number.
func Format(metric string, v float64) string {
	switch upfactory.MetricUnit(metric) {
	case "ratio":
		return fmt.Sprintf("%.2f%%", v*100)
	case "duration":
		return time.Duration(v * float64(time.Second)).Round(100 * time.Microsecond).String()
	case "rate":
		return fmt.Sprintf("%.1f/s", v)
	case "cores":
		return fmt.Sprintf("%.3g cores", v)
	case "bytes":
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Sprintf("%g B", v)
		}
		return humanize.IBytes(uint64(v))
	}
	return fmt.Sprintf("%.4g", v)
}

// MinSamples is the fewest requests a measurement of metric needs: the
// configured floor, raised for latency percentiles so that the tail the
// percentile names holds at least one request (p95: 20, p99: 100). A p99
// of ten requests is just the slowest request.
func MinSamples(metric string, floor int) int {
	q := 0.0
	switch metric {
	case upfactory.MetricP95Latency:
		q = 0.95
	case upfactory.MetricP99Latency:
		q = 0.99
	}
	if q == 0 {
		return floor
	}
	return max(floor, int(math.Ceil(1/(1-q)-1e-9)))
}

// Measure judges one measurement of a built-in traffic check from the
// canary's and the baseline's stats over the same window. Fewer than
// minSamples requests on either side needed by the rule gives NoData,
// never Pass.
func Measure(c upfactory.Check, canary, baseline upfactory.TrafficStats, minSamples int, now time.Time) upfactory.Measurement {
	r, minCount := TrafficReading(c, canary, baseline, minSamples)
	return Compare(c, r, minCount, now)
}

// TrafficReading reads a built-in traffic metric from both versions' stats
// and says how many requests it needs: MinSamples, or none for a rate.
func TrafficReading(c upfactory.Check, canary, baseline upfactory.TrafficStats, minSamples int) (Reading, int) {
	minSamples = MinSamples(c.Metric, minSamples)
	if c.Metric == upfactory.MetricRequestRate {
		minSamples = 0 // a rate needs no sample: zero requests is a rate of zero
	}
	return Reading{
		Canary: Value(c.Metric, canary), Baseline: Value(c.Metric, baseline),
		CanaryCount: canary.Requests, BaselineCount: baseline.Requests,
		Window: canary.Window, Unit: "requests",
	}, minSamples
}

// Reading is one measurement of a metric for both versions, before it is
// compared with a check's limits.
type Reading struct {
	Canary, Baseline           float64
	CanaryCount, BaselineCount int64
	Window                     time.Duration
	// Unit names what the counts count, for reasons: "requests", "runs".
	Unit string
	// Detail is added to the reason of a breach: which route, say.
	Detail string
}

// Compare judges a reading against c's limits. Fewer than minCount on the
// canary's side, or on the baseline's when a limit is relative, is NoData.
func Compare(c upfactory.Check, r Reading, minCount int, now time.Time) upfactory.Measurement {
	m := upfactory.Measurement{
		At:            now,
		Window:        upfactory.Duration(r.Window),
		Canary:        r.Canary,
		Baseline:      r.Baseline,
		CanaryCount:   r.CanaryCount,
		BaselineCount: r.BaselineCount,
	}
	unit := r.Unit
	if unit == "" {
		unit = "samples"
	}
	if r.CanaryCount < int64(minCount) {
		m.Verdict = upfactory.VerdictNoData
		m.Reason = fmt.Sprintf("canary had %d %s in %s, need %d", r.CanaryCount, unit, r.Window, minCount)
		return m
	}
	if (c.MaxVsBaseline > 0 || c.MinVsBaseline > 0) && r.BaselineCount < int64(minCount) {
		m.Verdict = upfactory.VerdictNoData
		m.Reason = fmt.Sprintf("stable had %d %s in %s, need %d to compare", r.BaselineCount, unit, r.Window, minCount)
		return m
	}
	if math.IsNaN(r.Canary) || (c.MaxVsBaseline > 0 || c.MinVsBaseline > 0) && math.IsNaN(r.Baseline) {
		m.Verdict = upfactory.VerdictNoData
		m.Reason = "the value is not a number"
		return m
	}
	id, f := c.ID(), func(v float64) string { return Format(c.Metric, v) }
	detail := ""
	if r.Detail != "" {
		detail = " (" + r.Detail + ")"
	}
	m.Verdict = upfactory.VerdictFail
	switch {
	case c.Max != "" && m.Canary > c.Limit:
		m.Reason = fmt.Sprintf("canary %s %s > max %s%s", id, f(m.Canary), c.Max, detail)
	case c.Min != "" && m.Canary < c.Floor:
		m.Reason = fmt.Sprintf("canary %s %s < min %s%s", id, f(m.Canary), c.Min, detail)
	case c.MaxVsBaseline > 0 && breachesRatio(m.Canary, m.Baseline, c.MaxVsBaseline):
		m.Reason = fmt.Sprintf("canary %s %s vs stable %s: more than %gx%s", id, f(m.Canary), f(m.Baseline), c.MaxVsBaseline, detail)
	case c.MinVsBaseline > 0 && m.Canary < m.Baseline*c.MinVsBaseline:
		m.Reason = fmt.Sprintf("canary %s %s vs stable %s: less than %gx%s", id, f(m.Canary), f(m.Baseline), c.MinVsBaseline, detail)
	default:
		m.Verdict, m.Reason = upfactory.VerdictPass, ""
	}
	if m.Verdict == upfactory.VerdictFail {
		// Over the limit, but not beyond the noise: no breach yet, and no
		// pass either. Inconclusive holds expansion and leaves a breach run
		// as it is; the next measurements decide.
		if why := tooThinToBreach(c, r); why != "" {
			m.Verdict, m.Reason = upfactory.VerdictInconclusive, m.Reason+": "+why
		}
	}
	return m
}

// BreachAlpha is the two-sided error level of the interval a rate must
// leave to breach a limit.
const BreachAlpha = 0.05

// tooThinToBreach says why a reading that crosses c's limit is still
// within the noise of a thin canary, or "" when the breach stands. A rate
// breaches only when its Wilson interval at 95% lies beyond the limit (a
// canary with one error in 37 requests has not shown an error rate above
// 1%); a latency percentile only when its tail holds BreachTail requests
// on each side it compares (p95 of 20 requests is the slowest one, a coin
// toss). A small service's canary then waits for evidence instead of
// being rolled back on noise; a gross regression is evidence at once.
func tooThinToBreach(c upfactory.Check, r Reading) string {
	if Proportion(c) && c.Provider != upfactory.ProviderProbe {
		k, n := events(r.Canary, r.CanaryCount), r.CanaryCount
		lo, hi := judge.Wilson(k, n, BreachAlpha)
		kb, nb := events(r.Baseline, r.BaselineCount), r.BaselineCount
		blo, bhi := judge.Wilson(kb, nb, BreachAlpha)
		pct := func(v float64) string { return fmt.Sprintf("%.2g%%", 100*v) }
		switch {
		case c.Max != "" && r.Canary > c.Limit && lo <= c.Limit:
			return fmt.Sprintf("within the noise of %d/%d (95%% interval from %s): not yet a breach", k, n, pct(lo))
		case c.Min != "" && r.Canary < c.Floor && hi >= c.Floor:
			return fmt.Sprintf("within the noise of %d/%d (95%% interval up to %s): not yet a breach", k, n, pct(hi))
		case c.MaxVsBaseline > 0 && lo <= bhi*c.MaxVsBaseline:
			return fmt.Sprintf("within the noise of %d/%d vs %d/%d (95%% intervals from %s and up to %s): not yet a breach", k, n, kb, nb, pct(lo), pct(bhi))
		case c.MinVsBaseline > 0 && hi >= blo*c.MinVsBaseline:
			return fmt.Sprintf("within the noise of %d/%d vs %d/%d (95%% intervals up to %s and from %s): not yet a breach", k, n, kb, nb, pct(hi), pct(blo))
		}
		return ""
	}
	need := int64(BreachSamples(c.Metric))
	if need == 0 {
		return ""
	}
	ratio := c.MaxVsBaseline > 0 || c.MinVsBaseline > 0
	if r.CanaryCount < need || ratio && r.BaselineCount < need {
		return fmt.Sprintf("on %d requests (stable %d), too few for a %s to breach: it needs %d on each side compared", r.CanaryCount, r.BaselineCount, c.Metric, need)
	}
	return ""
}

// BreachTail is how many requests the tail of a latency percentile must
// hold for a breach of a limit on it to count.
const BreachTail = 5

// BreachSamples is how many requests a latency percentile needs for its
// tail to hold BreachTail of them (p50: 10, p95: 100, p99: 500); 0 for
// other metrics.
func BreachSamples(metric string) int {
	switch metric {
	case upfactory.MetricP50Latency:
		return 2 * BreachTail
	case upfactory.MetricP95Latency:
		return 20 * BreachTail
	case upfactory.MetricP99Latency:
		return 100 * BreachTail
	}
	return 0
}

// events is how many of n trials a rate stands for.
func events(rate float64, n int64) int64 {
	if math.IsNaN(rate) || n <= 0 {
		return 0
	}
	return int64(math.Round(rate * float64(n)))
}

// Update folds measurement m into the running status of check c. A breach
// of a limit fails the check once breaching measurements have covered c.For
// without a passing one in between; until then the check is Inconclusive,
// which blocks expansion. interval is the measurement interval: a breach is
// taken to have started one interval before the measurement that saw it.
// A judged check takes the judge's verdict as is and counts its looks.
func Update(st *upfactory.CheckStatus, c upfactory.Check, m upfactory.Measurement, interval time.Duration) {
	st.Name, st.Metric, st.Provider, st.Rule = c.ID(), c.Metric, c.Provider, Rule(c)
	mm := m
	st.Last = &mm
	if m.Verdict == upfactory.VerdictError {
		st.Errors++
		st.Status, st.Reason = upfactory.VerdictError, m.Reason
		return
	}
	st.Errors = 0
	if c.Judged() {
		if !m.Since.Equal(st.LooksFrom) {
			st.Looks, st.LooksFrom = 0, m.Since
		}
		if m.Judgement != nil {
			st.Looks = m.Judgement.Look
		}
		st.Status, st.Reason, st.BreachSince = m.Verdict, m.Reason, time.Time{}
		return
	}
	switch m.Verdict {
	case upfactory.VerdictPass:
		st.Status, st.BreachSince, st.Reason = upfactory.VerdictPass, time.Time{}, ""
	case upfactory.VerdictNoData:
		// No data neither clears nor extends a breach.
		st.Status, st.Reason = upfactory.VerdictNoData, m.Reason
	case upfactory.VerdictFail:
		if st.BreachSince.IsZero() {
			st.BreachSince = m.At.Add(-interval)
		}
		lasted := m.At.Sub(st.BreachSince)
		if lasted >= c.For.D() {
			st.Status = upfactory.VerdictFail
			st.Reason = fmt.Sprintf("%s for %s", m.Reason, lasted.Round(time.Second))
		} else {
			st.Status = upfactory.VerdictInconclusive
			st.Reason = fmt.Sprintf("%s (breaching for %s of %s)", m.Reason, lasted.Round(time.Second), c.For)
		}
	default:
		st.Status, st.Reason = m.Verdict, m.Reason
	}
}

// MaxWindow bounds how far back a measurement of a thin canary may look.
const MaxWindow = time.Minute

// Window is the span one measurement looks back over: the interval, doubled
// while the canary has served too few requests to judge, up to the larger
// of the check's For and MaxWindow. A canary at 5% of a quiet service needs
// a longer look than one at 50% of a busy one; the breach run still counts
// from the interval (Update), so a wide window never fails a check sooner.
func Window(c upfactory.Check, interval time.Duration, canaryRequests func(time.Duration) int64, minSamples int) time.Duration {
	need := int64(MinSamples(c.Metric, minSamples))
	limit := max(c.For.D(), MaxWindow, interval)
	w := interval
	for w < limit && canaryRequests(w) < need {
		w = min(2*w, limit)
	}
	return w
}

// breachesRatio compares canary with limit times baseline. A baseline of
// zero (no stable errors at all) makes any canary value above zero a breach.
func breachesRatio(canary, baseline, limit float64) bool {
	if baseline <= 0 {
		return canary > 0
	}
	return canary > baseline*limit
}
