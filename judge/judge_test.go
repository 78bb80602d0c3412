package judge_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/aclements/go-moremath/stats"
	"github.com/google/go-cmp/cmp"

	"github.com/upfactory/upfactory/judge"
)

var latency = judge.Metric{Name: "latency", Direction: judge.HigherIsWorse, Tolerance: 0.05, MinSamples: 20, Critical: true}
var errors5xx = judge.Metric{Name: "5xx", Direction: judge.HigherIsWorse, Kind: judge.Proportion, Tolerance: 0.2, Floor: 0.002, MinSamples: 100, Critical: true}

// MustLogNormal draws n latencies in ms: median 50 × scale, p95 ≈ 150 × scale.
func MustLogNormal(tb testing.TB, r *rand.Rand, n int, scale float64) []float64 {
	tb.Helper()
	sigma := math.Log(3) / 1.6448536269514722
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = scale * 50 * math.Exp(sigma*r.NormFloat64())
	}
	return xs
}

func bernoulli(r *rand.Rand, n int, p float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		if r.Float64() < p {
			xs[i] = 1
		}
	}
	return xs
}

func TestJudgeOutcomes(t *testing.T) {
	last := judge.Look{Index: 12, Planned: 12}
	r := rand.New(rand.NewPCG(1, 1))
	tolerant := latency
	tolerant.Tolerance = 0.2
	conversion := judge.Metric{Name: "conversion", Direction: judge.LowerIsWorse, Tolerance: 0.05, MinSamples: 20}
	tests := []struct {
		name             string
		m                judge.Metric
		baseline, canary []float64
		look             judge.Look
		want             judge.Outcome
		reason           string
	}{
		{"too few canary samples", latency, MustLogNormal(t, r, 500, 1), MustLogNormal(t, r, 19, 1), last, judge.NoData, "canary has 19 samples and baseline 500, need 20"},
		{"too few baseline samples", latency, MustLogNormal(t, r, 3, 1), MustLogNormal(t, r, 300, 1), last, judge.NoData, "baseline 3"},
		{"empty", latency, nil, nil, last, judge.NoData, "need 20"},
		{"NaN samples do not count", latency, append(MustLogNormal(t, r, 500, 1), math.NaN()), slices.Repeat([]float64{math.NaN()}, 50), last, judge.NoData, "canary has 0 samples"},
		{"30% slower", latency, MustLogNormal(t, r, 2000, 1), MustLogNormal(t, r, 300, 1.3), last, judge.Fail, "worse by more than the allowed"},
		{"same distribution, wide tolerance", tolerant, MustLogNormal(t, r, 5000, 1), MustLogNormal(t, r, 2000, 1), last, judge.Pass, "within the allowed"},
		{"small samples, small shift", latency, MustLogNormal(t, r, 40, 1), MustLogNormal(t, r, 30, 1.08), last, judge.Inconclusive, "exceeds the allowed"},
		{"3.5% slower: significant, within tolerance, bound beyond", latency, MustLogNormal(t, r, 12000, 1), MustLogNormal(t, r, 12000, 1.035), last, judge.Inconclusive, "significantly worse"},
		{"much faster canary never fails", latency, MustLogNormal(t, r, 2000, 1), MustLogNormal(t, r, 300, 0.5), last, judge.Pass, "within the allowed"},
		{"lower is worse: canary lower fails", conversion, MustLogNormal(t, r, 2000, 1), MustLogNormal(t, r, 300, 0.7), last, judge.Fail, "worse by more"},
		{"lower is worse: canary higher passes", conversion, MustLogNormal(t, r, 2000, 1), MustLogNormal(t, r, 300, 1.5), last, judge.Pass, "within the allowed"},
		{"5xx 5% vs 0.5%", errors5xx, bernoulli(r, 20000, 0.005), bernoulli(r, 1000, 0.05), last, judge.Fail, "canary rate"},
		{"5xx equal, few requests", errors5xx, bernoulli(r, 20000, 0.005), bernoulli(r, 1000, 0.005), last, judge.Inconclusive, "not significant"},
		{"5xx none on either side, many requests", errors5xx, make([]float64, 50000), make([]float64, 50000), last, judge.Pass, "within the allowed"},
		{"5xx 2x tolerance, early look: alpha tiny", errors5xx, bernoulli(r, 20000, 0.005), bernoulli(r, 1000, 0.02), judge.Look{Index: 1, Planned: 12}, judge.Inconclusive, "look 1 of 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge.Judge(tt.m, tt.baseline, tt.canary, tt.look, 0.01)
			if v.Outcome != tt.want || !strings.Contains(v.Reason, tt.reason) {
				t.Errorf("got %s, want %s with %q\n%+v", v.Outcome, tt.want, tt.reason, v)
			}
			if v.Metric != tt.m.Name {
				t.Errorf("Metric = %q", v.Metric)
			}
			t.Log(v)
		})
	}
}

// A much better canary must never fail, however many samples.
func TestBetterNeverFails(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for _, dir := range []judge.Direction{judge.HigherIsWorse, judge.LowerIsWorse} {
		m := latency
		m.Direction = dir
		scale := 0.5
		if dir == judge.LowerIsWorse {
			scale = 2
		}
		for k := 1; k <= 12; k++ {
			v := judge.Judge(m, MustLogNormal(t, r, 5000, 1), MustLogNormal(t, r, 5000, scale), judge.Look{Index: k, Planned: 12}, 0.5)
			if v.Outcome == judge.Fail {
				t.Fatalf("%v: better canary failed: %v", dir, v)
			}
			if v.PValue < 0.99 {
				t.Errorf("%v: one-sided p of a better canary = %g", dir, v.PValue)
			}
		}
	}
}

// TestTiesAndShift pins U, p and the Hodges–Lehmann figures on a small
// sample with ties, computed by hand: every pairwise difference is listed.
func TestTiesAndShift(t *testing.T) {
	b := []float64{10, 10, 20, 20, 20, 30}
	c := []float64{20, 30, 30, 40, 40}
	m := judge.Metric{Name: "x", Tolerance: 0.1, MinSamples: 5}
	v := judge.Judge(m, b, c, judge.Look{Index: 1, Planned: 1}, 0.05)
	// Pooled ranks: 10,10 → 1.5; 20×4 → 4.5; 30×3 → 8; 40,40 → 10.5.
	// Canary: 4.5 + 8 + 8 + 10.5 + 10.5 = 41.5; U = 41.5 − 15 = 26.5.
	if v.U != 26.5 {
		t.Errorf("U = %g, want 26.5", v.U)
	}
	u, p := judge.MannWhitneyU(c, b, judge.Greater)
	if u != v.U || p != v.PValue {
		t.Errorf("MannWhitneyU = %g, %g; Judge %g, %g", u, p, v.U, v.PValue)
	}
	// Differences c−b sorted (30 of them): median of the 15th and 16th.
	var d []float64
	for _, x := range c {
		for _, y := range b {
			d = append(d, x-y)
		}
	}
	slices.Sort(d)
	if want := (d[14] + d[15]) / 2; v.Shift != want {
		t.Errorf("Shift = %g, want %g", v.Shift, want)
	}
	if v.ShiftLow > v.Shift || v.Shift > v.ShiftHigh {
		t.Errorf("interval %g..%g does not hold the shift %g", v.ShiftLow, v.ShiftHigh, v.Shift)
	}
	if !slices.Contains(d, v.ShiftLow) || !slices.Contains(d, v.ShiftHigh) {
		t.Errorf("interval bounds %g, %g are not differences", v.ShiftLow, v.ShiftHigh)
	}
	if v.Baseline != 20 || v.Canary != 30 || v.RelShift != v.Shift/20 {
		t.Errorf("medians %g, %g, rel %g", v.Baseline, v.Canary, v.RelShift)
	}
}

// Identical samples (everything tied) give p 1 and a zero shift.
func TestAllTied(t *testing.T) {
	xs := slices.Repeat([]float64{7}, 50)
	v := judge.Judge(latency, xs, xs, judge.Look{Index: 1, Planned: 1}, 0.01)
	if v.PValue != 1 || v.Shift != 0 || v.ShiftLow != 0 || v.ShiftHigh != 0 || v.Outcome != judge.Pass {
		t.Errorf("%+v", v)
	}
}

// The Hodges–Lehmann interval covers the true shift about as often as its
// level says: 1−2α two-sided.
func TestIntervalCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	m := judge.Metric{Name: "x", MinSamples: 5}
	const trials = 1000
	miss := 0
	for range trials {
		b, c := make([]float64, 40), make([]float64, 30)
		for i := range b {
			b[i] = r.NormFloat64()
		}
		for i := range c {
			c[i] = r.NormFloat64() + 0.5
		}
		v := judge.Judge(m, b, c, judge.Look{Index: 1, Planned: 1}, 0.05) // 90% interval
		if v.ShiftLow > 0.5 || v.ShiftHigh < 0.5 {
			miss++
		}
	}
	if rate := float64(miss) / trials; rate < 0.06 || rate > 0.14 {
		t.Errorf("a 90%% interval missed %.1f%% of the time", 100*rate)
	}
}

func TestJudgeDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	b, c := MustLogNormal(t, r, 3000, 1), MustLogNormal(t, r, 800, 1.1)
	b0, c0 := slices.Clone(b), slices.Clone(c)
	look := judge.Look{Index: 5, Planned: 12}
	v1 := judge.Judge(latency, b, c, look, 0.01)
	v2 := judge.Judge(latency, b, c, look, 0.01)
	if diff := cmp.Diff(v1, v2); diff != "" {
		t.Errorf("two runs differ (-first +second):\n%s", diff)
	}
	if !slices.Equal(b, b0) || !slices.Equal(c, c0) {
		t.Error("Judge modified its input")
	}
	// Order of the samples does not matter.
	slices.Reverse(b)
	if diff := cmp.Diff(v1, judge.Judge(latency, b, c, look, 0.01)); diff != "" {
		t.Errorf("reordered input changed the verdict (-want +got):\n%s", diff)
	}
}

func TestScore(t *testing.T) {
	th := judge.Thresholds{Pass: 95, Marginal: 75}
	ms := []judge.Metric{
		{Name: "p95", Critical: true, Weight: 2},
		{Name: "5xx", Critical: true, Weight: 2},
		{Name: "cpu", Weight: 1},
		{Name: "mem"}, // weight 0 counts as 1
	}
	vs := func(outcomes ...judge.Outcome) []judge.Verdict {
		var out []judge.Verdict
		for i, o := range outcomes {
			out = append(out, judge.Verdict{Metric: ms[i].Name, Outcome: o, Reason: "because"})
		}
		return out
	}
	P, F, I, N := judge.Pass, judge.Fail, judge.Inconclusive, judge.NoData
	tests := []struct {
		name   string
		vs     []judge.Verdict
		score  float64
		want   judge.Outcome
		reason string
	}{
		{"all pass", vs(P, P, P, P), 100, P, "score 100.0 >= pass threshold 95"},
		{"critical fail fails alone", vs(P, F, P, P), 0, F, "critical metric 5xx failed: because"},
		{"critical fail beats nodata", vs(N, F, P, P), 0, F, "critical metric 5xx failed"},
		{"nodata halts", vs(P, P, N, P), 0, N, "no data for 1 of 4 metrics: cpu"},
		{"missing verdict is nodata", vs(P, P, P), 0, N, "mem (no verdict)"},
		{"non-critical fail lowers the score", vs(P, P, F, P), 500.0 / 6, I, "marginal"},
		{"two non-critical fails", vs(P, P, F, F), 400.0 / 6, F, "< marginal threshold 75"},
		{"fails sink it whatever the inconclusive", vs(I, P, F, F), 300.0 / 6, F, "66.7 even if every inconclusive metric passed"},
		{"inconclusive counts half", vs(P, P, I, P), 550.0 / 6, I, "1 inconclusive"},
		{"inconclusive alone never fails", vs(I, I, I, I), 50, I, "4 inconclusive"},
		{"critical inconclusive counts half", vs(I, I, P, P), 400.0 / 6, I, "2 inconclusive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			score, got, reason := judge.Score(ms, tt.vs, th)
			if math.Abs(score-tt.score) > 1e-9 || got != tt.want || !strings.Contains(reason, tt.reason) {
				t.Errorf("Score = %g, %s, %q; want %g, %s with %q", score, got, reason, tt.score, tt.want, tt.reason)
			}
		})
	}
	if _, got, _ := judge.Score(nil, nil, th); got != judge.NoData {
		t.Errorf("no metrics: %s, want nodata", got)
	}
}

func TestAlphaAt(t *testing.T) {
	for _, overall := range []float64{0.001, 0.005, 0.01, 0.05, 0.2, 1} {
		for _, K := range []int{1, 2, 3, 6, 12, 36, 100, 1000} {
			sum, prev := 0.0, 0.0
			for k := 1; k <= K; k++ {
				a := judge.AlphaAt(judge.Look{Index: k, Planned: K}, overall)
				if a < 0 || math.IsNaN(a) {
					t.Fatalf("AlphaAt(%d/%d, %g) = %g", k, K, overall, a)
				}
				sum += a
				if sum < prev {
					t.Fatalf("spent alpha fell at look %d/%d", k, K)
				}
				prev = sum
			}
			if sum > overall*(1+1e-12) || sum < overall*(1-1e-9) {
				t.Errorf("K=%d overall=%g: the looks sum to %.17g", K, overall, sum)
			}
			if K == 1 && judge.AlphaAt(judge.Look{Index: 1, Planned: 1}, overall) != overall {
				t.Errorf("a single look gets %g, want %g", judge.AlphaAt(judge.Look{Index: 1, Planned: 1}, overall), overall)
			}
			if got := judge.AlphaAt(judge.Look{Index: K + 1, Planned: K}, overall); got != 0 {
				t.Errorf("a look beyond the plan gets %g", got)
			}
		}
	}
	// O'Brien–Fleming: the first look of 12 spends almost nothing, the
	// last the most.
	first := judge.AlphaAt(judge.Look{Index: 1, Planned: 12}, 0.01)
	lastA := judge.AlphaAt(judge.Look{Index: 12, Planned: 12}, 0.01)
	if first > 1e-15 || lastA < 0.001 {
		t.Errorf("first look %g, last %g", first, lastA)
	}
	// More looks planned never raises the alpha spent by the same time.
	spentBy := func(k, K int) float64 {
		s := 0.0
		for i := 1; i <= k; i++ {
			s += judge.AlphaAt(judge.Look{Index: i, Planned: K}, 0.01)
		}
		return s
	}
	if a, b := spentBy(6, 12), spentBy(12, 24); math.Abs(a-b) > 1e-15 {
		t.Errorf("spent by half time: %g with 12 looks, %g with 24", a, b)
	}
	for _, l := range []judge.Look{{0, 0}, {-1, 5}} {
		if a := judge.AlphaAt(l, 0.01); !(a > 0) {
			t.Errorf("AlphaAt(%+v) = %g", l, a)
		}
	}
	if a := judge.AlphaAt(judge.Look{Index: 1, Planned: 1}, 0); a != 0 {
		t.Errorf("overall 0 gives %g", a)
	}
}

// TestMoremath cross-checks MannWhitneyU with go-moremath's
// stats.MannWhitneyUTest in its asymptotic mode.
func TestMoremath(t *testing.T) {
	defer func(a, b int) { stats.MannWhitneyExactLimit, stats.MannWhitneyTiesExactLimit = a, b }(stats.MannWhitneyExactLimit, stats.MannWhitneyTiesExactLimit)
	stats.MannWhitneyExactLimit, stats.MannWhitneyTiesExactLimit = 0, 0
	alts := map[judge.Alternative]stats.LocationHypothesis{
		judge.TwoSided: stats.LocationDiffers, judge.Greater: stats.LocationGreater, judge.Less: stats.LocationLess,
	}
	worst, compared := 0.0, 0
	for i, pair := range samplePairs() {
		for alt, hyp := range alts {
			u, p := judge.MannWhitneyU(pair.x, pair.y, alt)
			res, err := stats.MannWhitneyUTest(pair.x, pair.y, hyp)
			if err == stats.ErrSamplesEqual {
				if p != 1 {
					t.Errorf("pair %d: all tied but p = %g", i, p)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if u != res.U {
				t.Errorf("pair %d %v: U = %g, moremath %g", i, alt, u, res.U)
			}
			// moremath computes 1−Φ(z), which loses relative precision in
			// the far tail; compare where it still has it.
			if res.P > 1e-6 {
				d := math.Abs(p-res.P) / res.P
				worst = max(worst, d)
				compared++
				if d > 1e-9 {
					t.Errorf("pair %d %v: p = %.17g, moremath %.17g", i, alt, p, res.P)
				}
			}
		}
	}
	t.Logf("%d p-values compared with go-moremath, max relative difference %.3g", compared, worst)
}

func BenchmarkJudge10kx10k(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	base, canary := MustLogNormal(b, r, 10000, 1), MustLogNormal(b, r, 10000, 1.05)
	look := judge.Look{Index: 6, Planned: 12}
	for b.Loop() {
		judge.Judge(latency, base, canary, look, 0.01)
	}
}

func BenchmarkJudgeRollout(b *testing.B) {
	// The bench simulator's largest look: 2 minutes at 190 and 10 req/s.
	r := rand.New(rand.NewPCG(1, 2))
	base, canary := MustLogNormal(b, r, 22800, 1), MustLogNormal(b, r, 1200, 1)
	look := judge.Look{Index: 12, Planned: 12}
	for b.Loop() {
		judge.Judge(latency, base, canary, look, 0.01)
	}
}

func BenchmarkJudgeProportion(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	base, canary := bernoulli(r, 22800, 0.005), bernoulli(r, 1200, 0.005)
	look := judge.Look{Index: 12, Planned: 12}
	for b.Loop() {
		judge.Judge(errors5xx, base, canary, look, 0.01)
	}
}

// Fisher's exact test on a table small enough to work by hand: 3 events,
// all in the first 10 of 20 trials: P = C(17,7)/C(20,10) = 2/19.
func TestFisherExactByHand(t *testing.T) {
	for _, tt := range []struct {
		x, n, y, m int
		alt        judge.Alternative
		want       float64
	}{
		{3, 10, 0, 10, judge.Greater, 2.0 / 19},
		{3, 10, 0, 10, judge.Less, 1},
		{3, 10, 0, 10, judge.TwoSided, 4.0 / 19},
		{0, 10, 3, 10, judge.Less, 2.0 / 19},
		{0, 100, 0, 100, judge.Greater, 1},
	} {
		if got := judge.FisherExact(tt.x, tt.n, tt.y, tt.m, tt.alt); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("FisherExact(%d/%d vs %d/%d, %v) = %.15g, want %.15g", tt.x, tt.n, tt.y, tt.m, tt.alt, got, tt.want)
		}
	}
}
