package proxy_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

// base is a fixed instant: stats tests pass time in and never sleep.
var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func TestStatsPercentiles(t *testing.T) {
	tests := []struct {
		name string
		// quantile returns the latency at quantile q of the distribution.
		quantile func(q float64) time.Duration
	}{
		{"uniform 1ms–100ms", func(q float64) time.Duration {
			return time.Millisecond + time.Duration(q*float64(99*time.Millisecond))
		}},
		{"exponential mean 20ms", func(q float64) time.Duration {
			return time.Duration(-math.Log(1-q) * float64(20*time.Millisecond))
		}},
		{"bimodal 200µs and 2s", func(q float64) time.Duration {
			if q < 0.9 {
				return 200*time.Microsecond + time.Duration(q*float64(50*time.Microsecond))
			}
			return 2*time.Second + time.Duration(q*float64(100*time.Millisecond))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proxy.New(proxy.Options{Logger: quiet})
			const n = 20000
			// Spread over 60 seconds, the last of them the current one.
			for i := range n {
				q := (float64(i) + 0.5) / n
				at := base.Add(-time.Duration(i%60) * time.Second)
				p.RecordForTest("v1", 200, tt.quantile(q), at)
			}
			st := p.Stats("v1", time.Minute, base)
			if st.Requests != n || st.Rate != n/60.0 || st.Window != time.Minute {
				t.Errorf("requests %d rate %v window %s, want %d, %v, 1m", st.Requests, st.Rate, st.Window, n, n/60.0)
			}
			for _, c := range []struct {
				q   float64
				got time.Duration
			}{{0.50, st.P50}, {0.95, st.P95}, {0.99, st.P99}} {
				want := tt.quantile(c.q)
				if rel := math.Abs(float64(c.got-want)) / float64(want); rel > 0.05 {
					t.Errorf("p%v = %s, want %s ±5%% (off by %.1f%%)", c.q*100, c.got, want, rel*100)
				}
			}
		})
	}
}

func TestStatsWindow(t *testing.T) {
	p := proxy.New(proxy.Options{Logger: quiet})
	// Ten minutes ago: slow errors. In the last minute: fast successes.
	for i := range 100 {
		p.RecordForTest("v1", 503, 2*time.Second, base.Add(-10*time.Minute+time.Duration(i)*time.Millisecond))
	}
	for i := range 300 {
		p.RecordForTest("v1", 200, 10*time.Millisecond, base.Add(-time.Duration(i%60)*time.Second))
	}
	// A sample in the current second counts; one from the future does not.
	p.RecordForTest("v1", 404, 10*time.Millisecond, base.Add(999*time.Millisecond))
	p.RecordForTest("v1", 200, 10*time.Millisecond, base.Add(time.Second))

	tests := []struct {
		window      time.Duration
		wantWindow  time.Duration
		req, e4, e5 int64
		slowP99     bool
	}{
		{time.Minute, time.Minute, 301, 1, 0, false},
		{15 * time.Minute, 15 * time.Minute, 401, 1, 100, true},
		{0, time.Second, 6, 1, 0, false},                            // clamped up to one second
		{1500 * time.Millisecond, 2 * time.Second, 11, 1, 0, false}, // rounded up to whole seconds
		{24 * time.Hour, proxy.MaxWindow, 401, 1, 100, true},        // clamped to the ring
	}
	for _, tt := range tests {
		st := p.Stats("v1", tt.window, base)
		got := [3]int64{st.Requests, st.Errors4xx, st.Errors5xx}
		if want := [3]int64{tt.req, tt.e4, tt.e5}; got != want || st.Window != tt.wantWindow {
			t.Errorf("window %s: window %s, requests/4xx/5xx %v, want %s, %v", tt.window, st.Window, got, tt.wantWindow, want)
		}
		if slow := st.P99 > time.Second; slow != tt.slowP99 {
			t.Errorf("window %s: p99 %s", tt.window, st.P99)
		}
	}
	if st := p.Stats("v9", time.Minute, base); st.Requests != 0 || st.P99 != 0 || st.Version != "v9" {
		t.Errorf("unknown version: %+v, want empty stats", st)
	}
}

func TestStatsSlotReuse(t *testing.T) {
	p := proxy.New(proxy.Options{Logger: quiet})
	p.RecordForTest("v1", 500, time.Second, base)
	// The same slot of the ring, one turn later: the old second is gone.
	later := base.Add(proxy.MaxWindow)
	p.RecordForTest("v1", 200, time.Millisecond, later)
	st := p.Stats("v1", time.Second, later)
	if st.Requests != 1 || st.Errors5xx != 0 || st.P99 > 2*time.Millisecond {
		t.Errorf("after a turn of the ring: %+v, want one fast success", st)
	}
	// A late write for the overwritten second is dropped, not mixed in.
	p.RecordForTest("v1", 500, time.Second, base)
	if st := p.Stats("v1", time.Second, later); st.Requests != 1 {
		t.Errorf("late write mixed in: %+v", st)
	}
}

func TestStatsConcurrentRecord(t *testing.T) {
	p := proxy.New(proxy.Options{Logger: quiet})
	const writers, each = 8, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Cross second boundaries so writers race to reset slots.
				at := base.Add(time.Duration(i%4) * time.Second)
				p.RecordForTest("v1", 200+100*(w%4), time.Duration(i)*time.Microsecond, at)
			}
		}()
	}
	wg.Wait()
	st := p.Stats("v1", time.Minute, base.Add(3*time.Second))
	if st.Requests != writers*each || st.Errors4xx != writers*each/4 || st.Errors5xx != writers*each/4 {
		t.Errorf("stats %+v, want %d requests, a quarter of them 4xx and a quarter 5xx", st, writers*each)
	}
}

func TestCollector(t *testing.T) {
	stable, canary := MustBackend(t, "v1"), MustBackend(t, "v2")
	p := MustProxy(t, proxy.Options{Service: "shop"},
		upfactory.Pool{Version: "v1", Weight: 90, Addrs: []string{stable.Addr()}},
		upfactory.Pool{Version: "v2", Weight: 10, Addrs: []string{canary.Addr()}},
	)
	for range 3 {
		serve(p, "GET", "/", map[string][]string{proxy.HeaderVersion: {"v1"}}, "")
	}
	serve(p, "GET", "/?status=500", map[string][]string{proxy.HeaderVersion: {"v2"}}, "")
	// v1 leaves the pools; its counters stay.
	MustSetPools(t, p, upfactory.Pool{Version: "v2", Weight: 100, Addrs: []string{canary.Addr()}})

	c := p.Collector()
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	want := `
# HELP upfactory_router_pool_weight Percentage of new requests routed to the version.
# TYPE upfactory_router_pool_weight gauge
upfactory_router_pool_weight{service="shop",version="v2"} 100
# HELP upfactory_router_requests_total Requests answered by the built-in router, by version and status class (client disconnects count as 4xx, refused requests as 5xx).
# TYPE upfactory_router_requests_total counter
upfactory_router_requests_total{code_class="2xx",service="shop",version="v1"} 3
upfactory_router_requests_total{code_class="2xx",service="shop",version="v2"} 0
upfactory_router_requests_total{code_class="3xx",service="shop",version="v1"} 0
upfactory_router_requests_total{code_class="3xx",service="shop",version="v2"} 0
upfactory_router_requests_total{code_class="4xx",service="shop",version="v1"} 0
upfactory_router_requests_total{code_class="4xx",service="shop",version="v2"} 0
upfactory_router_requests_total{code_class="5xx",service="shop",version="v1"} 0
upfactory_router_requests_total{code_class="5xx",service="shop",version="v2"} 1
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"upfactory_router_requests_total", "upfactory_router_pool_weight"); err != nil {
		t.Error(err)
	}
	// One histogram per version, its count matching the requests.
	if n := testutil.CollectAndCount(c, "upfactory_router_request_duration_seconds"); n != 2 {
		t.Errorf("%d duration histograms, want 2", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "upfactory_router_request_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			version := m.GetLabel()[1].GetValue()
			want := map[string]uint64{"v1": 3, "v2": 1}[version]
			if h.GetSampleCount() != want || len(h.GetBucket()) < 20 || h.GetSampleSum() <= 0 {
				t.Errorf("histogram of %s: count %d, %d buckets, sum %v; want count %d", version, h.GetSampleCount(), len(h.GetBucket()), h.GetSampleSum(), want)
			}
		}
	}
}

func TestCollectorConcurrentWithTraffic(t *testing.T) {
	stable := MustBackend(t, "v1")
	p := MustProxy(t, proxy.Options{Service: "shop"}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{stable.Addr()}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			serve(p, "GET", "/", nil, "")
		}
	}()
	for range 20 {
		if n := testutil.CollectAndCount(p.Collector()); n == 0 {
			t.Fatal("no metrics collected")
		}
		p.Stats("v1", time.Minute, time.Now())
	}
	cancel()
	wg.Wait()
}
