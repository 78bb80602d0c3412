package shop_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/upfactory/upfactory/shop"
)

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, strings.NewReader("{}")))
	return w
}

// Given some API traffic, /metrics counts it by route and code, with the
// version as a label, and does not count itself.
func TestMetricsCountRequestsByRouteAndCode(t *testing.T) {
	h := shop.Handler("1.2.0")
	for range 3 {
		get(t, h, http.MethodGet, "/api/products")
	}
	get(t, h, http.MethodPost, "/api/checkout")
	get(t, h, http.MethodGet, "/")
	get(t, h, http.MethodGet, "/metrics")
	w := get(t, h, http.MethodGet, "/metrics")
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", w.Code)
	}
	if v := w.Header().Get("X-Shop-Version"); v != "" {
		t.Errorf("/metrics went through the API wrapper (X-Shop-Version %q)", v)
	}
	body := w.Body.String()
	for _, want := range []string{
		`shop_requests_total{code="200",route="GET /api/products",version="1.2.0"} 3`,
		`shop_requests_total{code="200",route="POST /api/checkout",version="1.2.0"} 1`,
		`shop_requests_total{code="200",route="GET /{$}",version="1.2.0"} 1`,
		`shop_request_duration_seconds_count{route="GET /api/products",version="1.2.0"} 3`,
		`shop_sessions_total{version="1.2.0"} 3`,
		`shop_checkouts_total{version="1.2.0"} 1`,
		`shop_queue_backlog{version="1.2.0"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, body)
		}
	}
	if strings.Contains(body, `route="GET /metrics"`) {
		t.Errorf("/metrics counts itself:\n%s", body)
	}
}

// Given a version that fails 8% of requests, sent 100 checkouts at once,
// exactly 8 are answered 500, counted under code 500 and not as checkouts.
func TestMetricsCountInjectedErrors(t *testing.T) {
	h := shop.Handler("2.1.0") // 8% errors, +120ms
	const n = 100
	codes := make(chan int, n)
	for range n {
		go func() { codes <- get(t, h, http.MethodPost, "/api/checkout").Code }()
	}
	failed := 0
	for range n {
		if <-codes == http.StatusInternalServerError {
			failed++
		}
	}
	if failed != 8 {
		t.Errorf("%d of %d checkouts failed, want exactly 8", failed, n)
	}
	body := get(t, h, http.MethodGet, "/metrics").Body.String()
	for _, want := range []string{
		fmt.Sprintf(`shop_requests_total{code="200",route="POST /api/checkout",version="2.1.0"} %d`, n-failed),
		fmt.Sprintf(`shop_requests_total{code="500",route="POST /api/checkout",version="2.1.0"} %d`, failed),
		fmt.Sprintf(`shop_checkouts_total{version="2.1.0"} %d`, n-failed),
		`shop_request_duration_seconds_bucket{route="POST /api/checkout",version="2.1.0",le="0.1"} 0`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics lacks %s\n%s", want, body)
		}
	}
}

// Given the bad versions, each route fails exactly its 13th and 25th of
// every 25 requests, whatever the traffic on other routes meanwhile; a
// healthy version fails none.
func TestInjectedErrorsAreEvenlySpreadPerRoute(t *testing.T) {
	for _, version := range []string{"1.1.0", "2.1.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			h := shop.Handler(version)
			routes := []struct{ method, path string }{
				{http.MethodGet, "/api/products"},
				{http.MethodPost, "/api/checkout"},
				{http.MethodGet, "/api/version"},
			}
			// The routes are requested side by side, each in order.
			failedAt := make([][]int, len(routes))
			done := make(chan struct{})
			for i, r := range routes {
				go func() {
					defer func() { done <- struct{}{} }()
					for n := 1; n <= 25; n++ {
						if code := get(t, h, r.method, r.path).Code; code == http.StatusInternalServerError {
							failedAt[i] = append(failedAt[i], n)
						} else if code != http.StatusOK {
							t.Errorf("%s %s #%d: status %d", r.method, r.path, n, code)
						}
					}
				}()
			}
			for range routes {
				<-done
			}
			want := []int{13, 25}
			for i, r := range routes {
				if fmt.Sprint(failedAt[i]) != fmt.Sprint(want) {
					t.Errorf("%s %s failed at requests %v, want %v", r.method, r.path, failedAt[i], want)
				}
			}
		})
	}
	t.Run("1.2.0", func(t *testing.T) {
		t.Parallel()
		h := shop.Handler("1.2.0")
		for n := 1; n <= 200; n++ {
			if code := get(t, h, http.MethodGet, "/api/products").Code; code != http.StatusOK {
				t.Fatalf("healthy version: request %d answered %d", n, code)
			}
		}
	})
}

// The queue backlog counts the checkouts of the last 10s only.
func TestQueueBacklogForgetsOldCheckouts(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	m := shop.NewMetrics("1.0.0", func() time.Time { return now })
	backlog := func() float64 {
		t.Helper()
		n, err := testutil.GatherAndCount(m.Gatherer(), "shop_queue_backlog")
		if err != nil || n != 1 {
			t.Fatalf("shop_queue_backlog: %d series, %v", n, err)
		}
		mfs, _ := m.Gatherer().Gather()
		for _, mf := range mfs {
			if mf.GetName() == "shop_queue_backlog" {
				return mf.GetMetric()[0].GetGauge().GetValue()
			}
		}
		return 0
	}
	if got := backlog(); got != 0 {
		t.Fatalf("backlog at start = %g", got)
	}
	for range 3 {
		m.Checkout()
	}
	now = now.Add(4 * time.Second)
	m.Checkout()
	if got := backlog(); got != 4 {
		t.Errorf("backlog after 4 checkouts within 4s = %g, want 4", got)
	}
	now = now.Add(7 * time.Second) // the first three are 11s old
	if got := backlog(); got != 1 {
		t.Errorf("backlog 11s after 3 and 7s after 1 = %g, want 1", got)
	}
	now = now.Add(time.Minute)
	if got := backlog(); got != 0 {
		t.Errorf("backlog a minute later = %g, want 0", got)
	}
	want := "# HELP shop_checkouts_total Successful checkouts.\n# TYPE shop_checkouts_total counter\nshop_checkouts_total{version=\"1.0.0\"} 4\n"
	if err := testutil.GatherAndCompare(m.Gatherer(), strings.NewReader(want), "shop_checkouts_total"); err != nil {
		t.Error(err)
	}
}

func TestFailAfterSparesTheFirstRequests(t *testing.T) {
	h := shop.Handler("1.3.0")
	p := shop.Profiles["1.3.0"]
	failed := 0
	for n := 1; n <= int(p.FailAfter)+100; n++ {
		code := get(t, h, "GET", "/api/version").Code
		if code != http.StatusOK && n <= int(p.FailAfter) {
			t.Fatalf("request %d answered %d before FailAfter %d", n, code, p.FailAfter)
		}
		if code != http.StatusOK {
			failed++
		}
	}
	if failed != 8 {
		t.Errorf("%d of the 100 requests after FailAfter failed, want 8", failed)
	}
}
