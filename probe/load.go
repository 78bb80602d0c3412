package probe

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/upfactory/upfactory"
)

func validateLoad(l Load) []error {
	var errs []error
	if l.Rate <= 0 || math.IsNaN(l.Rate) || math.IsInf(l.Rate, 0) {
		errs = append(errs, fmt.Errorf("load.rate must be a positive number of requests per second"))
	}
	if l.Duration < 0 || l.LatencySlack < 0 || l.Connections < 0 || l.MaxP95Ratio < 0 || l.MaxP99Ratio < 0 {
		errs = append(errs, fmt.Errorf("load: duration, latency_slack, connections and ratios must not be negative"))
	}
	if l.MaxErrorRate != "" {
		if _, err := upfactory.ParsePercent(l.MaxErrorRate); err != nil {
			errs = append(errs, fmt.Errorf("load.max_error_rate: %w", err))
		}
	}
	for i, m := range l.Mix {
		if !strings.HasPrefix(m.Path, "/") {
			errs = append(errs, fmt.Errorf("load.mix[%d]: path %q must start with /", i, m.Path))
		}
		if m.Share < 0 || math.IsNaN(m.Share) {
			errs = append(errs, fmt.Errorf("load.mix[%d]: share must not be negative", i))
		}
	}
	return errs
}

// MixFromTraffic turns the router's recorded traffic, "METHOD /route" →
// count, into a mix with shares summing to 1, largest first. A key with no
// method is a GET; routes with no traffic are left out.
func MixFromTraffic(routes map[string]int64) []MixEntry {
	var total float64
	for _, n := range routes {
		if n > 0 {
			total += float64(n)
		}
	}
	var mix []MixEntry
	for _, k := range slices.Sorted(maps.Keys(routes)) {
		n := routes[k]
		if n <= 0 {
			continue
		}
		method, path, ok := strings.Cut(strings.TrimSpace(k), " ")
		if !ok {
			method, path = http.MethodGet, method
		}
		mix = append(mix, MixEntry{Method: strings.ToUpper(method), Path: strings.TrimSpace(path), Share: float64(n) / total})
	}
	slices.SortStableFunc(mix, func(a, b MixEntry) int {
		switch {
		case a.Share > b.Share:
			return -1
		case a.Share < b.Share:
			return 1
		}
		return 0
	})
	return mix
}

// DriveOptions configure one side of a load run.
type DriveOptions struct {
	URL         string
	Rate        float64 // requests per second
	Duration    time.Duration
	Mix         []MixEntry // default GET /
	Connections int        // requests in flight at most; default 64
	// Timeout bounds each request; default 10s.
	Timeout time.Duration
}

// Sample is what one side of a load run measured.
type Sample struct {
	Sent      int64 // requests sent
	Answered  int64 // with an HTTP status
	Errors    int64 // 5xx and requests with no answer
	Status4xx int64
	// Dropped counts requests due while every connection was busy and the
	// queue full; they were not sent.
	Dropped int64
	// Latencies of the answered requests, sorted, each from the moment the
	// request was queued for a connection rather than sent, so that a
	// target too slow to keep up shows as latency instead of as fewer
	// requests. Not from the moment it was due: a generator starved of CPU
	// sends late on both sides alike, and that lag is not the target's.
	Latencies []time.Duration
	Elapsed   time.Duration
	LastErr   string
}

// Percentile returns the latency at quantile q (0 < q ≤ 1) by nearest
// rank, or 0 when nothing was answered.
func (s Sample) Percentile(q float64) time.Duration {
	if len(s.Latencies) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(s.Latencies)))) - 1
	return s.Latencies[min(max(i, 0), len(s.Latencies)-1)]
}

// ErrorRate is the share of requests due that got no good answer: errors
// and dropped requests (a user would have had no answer either) over sent
// and dropped; 0 when none was due.
func (s Sample) ErrorRate() float64 {
	return rate(s.Errors+s.Dropped, s.Sent+s.Dropped)
}

// Throughput is answered requests per second.
func (s Sample) Throughput() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Answered) / s.Elapsed.Seconds()
}

// Drive sends load to o.URL at o.Rate for o.Duration, open loop: requests
// are due on a fixed schedule whatever the target does. Latencies are
// kept exactly and sorted at the end, which costs 8 bytes a request; a
// comparison of minutes at hundreds of requests per second stays well
// under a few megabytes, so no histogram is needed.
func Drive(ctx context.Context, o DriveOptions) Sample {
	if o.Connections <= 0 {
		o.Connections = 64
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	mix := newMixer(o.Mix)
	base := strings.TrimRight(o.URL, "/")
	transport := &http.Transport{
		MaxIdleConns:        o.Connections,
		MaxIdleConnsPerHost: o.Connections,
		MaxConnsPerHost:     o.Connections,
		IdleConnTimeout:     30 * time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: o.Timeout}

	type job struct {
		queued time.Time
		q      MixEntry
	}
	jobs := make(chan job, o.Connections)
	var (
		mu sync.Mutex
		s  Sample
		wg sync.WaitGroup
	)
	for range o.Connections {
		wg.Go(func() {
			var lat []time.Duration
			var answered, errs, c4xx, sent int64
			var lastErr string
			for j := range jobs {
				sent++
				status, err := send(ctx, client, base, j.q)
				switch {
				case err != nil && ctx.Err() != nil:
					sent-- // the run ended mid-request: not the target's doing
					continue
				case err != nil:
					errs++
					lastErr = err.Error()
					continue
				}
				answered++
				lat = append(lat, time.Since(j.queued))
				if status >= 500 {
					errs++
					lastErr = http.StatusText(status)
				} else if status >= 400 {
					c4xx++
				}
			}
			mu.Lock()
			defer mu.Unlock()
			s.Latencies = append(s.Latencies, lat...)
			s.Sent += sent
			s.Answered += answered
			s.Errors += errs
			s.Status4xx += c4xx
			if lastErr != "" {
				s.LastErr = lastErr
			}
		})
	}

	start := time.Now()
	end := start.Add(o.Duration)
	if !(o.Rate > 0) || math.IsInf(o.Rate, 0) {
		o.Rate = 1e9 // unset or unusable: as fast as it goes
	}
	interval := max(time.Duration(float64(time.Second)/o.Rate), time.Nanosecond)
	var n int64 // requests scheduled so far
	dropped := int64(0)
schedule:
	for {
		now := time.Now()
		if !now.Before(end) {
			break
		}
		// Every request whose due time has passed goes now, so a rate
		// above what one timer can tick is still met.
		due := min(int64(now.Sub(start)/interval)+1, int64(o.Duration/interval)+1)
		saturated := false
		for n < due {
			select {
			case jobs <- job{queued: time.Now(), q: mix.next()}:
				n++
			default: // every connection busy and the queue full
				dropped += due - n
				n = due
				saturated = true
			}
		}
		wait := time.Until(start.Add(time.Duration(n) * interval))
		if saturated {
			wait = max(wait, 100*time.Microsecond) // do not spin while the target is full
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			break schedule
		case <-t.C:
		}
	}
	close(jobs)
	wg.Wait()
	s.Elapsed = time.Since(start)
	s.Dropped = dropped
	slices.Sort(s.Latencies)
	return s
}

func send(ctx context.Context, c *http.Client, base string, q MixEntry) (int, error) {
	req, err := http.NewRequestWithContext(ctx, q.Method, base+q.Path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, unwrapURLError(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// mixer yields requests in proportion to their shares, deterministically
// (smooth weighted round robin), so both sides see the same sequence and
// a short run already has the configured mix.
type mixer struct {
	entries []MixEntry
	current []float64
	total   float64
}

func newMixer(mix []MixEntry) *mixer {
	m := &mixer{}
	for _, e := range mix {
		if e.Share > 0 {
			if e.Method == "" {
				e.Method = http.MethodGet
			}
			m.entries = append(m.entries, e)
			m.total += e.Share
		}
	}
	if len(m.entries) == 0 {
		m.entries, m.total = []MixEntry{{Method: http.MethodGet, Path: "/", Share: 1}}, 1
	}
	m.current = make([]float64, len(m.entries))
	return m
}

func (m *mixer) next() MixEntry {
	best := 0
	for i, e := range m.entries {
		m.current[i] += e.Share
		if m.current[i] > m.current[best] {
			best = i
		}
	}
	m.current[best] -= m.total
	return m.entries[best]
}

// Defaults of a load comparison.
const (
	DefaultLoadDuration = 30 * time.Second
	DefaultMaxP95Ratio  = 1.5
	DefaultMaxP99Ratio  = 2.0
	DefaultMaxErrorRate = "1%"
	DefaultLatencySlack = 5 * time.Millisecond
)

// CompareLoad drives the twin and the stable version side by side, each at
// l.Rate with l.Mix, and fails when the twin's p95 or p99 exceeds its ratio
// limit times stable's (by more than LatencySlack) or its error rate
// exceeds stable's by more than MaxErrorRate. It is an error when stable
// answered nothing, since there is then nothing to compare with.
func CompareLoad(ctx context.Context, l Load, twinURL, stableURL string) Result {
	res := Result{Kind: KindLoad, Name: "load", Started: time.Now()}
	defer func() { res.Duration = time.Since(res.Started) }()
	if errs := validateLoad(l); len(errs) > 0 {
		res.Outcome, res.Reason = Error, errors.Join(errs...).Error()
		return res
	}
	d := cmp.Or(l.Duration.D(), DefaultLoadDuration)
	p95Max := cmp.Or(l.MaxP95Ratio, DefaultMaxP95Ratio)
	p99Max := cmp.Or(l.MaxP99Ratio, DefaultMaxP99Ratio)
	slack := cmp.Or(l.LatencySlack.D(), DefaultLatencySlack)
	errMax, _ := upfactory.ParsePercent(cmp.Or(l.MaxErrorRate, DefaultMaxErrorRate)) // validated above

	var twin, stable Sample
	var wg sync.WaitGroup
	opts := DriveOptions{Rate: l.Rate, Duration: d, Mix: l.Mix, Connections: l.Connections}
	wg.Go(func() { o := opts; o.URL = twinURL; twin = Drive(ctx, o) })
	wg.Go(func() { o := opts; o.URL = stableURL; stable = Drive(ctx, o) })
	wg.Wait()

	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	res.Measures = map[string]float64{}
	for side, s := range map[string]Sample{"twin": twin, "stable": stable} {
		res.Measures[side+"_sent"] = float64(s.Sent)
		res.Measures[side+"_dropped"] = float64(s.Dropped)
		res.Measures[side+"_p50_ms"] = ms(s.Percentile(0.50))
		res.Measures[side+"_p95_ms"] = ms(s.Percentile(0.95))
		res.Measures[side+"_p99_ms"] = ms(s.Percentile(0.99))
		res.Measures[side+"_error_rate"] = s.ErrorRate()
		res.Measures[side+"_4xx_rate"] = rate(s.Status4xx, s.Sent)
		res.Measures[side+"_rps"] = s.Throughput()
	}
	if ctx.Err() != nil {
		res.Outcome, res.Reason = Error, "cancelled: "+context.Cause(ctx).Error()
		return res
	}
	if stable.Answered == 0 {
		res.Outcome, res.Reason = Error, fmt.Sprintf("no data: stable answered none of %d requests (%s)", stable.Sent, stable.LastErr)
		return res
	}

	var fails []string
	latency := func(name string, q, limit float64) {
		t, s := twin.Percentile(q), stable.Percentile(q)
		ratio := math.Inf(1)
		if s > 0 {
			ratio = float64(t) / float64(s)
		}
		res.Measures[name+"_ratio"] = ratio
		if twin.Answered > 0 && ratio > limit && t-s > slack {
			fails = append(fails, fmt.Sprintf("%s %s is %.2f× stable's %s (limit %.2f×)", name, round(t), ratio, round(s), limit))
		}
	}
	latency("p95", 0.95, p95Max)
	latency("p99", 0.99, p99Max)
	if te, se := twin.ErrorRate(), stable.ErrorRate(); te-se > errMax || twin.Answered == 0 {
		fails = append(fails, fmt.Sprintf("error rate %.2f%% (%d errors, %d dropped, of %d) against stable's %.2f%% (limit +%.2f points)", 100*te, twin.Errors, twin.Dropped, twin.Sent+twin.Dropped, 100*se, 100*errMax))
	}
	summary := fmt.Sprintf("twin p95 %s p99 %s errors %.2f%%; stable p95 %s p99 %s errors %.2f%%; %d and %d requests at %g/s for %s",
		round(twin.Percentile(0.95)), round(twin.Percentile(0.99)), 100*twin.ErrorRate(),
		round(stable.Percentile(0.95)), round(stable.Percentile(0.99)), 100*stable.ErrorRate(),
		twin.Sent, stable.Sent, l.Rate, d)
	if len(fails) > 0 {
		res.Outcome, res.Reason = Fail, strings.Join(fails, "; ")+" — "+summary
		return res
	}
	res.Outcome, res.Reason = Pass, summary
	return res
}

func rate(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func round(d time.Duration) time.Duration {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(10 * time.Microsecond)
}
