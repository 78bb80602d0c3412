package judge

import "math"

// FisherExact is Fisher's exact test of a 2×2 table: x events in n trials
// against y events in m trials, conditional on the x+y events in all (the
// hypergeometric distribution of x). Greater asks whether x/n exceeds y/m;
// TwoSided sums the tables no likelier than the observed one, with scipy's
// relative tolerance of 1e-7. It is scipy.stats.fisher_exact's p-value of
// [[x, n−x], [y, m−y]].
func FisherExact(x, n, y, m int, alt Alternative) float64 {
	if n <= 0 || m <= 0 || x < 0 || y < 0 || x > n || y > m {
		return 1
	}
	N, K := n+m, x+y
	lo, hi := max(0, n-(N-K)), min(K, n)
	if lo == hi {
		return 1
	}
	// log pmf(i) by the ratio pmf(i+1)/pmf(i) from a log-gamma anchor at
	// the observed x, in logs because far tails underflow; sums rescale by
	// their largest term.
	lx := lchoose(K, x) + lchoose(N-K, n-x) - lchoose(N, n)
	up := func(i int, l float64) float64 { // log pmf(i+1) from log pmf(i)
		return l + math.Log(float64(K-i)*float64(n-i)/(float64(i+1)*float64(N-K-n+i+1)))
	}
	down := func(i int, l float64) float64 { // log pmf(i−1) from log pmf(i)
		return l + math.Log(float64(i)*float64(N-K-n+i)/(float64(K-i+1)*float64(n-i+1)))
	}
	var terms []float64
	switch alt {
	case Greater:
		terms = append(terms, lx)
		for i, l := x, lx; i < hi; i++ {
			l = up(i, l)
			terms = append(terms, l)
		}
	case Less:
		terms = append(terms, lx)
		for i, l := x, lx; i > lo; i-- {
			l = down(i, l)
			terms = append(terms, l)
		}
	default:
		limit := lx + math.Log1p(1e-7)
		terms = append(terms, lx)
		for i, l := x, lx; i < hi; i++ {
			if l = up(i, l); l <= limit {
				terms = append(terms, l)
			}
		}
		for i, l := x, lx; i > lo; i-- {
			if l = down(i, l); l <= limit {
				terms = append(terms, l)
			}
		}
	}
	top := math.Inf(-1)
	for _, l := range terms {
		top = max(top, l)
	}
	sum := 0.0
	for _, l := range terms {
		sum += math.Exp(l - top)
	}
	return min(max(math.Exp(top+math.Log(sum)), 0), 1)
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
