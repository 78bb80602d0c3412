package probe_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/probe"
)

// service answers after delay, and with 500 for every failEvery-th request
// when failEvery > 0. It counts requests by path.
func service(t testing.TB, delay time.Duration, failEvery int64) (*httptest.Server, *pathCounts) {
	t.Helper()
	var n atomic.Int64
	pc := &pathCounts{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pc.add(r.Method + " " + r.URL.Path)
		time.Sleep(delay)
		if failEvery > 0 && n.Add(1)%failEvery == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, pc
}

type pathCounts struct {
	items, cart atomic.Int64
}

func (p *pathCounts) add(k string) {
	switch k {
	case "GET /items":
		p.items.Add(1)
	case "POST /cart":
		p.cart.Add(1)
	}
}

// load is a short comparison with generous limits: only a clear difference
// may fail it.
func load() probe.Load {
	return probe.Load{
		Rate:         100,
		Duration:     upfactory.Duration(1500 * time.Millisecond),
		MaxP95Ratio:  3,
		MaxP99Ratio:  5,
		MaxErrorRate: "5%",
		Mix:          []probe.MixEntry{{Method: "GET", Path: "/items", Share: 3}, {Method: "POST", Path: "/cart", Share: 1}},
	}
}

func TestCompareLoadEqualPasses(t *testing.T) {
	twin, tc := service(t, 2*time.Millisecond, 0)
	stable, _ := service(t, 2*time.Millisecond, 0)
	l := load()
	// A shared machine under -race can stall one side for tens of
	// milliseconds, and a p99 of 150 requests is their second slowest:
	// only a difference far beyond that is a finding here.
	l.LatencySlack = upfactory.Duration(250 * time.Millisecond)
	r := probe.CompareLoad(t.Context(), l, twin.URL, stable.URL)
	if r.Outcome != probe.Pass {
		t.Fatalf("got %s: %s", r.Outcome, r.Reason)
	}
	if r.Measures["twin_sent"] < 50 || r.Measures["stable_sent"] < 50 {
		t.Errorf("too few requests sent: %v", r.Measures)
	}
	items, cart := tc.items.Load(), tc.cart.Load()
	if cart == 0 || items < 2*cart || items > 4*cart {
		t.Errorf("twin saw %d GET /items and %d POST /cart, want about 3:1", items, cart)
	}
}

func TestCompareLoadSlowerTwinFails(t *testing.T) {
	// A busy machine (a CI run under -race beside other tests) has stalled
	// the stable side's p95 to 28ms: the twin is slower by far more than
	// any stall, and the limit is the default one, so that only the
	// difference the test is about decides it.
	twin, _ := service(t, 300*time.Millisecond, 0)
	stable, _ := service(t, time.Millisecond, 0)
	l := load()
	l.Rate = 50 // fewer requests in flight: less CPU for a busy machine to take from the stable side
	l.MaxP95Ratio, l.MaxP99Ratio = 1.5, 2
	r := probe.CompareLoad(t.Context(), l, twin.URL, stable.URL)
	if r.Outcome != probe.Fail || !strings.Contains(r.Reason, "× stable's") {
		t.Fatalf("got %s: %s", r.Outcome, r.Reason)
	}
	if r.Measures["twin_p95_ms"] < 300 {
		t.Errorf("measures %v: want the twin's p95 above its 300ms delay", r.Measures)
	}
	t.Log(r.Reason)
}

func TestCompareLoadFailingTwinFails(t *testing.T) {
	twin, _ := service(t, time.Millisecond, 10)
	stable, _ := service(t, time.Millisecond, 0)
	r := probe.CompareLoad(t.Context(), load(), twin.URL, stable.URL)
	if r.Outcome != probe.Fail || !strings.Contains(r.Reason, "error rate ") {
		t.Fatalf("got %s: %s", r.Outcome, r.Reason)
	}
	// Not exactly 10%: the last requests of the run may be cut short.
	if e := r.Measures["twin_error_rate"]; e < 0.07 || e > 0.13 {
		t.Errorf("twin error rate %v, want about 0.1", e)
	}
	t.Log(r.Reason)
}

func TestCompareLoadStableDownIsError(t *testing.T) {
	twin, _ := service(t, 0, 0)
	stable, _ := service(t, 0, 0)
	stable.Close()
	l := load()
	l.Duration = upfactory.Duration(300 * time.Millisecond)
	r := probe.CompareLoad(t.Context(), l, twin.URL, stable.URL)
	if r.Outcome != probe.Error || !strings.HasPrefix(r.Reason, "no data: ") {
		t.Fatalf("got %s: %s", r.Outcome, r.Reason)
	}
}

func TestSamplePercentile(t *testing.T) {
	var s probe.Sample
	for i := 1; i <= 100; i++ {
		s.Latencies = append(s.Latencies, time.Duration(i)*time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 50 * time.Millisecond, 0.95: 95 * time.Millisecond, 0.99: 99 * time.Millisecond, 1: 100 * time.Millisecond} {
		if got := s.Percentile(q); got != want {
			t.Errorf("Percentile(%v) = %s, want %s", q, got, want)
		}
	}
	if got := (probe.Sample{}).Percentile(0.99); got != 0 {
		t.Errorf("empty: %s", got)
	}
}
