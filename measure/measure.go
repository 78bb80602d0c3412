// Package measure takes the measurements of a service's checks during a
// rollout from the provider each check names: builtin (the router's
// per-version and per-route counts, and the exec target's CPU and memory),
// prometheus (PromQL templates), probe (the compatibility stage's journeys
// run against each version directly) and exec (a command that prints a
// number). A limit check gets one reading per interval, compared with its
// limits; a judged check gets the samples gathered since its analysis step
// began, handed to the statistical judge.
//
// A provider that cannot measure (Prometheus down, a query that errors, a
// command that fails) gives an Error measurement with the reason, never a
// Pass; the rollout counts them and pauses after too many in a row.
package measure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/analysis"
	"github.com/upfactory/upfactory/judge"
	"github.com/upfactory/upfactory/probe"
	"github.com/upfactory/upfactory/promsource"
)

// Env is what the providers read from.
type Env struct {
	Service *upfactory.Service
	// Traffic gives trailing-window stats per version (the router).
	Traffic upfactory.MetricSource
	// Samples gives per-second counts since a time and per route (the
	// built-in router); nil when the router keeps none.
	Samples upfactory.SampleSource
	// Usage reads the instances' CPU and memory (the exec target); nil
	// when the target cannot.
	Usage upfactory.UsageReporter
	// Prometheus runs the prometheus provider's queries; nil when the
	// config has no prometheus section.
	Prometheus *promsource.Source
	// Client sends the probes' requests. Default a client without timeout
	// (each journey has its own).
	Client *http.Client
}

// Pools are the two versions compared and their instances.
type Pools struct {
	Canary, Stable           string
	CanaryAddrs, StableAddrs []string
}

// Look says where a judged check stands in its analysis step.
type Look struct {
	// Since is when the step began: samples are taken from then on.
	Since time.Time
	// Index and Planned number this look among the step's.
	Index, Planned int
	// Alpha is the check's false-positive budget for the whole step.
	Alpha float64
}

// Meter measures the checks of one service. It remembers what must carry
// from one measurement to the next: CPU readings, and the per-interval
// samples of judged checks. Safe for concurrent use.
type Meter struct {
	env Env

	mu sync.Mutex
	// cpu holds each CPU check's own last reading of each instance: the
	// checks of one tick are measured at once, and one check's reading
	// must not become another's previous one (which would measure the
	// CPU of the instant between them).
	cpu     map[int]map[string]upfactory.InstanceUsage // check index → instance → last reading
	history map[int]*history                           // check index → samples since a step began
	turn    map[int]int                                // check index → next instance to probe
}

type history struct {
	since            time.Time
	canary, baseline []float64
}

// New returns a meter for env.Service.
func New(env Env) *Meter {
	if env.Client == nil {
		env.Client = &http.Client{}
	}
	return &Meter{env: env, cpu: map[int]map[string]upfactory.InstanceUsage{}, history: map[int]*history{}, turn: map[int]int{}}
}

// errNoInstance is an error, not NoData: a version with weight must have one.
var errNoInstance = errors.New("no ready instance")

// Measure takes one measurement of check i. For a judged check, look must
// be set (the check is judged only during analysis steps); for a limit
// check it is ignored. The measurement's numbers are finite, since the
// rollout's state holds it as JSON: a value not measured (a baseline an
// absolute limit does not need) is 0, with a count of 0.
func (m *Meter) Measure(ctx context.Context, i int, p Pools, look *Look, now time.Time) upfactory.Measurement {
	return saveable(m.measure(ctx, i, p, look, now))
}

func (m *Meter) measure(ctx context.Context, i int, p Pools, look *Look, now time.Time) upfactory.Measurement {
	svc := m.env.Service
	c := svc.Analysis.Checks[i]
	interval := svc.Analysis.Interval.D()
	if interval <= 0 {
		interval = upfactory.DefaultInterval
	}
	minSamples := svc.Analysis.MinSamples
	if minSamples <= 0 {
		minSamples = upfactory.DefaultMinSamples
	}
	if c.Judged() {
		if look == nil {
			return upfactory.Measurement{At: now, Verdict: upfactory.VerdictPending, Reason: "judged during analysis steps only"}
		}
		canary, baseline, err := m.samples(ctx, i, c, p, look.Since, interval, now)
		if err != nil {
			return errored(c, now, err)
		}
		return analysis.Judge(c, canary, baseline, judge.Look{Index: look.Index, Planned: look.Planned}, look.Alpha, minSamples, look.Since, now)
	}
	r, minCount, err := m.reading(ctx, i, c, p, interval, minSamples, now)
	switch {
	case errors.Is(err, promsource.ErrNoData):
		// The query ran and measured nothing: NoData, saying why.
		return upfactory.Measurement{At: now, Window: upfactory.Duration(r.Window), Canary: r.Canary, CanaryCount: r.CanaryCount,
			Verdict: upfactory.VerdictNoData, Reason: fmt.Sprintf("%s: %v", c.ID(), err)}
	case err != nil:
		return errored(c, now, err)
	}
	return analysis.Compare(c, r, minCount, now)
}

// saveable replaces what JSON cannot hold: NaN by 0, infinities by the
// largest finite values.
func saveable(m upfactory.Measurement) upfactory.Measurement {
	m.Canary, m.Baseline = finite(m.Canary), finite(m.Baseline)
	if j := m.Judgement; j != nil {
		jj := *j
		for _, f := range []*float64{&jj.U, &jj.PValue, &jj.Alpha, &jj.Shift, &jj.ShiftLow, &jj.ShiftHigh, &jj.RelShift, &jj.Allowed} {
			*f = finite(*f)
		}
		m.Judgement = &jj
	}
	return m
}

func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return x
}

func errored(c upfactory.Check, now time.Time, err error) upfactory.Measurement {
	return upfactory.Measurement{At: now, Verdict: upfactory.VerdictError,
		Reason: fmt.Sprintf("%s: %s provider: %v", c.ID(), c.Provider, err)}
}

// reading takes one reading of a limit check, and the count it needs.
func (m *Meter) reading(ctx context.Context, i int, c upfactory.Check, p Pools, interval time.Duration, minSamples int, now time.Time) (analysis.Reading, int, error) {
	switch c.Provider {
	case upfactory.ProviderPrometheus:
		return m.promReading(ctx, c, p, interval, now)
	case upfactory.ProviderProbe, upfactory.ProviderExec:
		cv, bv, err := m.pair(ctx, i, c, p, needsBaseline(c), now)
		if err != nil {
			return analysis.Reading{}, 0, err
		}
		r := analysis.Reading{Canary: cv, Baseline: bv, CanaryCount: 1, BaselineCount: 1, Window: interval, Unit: "runs"}
		if !needsBaseline(c) {
			r.Baseline, r.BaselineCount = math.NaN(), 0
		}
		return r, 1, nil
	}
	switch c.Metric {
	case upfactory.MetricCPU, upfactory.MetricMemory:
		cs, bs, err := m.usage(ctx, i, c, p)
		if err != nil {
			return analysis.Reading{}, 0, err
		}
		return analysis.Reading{Canary: mean(cs), Baseline: mean(bs), CanaryCount: int64(len(cs)), BaselineCount: int64(len(bs)), Window: interval, Unit: "instance readings"}, 1, nil
	case upfactory.MetricEndpointErrors, upfactory.MetricConversion:
		if m.env.Samples == nil {
			return analysis.Reading{}, 0, errors.New("the router keeps no per-route counts")
		}
		w := analysis.Window(c, interval, func(w time.Duration) int64 { return m.env.Traffic.Stats(p.Canary, w, now).Requests }, minSamples)
		cr := m.env.Samples.Routes(p.Canary, now.Add(-w), now)
		br := m.env.Samples.Routes(p.Stable, now.Add(-w), now)
		if c.Metric == upfactory.MetricConversion {
			return conversionReading(c, cr, br, w), minSamples, nil
		}
		return EndpointErrors(cr, br, minSamples, w), minSamples, nil
	}
	w := analysis.Window(c, interval, func(w time.Duration) int64 { return m.env.Traffic.Stats(p.Canary, w, now).Requests }, minSamples)
	r, min := analysis.TrafficReading(c, m.env.Traffic.Stats(p.Canary, w, now), m.env.Traffic.Stats(p.Stable, w, now), minSamples)
	return r, min, nil
}

func needsBaseline(c upfactory.Check) bool { return c.MaxVsBaseline > 0 || c.MinVsBaseline > 0 }

// samples gathers a judged check's samples of both versions since since.
func (m *Meter) samples(ctx context.Context, i int, c upfactory.Check, p Pools, since time.Time, interval time.Duration, now time.Time) (canary, baseline []float64, err error) {
	switch c.Provider {
	case upfactory.ProviderPrometheus:
		if m.env.Prometheus == nil {
			return nil, nil, errors.New("no prometheus section in the config")
		}
		q := promsource.Query{Expr: c.Query, Range: true, Step: upfactory.Duration(interval)}
		canary, err = m.env.Prometheus.Samples(ctx, q, m.vars(p, true, interval), since, now)
		if err != nil && !errors.Is(err, promsource.ErrNoData) {
			return nil, nil, err
		}
		baseline, err = m.env.Prometheus.Samples(ctx, q, m.vars(p, false, interval), since, now)
		if err != nil && !errors.Is(err, promsource.ErrNoData) {
			return nil, nil, err
		}
		return canary, baseline, nil // no data gives too few samples: NoData
	case upfactory.ProviderProbe, upfactory.ProviderExec:
		cv, bv, err := m.pair(ctx, i, c, p, true, now)
		if err != nil {
			return nil, nil, err
		}
		return m.accumulate(i, since, []float64{cv}, []float64{bv})
	}
	switch c.Metric {
	case upfactory.MetricCPU, upfactory.MetricMemory:
		cs, bs, err := m.usage(ctx, i, c, p)
		if err != nil {
			return nil, nil, err
		}
		return m.accumulate(i, since, cs, bs)
	}
	if m.env.Samples == nil {
		return nil, nil, errors.New("the router keeps no samples to judge")
	}
	if c.Metric == upfactory.MetricConversion {
		cn, ce := conversionCounts(c, m.env.Samples.Routes(p.Canary, since, now))
		bn, be := conversionCounts(c, m.env.Samples.Routes(p.Stable, since, now))
		return analysis.OutcomeSamples(cn, ce, analysis.MaxSamples), analysis.OutcomeSamples(bn, be, analysis.MaxSamples), nil
	}
	cd := m.env.Samples.Distribution(p.Canary, since, now)
	bd := m.env.Samples.Distribution(p.Stable, since, now)
	switch c.Metric {
	case upfactory.MetricErrorRate:
		return analysis.OutcomeSamples(cd.Requests, cd.Errors5xx, analysis.MaxSamples), analysis.OutcomeSamples(bd.Requests, bd.Errors5xx, analysis.MaxSamples), nil
	case upfactory.MetricErrorRate4xx:
		return analysis.OutcomeSamples(cd.Requests, cd.Errors4xx, analysis.MaxSamples), analysis.OutcomeSamples(bd.Requests, bd.Errors4xx, analysis.MaxSamples), nil
	}
	// Latency: the judge compares whole distributions, so p50, p95 and p99
	// checks judge the same samples; the metric names what the user reads.
	return analysis.LatencySamples(cd, analysis.MaxSamples), analysis.LatencySamples(bd, analysis.MaxSamples), nil
}

// accumulate appends one look's per-interval samples to those of the step
// that began at since and returns them all.
func (m *Meter) accumulate(i int, since time.Time, canary, baseline []float64) ([]float64, []float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.history[i]
	if h == nil || !h.since.Equal(since) {
		h = &history{since: since}
		m.history[i] = h
	}
	h.canary = append(h.canary, canary...)
	h.baseline = append(h.baseline, baseline...)
	return slices.Clone(h.canary), slices.Clone(h.baseline), nil
}

// Samples returns the per-interval samples the meter accumulated for the
// analysis step that began at since, by check index: what no provider
// keeps, to be saved with the rollout.
func (m *Meter) Samples(since time.Time) map[int]upfactory.JudgedSamples {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out map[int]upfactory.JudgedSamples
	for i, h := range m.history {
		if !h.since.Equal(since) {
			continue
		}
		if out == nil {
			out = map[int]upfactory.JudgedSamples{}
		}
		out[i] = upfactory.JudgedSamples{Since: h.since, Canary: slices.Clone(h.canary), Baseline: slices.Clone(h.baseline)}
	}
	return out
}

// Restore gives the meter the samples a rollout saved, after a restart,
// so the step's next look judges them with its own.
func (m *Meter) Restore(saved map[int]upfactory.JudgedSamples) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, js := range saved {
		m.history[i] = &history{since: js.Since, canary: slices.Clone(js.Canary), baseline: slices.Clone(js.Baseline)}
	}
}

func (m *Meter) vars(p Pools, canary bool, window time.Duration) promsource.Vars {
	v := promsource.Vars{Service: m.env.Service.Name, Version: p.Stable, Pool: "stable", Window: window}
	if canary {
		v.Version, v.Pool = p.Canary, "canary"
	}
	return v
}

func (m *Meter) promReading(ctx context.Context, c upfactory.Check, p Pools, interval time.Duration, now time.Time) (analysis.Reading, int, error) {
	if m.env.Prometheus == nil {
		return analysis.Reading{}, 0, errors.New("no prometheus section in the config")
	}
	q := promsource.Query{Expr: c.Query}
	r := analysis.Reading{Window: interval, Unit: "values", Baseline: math.NaN()}
	cv, err := m.env.Prometheus.Value(ctx, q, m.vars(p, true, interval), now)
	if err != nil {
		return r, 0, err // ErrNoData is NoData (Measure)
	}
	r.Canary, r.CanaryCount = cv, 1
	if needsBaseline(c) {
		bv, err := m.env.Prometheus.Value(ctx, q, m.vars(p, false, interval), now)
		if err != nil {
			return r, 0, err
		}
		r.Baseline, r.BaselineCount = bv, 1
	}
	return r, 1, nil
}

// pair measures a probe or exec check once on each version; the baseline
// only when want.
func (m *Meter) pair(ctx context.Context, i int, c upfactory.Check, p Pools, want bool, now time.Time) (canary, baseline float64, err error) {
	m.mu.Lock()
	turn := m.turn[i]
	m.turn[i]++
	m.mu.Unlock()
	pick := func(addrs []string) (string, error) {
		if len(addrs) == 0 {
			return "", errNoInstance
		}
		return addrs[turn%len(addrs)], nil
	}
	run := func(version, pool string, addrs []string) (float64, error) {
		addr, err := pick(addrs)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", pool, version, err)
		}
		if c.Provider == upfactory.ProviderProbe {
			return m.probe(ctx, c, addr)
		}
		return m.exec(ctx, c, version, pool, addr)
	}
	canary, err = run(p.Canary, "canary", p.CanaryAddrs)
	if err != nil || !want {
		return canary, math.NaN(), err
	}
	baseline, err = run(p.Stable, "stable", p.StableAddrs)
	return canary, baseline, err
}

func (m *Meter) timeout(c upfactory.Check) time.Duration {
	if d := c.Timeout.D(); d > 0 {
		return d
	}
	if d := m.env.Service.Analysis.Interval.D(); d > 0 {
		return d
	}
	return upfactory.DefaultInterval
}

// probe runs c's journey once against addr: 1 for a failed journey and 0
// for a passed one (failure_rate), or its duration in seconds (latency).
// A journey that errs (refused, timed out) counts as failed: it is the
// version's answer, not the provider's. A failed journey's latency is its
// whole timeout, as slow as a journey gets: a finite value, since the
// judge leaves infinite samples out and would judge the failing version
// on its successes alone.
func (m *Meter) probe(ctx context.Context, c upfactory.Check, addr string) (float64, error) {
	var j *upfactory.Journey
	for k := range m.env.Service.Compat.Journeys {
		if m.env.Service.Compat.Journeys[k].Name == c.Journey {
			j = &m.env.Service.Compat.Journeys[k]
		}
	}
	if j == nil {
		return 0, fmt.Errorf("no journey %q in compat.journeys", c.Journey)
	}
	jj := *j
	if jj.Timeout <= 0 {
		jj.Timeout = upfactory.Duration(m.timeout(c))
	}
	res := probe.RunJourney(ctx, m.env.Client, "http://"+addr, jj)
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	if c.Metric == upfactory.MetricProbeLatency {
		if res.Outcome != probe.Pass {
			return jj.Timeout.D().Seconds(), nil
		}
		return res.Duration.Seconds(), nil
	}
	if res.Outcome == probe.Pass {
		return 0, nil
	}
	return 1, nil
}

// exec runs c's command for one version and reads the number it prints
// last. A command that fails, times out or prints no number is an error.
func (m *Meter) exec(ctx context.Context, c upfactory.Check, version, pool, addr string) (float64, error) {
	data := map[string]string{"Service": m.env.Service.Name, "Version": version, "Pool": pool, "Addr": addr}
	argv := make([]string, len(c.Command))
	for k, a := range c.Command {
		t, err := template.New("arg").Option("missingkey=error").Parse(a)
		if err != nil {
			return 0, fmt.Errorf("command[%d]: %w", k, err)
		}
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			return 0, fmt.Errorf("command[%d]: %w", k, err)
		}
		argv[k] = b.String()
	}
	timeout := m.timeout(c)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "UPFACTORY_SERVICE="+data["Service"], "UPFACTORY_VERSION="+version,
		"UPFACTORY_POOL="+pool, "UPFACTORY_ADDR="+addr)
	// A child of the command (a shell's) may keep its output open after
	// the command is killed or exits: stop waiting for it then.
	cmd.WaitDelay = execWaitDelay
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &limited{&out, 1 << 16}, &limited{&errb, 1 << 12}
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		err = nil // it exited with success; only a child held the output
	}
	switch {
	case ctx.Err() != nil:
		return 0, fmt.Errorf("%s (%s): %w", argv[0], pool, ctx.Err())
	case cctx.Err() == context.DeadlineExceeded:
		return 0, fmt.Errorf("%s (%s) timed out after %s", argv[0], pool, timeout)
	case err != nil:
		return 0, fmt.Errorf("%s (%s): %v: %s", argv[0], pool, err, tail(errb.String()))
	}
	fields := strings.Fields(out.String())
	if len(fields) == 0 {
		return 0, fmt.Errorf("%s (%s) printed nothing; it must print a number", argv[0], pool)
	}
	last := fields[len(fields)-1]
	v, err := strconv.ParseFloat(last, 64)
	if err != nil {
		return 0, fmt.Errorf("%s (%s) printed %q, not a number", argv[0], pool, tail(last))
	}
	return v, nil
}

// execWaitDelay bounds the wait for an exec check's output once its
// command exited or was killed.
const execWaitDelay = 500 * time.Millisecond

type limited struct {
	b *bytes.Buffer
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func tail(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		s = "…" + s[len(s)-200:]
	}
	return s
}

// usage reads one sample per instance of each version: the CPU cores it
// used since check i's previous reading, or its resident memory in bytes.
// An instance read for the first time gives no CPU sample yet.
func (m *Meter) usage(ctx context.Context, i int, c upfactory.Check, p Pools) (canary, baseline []float64, err error) {
	if m.env.Usage == nil {
		return nil, nil, errors.New("the target cannot read its instances' CPU and memory")
	}
	us, err := m.env.Usage.Usage(ctx)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	last := m.cpu[i]
	if c.Metric == upfactory.MetricCPU {
		// Only the instances of this reading are kept: stopped ones go.
		m.cpu[i] = make(map[string]upfactory.InstanceUsage, len(us))
	}
	for _, u := range us {
		v := float64(u.RSSBytes)
		if c.Metric == upfactory.MetricCPU {
			prev, seen := last[u.ID]
			m.cpu[i][u.ID] = u
			dt := u.At.Sub(prev.At).Seconds()
			if !seen || dt <= 0 || u.CPUSeconds < prev.CPUSeconds {
				continue
			}
			v = (u.CPUSeconds - prev.CPUSeconds) / dt
		}
		switch u.Version {
		case p.Canary:
			canary = append(canary, v)
		case p.Stable:
			baseline = append(baseline, v)
		}
	}
	return canary, baseline, nil
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// EndpointErrors finds the route whose 5xx rate rose most on the canary
// over the stable version's on the same route, among the routes where the
// canary served at least minSamples requests. The reading's value is that
// rise, its baseline the stable rate on the route, its count the canary's
// requests to it; Detail names the worst routes.
func EndpointErrors(canary, stable []upfactory.RouteStats, minSamples int, window time.Duration) analysis.Reading {
	base := map[string]upfactory.RouteStats{}
	for _, r := range stable {
		base[r.Route] = r
	}
	type rise struct {
		route            string
		delta, cr, br    float64
		requests, errors int64
	}
	var rises []rise
	var most int64
	for _, r := range canary {
		most = max(most, r.Requests)
		if r.Requests < int64(minSamples) {
			continue
		}
		b := base[r.Route]
		cr := float64(r.Errors5xx) / float64(r.Requests)
		br := 0.0
		if b.Requests > 0 {
			br = float64(b.Errors5xx) / float64(b.Requests)
		}
		rises = append(rises, rise{r.Route, cr - br, cr, br, r.Requests, r.Errors5xx})
	}
	rd := analysis.Reading{Window: window, Unit: "requests on its busiest route", CanaryCount: most, BaselineCount: most}
	if len(rises) == 0 {
		return rd
	}
	slices.SortFunc(rises, func(a, b rise) int {
		if a.delta != b.delta {
			if a.delta > b.delta {
				return -1
			}
			return 1
		}
		return strings.Compare(a.route, b.route)
	})
	top := rises[0]
	rd.Canary, rd.Baseline = max(top.delta, 0), top.br
	var parts []string
	for _, r := range rises[:min(3, len(rises))] {
		if r.delta <= 0 {
			break
		}
		parts = append(parts, fmt.Sprintf("%s %.2f%% vs stable %.2f%% (%d of %d)", r.route, 100*r.cr, 100*r.br, r.errors, r.requests))
	}
	rd.Detail = strings.Join(parts, "; ")
	return rd
}

// FunnelOf counts conversion check c's funnel in routes.
func FunnelOf(c upfactory.Check, routes []upfactory.RouteStats) upfactory.Funnel {
	n, events := conversionCounts(c, routes)
	return upfactory.Funnel{N: n, Events: events}
}

func conversionCounts(c upfactory.Check, routes []upfactory.RouteStats) (n, events int64) {
	for _, r := range routes {
		if r.Route == c.Denominator {
			n += r.Requests
		}
		if r.Route == c.Numerator {
			events += r.Requests - r.Errors4xx - r.Errors5xx
		}
	}
	return n, min(events, n)
}

func conversionReading(c upfactory.Check, canary, stable []upfactory.RouteStats, window time.Duration) analysis.Reading {
	cn, ce := conversionCounts(c, canary)
	bn, be := conversionCounts(c, stable)
	ratio := func(e, n int64) float64 {
		if n == 0 {
			return math.NaN()
		}
		return float64(e) / float64(n)
	}
	return analysis.Reading{Canary: ratio(ce, cn), Baseline: ratio(be, bn), CanaryCount: cn, BaselineCount: bn,
		Window: window, Unit: c.Denominator + " requests"}
}
