package judge

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSelectorMatchesSort checks every order statistic of the differences
// against sorting all of them, with ties and with the selection rounds in
// play (sizes above the collect-and-quickselect limit).
func TestSelectorMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 40 {
		n, m := 1+r.IntN(200), 1+r.IntN(300)
		c, b := make([]float64, n), make([]float64, m)
		levels := 1 + r.IntN(20) // few levels: many tied differences
		for i := range c {
			c[i] = float64(r.IntN(levels))
			if trial%2 == 0 {
				c[i] += r.Float64()
			}
		}
		for j := range b {
			b[j] = float64(r.IntN(levels))
		}
		slices.Sort(c)
		slices.Sort(b)
		var all []float64
		for _, x := range c {
			for _, y := range b {
				all = append(all, x-y)
			}
		}
		slices.Sort(all)
		s := newSelector(c, b)
		for k := int64(1); k <= int64(len(all)); k += 1 + int64(len(all))/97 {
			if got := s.kth(k); got != all[k-1] {
				t.Fatalf("trial %d n=%d m=%d: kth(%d) = %g, want %g", trial, n, m, k, got, all[k-1])
			}
		}
		if got := s.kth(int64(len(all))); got != all[len(all)-1] {
			t.Fatalf("trial %d: last = %g, want %g", trial, got, all[len(all)-1])
		}
	}
}

func TestQuickselect(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	rng := uint64(7)
	for range 200 {
		xs := make([]float64, 1+r.IntN(50))
		for i := range xs {
			xs[i] = float64(r.IntN(5))
		}
		want := slices.Sorted(slices.Values(xs))
		k := r.IntN(len(xs))
		if got := quickselect(slices.Clone(xs), k, &rng); got != want[k] {
			t.Fatalf("quickselect(%v, %d) = %g, want %g", xs, k, got, want[k])
		}
	}
}
