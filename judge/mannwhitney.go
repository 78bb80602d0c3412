package judge

import (
	"math"
	"slices"
)

// Alternative is the alternative hypothesis of a Mann–Whitney test of x
// against y, named as scipy names them.
type Alternative int

const (
	// TwoSided: x and y differ in location.
	TwoSided Alternative = iota
	// Greater: x is stochastically greater than y.
	Greater
	// Less: x is stochastically less than y.
	Less
)

func (a Alternative) String() string {
	switch a {
	case Greater:
		return "greater"
	case Less:
		return "less"
	}
	return "two-sided"
}

// MannWhitneyU is the Mann–Whitney U test of x against y, normal
// approximation with tie and continuity correction: the U and p that
// scipy.stats.mannwhitneyu(x, y, alternative=alt, method="asymptotic")
// returns (U is x's statistic, U1). With every value tied, p is 1. Empty
// samples give U 0 and p 1. NaN or infinite values are not checked for
// and make the result meaningless; Judge drops them first.
func MannWhitneyU(x, y []float64, alt Alternative) (u, p float64) {
	if len(x) == 0 || len(y) == 0 {
		return 0, 1
	}
	xs, ys := slices.Clone(x), slices.Clone(y)
	slices.Sort(xs)
	slices.Sort(ys)
	u, tie := ranks(xs, ys)
	return u, pValue(u, tie, len(xs), len(ys), alt)
}

// ranks returns the U statistic of sorted x against sorted y (the sum of
// x's midranks in the pooled sample minus n(n+1)/2) and the tie term
// Σ(t³−t) over the groups of tied values, in one merge.
func ranks(x, y []float64) (u float64, tie int64) {
	var r1 float64
	i, j, before := 0, 0, 0
	for i < len(x) || j < len(y) {
		var v float64
		switch {
		case j == len(y):
			v = x[i]
		case i == len(x):
			v = y[j]
		default:
			v = min(x[i], y[j])
		}
		cx, cy := 0, 0
		for i < len(x) && x[i] == v {
			i++
			cx++
		}
		for j < len(y) && y[j] == v {
			j++
			cy++
		}
		g := cx + cy
		// The group holds ranks before+1 … before+g; each gets their mean.
		r1 += float64(cx) * (float64(before) + float64(g+1)/2)
		tie += int64(g)*int64(g)*int64(g) - int64(g)
		before += g
	}
	n1 := float64(len(x))
	return r1 - n1*(n1+1)/2, tie
}

// pValue follows scipy's _get_mwu_z and mannwhitneyu operation for
// operation, so that the two agree to the last few bits.
func pValue(u1 float64, tie int64, n1, n2 int, alt Alternative) float64 {
	f1, f2 := float64(n1), float64(n2)
	u, f := u1, 1.0
	switch alt {
	case Less:
		u = f1*f2 - u1
	case TwoSided:
		u, f = max(u1, f1*f2-u1), 2
	}
	mu := f1 * f2 / 2
	n := f1 + f2
	s2 := f1 * f2 / 12 * ((n + 1) - float64(tie)/(n*(n-1)))
	if !(s2 > 0) {
		// Every value tied: scipy's z is −Inf and its p 1.
		return 1
	}
	z := (u - mu - 0.5) / math.Sqrt(s2)
	p := f * 0.5 * math.Erfc(z/math.Sqrt2)
	return min(max(p, 0), 1)
}
