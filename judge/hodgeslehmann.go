package judge

import (
	"math"
	"slices"
)

// hodgesLehmann returns the median of the differences c_i − b_j of sorted
// canary c and sorted baseline b, and the Lehmann–Bauer interval: the k-th
// smallest and k-th largest difference, where k = ⌊nm/2 − z·σ_U⌋ with the
// tie-corrected σ_U, so that each bound is a one-sided bound at the level
// whose normal quantile is z. k is kept within [1, (nm+1)/2]: with too few
// samples for the level the interval is the whole range of differences.
func hodgesLehmann(c, b []float64, tie int64, z float64) (shift, low, high float64) {
	n, m := int64(len(c)), int64(len(b))
	nm := n * m
	s := newSelector(c, b)
	if nm%2 == 1 {
		shift = s.kth(nm/2 + 1)
	} else {
		a := s.kth(nm / 2)
		// The next rank is a again, or the smallest difference above it.
		next := a
		if s.countAtOrBelow(a) < nm/2+1 {
			next = s.successor(a)
		}
		shift = mid(a, next)
	}
	fn, fm := float64(n), float64(m)
	N := fn + fm
	s2 := fn * fm / 12 * ((N + 1) - float64(tie)/(N*(N-1)))
	kf := math.Floor(fn*fm/2 - z*math.Sqrt(max(s2, 0)))
	k := int64(1)
	switch {
	case math.IsNaN(kf) || kf < 1:
	case kf > float64((nm+1)/2):
		k = (nm + 1) / 2
	default:
		k = int64(kf)
	}
	return shift, s.kth(k), s.kth(nm - k + 1)
}

// selector finds order statistics of the n×m differences c_i − b_j without
// forming them. Row i, read with column q = m−1−j, increases along q (b is
// sorted ascending) and down i (c is sorted ascending): a sorted matrix.
// Each round draws a sample of the candidates left, takes two sample values
// that bracket the wanted rank (Floyd–Rivest), counts the differences below
// the lower and at or below the upper in every row with one sweep each
// (O(n+m): the split column only moves left as i grows), and keeps the part
// that holds the rank, usually a few per cent of the candidates. When few
// candidates are left they are collected and a quickselect finishes.
type selector struct {
	c, b   []float64
	lo, hi []int   // candidate columns [lo_i, hi_i) of row i
	less   []int   // scratch: split columns for the lower pivot
	le     []int   // scratch: split columns for the upper pivot
	cum    []int64 // scratch: candidates in rows 0..i
	sample []float64
	buf    []float64
	rng    uint64
}

const sampleSize = 1024

func newSelector(c, b []float64) *selector {
	n := len(c)
	return &selector{
		c: c, b: b,
		lo: make([]int, n), hi: make([]int, n),
		less: make([]int, n), le: make([]int, n), cum: make([]int64, n),
		sample: make([]float64, sampleSize),
		rng:    0x9e3779b97f4a7c15 ^ uint64(n)<<32 ^ uint64(len(b)),
	}
}

func (s *selector) at(i, q int) float64 { return s.c[i] - s.b[len(s.b)-1-q] }

// next is splitmix64: deterministic, so equal inputs give equal verdicts.
func (s *selector) next() uint64 {
	s.rng += 0x9e3779b97f4a7c15
	z := s.rng
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// split sets dst_i to the first column of row i (clamped to its candidates)
// whose difference is at or above pivot (strict) or above it, and returns
// how many candidates lie before those columns.
func (s *selector) split(pivot float64, strict bool, dst []int) int64 {
	b, c := s.b, s.c
	lo, hi, dst := s.lo[:len(c)], s.hi[:len(c)], dst[:len(c)]
	m := len(b)
	var count int64
	// j counts the baseline values that leave c_i − b_j at or above (or
	// above) the pivot; it only grows with i. Row i's answer is clamped to
	// [lo_i, hi_i], so j need only be searched within [m−hi_i, m−lo_i]:
	// lo and hi never increase with i, so skipping ahead to m−hi_i never
	// passes a later row's answer.
	j := 0
	for i, ci := range c {
		j = max(j, m-hi[i])
		end := m - lo[i]
		if strict {
			for j < end && j < len(b) && ci-b[j] >= pivot {
				j++
			}
		} else {
			for j < end && j < len(b) && ci-b[j] > pivot {
				j++
			}
		}
		d := min(max(m-j, lo[i]), hi[i])
		dst[i] = d
		count += int64(d - lo[i])
	}
	return count
}

// kth returns the k-th smallest difference, k from 1 to n·m.
func (s *selector) kth(k int64) float64 {
	n, m := len(s.c), len(s.b)
	for i := range n {
		s.lo[i], s.hi[i] = 0, m
	}
	total := int64(n) * int64(m)
	limit := int64(max(n+m, 4096))
	for total > limit {
		var acc int64
		for i := range n {
			acc += int64(s.hi[i] - s.lo[i])
			s.cum[i] = acc
		}
		for t := range s.sample {
			r := int64(s.next() % uint64(total))
			i, _ := slices.BinarySearch(s.cum, r+1)
			s.sample[t] = s.at(i, s.hi[i]-int(s.cum[i]-r))
		}
		slices.Sort(s.sample)
		frac := float64(k) / float64(total)
		pos := frac * sampleSize
		spread := 3*math.Sqrt(sampleSize*frac*(1-frac)) + 2
		low := s.sample[max(0, int(pos-spread))]
		high := s.sample[min(sampleSize-1, int(pos+spread))]

		below := s.split(low, true, s.less)
		if k <= below {
			copy(s.hi, s.less)
			total = below
			continue
		}
		upTo := s.split(high, false, s.le)
		if k > upTo {
			k -= upTo
			copy(s.lo, s.le)
			total -= upTo
			continue
		}
		if low == high {
			return low
		}
		if upTo-below == total {
			// The pivots are the smallest and largest candidates: split at
			// the lower alone, which sets its run of equal values apart.
			upTo = s.split(low, false, s.le)
			if k <= upTo {
				return low
			}
			k -= upTo
			copy(s.lo, s.le)
			total -= upTo
			continue
		}
		k -= below
		copy(s.lo, s.less)
		copy(s.hi, s.le)
		total = upTo - below
	}
	s.buf = s.buf[:0]
	for i := range n {
		for q := s.lo[i]; q < s.hi[i]; q++ {
			s.buf = append(s.buf, s.at(i, q))
		}
	}
	return quickselect(s.buf, int(k-1), &s.rng)
}

// countAtOrBelow counts the differences at or below x.
func (s *selector) countAtOrBelow(x float64) int64 {
	for i := range s.c {
		s.lo[i], s.hi[i] = 0, len(s.b)
	}
	return s.split(x, false, s.le)
}

// successor returns the smallest difference greater than x, or x when
// there is none.
func (s *selector) successor(x float64) float64 {
	best, found := x, false
	m := len(s.b)
	q := m
	for _, ci := range s.c {
		for q > 0 && ci-s.b[m-q] > x {
			q--
		}
		if q < m {
			if d := ci - s.b[m-1-q]; !found || d < best {
				best, found = d, true
			}
		}
	}
	return best
}

// quickselect returns the k-th smallest (from 0) of xs, reordering it, with
// a three-way partition so that many equal values cost no more than few.
func quickselect(xs []float64, k int, rng *uint64) float64 {
	for len(xs) > 1 {
		*rng = *rng*6364136223846793005 + 1442695040888963407
		p := xs[int((*rng>>33)%uint64(len(xs)))]
		// [0,lt) < p, [lt,i) == p, (gt,end) > p
		lt, i, gt := 0, 0, len(xs)-1
		for i <= gt {
			switch {
			case xs[i] < p:
				xs[lt], xs[i] = xs[i], xs[lt]
				lt++
				i++
			case xs[i] > p:
				xs[i], xs[gt] = xs[gt], xs[i]
				gt--
			default:
				i++
			}
		}
		switch {
		case k < lt:
			xs = xs[:lt]
		case k <= gt:
			return p
		default:
			k -= gt + 1
			xs = xs[gt+1:]
		}
	}
	return xs[0]
}
