// Package judge is the statistical judge of a canary: per metric, it compares
// canary samples with baseline samples and says pass, fail, inconclusive or
// nodata, with every number behind the verdict. It is pure and deterministic.
//
// # The test and the estimate
//
// Each look runs a one-sided Mann–Whitney U test in the metric's worse
// direction (canary stochastically greater for HigherIsWorse, smaller for
// LowerIsWorse), so a canary that got better can never fail. The p-value is
// the normal approximation with tie correction and continuity correction,
// exactly as scipy.stats.mannwhitneyu(canary, baseline, method="asymptotic")
// computes it; a test checks both against each other on hundreds of sample
// pairs. There is no exact small-sample distribution: a metric's MinSamples
// is raised to at least 5 and should be 20 or more, where the approximation
// is good. The test, the Hodges–Lehmann estimator, its interval, the Newcombe
// interval and the spending function are written here by hand: go-moremath's
// stats.MannWhitneyUTest gives no estimate or interval, and switches to its
// exact distribution for small samples (the tests cross-check it in its
// asymptotic mode). Proportions use Fisher's exact test instead (below),
// checked against scipy.stats.fisher_exact.
//
// For a Continuous metric (latency: per-request milliseconds) the shift is
// the Hodges–Lehmann estimate, the median of all n×m differences
// canary_i − baseline_j, with the distribution-free confidence interval of
// Lehmann (1963) and Bauer (1972): the k-th smallest and k-th largest
// difference, k from the Mann–Whitney critical value at the look's alpha.
// The differences are never materialised: a randomised selection in the
// sorted n×m matrix (deterministically seeded) finds any order statistic in
// expected O((n+m) log nm) time: a 10,000×10,000 look takes about 8 ms,
// mostly this selection and sorting the samples.
//
// For a Proportion metric (5xx share) the samples are per-request outcomes,
// 0 for success and anything else for the event. Per-request values rather
// than per-interval rates because the canary's intervals are few (twelve in
// two minutes of 10 s looks) and, at 10 requests/s, a per-interval rate is
// almost always 0 or 10%: per-request outcomes use every request. On 0/1
// data Mann–Whitney with tie correction is the two-proportion z-test, whose
// normal approximation is anti-conservative for rare events (a canary
// expecting 5 errors in 1,000 requests has a skewed, Poisson-like count):
// in the bench it failed 4 of 200 A/A rollouts on a 0.5% budget. So the
// p-value of a Proportion is the one-sided Fisher exact test (the
// hypergeometric tail, written here; U is still reported). Its shift is the
// difference of the rates with Newcombe's hybrid score interval (Wilson
// intervals per side), since the Hodges–Lehmann estimate of 0/1 data is 0
// whenever both rates are under 50%.
//
// # Outcomes
//
// Fewer than MinSamples on either side is NoData. A significant test
// (p < the look's alpha) with a worse-direction shift beyond the allowed
// shift is Fail; a worse-direction upper confidence bound within the allowed
// shift is Pass; anything else is Inconclusive. The allowed shift is
// max(Tolerance × |baseline median or rate|, Floor): relative for latency,
// with an absolute floor that keeps a near-zero baseline error rate from
// making any single error a regression. The interval is two-sided at 1−2α
// (α per side), so its bound is a one-sided 1−α bound, the same level as
// the test; a pass is therefore a non-inferiority test, harder to reach at
// early looks, where α is small.
//
// # Repeated looks
//
// The judge runs every interval on cumulative samples (everything since the
// analysis began), so one rollout is a sequence of correlated tests and a
// fixed alpha per look would inflate the false-positive rate with every
// look. AlphaAt spends the rollout's overall alpha with the Lan–DeMets
// O'Brien–Fleming-type spending function
//
//	α(t) = 2 − 2Φ(z_{1−α/2} / √t) = erfc(erfcinv(α) / √t),  t = k/K,
//
// and tests look k at the increment α(t_k) − α(t_{k−1}). By the union
// bound the false-positive rate of all K looks together is at most α
// whatever the correlation between looks, without the numerical integration
// that exact group-sequential boundaries need (those are a little less
// strict, so this is slightly conservative). O'Brien–Fleming rather than
// Pocock or an even Bonferroni split: it spends almost nothing at the first
// looks, when the canary has few samples (little power anyway) and is
// least representative (cold caches, first connections), and keeps nearly
// the whole alpha for the last looks, where a fixed-sample test at α would
// have almost the same power. A gross regression still crosses the early
// boundaries: the required z falls as 1/√t while the regression's z grows
// as √t. Pocock and Bonferroni spend evenly, which buys earlier detection of
// mid-size regressions at the price of power at the end.
//
// "Planned looks" K is the number of looks the whole rollout's analysis
// would take if it ran to completion (the steps' analysis durations over the
// interval), fixed before it starts; t = k/K uses calendar time as the
// information fraction, which is right when traffic is steady. A step or
// rollout that ends early (a failure, a manual promote) simply leaves its
// remaining alpha unspent, which only lowers the error rate. A look beyond
// K gets alpha 0 and cannot fail; the engine must plan all its looks.
// Samples must be cumulative, not a sliding window: spending assumes the
// information grows with t.
//
// Alpha is per metric: with M metrics that can each fail a rollout, give
// each overall/M (Bonferroni over metrics) to hold the rollout's rate.
//
// A Fail verdict is final for the step (a clear failure stops it early);
// a Pass should be acted on at the step's last look only.
//
// # Scoring
//
// Score combines a look's verdicts like Kayenta: a critical metric's fail
// fails the analysis alone; nodata anywhere makes the analysis nodata, which
// halts advancement and never passes; otherwise every metric (critical ones
// included) adds its weight × (pass 1, inconclusive 0.5, fail 0) to a score
// out of 100. Inconclusive counts half rather than being left out, so that a
// rollout whose metrics could not show anything cannot score 100 on the one
// that could.
package judge

import (
	"fmt"
	"math"
	"slices"
)

// Direction says which way a metric gets worse.
type Direction int

const (
	// HigherIsWorse: latency, error rate.
	HigherIsWorse Direction = iota
	// LowerIsWorse: conversion, throughput.
	LowerIsWorse
)

func (d Direction) String() string {
	if d == LowerIsWorse {
		return "lower is worse"
	}
	return "higher is worse"
}

// Kind says what one sample is.
type Kind int

const (
	// Continuous samples are per-request measurements, such as
	// milliseconds; the shift is the Hodges–Lehmann estimate.
	Continuous Kind = iota
	// Proportion samples are per-request outcomes, 0 for none and anything
	// else for the event (a 5xx); the shift is the difference of the rates.
	Proportion
)

// Metric is one judged metric.
type Metric struct {
	Name      string
	Direction Direction
	Kind      Kind
	// Tolerance is the relative worse-direction shift that is acceptable,
	// against the baseline median (Continuous) or rate (Proportion):
	// 0.10 accepts a canary 10% worse.
	Tolerance float64
	// Floor is the smallest acceptable absolute shift, in the samples'
	// unit: 0.002 for a rate lets the canary's error rate be 0.2
	// percentage points above a baseline without errors.
	Floor float64
	// MinSamples is the fewest samples on each side for a verdict other
	// than nodata; values below 5 count as 5.
	MinSamples int
	// Critical metrics fail the analysis alone.
	Critical bool
	// Weight in the score; 0 or less counts as 1.
	Weight float64
}

// Outcome is a verdict's or an analysis's outcome.
type Outcome string

const (
	Pass         Outcome = "pass"
	Fail         Outcome = "fail"
	Inconclusive Outcome = "inconclusive"
	// NoData halts advancement: it never passes and never fails in silence.
	NoData Outcome = "nodata"
)

// Look is the Index-th (from 1) of Planned looks in a rollout's analysis.
type Look struct {
	Index, Planned int
}

// Verdict is one metric's judgement at one look, with everything it rests on.
type Verdict struct {
	Metric  string  `json:"metric"`
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason"`
	Look    Look    `json:"look"`

	NBaseline int `json:"n_baseline"`
	NCanary   int `json:"n_canary"`
	// Baseline and Canary are the medians (Continuous) or the rates
	// (Proportion) of the samples.
	Baseline float64 `json:"baseline"`
	Canary   float64 `json:"canary"`

	// U is the canary's Mann–Whitney statistic (scipy's U1 with the canary
	// first); PValue is one-sided in the worse direction, from Mann–Whitney
	// (Continuous) or Fisher's exact test (Proportion); Alpha is the level
	// at this look (AlphaAt).
	U      float64 `json:"u"`
	PValue float64 `json:"p_value"`
	Alpha  float64 `json:"alpha"`

	// Shift is canary − baseline (Hodges–Lehmann, or the rate difference)
	// with its 1−2·Alpha interval; RelShift is Shift over |Baseline| (0
	// when Baseline is 0); Allowed is the largest acceptable
	// worse-direction shift.
	Shift     float64 `json:"shift"`
	ShiftLow  float64 `json:"shift_low"`
	ShiftHigh float64 `json:"shift_high"`
	RelShift  float64 `json:"rel_shift"`
	Allowed   float64 `json:"allowed"`
}

// String renders the verdict on one line: "p95_latency fail: …".
func (v Verdict) String() string {
	return fmt.Sprintf("%s %s: %s", v.Metric, v.Outcome, v.Reason)
}

const minSamplesFloor = 5

// Judge compares canary with baseline samples of metric m at look, with the
// rollout's overall alpha for this metric (AlphaAt gives the look's share).
// Samples that are NaN or infinite are left out and not counted.
func Judge(m Metric, baseline, canary []float64, look Look, alpha float64) Verdict {
	b, c := finiteSorted(baseline, m.Kind), finiteSorted(canary, m.Kind)
	v := Verdict{Metric: m.Name, Look: look, NBaseline: len(b), NCanary: len(c)}
	v.Alpha = AlphaAt(look, alpha)
	need := max(m.MinSamples, minSamplesFloor)
	if len(b) < need || len(c) < need {
		v.Outcome = NoData
		v.Reason = fmt.Sprintf("canary has %d samples and baseline %d, need %d on each side", len(c), len(b), need)
		return v
	}

	alt := Greater
	if m.Direction == LowerIsWorse {
		alt = Less
	}
	u1, tie := ranks(c, b)
	v.U = u1
	if m.Kind == Proportion {
		v.PValue = FisherExact(events(c), len(c), events(b), len(b), alt)
	} else {
		v.PValue = pValue(u1, tie, len(c), len(b), alt)
	}

	z := zUpper(v.Alpha)
	if m.Kind == Proportion {
		v.Baseline, v.Canary = rate(b), rate(c)
		v.Shift = v.Canary - v.Baseline
		v.ShiftLow, v.ShiftHigh = newcombe(c, b, z)
	} else {
		v.Baseline, v.Canary = median(b), median(c)
		v.Shift, v.ShiftLow, v.ShiftHigh = hodgesLehmann(c, b, tie, z)
	}
	if v.Baseline != 0 {
		v.RelShift = v.Shift / math.Abs(v.Baseline)
	}
	v.Allowed = max(m.Tolerance*math.Abs(v.Baseline), m.Floor, 0)
	if math.IsNaN(v.Allowed) {
		v.Allowed = 0
	}

	// worse and worseHigh are the shift and its upper bound, turned so
	// that positive is worse.
	worse, worseHigh := v.Shift, v.ShiftHigh
	if m.Direction == LowerIsWorse {
		worse, worseHigh = -v.Shift, -v.ShiftLow
	}
	significant := v.PValue < v.Alpha
	at := fmt.Sprintf("at look %d of %d", look.Index, look.Planned)
	shift := describeShift(v, m.Kind)
	switch {
	case significant && worse > v.Allowed:
		v.Outcome = Fail
		v.Reason = fmt.Sprintf("%s is worse by more than the allowed %s and significant (p=%.3g < alpha %.3g %s)",
			shift, num(v.Allowed), v.PValue, v.Alpha, at)
	case worseHigh <= v.Allowed:
		v.Outcome = Pass
		v.Reason = fmt.Sprintf("%s: its worse-direction bound %s is within the allowed %s (p=%.3g, alpha %.3g %s)",
			shift, num(worseHigh), num(v.Allowed), v.PValue, v.Alpha, at)
	case significant:
		v.Outcome = Inconclusive
		v.Reason = fmt.Sprintf("%s is significantly worse (p=%.3g < alpha %.3g %s) but not beyond the allowed %s, and its worse-direction bound %s exceeds it",
			shift, v.PValue, v.Alpha, at, num(v.Allowed), num(worseHigh))
	default:
		v.Outcome = Inconclusive
		v.Reason = fmt.Sprintf("%s is not significant (p=%.3g, alpha %.3g %s) and its worse-direction bound %s exceeds the allowed %s",
			shift, v.PValue, v.Alpha, at, num(worseHigh), num(v.Allowed))
	}
	return v
}

func describeShift(v Verdict, k Kind) string {
	what := "median"
	if k == Proportion {
		what = "rate"
	}
	return fmt.Sprintf("canary %s %s vs baseline %s (n=%d vs %d): shift %s (%+.1f%%, interval %s to %s)",
		what, num(v.Canary), num(v.Baseline), v.NCanary, v.NBaseline,
		signed(v.Shift), 100*v.RelShift, num(v.ShiftLow), num(v.ShiftHigh))
}

func num(x float64) string    { return fmt.Sprintf("%.4g", x) }
func signed(x float64) string { return fmt.Sprintf("%+.4g", x) }

// finiteSorted returns the finite samples sorted; for a Proportion the
// samples become 0/1 indicators.
func finiteSorted(xs []float64, k Kind) []float64 {
	out := make([]float64, 0, len(xs))
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		if k == Proportion && x != 0 {
			x = 1
		}
		out = append(out, x)
	}
	slices.Sort(out)
	return out
}

func rate(sorted []float64) float64 {
	return float64(events(sorted)) / float64(len(sorted))
}

// events counts the 1s of sorted 0/1 indicators.
func events(sorted []float64) int {
	i, _ := slices.BinarySearch(sorted, 1)
	return len(sorted) - i
}

func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return mid(sorted[n/2-1], sorted[n/2])
}

// mid averages without overflow; a NaN from −Inf and +Inf becomes the lower.
func mid(a, b float64) float64 {
	m := a/2 + b/2
	if math.IsNaN(m) {
		return a
	}
	return m
}

// zUpper is the standard normal quantile at 1−a: √2·erfcinv(2a).
func zUpper(a float64) float64 {
	if !(a > 0) {
		return math.Inf(1)
	}
	if a >= 1 {
		return math.Inf(-1)
	}
	return math.Sqrt2 * math.Erfcinv(2*a)
}

// newcombe is Newcombe's (1998) hybrid score interval for the difference of
// the canary's and the baseline's rates, each side at one-sided level z.
func newcombe(c, b []float64, z float64) (low, high float64) {
	p1, p2 := rate(c), rate(b)
	l1, u1 := wilson(p1, float64(len(c)), z)
	l2, u2 := wilson(p2, float64(len(b)), z)
	d := p1 - p2
	return d - math.Hypot(p1-l1, u2-p2), d + math.Hypot(u1-p1, p2-l2)
}

// Wilson is the Wilson score interval of events out of n at two-sided
// confidence 1 − alpha: where a rate seen on few trials may really be.
func Wilson(events, n int64, alpha float64) (low, high float64) {
	if n <= 0 {
		return 0, 1
	}
	return wilson(float64(events)/float64(n), float64(n), zUpper(alpha/2))
}

func wilson(p, n, z float64) (low, high float64) {
	if math.IsInf(z, 1) {
		return 0, 1
	}
	if math.IsInf(z, -1) {
		return p, p
	}
	z2 := z * z
	den := 1 + z2/n
	center := (p + z2/(2*n)) / den
	half := z / den * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return max(0, center-half), min(1, center+half)
}

// Thresholds are Kayenta's score thresholds out of 100: a score at or above
// Pass passes, below Marginal fails, in between is inconclusive.
type Thresholds struct {
	Pass, Marginal float64
}

// Score combines one look's verdicts for metrics ms (matched by name; a
// metric without a verdict is nodata). A critical metric's fail fails the
// analysis alone; nodata anywhere else makes it nodata; otherwise the score
// is the weighted mean of pass 1, inconclusive 0.5, fail 0, out of 100. It
// passes at or above th.Pass and fails only when the score would stay under
// th.Marginal even if every inconclusive metric passed: the fails alone sink
// it, so a look whose metrics have not yet settled (the first looks of a
// step) never fails. Anything else is inconclusive: the marginal band.
func Score(ms []Metric, vs []Verdict, th Thresholds) (score float64, outcome Outcome, reason string) {
	if len(ms) == 0 {
		return 0, NoData, "no metrics to judge"
	}
	byName := make(map[string]Verdict, len(vs))
	for _, v := range vs {
		byName[v.Metric] = v
	}
	var nodata []string
	for _, m := range ms {
		v, ok := byName[m.Name]
		if ok && m.Critical && v.Outcome == Fail {
			return 0, Fail, fmt.Sprintf("critical metric %s failed: %s", m.Name, v.Reason)
		}
		if !ok {
			nodata = append(nodata, m.Name+" (no verdict)")
		} else if v.Outcome != Pass && v.Outcome != Fail && v.Outcome != Inconclusive {
			nodata = append(nodata, m.Name)
		}
	}
	if len(nodata) > 0 {
		return 0, NoData, fmt.Sprintf("no data for %d of %d metrics: %s", len(nodata), len(ms), join(nodata))
	}
	var total, got, best float64
	var pass, fail, inc int
	for _, m := range ms {
		w := m.Weight
		if !(w > 0) || math.IsInf(w, 1) {
			w = 1
		}
		total += w
		switch byName[m.Name].Outcome {
		case Pass:
			got += w
			best += w
			pass++
		case Inconclusive:
			got += w / 2
			best += w
			inc++
		case Fail:
			fail++
		}
	}
	score = 100 * got / total
	best = 100 * best / total
	counts := fmt.Sprintf("%d pass, %d inconclusive, %d fail", pass, inc, fail)
	switch {
	case score >= th.Pass:
		return score, Pass, fmt.Sprintf("score %.1f >= pass threshold %g (%s)", score, th.Pass, counts)
	case best < th.Marginal:
		return score, Fail, fmt.Sprintf("score %.1f, and %.1f even if every inconclusive metric passed, < marginal threshold %g (%s)", score, best, th.Marginal, counts)
	}
	return score, Inconclusive, fmt.Sprintf("score %.1f is below pass threshold %g; the fails alone do not bring it under marginal %g (%s)", score, th.Pass, th.Marginal, counts)
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}

// AlphaAt is the level of look.Index of look.Planned looks under the
// Lan–DeMets O'Brien–Fleming-type spending of overall: the alpha spent by
// t = Index/Planned minus that spent by the previous look. The levels of all
// planned looks sum to overall. Planned < 1 counts as a single look; Index
// < 1 as the first; Index > Planned gets 0.
func AlphaAt(look Look, overall float64) float64 {
	if !(overall > 0) {
		return 0
	}
	overall = min(overall, 1)
	k, K := look.Index, look.Planned
	if K < 1 {
		K = 1
	}
	if k < 1 {
		k = 1
	}
	if k > K {
		return 0
	}
	a := spent(float64(k)/float64(K), overall) - spent(float64(k-1)/float64(K), overall)
	return max(a, 0)
}

// spent is the O'Brien–Fleming-type spending function
// 2 − 2Φ(z_{1−α/2}/√t), written erfc(erfcinv(α)/√t) to keep its precision
// at tiny values.
func spent(t, overall float64) float64 {
	if t <= 0 {
		return 0
	}
	if t >= 1 {
		return overall
	}
	return math.Erfc(math.Erfcinv(overall) / math.Sqrt(t))
}
