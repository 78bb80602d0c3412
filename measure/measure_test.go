package measure_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/measure"
	"github.com/upfactory/upfactory/proxy"
)

const (
	stableVersion = "1.0.0"
	canaryVersion = "2.0.0"
)

// newService returns a service with checks as config validation would
// leave them: Limit, Floor and the judge's ratios set by the test.
func newService(checks ...upfactory.Check) *upfactory.Service {
	return &upfactory.Service{
		Name: "shop",
		Analysis: upfactory.AnalysisSpec{
			Interval:   upfactory.Duration(time.Second),
			MinSamples: 20,
			Alpha:      0.05,
			Checks:     checks,
		},
	}
}

// tenSeconds sets svc's interval to 10s: a limit check reads the router's
// trailing window of one interval (wider only while the canary has too
// few requests), which must cover all of a test's traffic for its counts
// to be exact.
func tenSeconds(svc *upfactory.Service) *upfactory.Service {
	svc.Analysis.Interval = upfactory.Duration(10 * time.Second)
	return svc
}

// firstLook is the only look of a step that began at since, at the whole
// alpha: the judge's verdict at it is the one a test reads.
func firstLook(since time.Time) *measure.Look {
	return &measure.Look{Since: since, Index: 1, Planned: 1, Alpha: 0.05}
}

// router is the built-in router in front of a stable and a canary backend.
type router struct {
	proxy  *proxy.Proxy
	front  *httptest.Server
	client *http.Client
}

// MustRouter starts stable and canary as backends of a real proxy and
// the proxy itself; requests pick a version with proxy.HeaderVersion.
func MustRouter(tb testing.TB, stable, canary http.Handler) *router {
	tb.Helper()
	sb, cb := httptest.NewServer(stable), httptest.NewServer(canary)
	tb.Cleanup(sb.Close)
	tb.Cleanup(cb.Close)
	p := proxy.New(proxy.Options{Service: "shop", Logger: slog.New(slog.DiscardHandler)})
	err := p.SetPools(tb.Context(), []upfactory.Pool{
		{Version: stableVersion, Weight: 50, Addrs: []string{sb.Listener.Addr().String()}},
		{Version: canaryVersion, Weight: 50, Addrs: []string{cb.Listener.Addr().String()}},
	})
	if err != nil {
		tb.Fatalf("setting pools: %v", err)
	}
	front := httptest.NewServer(p)
	tb.Cleanup(front.Close)
	return &router{proxy: p, front: front, client: front.Client()}
}

// send sends n requests to version through the router, eight at a time,
// and fails the test when one gets no answer.
func (r *router) send(tb testing.TB, version, method, path string, n int) {
	tb.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed error
	fail := func(err error) {
		mu.Lock()
		failed = cmp.Or(failed, err)
		mu.Unlock()
	}
	work := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range work {
				req, err := http.NewRequest(method, r.front.URL+strings.ReplaceAll(path, "{i}", fmt.Sprint(i)), nil)
				if err != nil {
					fail(err)
					continue
				}
				req.Header.Set(proxy.HeaderVersion, version)
				resp, err := r.client.Do(req)
				if err != nil {
					fail(err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if got := resp.Header.Get(proxy.HeaderServedBy); got != "" && got != version {
					fail(fmt.Errorf("%s %s for %s was served by %s", method, path, version, got))
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if failed != nil {
		tb.Fatalf("sending %s %s to %s: %v", method, path, version, failed)
	}
}

// settled waits until the router has recorded want requests of each
// version since from, and returns a now that covers them: the router
// records a request once its answer is written, which the client may see
// a moment before.
func (r *router) settled(tb testing.TB, from time.Time, want map[string]int64) time.Time {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		now := time.Now()
		done := true
		for v, n := range want {
			if got := r.proxy.Distribution(v, from, now).Requests; got < n {
				done = false
				if now.After(deadline) {
					tb.Fatalf("the router recorded %d requests of %s since %s, want %d", got, v, from.Format(time.StampMicro), n)
				}
			}
		}
		if done {
			return now
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *router) env(svc *upfactory.Service) measure.Env {
	return measure.Env{Service: svc, Traffic: r.proxy, Samples: r.proxy}
}

var pools = measure.Pools{Canary: canaryVersion, Stable: stableVersion}

// every answers 500 to every nth request it gets on a path with prefix
// (counting those requests only), and 200 otherwise. Deterministic, unlike
// a random share.
func every(n int64, prefix string, next http.Handler) http.Handler {
	var count atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n > 0 && strings.HasPrefix(r.Method+" "+r.URL.Path, prefix) && count.Add(1)%n == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	_, _ = io.WriteString(w, "ok\n")
})

func TestEndpointErrorsNamesTheRoute(t *testing.T) {
	endpoint := upfactory.Check{Name: "endpoints", Metric: upfactory.MetricEndpointErrors, Provider: upfactory.ProviderBuiltin, Max: "5%", Limit: 0.05}
	overall := upfactory.Check{Name: "errors", Metric: upfactory.MetricErrorRate, Provider: upfactory.ProviderBuiltin, Max: "5%", Limit: 0.05}

	t.Run("canary errs on one route", func(t *testing.T) {
		// A third of the canary's order lookups fail; its product pages
		// are ten times busier and fine, so its overall rate stays under 5%.
		r := MustRouter(t, ok, every(3, "GET /orders/", ok))
		from := time.Now()
		for _, v := range []string{stableVersion, canaryVersion} {
			r.send(t, v, http.MethodGet, "/orders/{i}", 30)
			r.send(t, v, http.MethodGet, "/products", 300)
		}
		now := r.settled(t, from, map[string]int64{stableVersion: 330, canaryVersion: 330})
		m := measure.New(r.env(tenSeconds(newService(endpoint, overall))))

		got := mustMeasure(t, m, 0, pools, nil, now)
		if got.Verdict != upfactory.VerdictFail {
			t.Fatalf("endpoint_errors: %s (%s), want Fail", got.Verdict, got.Reason)
		}
		if !strings.Contains(got.Reason, "GET /orders/:id") {
			t.Errorf("reason %q does not name the route GET /orders/:id", got.Reason)
		}
		if want := 10.0 / 30; !near(got.Canary, want, 1e-9) || got.Baseline != 0 || got.CanaryCount != 300 {
			t.Errorf("measurement canary %g baseline %g count %d, want a rise of %g over 0 and the busiest route's 300 requests",
				got.Canary, got.Baseline, got.CanaryCount, want)
		}

		if all := mustMeasure(t, m, 1, pools, nil, now); all.Verdict != upfactory.VerdictPass {
			t.Errorf("overall error_rate of the same traffic: %s (%s), want Pass (%.2f%% < 5%%): the route's errors are diluted",
				all.Verdict, all.Reason, 100*all.Canary)
		}
	})

	t.Run("both versions err alike", func(t *testing.T) {
		r := MustRouter(t, every(3, "GET /orders/", ok), every(3, "GET /orders/", ok))
		from := time.Now()
		for _, v := range []string{stableVersion, canaryVersion} {
			r.send(t, v, http.MethodGet, "/orders/{i}", 30)
			r.send(t, v, http.MethodGet, "/products", 30)
		}
		now := r.settled(t, from, map[string]int64{stableVersion: 60, canaryVersion: 60})
		got := mustMeasure(t, measure.New(r.env(tenSeconds(newService(endpoint)))), 0, pools, nil, now)
		if got.Verdict != upfactory.VerdictPass || got.Canary != 0 {
			t.Errorf("endpoint_errors: %s (%s), rise %g; want Pass with no rise", got.Verdict, got.Reason, got.Canary)
		}
	})

	t.Run("too few requests on every route", func(t *testing.T) {
		r := MustRouter(t, ok, every(1, "GET /orders/", ok))
		from := time.Now()
		r.send(t, canaryVersion, http.MethodGet, "/orders/{i}", 10)
		r.send(t, stableVersion, http.MethodGet, "/orders/{i}", 10)
		now := r.settled(t, from, map[string]int64{stableVersion: 10, canaryVersion: 10})
		got := mustMeasure(t, measure.New(r.env(tenSeconds(newService(endpoint)))), 0, pools, nil, now)
		if got.Verdict != upfactory.VerdictNoData {
			t.Errorf("10 failing requests with min_samples 20: %s (%s), want NoData", got.Verdict, got.Reason)
		}
	})
}

func TestConversion(t *testing.T) {
	c := upfactory.Check{Name: "checkout", Metric: upfactory.MetricConversion, Provider: upfactory.ProviderBuiltin,
		Numerator: "POST /checkout", Denominator: "GET /cart", MinVsBaseline: 0.9}
	shopping := func(r *router, v string) {
		r.send(t, v, http.MethodGet, "/cart", 40)
		r.send(t, v, http.MethodPost, "/checkout", 40)
		r.send(t, v, http.MethodGet, "/products", 40)
	}
	want := map[string]int64{stableVersion: 120, canaryVersion: 120}

	t.Run("canary checks out less often", func(t *testing.T) {
		r := MustRouter(t, ok, every(2, "POST /checkout", ok))
		from := time.Now()
		shopping(r, stableVersion)
		shopping(r, canaryVersion)
		now := r.settled(t, from, want)
		got := mustMeasure(t, measure.New(r.env(tenSeconds(newService(c)))), 0, pools, nil, now)
		if got.Verdict != upfactory.VerdictFail {
			t.Fatalf("conversion: %s (%s), want Fail", got.Verdict, got.Reason)
		}
		if got.Canary != 0.5 || got.Baseline != 1 || got.CanaryCount != 40 || got.BaselineCount != 40 {
			t.Errorf("conversion %g vs %g over %d and %d carts, want 0.5 vs 1 over 40 each", got.Canary, got.Baseline, got.CanaryCount, got.BaselineCount)
		}
	})

	t.Run("equal versions", func(t *testing.T) {
		r := MustRouter(t, every(4, "POST /checkout", ok), every(4, "POST /checkout", ok))
		from := time.Now()
		shopping(r, stableVersion)
		shopping(r, canaryVersion)
		now := r.settled(t, from, want)
		got := mustMeasure(t, measure.New(r.env(tenSeconds(newService(c)))), 0, pools, nil, now)
		if got.Verdict != upfactory.VerdictPass || got.Canary != 0.75 {
			t.Errorf("conversion: %s (%s) at %g, want Pass at 0.75", got.Verdict, got.Reason, got.Canary)
		}
	})

	t.Run("judged", func(t *testing.T) {
		jc := c
		jc.MinVsBaseline = 0
		jc.Judge = &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1, FloorValue: 0.005}
		r := MustRouter(t, ok, every(2, "POST /checkout", ok))
		from := time.Now()
		shopping(r, stableVersion)
		shopping(r, canaryVersion)
		now := r.settled(t, from, want)
		got := mustMeasure(t, measure.New(r.env(newService(jc))), 0, pools, firstLook(from), now)
		if got.Verdict != upfactory.VerdictFail || got.Judgement == nil || got.CanaryCount != 40 {
			t.Errorf("judged conversion: %s (%s), %d canary samples; want Fail over 40 carts", got.Verdict, got.Reason, got.CanaryCount)
		}
	})
}

func TestJudgedErrorRate(t *testing.T) {
	c := upfactory.Check{Name: "errors", Metric: upfactory.MetricErrorRate, Provider: upfactory.ProviderBuiltin,
		Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1, FloorValue: 0.005}}

	t.Run("canary errs 10%", func(t *testing.T) {
		r := MustRouter(t, ok, every(10, "GET /", ok))
		from := time.Now()
		r.send(t, stableVersion, http.MethodGet, "/products/{i}", 300)
		r.send(t, canaryVersion, http.MethodGet, "/products/{i}", 300)
		now := r.settled(t, from, map[string]int64{stableVersion: 300, canaryVersion: 300})
		got := mustMeasure(t, measure.New(r.env(newService(c))), 0, pools, firstLook(from), now)
		if got.Verdict != upfactory.VerdictFail {
			t.Fatalf("judged error_rate: %s (%s), want Fail", got.Verdict, got.Reason)
		}
		j := got.Judgement
		if j == nil || !(j.PValue < j.Alpha) || j.Alpha != 0.05 {
			t.Fatalf("judgement %+v: want p below the look's alpha 0.05", j)
		}
		if got.CanaryCount != 300 || got.BaselineCount != 300 || !near(got.Canary, 0.1, 1e-9) || got.Baseline != 0 {
			t.Errorf("measurement %+v: want rates 0.1 vs 0 over 300 requests each", got)
		}
		if !got.Since.Equal(from) {
			t.Errorf("Since = %s, want the look's %s", got.Since, from)
		}
	})

	t.Run("equal versions", func(t *testing.T) {
		r := MustRouter(t, every(10, "GET /", ok), every(10, "GET /", ok))
		from := time.Now()
		r.send(t, stableVersion, http.MethodGet, "/products/{i}", 300)
		r.send(t, canaryVersion, http.MethodGet, "/products/{i}", 300)
		now := r.settled(t, from, map[string]int64{stableVersion: 300, canaryVersion: 300})
		got := mustMeasure(t, measure.New(r.env(newService(c))), 0, pools, firstLook(from), now)
		if got.Verdict == upfactory.VerdictFail || got.Verdict == upfactory.VerdictError || got.Verdict == upfactory.VerdictNoData {
			t.Errorf("judged error_rate of equal versions: %s (%s)", got.Verdict, got.Reason)
		}
	})

	t.Run("requests before the step are not counted", func(t *testing.T) {
		r := MustRouter(t, ok, every(10, "GET /", ok))
		before := time.Now()
		r.send(t, canaryVersion, http.MethodGet, "/products/{i}", 50)
		r.settled(t, before, map[string]int64{canaryVersion: 50})
		// The step begins in the next whole second.
		since := time.Unix(time.Now().Unix()+1, 0)
		time.Sleep(time.Until(since))
		now := time.Now()
		got := mustMeasure(t, measure.New(r.env(newService(c))), 0, pools, firstLook(since), now)
		if got.Verdict != upfactory.VerdictNoData || got.CanaryCount != 0 {
			t.Errorf("a step with no request yet: %s (%s), %d canary samples; want NoData with none", got.Verdict, got.Reason, got.CanaryCount)
		}
	})
}

func TestJudgedLatency(t *testing.T) {
	c := upfactory.Check{Name: "latency", Metric: upfactory.MetricP95Latency, Provider: upfactory.ProviderBuiltin,
		Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1, FloorValue: 0.001}}
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(50 * time.Millisecond)
		ok.ServeHTTP(w, r)
	})

	t.Run("canary 50ms slower", func(t *testing.T) {
		r := MustRouter(t, ok, slow)
		from := time.Now()
		r.send(t, stableVersion, http.MethodGet, "/products", 40)
		r.send(t, canaryVersion, http.MethodGet, "/products", 40)
		now := r.settled(t, from, map[string]int64{stableVersion: 40, canaryVersion: 40})
		got := mustMeasure(t, measure.New(r.env(newService(c))), 0, pools, firstLook(from), now)
		if got.Verdict != upfactory.VerdictFail || got.Judgement == nil {
			t.Fatalf("judged latency: %s (%s), want Fail", got.Verdict, got.Reason)
		}
		if j := got.Judgement; j.Shift < 0.04 || !(j.PValue < j.Alpha) {
			t.Errorf("judgement %+v: want a significant shift of about +50ms", j)
		}
		if got.Canary < 0.05 || got.CanaryCount != 40 || got.BaselineCount != 40 {
			t.Errorf("canary median %gs over %d vs %d requests, want at least 50ms over 40 each", got.Canary, got.CanaryCount, got.BaselineCount)
		}
	})

	t.Run("too few requests", func(t *testing.T) {
		r := MustRouter(t, ok, slow)
		from := time.Now()
		r.send(t, stableVersion, http.MethodGet, "/products", 40)
		r.send(t, canaryVersion, http.MethodGet, "/products", 5)
		now := r.settled(t, from, map[string]int64{stableVersion: 40, canaryVersion: 5})
		got := mustMeasure(t, measure.New(r.env(newService(c))), 0, pools, firstLook(from), now)
		if got.Verdict != upfactory.VerdictNoData || got.Judgement != nil || got.CanaryCount != 5 {
			t.Errorf("5 canary requests with min_samples 20: %s (%s), %d samples, judgement %v; want NoData over 5",
				got.Verdict, got.Reason, got.CanaryCount, got.Judgement)
		}
	})
}

func TestJudgedNeedsALook(t *testing.T) {
	c := upfactory.Check{Name: "errors", Metric: upfactory.MetricErrorRate, Provider: upfactory.ProviderBuiltin,
		Judge: &upfactory.JudgeSpec{ToleranceRatio: 0.1}}
	r := MustRouter(t, ok, ok)
	got := mustMeasure(t, measure.New(r.env(newService(c))), 0, pools, nil, time.Now())
	if got.Verdict != upfactory.VerdictPending {
		t.Errorf("a judged check outside an analysis step: %s (%s), want Pending", got.Verdict, got.Reason)
	}
}

func TestBuiltinWithoutSamples(t *testing.T) {
	// A router that keeps no per-second samples cannot serve per-route or
	// judged checks: that is an error, never a pass.
	r := MustRouter(t, ok, ok)
	checks := []upfactory.Check{
		{Name: "endpoints", Metric: upfactory.MetricEndpointErrors, Provider: upfactory.ProviderBuiltin, Max: "5%", Limit: 0.05},
		{Name: "errors", Metric: upfactory.MetricErrorRate, Provider: upfactory.ProviderBuiltin, Judge: &upfactory.JudgeSpec{ToleranceRatio: 0.1}},
	}
	m := measure.New(measure.Env{Service: newService(checks...), Traffic: r.proxy})
	now := time.Now()
	for i, c := range checks {
		got := mustMeasure(t, m, i, pools, firstLook(now.Add(-time.Minute)), now)
		if got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, c.Name) {
			t.Errorf("%s without samples: %s (%s), want Error naming the check", c.Name, got.Verdict, got.Reason)
		}
	}
}

// mustMeasure takes one measurement and checks that it can be saved: the
// rollout's state holds the last one of each check as JSON, which has no
// NaN or infinity.
func mustMeasure(tb testing.TB, m *measure.Meter, i int, p measure.Pools, look *measure.Look, now time.Time) upfactory.Measurement {
	tb.Helper()
	got := m.Measure(tb.Context(), i, p, look, now)
	if _, err := json.Marshal(got); err != nil {
		tb.Errorf("measurement %+v cannot be saved: %v", got, err)
	}
	return got
}

func near(got, want, tol float64) bool { return got >= want-tol && got <= want+tol }
