// Command judge simulates canary rollouts to measure the statistical judge
// (package judge): detection power and time to detect per regression size,
// and the false-positive rate of whole rollouts on A/A runs. See
// bench/README.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/upfactory/upfactory/judge"
)

type params struct {
	rate       float64 // requests/s over both versions
	share      float64 // the canary's share of the traffic
	interval   time.Duration
	duration   time.Duration // analysis time of one rollout
	aa, n      int           // rollouts for A/A and for each regression
	seed       uint64
	alpha      float64 // false-positive budget of a whole rollout
	median     float64 // baseline latency median, ms
	p95        float64 // baseline latency p95, ms
	errRate    float64 // baseline 5xx share
	latTol     float64
	errTol     float64
	errFloor   float64
	minSamples int
	workers    int
}

type scenario struct {
	name     string
	latScale float64 // canary latency multiplier (its p95 rises by the same factor)
	errRate  float64 // canary 5xx share
	rollouts int
}

// result of one rollout.
type result struct {
	failAt      int // look of the first fail, 0 when none
	metric      string
	final       judge.Outcome // analysis outcome at the last look when none failed
	naiveFailAt int           // same with the per-metric alpha at every look
}

func main() {
	var p params
	flag.Float64Var(&p.rate, "rate", 200, "requests/s over baseline and canary")
	flag.Float64Var(&p.share, "share", 0.05, "the canary's share of the traffic")
	flag.DurationVar(&p.interval, "interval", 10*time.Second, "time between looks")
	flag.DurationVar(&p.duration, "duration", 2*time.Minute, "analysis time of one rollout (planned looks = duration/interval)")
	flag.IntVar(&p.aa, "aa", 1000, "A/A rollouts")
	flag.IntVar(&p.n, "n", 200, "rollouts per regression")
	flag.Uint64Var(&p.seed, "seed", 1, "random seed")
	flag.Float64Var(&p.alpha, "alpha", 0.01, "false-positive budget of a whole rollout, split evenly over the metrics")
	flag.Float64Var(&p.median, "median", 50, "baseline latency median, ms")
	flag.Float64Var(&p.p95, "p95", 150, "baseline latency p95, ms")
	flag.Float64Var(&p.errRate, "errors", 0.005, "baseline 5xx share")
	flag.Float64Var(&p.latTol, "latency-tolerance", 0.05, "acceptable relative latency shift")
	flag.Float64Var(&p.errTol, "error-tolerance", 0.2, "acceptable relative 5xx shift")
	flag.Float64Var(&p.errFloor, "error-floor", 0.002, "acceptable absolute 5xx shift (floor)")
	flag.IntVar(&p.minSamples, "min-samples", 50, "fewest samples per side for a verdict")
	flag.IntVar(&p.workers, "workers", runtime.GOMAXPROCS(0), "rollouts simulated in parallel")
	flag.Parse()
	if err := run(os.Stdout, p); err != nil {
		fmt.Fprintln(os.Stderr, "judge:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, p params) error {
	looks := int(p.duration / p.interval)
	if looks < 1 || p.share <= 0 || p.share >= 1 || p.rate <= 0 || p.p95 <= p.median {
		return fmt.Errorf("need duration >= interval, 0 < share < 1, rate > 0, p95 > median")
	}
	sigma := math.Log(p.p95/p.median) / 1.6448536269514722
	metrics := []judge.Metric{
		{Name: "latency", Direction: judge.HigherIsWorse, Kind: judge.Continuous, Tolerance: p.latTol, MinSamples: p.minSamples, Critical: true},
		{Name: "5xx", Direction: judge.HigherIsWorse, Kind: judge.Proportion, Tolerance: p.errTol, Floor: p.errFloor, MinSamples: p.minSamples, Critical: true},
	}
	perMetric := p.alpha / float64(len(metrics))
	fmt.Fprintf(w, "traffic %g req/s, canary share %g: %g req/s canary, %g req/s baseline (Poisson arrivals)\n",
		p.rate, p.share, p.rate*p.share, p.rate*(1-p.share))
	fmt.Fprintf(w, "baseline latency log-normal: median %g ms, p95 %g ms (sigma %.3f); baseline 5xx %.2f%% per request\n",
		p.median, p.p95, sigma, 100*p.errRate)
	fmt.Fprintf(w, "looks every %s over %s: %d planned looks, cumulative window (all samples since the analysis began)\n",
		p.interval, p.duration, looks)
	fmt.Fprintf(w, "metrics, both critical: latency (per-request ms, tolerance %g relative), 5xx (per-request 0/1, tolerance max(%g x baseline rate, %g)); min samples %d\n",
		p.latTol, p.errTol, p.errFloor, p.minSamples)
	fmt.Fprintf(w, "alpha %g per rollout, %g per metric, spent over the looks by Lan-DeMets O'Brien-Fleming (judge.AlphaAt)\n", p.alpha, perMetric)
	fmt.Fprintf(w, "peer: the same judge with a fixed alpha %g at every look (no spending)\n", perMetric)
	fmt.Fprintf(w, "rollouts: %d A/A, %d per regression; seed %d; %d workers\n\n", p.aa, p.n, p.seed, p.workers)

	scenarios := []scenario{
		{"A/A", 1, p.errRate, p.aa},
		{"p95 +10%", 1.10, p.errRate, p.n},
		{"p95 +30%", 1.30, p.errRate, p.n},
		{"p95 +100%", 2.00, p.errRate, p.n},
		{"5xx 1%", 1, 0.01, p.n},
		{"5xx 5%", 1, 0.05, p.n},
	}
	start := time.Now()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\trollouts\tfailed\tpower / FP rate\t95% CI\tmedian time to detect\tby latency / 5xx\tpeer: failed\tpeer median time\t")
	var aaFP, aaUpper, power30 float64
	var aaFinal map[judge.Outcome]int
	var power30Time time.Duration
	for si, sc := range scenarios {
		if sc.rollouts < 1 {
			continue
		}
		res := simulate(p, sc, si, metrics, perMetric, looks, sigma)
		var times, naiveTimes []int
		byLat, byErr := 0, 0
		final := map[judge.Outcome]int{}
		for _, r := range res {
			if r.failAt > 0 {
				times = append(times, r.failAt)
				if r.metric == "latency" {
					byLat++
				} else {
					byErr++
				}
			} else {
				final[r.final]++
			}
			if r.naiveFailAt > 0 {
				naiveTimes = append(naiveTimes, r.naiveFailAt)
			}
		}
		share := float64(len(times)) / float64(len(res))
		lo, hi := clopperPearson(len(times), len(res))
		med := medianLook(times, p.interval)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%\t%.1f-%.1f%%\t%s\t%d / %d\t%d\t%s\t\n", sc.name, len(res), len(times), 100*share,
			100*lo, 100*hi, fmtDur(med), byLat, byErr, len(naiveTimes), fmtDur(medianLook(naiveTimes, p.interval)))
		if si == 0 {
			aaFP, aaUpper, aaFinal = share, hi, final
		}
		if sc.name == "p95 +30%" {
			power30, power30Time = share, med
		}
	}
	tw.Flush()
	if p.aa < 1 {
		fmt.Fprintf(w, "simulated in %s\n", time.Since(start).Round(100*time.Millisecond))
		return nil
	}
	fmt.Fprintf(w, "\nA/A rollouts that did not fail, outcome at the last look: %d pass, %d inconclusive, %d nodata\n",
		aaFinal[judge.Pass], aaFinal[judge.Inconclusive], aaFinal[judge.NoData])
	fmt.Fprintf(w, "goal: false positives <= 1%% of rollouts: %.2f%% (95%% upper bound %.2f%%): %s\n", 100*aaFP, 100*aaUpper, met(aaUpper <= 0.01, aaFP <= 0.01))
	if p.n > 0 {
		fmt.Fprintf(w, "goal: power >= 95%% within %s for p95 +30%% at %g%% of %g req/s: %.1f%%, median time to detect %s: %s\n",
			p.duration, 100*p.share, p.rate, 100*power30, fmtDur(power30Time), met(power30 >= 0.95, power30 >= 0.95))
	}
	fmt.Fprintf(w, "simulated in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func met(sure, point bool) string {
	switch {
	case sure:
		return "met"
	case point:
		return "met on the point estimate, not on its 95% bound"
	}
	return "NOT met"
}

// simulate runs sc.rollouts rollouts; rollout i draws from its own seeded
// stream, so results do not depend on the number of workers.
func simulate(p params, sc scenario, si int, metrics []judge.Metric, alpha float64, looks int, sigma float64) []result {
	res := make([]result, sc.rollouts)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(p.workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r := rand.New(rand.NewPCG(p.seed, uint64(si)<<32|uint64(i)))
				res[i] = rollout(r, p, sc, metrics, alpha, looks, sigma)
			}
		}()
	}
	for i := range res {
		next <- i
	}
	close(next)
	wg.Wait()
	return res
}

func rollout(r *rand.Rand, p params, sc scenario, metrics []judge.Metric, alpha float64, looks int, sigma float64) result {
	secs := p.interval.Seconds()
	var bLat, cLat, bErr, cErr []float64
	draw := func(lat, errs []float64, n int, scale, errRate float64) ([]float64, []float64) {
		for range n {
			lat = append(lat, scale*p.median*math.Exp(sigma*r.NormFloat64()))
			e := 0.0
			if r.Float64() < errRate {
				e = 1
			}
			errs = append(errs, e)
		}
		return lat, errs
	}
	var out result
	th := judge.Thresholds{Pass: 95, Marginal: 75}
	for k := 1; k <= looks; k++ {
		bLat, bErr = draw(bLat, bErr, poisson(r, p.rate*(1-p.share)*secs), 1, p.errRate)
		cLat, cErr = draw(cLat, cErr, poisson(r, p.rate*p.share*secs), sc.latScale, sc.errRate)
		look := judge.Look{Index: k, Planned: looks}
		vs := []judge.Verdict{
			judge.Judge(metrics[0], bLat, cLat, look, alpha),
			judge.Judge(metrics[1], bErr, cErr, look, alpha),
		}
		if out.naiveFailAt == 0 {
			for _, v := range vs {
				// The peer: the same rule at the full per-metric alpha
				// (both metrics are higher-is-worse).
				worse := v.Shift
				if v.Outcome != judge.NoData && v.PValue < alpha && worse > v.Allowed {
					out.naiveFailAt = k
				}
			}
		}
		_, outcome, _ := judge.Score(metrics, vs, th)
		if outcome == judge.Fail {
			out.failAt = k
			for _, v := range vs {
				if v.Outcome == judge.Fail {
					out.metric = v.Metric
					break
				}
			}
			// A clear failure stops the rollout. The peer has failed by
			// now: its alpha is never below the judge's.
			return out
		}
		if k == looks {
			out.final = outcome
		}
	}
	return out
}

// poisson draws a Poisson count: Knuth's method for small means, the normal
// approximation (continuity-corrected) above 30.
func poisson(r *rand.Rand, mean float64) int {
	if mean > 30 {
		return max(0, int(math.Floor(mean+math.Sqrt(mean)*r.NormFloat64()+0.5)))
	}
	l, k, q := math.Exp(-mean), 0, 1.0
	for {
		q *= r.Float64()
		if q <= l {
			return k
		}
		k++
	}
}

func medianLook(looks []int, interval time.Duration) time.Duration {
	if len(looks) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(looks))
	n := len(s)
	if n%2 == 1 {
		return time.Duration(s[n/2]) * interval
	}
	return time.Duration(s[n/2-1]+s[n/2]) * interval / 2
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.String()
}

// clopperPearson is the exact 95% interval of a binomial share x/n, by
// bisection on the binomial tail.
func clopperPearson(x, n int) (lo, hi float64) {
	tail := func(p float64, atLeast int) float64 { // P(X >= atLeast)
		s := 0.0
		for i := atLeast; i <= n; i++ {
			s += math.Exp(lchoose(n, i) + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
		}
		return s
	}
	solve := func(f func(float64) float64) float64 { // f increasing, root of f = 0
		a, b := 0.0, 1.0
		for range 60 {
			m := (a + b) / 2
			if f(m) < 0 {
				a = m
			} else {
				b = m
			}
		}
		return (a + b) / 2
	}
	if x > 0 {
		lo = solve(func(p float64) float64 { return tail(p, x) - 0.025 })
	}
	hi = 1
	if x < n {
		hi = solve(func(p float64) float64 { return 0.025 - (1 - tail(p, x+1)) })
	}
	return lo, hi
}

func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
