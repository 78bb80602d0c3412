// Package analysis judges a canary against its baseline: it turns traffic
// statistics into measurements and measurements into check verdicts. It is
// pure: time and data come in as arguments, nothing is read or written.
package analysis

import (
	"fmt"
	"math"
	"time"

	"github.com/upfactory/upfactory"
)

// Rule renders a check as a person would write it: "error_rate <= 1%".
func Rule(c upfactory.Check) string {
	var s string
	if c.Max != "" {
		s = fmt.Sprintf("%s <= %s", c.Metric, c.Max)
	}
	if c.MaxVsBaseline > 0 {
		if s != "" {
			s += " and "
		}
		s += fmt.Sprintf("%s <= %g x stable", c.Metric, c.MaxVsBaseline)
	}
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

// Format renders v in the metric's unit: "1.25%", "412ms", "38.5/s".
func Format(metric string, v float64) string {
	switch upfactory.MetricUnit(metric) {
	case "ratio":
		return fmt.Sprintf("%.2f%%", v*100)
	case "duration":
		return time.Duration(v * float64(time.Second)).Round(100 * time.Microsecond).String()
	}
	return fmt.Sprintf("%.1f/s", v)
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

// Measure judges one measurement of check from the canary's and the
// baseline's stats over the same window. Fewer than minSamples requests on
// either side needed by the rule gives NoData, never Pass.
func Measure(c upfactory.Check, canary, baseline upfactory.TrafficStats, minSamples int, now time.Time) upfactory.Measurement {
	minSamples = MinSamples(c.Metric, minSamples)
	m := upfactory.Measurement{
		At:            now,
		Window:        upfactory.Duration(canary.Window),
		Canary:        Value(c.Metric, canary),
		Baseline:      Value(c.Metric, baseline),
		CanaryCount:   canary.Requests,
		BaselineCount: baseline.Requests,
	}
	if c.Metric != upfactory.MetricRequestRate && canary.Requests < int64(minSamples) {
		m.Verdict = upfactory.VerdictNoData
		m.Reason = fmt.Sprintf("canary served %d requests in %s, need %d", canary.Requests, canary.Window, minSamples)
		return m
	}
	if c.MaxVsBaseline > 0 && baseline.Requests < int64(minSamples) {
		m.Verdict = upfactory.VerdictNoData
		m.Reason = fmt.Sprintf("stable served %d requests in %s, need %d to compare", baseline.Requests, baseline.Window, minSamples)
		return m
	}
	m.Verdict = upfactory.VerdictPass
	if c.Max != "" && m.Canary > c.Limit {
		m.Verdict = upfactory.VerdictFail
		m.Reason = fmt.Sprintf("canary %s %s > max %s", c.Metric, Format(c.Metric, m.Canary), c.Max)
		return m
	}
	if c.MaxVsBaseline > 0 && breachesRatio(m.Canary, m.Baseline, c.MaxVsBaseline) {
		m.Verdict = upfactory.VerdictFail
		m.Reason = fmt.Sprintf("canary %s %s vs stable %s: more than %gx", c.Metric,
			Format(c.Metric, m.Canary), Format(c.Metric, m.Baseline), c.MaxVsBaseline)
		return m
	}
	return m
}

// breachesRatio compares canary with limit times baseline. A baseline of
// zero (no stable errors at all) makes any canary value above zero a breach.
func breachesRatio(canary, baseline, limit float64) bool {
	if baseline <= 0 {
		return canary > 0
	}
	return canary > baseline*limit
}

// Update folds measurement m into the running status of check c. A breach
// fails the check once breaching measurements have covered c.For without a
// passing one in between; until then the check is Inconclusive, which blocks
// expansion. interval is the measurement interval: a breach is taken to have
// started one interval before the measurement that saw it.
func Update(st *upfactory.CheckStatus, c upfactory.Check, m upfactory.Measurement, interval time.Duration) {
	st.Metric, st.Rule = c.Metric, Rule(c)
	mm := m
	st.Last = &mm
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
