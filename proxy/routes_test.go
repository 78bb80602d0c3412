package proxy_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

func TestFoldRoute(t *testing.T) {
	long := strings.Repeat("x", 300)
	for _, tt := range []struct {
		method, path, want string
	}{
		{"GET", "/orders/123", "GET /orders/:id"},
		{"GET", "/orders/456/items", "GET /orders/:id/items"},
		{"GET", "/", "GET /"},
		{"GET", "", "GET /"},
		{"GET", "/orders/", "GET /orders/"},
		{"GET", "/api/v2/health", "GET /api/v2/health"},
		{"DELETE", "/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301", "DELETE /users/:id"},
		{"GET", "/users/3F2504E0-4F89-11D3-9A0C-0305E82C3301/avatar", "GET /users/:id/avatar"},
		{"GET", "/blobs/deadbeef12", "GET /blobs/:id"},
		{"GET", "/blobs/abc123", "GET /blobs/abc123"}, // hex, but short
		{"GET", "/s/Ab3dEf6hIj9kLmN0pQ", "GET /s/:id"},
		{"GET", "/s/Ab3dEf6h-j9kL_N0pQ", "GET /s/:id"},
		{"GET", "/docs/getting-started-guide", "GET /docs/getting-started-guide"},
		{"GET", "/img/logo.png", "GET /img/logo.png"},
		{"GET", "/a/b/c/d/e/f/g/h", "GET /a/b/c/d/e/f/…"},
		{"GET", "/a/b/c/d/e/f/g", "GET /a/b/c/d/e/f/…"},
		{"GET", "/a/b/c/d/e/f/", "GET /a/b/c/d/e/f/"},
		{"GET", "/a//b", "GET /a//b"},
		{"OPTIONS", "*", "OPTIONS *"},
		{"GET", "/café/1", "GET /café/:id"},
		{"GET", "/caf\xff", "GET /:id"},
		{"GET", "/a \xf9/b", "GET /:id/b"},
		{"GET", "/" + long, "GET /" + long[:199] + "…"},
		{"GET", "/" + strings.Repeat("é", 150), "GET /" + strings.Repeat("é", 99) + "…"},
		{strings.Repeat("M", 30), "/", strings.Repeat("M", 24) + " /"},
		{"BAD METHOD", "/", "? /"},
	} {
		if got := proxy.FoldRouteForTest(tt.method, tt.path); got != tt.want {
			t.Errorf("route of %s %q = %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}

func FuzzFoldRoute(f *testing.F) {
	for _, s := range []string{"/", "/orders/123", "/a/b/c/d/e/f/g", "*", "/caf\xff/1", strings.Repeat("/x", 200)} {
		f.Add("GET", s)
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		got := proxy.FoldRouteForTest(method, path)
		if !utf8.ValidString(got) {
			t.Errorf("route %q is not valid UTF-8", got)
		}
		if len(got) > 256 {
			t.Errorf("route of %d bytes: %q", len(got), got)
		}
		if !strings.Contains(got, " ") {
			t.Errorf("route %q has no space between method and path", got)
		}
		for _, seg := range strings.Split(got[strings.Index(got, " ")+1:], "/") {
			if _, err := strconv.ParseUint(seg, 10, 64); err == nil {
				t.Errorf("route %q keeps the number %s", got, seg)
			}
		}
	})
}

// MustSleepyFront starts a proxy to a backend that sleeps 20ms on /slow and
// answers ?status= elsewhere.
func MustSleepyFront(tb testing.TB, fast bool) (*proxy.Proxy, *http.Client, string) {
	tb.Helper()
	p, front := MustFront(tb, fast, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(20 * time.Millisecond)
		}
		status := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		w.WriteHeader(status)
	}))
	return p, front.Client(), front.URL
}

func TestDistributionOverHTTP(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		p, client, url := MustSleepyFront(t, fast)
		from := time.Now()
		for range 20 {
			do(t, client, "GET", url+"/slow", nil, nil)
		}
		for i := range 5 {
			do(t, client, "GET", fmt.Sprintf("%s/orders/%d?status=500", url, 100+i), nil, nil)
		}
		for i := range 3 {
			do(t, client, "GET", fmt.Sprintf("%s/orders/%d?status=404", url, 200+i), nil, nil)
		}
		do(t, client, "POST", url+"/orders", nil, strings.NewReader("{}"))
		to := time.Now()

		d := p.Distribution("v1", from, to)
		if d.Version != "v1" || !d.From.Equal(from) || !d.To.Equal(to) {
			t.Errorf("distribution of %s from %s to %s, want v1 from %s to %s", d.Version, d.From, d.To, from, to)
		}
		if d.Requests != 29 || d.Errors5xx != 5 || d.Errors4xx != 3 {
			t.Errorf("requests %d, 5xx %d, 4xx %d; want 29, 5, 3", d.Requests, d.Errors5xx, d.Errors4xx)
		}
		var sum, slow int64
		median := math.NaN()
		for i, b := range d.Latency {
			if i > 0 && b.Seconds <= d.Latency[i-1].Seconds {
				t.Errorf("buckets not ascending: %v", d.Latency)
			}
			if b.Count <= 0 {
				t.Errorf("empty bucket %v", b)
			}
			sum += b.Count
			if sum >= (d.Requests+1)/2 && math.IsNaN(median) {
				median = b.Seconds
			}
			if b.Seconds >= 0.019 {
				slow += b.Count
			}
		}
		if sum != d.Requests {
			t.Errorf("buckets hold %d requests, want %d", sum, d.Requests)
		}
		// The 20 slow ones take 20ms or more by construction; a fast one
		// may be late too on a busy machine, so only the slow ones are
		// counted for sure, and the median (a slow one) is checked for its
		// unit, not its speed.
		if slow < 20 {
			t.Errorf("%d requests at 19ms or more, want at least the 20 slow ones: %v", slow, d.Latency)
		}
		if median < 0.019 || median > 1 {
			t.Errorf("median bucket %vs, want about 0.02s: %v", median, d.Latency)
		}

		want := []upfactory.RouteStats{
			{Route: "GET /slow", Requests: 20},
			{Route: "GET /orders/:id", Requests: 8, Errors4xx: 3, Errors5xx: 5},
			{Route: "POST /orders", Requests: 1},
		}
		if diff := cmp.Diff(want, p.Routes("v1", from, to)); diff != "" {
			t.Errorf("routes (-want +got):\n%s", diff)
		}
	})
}

func TestDistributionSpan(t *testing.T) {
	p := proxy.New(proxy.Options{Logger: quiet})
	from := base.Add(-2 * time.Minute)
	// Before the span: ten minutes ago, and the millisecond before it.
	for i := range 5 {
		p.RecordForTest("v1", 503, 2*time.Second, base.Add(-10*time.Minute+time.Duration(i)*time.Millisecond))
	}
	p.RecordForTest("v1", 503, 2*time.Second, from.Add(-time.Millisecond))
	// In it: its first second, its last (the whole second), and between.
	p.RecordForTest("v1", 200, 10*time.Millisecond, from)
	for i := range 8 {
		p.RecordForTest("v1", 200, 10*time.Millisecond, base.Add(-time.Duration(i)*time.Second))
	}
	p.RecordForTest("v1", 404, 100*time.Microsecond, base.Add(999*time.Millisecond))
	p.RecordForTest("v1", 404, 100*time.Microsecond, base.Add(-30*time.Second))
	// After it.
	p.RecordForTest("v1", 500, time.Millisecond, base.Add(time.Second))

	d := p.Distribution("v1", from, base)
	if d.Requests != 11 || d.Errors4xx != 2 || d.Errors5xx != 0 || !d.From.Equal(from) {
		t.Errorf("distribution %+v, want 11 requests, 2 of them 4xx, from %s", d, from)
	}
	if len(d.Latency) != 2 || d.Latency[0].Count != 2 || d.Latency[1].Count != 9 {
		t.Fatalf("latency %v, want 2 requests near 100µs and 9 near 10ms", d.Latency)
	}
	for i, want := range []float64{0.0001, 0.01} {
		if got := d.Latency[i].Seconds; math.Abs(got-want)/want > 0.05 {
			t.Errorf("bucket %d at %vs, want %vs ±5%%", i, got, want)
		}
	}

	// Longer than the ring: clamped, From says from when.
	d = p.Distribution("v1", base.Add(-time.Hour), base)
	if wantFrom := base.Add(-proxy.MaxWindow + time.Second); d.Requests != 17 || !d.From.Equal(wantFrom) || !d.To.Equal(base) {
		t.Errorf("clamped: %d requests from %s to %s, want 17 from %s to %s", d.Requests, d.From, d.To, wantFrom, base)
	}
	if last := d.Latency[len(d.Latency)-1]; last.Seconds < 1.9 || last.Seconds > 2.1 || last.Count != 6 {
		t.Errorf("slowest bucket %v, want 6 near 2s", last)
	}
	// Out of order, and unknown.
	if d := p.Distribution("v1", base, from); d.Requests != 0 || d.Latency != nil {
		t.Errorf("from after to: %+v, want nothing", d)
	}
	want := upfactory.Distribution{Version: "v9", From: from, To: base}
	if diff := cmp.Diff(want, p.Distribution("v9", from, base)); diff != "" {
		t.Errorf("unknown version (-want +got):\n%s", diff)
	}
	if r := p.Routes("v9", from, base); r != nil {
		t.Errorf("routes of an unknown version: %v", r)
	}
}

func TestRoutesSpanAndOrder(t *testing.T) {
	p := proxy.New(proxy.Options{Logger: quiet})
	rec := func(method, path string, status, n int, at time.Time) {
		for range n {
			p.RecordRouteForTest("v1", method, path, status, time.Millisecond, at)
		}
	}
	rec("GET", "/orders/1", 200, 3, base.Add(-5*time.Minute)) // before the span
	rec("GET", "/orders/1", 200, 2, base)
	rec("GET", "/orders/2", 500, 2, base.Add(-time.Second))
	rec("GET", "/cart", 200, 4, base.Add(-time.Minute))
	rec("POST", "/cart", 422, 1, base)
	rec("GET", "/about", 200, 4, base) // ties with /cart, comes first by name
	rec("GET", "/later", 200, 9, base.Add(time.Second))

	want := []upfactory.RouteStats{
		{Route: "GET /about", Requests: 4},
		{Route: "GET /cart", Requests: 4},
		{Route: "GET /orders/:id", Requests: 4, Errors5xx: 2},
		{Route: "POST /cart", Requests: 1, Errors4xx: 1},
	}
	if diff := cmp.Diff(want, p.Routes("v1", base.Add(-2*time.Minute), base)); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	// A turn of the ring later, the slot holds the new second only.
	later := base.Add(-time.Minute + proxy.MaxWindow)
	rec("GET", "/cart", 200, 1, later)
	// A late write for the overwritten second is dropped, not mixed in.
	rec("GET", "/cart", 500, 1, base.Add(-time.Minute))
	want = []upfactory.RouteStats{{Route: "GET /cart", Requests: 1}}
	if diff := cmp.Diff(want, p.Routes("v1", later, later)); diff != "" {
		t.Errorf("routes after a turn (-want +got):\n%s", diff)
	}
}

func TestRoutesCap(t *testing.T) {
	p := MustProxy(t, proxy.Options{Service: "shop", Logger: quiet})
	name := func(i int) string { return fmt.Sprintf("/page-%c%c", 'a'+i/26, 'a'+i%26) }
	const routes = proxy.MaxRoutes + 50
	for i := range routes {
		p.RecordRouteForTest("v1", "GET", name(i), 200, time.Millisecond, base)
	}
	// A route counted one by one stays so; a new one goes to the others.
	p.RecordRouteForTest("v1", "GET", name(0), 500, time.Millisecond, base)
	p.RecordRouteForTest("v1", "GET", "/brand-new", 500, time.Millisecond, base)

	got := p.Routes("v1", base, base)
	if len(got) != proxy.MaxRoutes+1 {
		t.Fatalf("%d routes, want %d and the others", len(got), proxy.MaxRoutes)
	}
	if want := (upfactory.RouteStats{Route: "* (other routes)", Requests: 51, Errors5xx: 1}); got[0] != want {
		t.Errorf("busiest route %+v, want %+v", got[0], want)
	}
	if want := (upfactory.RouteStats{Route: "GET " + name(0), Requests: 2, Errors5xx: 1}); got[1] != want {
		t.Errorf("second route %+v, want %+v", got[1], want)
	}
	if got[2].Route != "GET "+name(1) || got[len(got)-1].Route != "GET "+name(proxy.MaxRoutes-1) {
		t.Errorf("routes %s … %s, want the first %d by name", got[2].Route, got[len(got)-1].Route, proxy.MaxRoutes)
	}
	// Prometheus sees the same bounded set: four classes a route.
	if n := testutil.CollectAndCount(p.Collector(), "upfactory_router_route_requests_total"); n != 4*(proxy.MaxRoutes+1) {
		t.Errorf("%d route series, want %d", n, 4*(proxy.MaxRoutes+1))
	}
}

func TestRouteCollector(t *testing.T) {
	be := MustBackend(t, "v1")
	p := MustProxy(t, proxy.Options{Service: "shop"}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{be.Addr()}})
	for i := range 3 {
		serve(p, "GET", fmt.Sprintf("/orders/%d?token=secret", i), nil, "")
	}
	serve(p, "GET", "/orders/9?status=503", nil, "")
	serve(p, "PUT", "/cart", nil, "x")

	c := p.Collector()
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	want := `
# HELP upfactory_router_route_requests_total Requests answered by the built-in router, by version, route and status class. A route is the method and the path with identifier-like segments folded to :id; past 100 routes a version, the others count as "* (other routes)".
# TYPE upfactory_router_route_requests_total counter
upfactory_router_route_requests_total{class="2xx",route="GET /orders/:id",service="shop",version="v1"} 3
upfactory_router_route_requests_total{class="3xx",route="GET /orders/:id",service="shop",version="v1"} 0
upfactory_router_route_requests_total{class="4xx",route="GET /orders/:id",service="shop",version="v1"} 0
upfactory_router_route_requests_total{class="5xx",route="GET /orders/:id",service="shop",version="v1"} 1
upfactory_router_route_requests_total{class="2xx",route="PUT /cart",service="shop",version="v1"} 1
upfactory_router_route_requests_total{class="3xx",route="PUT /cart",service="shop",version="v1"} 0
upfactory_router_route_requests_total{class="4xx",route="PUT /cart",service="shop",version="v1"} 0
upfactory_router_route_requests_total{class="5xx",route="PUT /cart",service="shop",version="v1"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "upfactory_router_route_requests_total"); err != nil {
		t.Error(err)
	}
}

func TestRouteRecordDoesNotAllocate(t *testing.T) {
	p := proxy.New(proxy.Options{Logger: quiet})
	record := p.RouteRecorderForTest("v1")
	now := time.Now()
	record("GET", "/orders/123/items", 200, now) // first sight: allocates the route
	if n := testing.AllocsPerRun(100, func() { record("GET", "/orders/456/items", 200, now) }); n != 0 {
		t.Errorf("recording a known route: %v allocations, want 0", n)
	}
	for i := range proxy.MaxRoutes {
		record("GET", fmt.Sprintf("/r%c%c", 'a'+i/26, 'a'+i%26), 200, now)
	}
	if n := testing.AllocsPerRun(100, func() { record("GET", "/yet-another", 200, now) }); n != 0 {
		t.Errorf("recording past the cap: %v allocations, want 0", n)
	}
}

func TestRoutesConcurrent(t *testing.T) {
	p := MustProxy(t, proxy.Options{Service: "shop", Logger: quiet})
	const writers, each = 8, 1000
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		for ctx.Err() == nil {
			p.Routes("v1", base, base.Add(3*time.Second))
			p.Distribution("v1", base, base.Add(3*time.Second))
			testutil.CollectAndCount(p.Collector())
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				// Cross second boundaries so writers race to reset slots,
				// and add routes while others read the index.
				at := base.Add(time.Duration(i%4) * time.Second)
				path := fmt.Sprintf("/w%c/item/%d", 'a'+w, i)
				p.RecordRouteForTest("v1", "GET", path, 200+100*(i%4), time.Millisecond, at)
			}
		}()
	}
	wg.Wait()
	cancel()
	readers.Wait()
	got := p.Routes("v1", base, base.Add(3*time.Second))
	if len(got) != writers {
		t.Fatalf("routes %v, want %d", got, writers)
	}
	for _, r := range got {
		if r.Requests != each || r.Errors4xx != each/4 || r.Errors5xx != each/4 {
			t.Errorf("route %+v, want %d requests, a quarter 4xx and a quarter 5xx", r, each)
		}
	}
	if d := p.Distribution("v1", base, base.Add(3*time.Second)); d.Requests != writers*each {
		t.Errorf("distribution of %d requests, want %d", d.Requests, writers*each)
	}
}
