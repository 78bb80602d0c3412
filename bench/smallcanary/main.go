// Command smallcanary simulates the README's example rollout on a small
// service (25 requests/s by default) to measure how often a healthy canary
// is rolled back or paused, and how fast a bad one is caught. It drives the
// decision code itself (analysis.Window, analysis.Measure, rollout.Tick and
// rollout.Apply) with a simulated, seeded traffic source; only the I/O of
// the engine is left out. The peer, measured in the same run, is the
// example as it stood before. See bench/README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/analysis"
	"github.com/upfactory/upfactory/config"
	"github.com/upfactory/upfactory/internal/readme"
	"github.com/upfactory/upfactory/judge"
	"github.com/upfactory/upfactory/rollout"
)

// oldChecks is the analysis block the README's example had before it was
// made safe for small services: the peer.
const oldChecks = `    analysis:
      interval: 5s
      checks:
        - {metric: error_rate, max: 1%, for: 30s}          # 5xx share, sustained
        - {metric: p95_latency, max_vs_baseline: 1.3, for: 30s}
        - {metric: p99_latency, max: 800ms}
`

type params struct {
	rate     float64 // requests/s over both versions
	median   float64 // latency median, ms (lognormal)
	sigma    float64 // lognormal shape: 0.5 puts p95 at 2.3 × median
	errRate  float64 // healthy 5xx share
	good     int     // healthy rollouts per config
	bad      int     // bad rollouts per config
	seed     uint64
	workers  int
	readme   string
	maxSteps time.Duration
}

type traffic struct {
	errRate  float64
	latScale float64 // canary latency multiplier
	addMs    float64 // canary latency added, ms
}

// outcome of one simulated rollout.
type outcome struct {
	phase   upfactory.Phase
	elapsed time.Duration
	reason  string
}

func main() {
	var p params
	flag.Float64Var(&p.rate, "rate", 25, "requests per second over both versions")
	flag.Float64Var(&p.median, "median", 40, "latency median in ms (lognormal)")
	flag.Float64Var(&p.sigma, "sigma", 0.5, "lognormal shape of latency")
	flag.Float64Var(&p.errRate, "errors", 0.002, "5xx share of a healthy version")
	flag.IntVar(&p.good, "good", 1000, "healthy rollouts per config")
	flag.IntVar(&p.bad, "bad", 200, "bad rollouts (8% 5xx, +120 ms) per config")
	flag.Uint64Var(&p.seed, "seed", 1, "random seed")
	flag.IntVar(&p.workers, "workers", runtime.GOMAXPROCS(0), "parallel simulations")
	flag.StringVar(&p.readme, "readme", "README.md", "the README whose Configuration example is simulated")
	flag.DurationVar(&p.maxSteps, "limit", 30*time.Minute, "simulated time after which a rollout counts as stuck")
	flag.Parse()
	if err := run(os.Stdout, p); err != nil {
		fmt.Fprintln(os.Stderr, "smallcanary:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, p params) error {
	b, err := os.ReadFile(p.readme)
	if err != nil {
		return err
	}
	example, err := readme.YAMLExample(string(b), "Configuration")
	if err != nil {
		return err
	}
	now, err := serviceOf(example)
	if err != nil {
		return fmt.Errorf("the README's example: %w", err)
	}
	old, err := serviceOf(replaceAnalysis(example, oldChecks))
	if err != nil {
		return fmt.Errorf("the earlier example: %w", err)
	}
	fmt.Fprintf(w, "simulated: %g requests/s (Poisson), latency lognormal median %gms sigma %g, healthy 5xx %.2g%%; seed %d\n",
		p.rate, p.median, p.sigma, 100*p.errRate, p.seed)
	fmt.Fprintf(w, "steps: %s\n\n", strings.Join(stepNames(now), " → "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "config\tcanary\trollouts\tcompleted\trolled back\t95% CI\tpaused\tmedian time\t")
	for _, c := range []struct {
		name string
		svc  *upfactory.Service
	}{{"README now", now}, {"README before", old}} {
		for _, sc := range []struct {
			name string
			tr   traffic
			n    int
		}{
			{"healthy", traffic{errRate: p.errRate, latScale: 1}, p.good},
			{"8% 5xx +120ms", traffic{errRate: 0.08, latScale: 1, addMs: 120}, p.bad},
		} {
			res := simulateMany(p, c.svc, sc.tr, sc.n)
			var done, back, paused int
			var times []time.Duration
			for _, r := range res {
				switch r.phase {
				case upfactory.PhaseCompleted:
					done++
				case upfactory.PhaseRolledBack:
					back++
				default:
					paused++
				}
				times = append(times, r.elapsed)
			}
			lo, hi := judge.Wilson(int64(back), int64(len(res)), 0.05)
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d (%.1f%%)\t%.1f–%.1f%%\t%d\t%s\t\n", c.name, sc.name, len(res), done, back,
				100*float64(back)/float64(len(res)), 100*lo, 100*hi, paused, median(times).Round(time.Second))
		}
	}
	return tw.Flush()
}

// replaceAnalysis swaps the example's analysis block for another.
func replaceAnalysis(example, analysisBlock string) string {
	i := strings.Index(example, "    analysis:\n")
	if i < 0 {
		return example
	}
	return example[:i] + analysisBlock
}

func serviceOf(yaml string) (*upfactory.Service, error) {
	dir, err := os.MkdirTemp("", "smallcanary-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg, err := config.Parse("README.md", []byte(yaml), filepath.Clean(dir))
	if err != nil {
		return nil, err
	}
	for _, s := range cfg.Services {
		if s.Delivered() {
			return s, nil
		}
	}
	return nil, errors.New("no delivered service")
}

func stepNames(svc *upfactory.Service) []string {
	var out []string
	for _, s := range svc.Strategy.Steps() {
		switch {
		case s.Weight != nil:
			out = append(out, fmt.Sprintf("%d%%", *s.Weight))
		case s.Analysis != nil:
			out = append(out, "analysis "+s.Analysis.Duration.String())
		case s.Approval != nil:
			out = append(out, "approval")
		case s.Pause != nil:
			out = append(out, "pause "+s.Pause.Duration.String())
		}
	}
	return out
}

func simulateMany(p params, svc *upfactory.Service, tr traffic, n int) []outcome {
	out := make([]outcome, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(p.workers, 1) {
		wg.Go(func() {
			for i := range next {
				r := rand.New(rand.NewPCG(p.seed, uint64(i)))
				out[i] = simulate(r, p, svc, tr)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// second is one simulated second of one version's traffic.
type second struct {
	requests, errors int64
	latencies        []float64 // seconds
}

// source keeps each version's traffic per simulated second.
type source struct {
	start time.Time
	secs  map[string][]second
}

func (s *source) stats(version string, window time.Duration, now time.Time) upfactory.TrafficStats {
	st := upfactory.TrafficStats{Version: version, Window: window}
	secs := s.secs[version]
	end := int(now.Sub(s.start) / time.Second)
	from := max(end-int(window/time.Second), 0)
	var lat []float64
	for i := from; i < min(end, len(secs)); i++ {
		st.Requests += secs[i].requests
		st.Errors5xx += secs[i].errors
		lat = append(lat, secs[i].latencies...)
	}
	st.Rate = float64(st.Requests) / window.Seconds()
	slices.Sort(lat)
	q := func(f float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return time.Duration(lat[min(int(math.Ceil(f*float64(len(lat))))-1, len(lat)-1)] * float64(time.Second))
	}
	st.P50, st.P95, st.P99 = q(0.50), q(0.95), q(0.99)
	return st
}

func simulate(r *rand.Rand, p params, svc *upfactory.Service, tr traffic) outcome {
	t0 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	src := &source{start: t0, secs: map[string][]second{}}
	st := rollout.InitialState(svc)
	const canary = "2.0.0"
	warm := time.Minute // stable traffic before the rollout starts
	interval := svc.Analysis.Interval.D()
	minSamples := svc.Analysis.MinSamples
	var started, lastMeasured time.Time
	for sec := 0; ; sec++ {
		now := t0.Add(time.Duration(sec) * time.Second)
		weight := 0
		if st.Rollout != nil && !st.Rollout.Phase.Done() {
			weight = st.Rollout.CanaryWeight
		}
		// One second of traffic, then the decisions at its end.
		var cs, ss second
		for range poisson(r, p.rate) {
			lat := math.Exp(math.Log(p.median/1000) + p.sigma*r.NormFloat64())
			if r.IntN(100) < weight {
				cs.requests++
				if r.Float64() < tr.errRate {
					cs.errors++
				}
				cs.latencies = append(cs.latencies, lat*tr.latScale+tr.addMs/1000)
				continue
			}
			ss.requests++
			if r.Float64() < p.errRate {
				ss.errors++
			}
			ss.latencies = append(ss.latencies, lat)
		}
		src.secs[canary] = append(src.secs[canary], cs)
		src.secs[svc.StableVersion] = append(src.secs[svc.StableVersion], ss)
		now = now.Add(time.Second)

		if sec+1 == int(warm/time.Second) {
			if _, err := rollout.Start(svc, st, canary, "bench", now); err != nil {
				return outcome{phase: upfactory.PhaseFailed, reason: err.Error()}
			}
			started = now
		}
		if st.Rollout == nil {
			continue
		}
		obs := rollout.Observation{Now: now, CanaryReady: true}
		if r := st.Rollout; !r.Phase.Done() && r.CanaryReady && r.CanaryWeight > 0 {
			switch {
			case lastMeasured.IsZero() || r.StepStartedAt.After(lastMeasured):
				lastMeasured = now
			case now.Sub(lastMeasured) >= interval:
				lastMeasured = now
				obs.Measurements = map[int]upfactory.Measurement{}
				for i, c := range svc.Analysis.Checks {
					if c.Judged() {
						continue // the example has none; the engine plans judged looks itself
					}
					win := analysis.Window(c, interval, func(w time.Duration) int64 { return src.stats(canary, w, now).Requests }, minSamples)
					obs.Measurements[i] = analysis.Measure(c, src.stats(canary, win, now), src.stats(svc.StableVersion, win, now), minSamples, now)
				}
			}
		}
		rollout.Tick(svc, st, obs)
		ro := st.Rollout
		switch {
		case ro.Phase == upfactory.PhaseAwaitingApproval:
			rollout.Apply(svc, st, rollout.Command{Action: "approve", Actor: "bench"}, now)
		case ro.Phase.Done(), ro.Phase == upfactory.PhasePaused:
			return outcome{phase: ro.Phase, elapsed: now.Sub(started), reason: ro.Message}
		case now.Sub(started) > p.maxSteps:
			return outcome{phase: ro.Phase, elapsed: now.Sub(started), reason: "still going"}
		}
	}
}

func poisson(r *rand.Rand, mean float64) int {
	l, k, prod := math.Exp(-mean), 0, r.Float64()
	for prod > l {
		k++
		prod *= r.Float64()
	}
	return k
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
