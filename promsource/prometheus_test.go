package promsource_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/promsource"
)

// MustPrometheus returns the address of the Prometheus started by
// scripts/prometheus.sh and the file_sd file it watches. Without one the
// test skips, except under CI=true, where it fails: CI must run the real
// thing.
func MustPrometheus(tb testing.TB) (addr, sdFile string) {
	tb.Helper()
	addr, sdFile = os.Getenv("UPFACTORY_TEST_PROMETHEUS"), os.Getenv("UPFACTORY_TEST_PROMETHEUS_SD")
	if addr == "" || sdFile == "" {
		how := `UPFACTORY_TEST_PROMETHEUS and UPFACTORY_TEST_PROMETHEUS_SD are unset: needs Prometheus (Debian package prometheus); run eval "$(scripts/prometheus.sh start)"`
		if os.Getenv("CI") == "true" {
			tb.Fatal(how + " (CI=true: not skipping)")
		}
		tb.Skip(how)
	}
	return addr, sdFile
}

// shop is a sample service's metrics, changed in steps so that every
// scrape sees a consistent state: ratios between its counters are exact.
type shop struct {
	mu      sync.Mutex
	ticks   float64
	backlog float64

	requests, checkouts, sessions, backlogDesc, latency *prometheus.Desc
}

// Per tick, for each version: 100 requests, its errors, 100 sessions, its
// checkouts, and 100 latencies all in one histogram bucket.
var shopVersions = []struct {
	version, pool      string
	errors, checkouts  float64
	latencyBucket      int // index in shopBuckets of the bucket holding every latency
	wantErrorRatio     float64
	wantConversion     float64
	wantP95            float64
	wantRequestsPerSec float64
}{
	// p95 by linear interpolation inside the bucket: lower + 0.95*(upper-lower).
	{"1.0.0", "stable", 1, 3, 3, 0.01, 0.03, 0.1 + 0.95*0.15, 2000},
	{"1.1.0", "canary", 8, 2, 4, 0.08, 0.02, 0.25 + 0.95*0.25, 2000},
}

var shopBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1}

const shopTick = 50 * time.Millisecond

func newShop() *shop {
	return &shop{
		backlog:     42,
		requests:    prometheus.NewDesc("shop_requests_total", "Requests by version, pool and status.", []string{"version", "pool", "code"}, nil),
		checkouts:   prometheus.NewDesc("checkouts_total", "Completed checkouts.", []string{"version"}, nil),
		sessions:    prometheus.NewDesc("sessions_total", "Sessions started.", []string{"version"}, nil),
		backlogDesc: prometheus.NewDesc("queue_backlog", "Jobs waiting.", nil, nil),
		latency:     prometheus.NewDesc("shop_request_duration_seconds", "Request latency.", []string{"version", "pool"}, nil),
	}
}

func (s *shop) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(s, ch) }

func (s *shop) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.ticks
	for _, v := range shopVersions {
		ch <- prometheus.MustNewConstMetric(s.requests, prometheus.CounterValue, n*(100-v.errors), v.version, v.pool, "200")
		ch <- prometheus.MustNewConstMetric(s.requests, prometheus.CounterValue, n*v.errors, v.version, v.pool, "500")
		ch <- prometheus.MustNewConstMetric(s.checkouts, prometheus.CounterValue, n*v.checkouts, v.version)
		ch <- prometheus.MustNewConstMetric(s.sessions, prometheus.CounterValue, n*100, v.version)
		buckets := map[float64]uint64{}
		for i, le := range shopBuckets {
			if i >= v.latencyBucket {
				buckets[le] = uint64(n * 100)
			} else {
				buckets[le] = 0
			}
		}
		sum := n * 100 * shopBuckets[v.latencyBucket]
		ch <- prometheus.MustNewConstHistogram(s.latency, uint64(n*100), sum, buckets, v.version, v.pool)
	}
	ch <- prometheus.MustNewConstMetric(s.backlogDesc, prometheus.GaugeValue, s.backlog)
}

// MustScrapedShop starts the sample service, has Prometheus scrape it under
// a job of its own, and waits until queries over window have data.
func MustScrapedShop(tb testing.TB, src *promsource.Source, sdFile string, window time.Duration) (job string, since time.Time) {
	tb.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	job = "shop-" + hex.EncodeToString(b)

	sh := newShop()
	reg := prometheus.NewRegistry()
	reg.MustRegister(sh)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	tb.Cleanup(srv.Close)
	done := make(chan struct{})
	tick := time.NewTicker(shopTick)
	go func() {
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				sh.mu.Lock()
				sh.ticks++
				sh.mu.Unlock()
			}
		}
	}()
	tb.Cleanup(func() { close(done) })

	// A file of our own next to the script's: tests sharing the Prometheus
	// do not overwrite each other. Written by rename: Prometheus never reads
	// half a file.
	path := filepath.Join(filepath.Dir(sdFile), job+".json")
	content, _ := json.Marshal([]map[string]any{{"targets": []string{srv.Listener.Addr().String()}, "labels": map[string]string{"job": job}}})
	if err := os.WriteFile(path+".tmp", content, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.Remove(path) })

	vars := promsource.Vars{Service: job, Window: window}
	waitFor := func(what string, q promsource.Query, ok func(float64) bool) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			f, err := src.Value(tb.Context(), q, vars, time.Time{})
			if err == nil && ok(f) {
				return
			}
			if time.Now().After(deadline) {
				tb.Fatalf("Prometheus at %s: %s within 30s: last value %v, error %v", src.Address(), what, f, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("scraping the shop", promsource.Query{Expr: `up{job="{{.Service}}"}`}, func(f float64) bool { return f == 1 })
	since = time.Now()
	// A rate needs two samples in the window; wait for the window to fill.
	waitFor("a full window of samples", promsource.Query{Expr: `count_over_time(queue_backlog{job="{{.Service}}"}[{{.Window}}])`},
		func(f float64) bool { return f >= window.Seconds()-1 })
	return job, since
}

func TestPrometheus(t *testing.T) {
	addr, sdFile := MustPrometheus(t)
	src := MustNew(t, promsource.Config{Address: addr, Timeout: upfactory.Duration(5 * time.Second)})
	const window = 5 * time.Second
	job, since := MustScrapedShop(t, src, sdFile, window)

	value := func(t *testing.T, expr string, v promsource.Vars) float64 {
		t.Helper()
		v.Service, v.Window = job, window
		f, err := src.Value(t.Context(), promsource.Query{Expr: expr}, v, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	near := func(t *testing.T, what string, got, want, tolerance float64) {
		t.Helper()
		if math.Abs(got-want) > tolerance {
			t.Errorf("%s = %v, want %v ± %v", what, got, want, tolerance)
		}
	}

	for _, sv := range shopVersions {
		vars := promsource.Vars{Version: sv.version, Pool: sv.pool}
		t.Run("request rate "+sv.version, func(t *testing.T) {
			// The shop's ticker is not exact: a wide margin.
			got := value(t, `sum(rate(shop_requests_total{job="{{.Service}}",version="{{.Version}}"}[{{.Window}}]))`, vars)
			near(t, "requests/s", got, sv.wantRequestsPerSec, sv.wantRequestsPerSec/2)
		})
		t.Run("error ratio "+sv.version, func(t *testing.T) {
			got := value(t, `sum(rate(shop_requests_total{job="{{.Service}}",version="{{.Version}}",code=~"5.."}[{{.Window}}]))
				/ sum(rate(shop_requests_total{job="{{.Service}}",version="{{.Version}}"}[{{.Window}}]))`, vars)
			near(t, "error ratio", got, sv.wantErrorRatio, 1e-9)
		})
		t.Run("p95 "+sv.pool, func(t *testing.T) {
			got := value(t, `histogram_quantile(0.95, sum by (le) (rate(shop_request_duration_seconds_bucket{job="{{.Service}}",pool="{{.Pool}}"}[{{.Window}}])))`, vars)
			near(t, "p95", got, sv.wantP95, 1e-9)
		})
		t.Run("conversion "+sv.version, func(t *testing.T) {
			got := value(t, `sum(rate(checkouts_total{job="{{.Service}}",version="{{.Version}}"}[{{.Window}}]))
				/ sum(rate(sessions_total{job="{{.Service}}",version="{{.Version}}"}[{{.Window}}]))`, vars)
			near(t, "conversion", got, sv.wantConversion, 1e-9)
		})
	}

	t.Run("gauge", func(t *testing.T) {
		near(t, "queue_backlog", value(t, `queue_backlog{job="{{.Service}}"}`, promsource.Vars{}), 42, 0)
	})

	t.Run("scalar", func(t *testing.T) {
		near(t, "scalar(…)", value(t, `scalar(sum(queue_backlog{job="{{.Service}}"})) * 2`, promsource.Vars{}), 84, 0)
	})

	t.Run("several series", func(t *testing.T) {
		_, err := src.Value(t.Context(), promsource.Query{Expr: `shop_requests_total{job="{{.Service}}"}`}, promsource.Vars{Service: job}, time.Now())
		if err == nil {
			t.Fatal("no error")
		}
		t.Log(err)
		if errors.Is(err, promsource.ErrNoData) {
			t.Errorf("several series gave NoData: %v", err)
		}
		for _, want := range []string{"returned 4 series", `shop_requests_total{`, `job="` + job + `"`, "and 1 more"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	})

	t.Run("syntax error", func(t *testing.T) {
		_, err := src.Value(t.Context(), promsource.Query{Expr: `sum(rate(shop_requests_total[{{.Window}}])`}, promsource.Vars{Window: window}, time.Now())
		t.Log(err)
		var qe *promsource.QueryError
		if !errors.As(err, &qe) {
			t.Fatalf("error %v (%T), want a *QueryError", err, err)
		}
		if qe.Type != "bad_data" || !strings.Contains(qe.Message, "parse error") {
			t.Errorf("type %q, message %q: want Prometheus's bad_data and its parse error", qe.Type, qe.Message)
		}
		for _, want := range []string{addr, "bad_data", "parse error", `sum(rate(shop_requests_total[5s])`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not contain %q", err, want)
			}
		}
	})

	t.Run("execution error", func(t *testing.T) {
		// Two series with the same labels after dropping the name.
		_, err := src.Value(t.Context(), promsource.Query{Expr: `label_replace(shop_requests_total{job="{{.Service}}"}, "code", "x", "", "")`}, promsource.Vars{Service: job}, time.Now())
		var qe *promsource.QueryError
		if !errors.As(err, &qe) || qe.Type != "execution" {
			t.Fatalf("error %v, want Prometheus's execution error", err)
		}
	})

	t.Run("no series", func(t *testing.T) {
		_, err := src.Value(t.Context(), promsource.Query{Expr: `queue_backlog{job="{{.Service}}",version="{{.Version}}"}`}, promsource.Vars{Service: job, Version: "9.9.9"}, time.Now())
		if !errors.Is(err, promsource.ErrNoData) {
			t.Fatalf("error %v, want ErrNoData", err)
		}
		if !strings.Contains(err.Error(), "no series") {
			t.Errorf("error %q does not say why", err)
		}
	})

	t.Run("NaN", func(t *testing.T) {
		// No 404s: 0/0.
		_, err := src.Value(t.Context(), promsource.Query{Expr: `sum(rate(shop_requests_total{job="{{.Service}}",code="500"}[{{.Window}}])) * 0 / 0`}, promsource.Vars{Service: job, Window: window}, time.Now())
		t.Log(err)
		if !errors.Is(err, promsource.ErrNoData) || !strings.Contains(err.Error(), "NaN") {
			t.Fatalf("error %v, want ErrNoData naming NaN", err)
		}
	})

	t.Run("range query", func(t *testing.T) {
		end := time.Now()
		start := since
		if end.Sub(start) < 3*time.Second {
			start = end.Add(-3 * time.Second)
		}
		q := promsource.Query{Expr: `queue_backlog{job="{{.Service}}"}`, Range: true, Step: upfactory.Duration(500 * time.Millisecond)}
		got, err := src.Samples(t.Context(), q, promsource.Vars{Service: job}, start, end)
		if err != nil {
			t.Fatal(err)
		}
		if want := int(end.Sub(start)/(500*time.Millisecond)) - 1; len(got) < want {
			t.Errorf("%d samples over %s at 500ms, want at least %d", len(got), end.Sub(start), want)
		}
		for i, f := range got {
			if f != 42 {
				t.Errorf("sample %d = %v, want 42", i, f)
			}
		}
	})

	t.Run("range query, several series", func(t *testing.T) {
		q := promsource.Query{Expr: `shop_requests_total{job="{{.Service}}"}`, Range: true}
		_, err := src.Samples(t.Context(), q, promsource.Vars{Service: job}, time.Now().Add(-time.Minute), time.Now())
		if err == nil || !strings.Contains(err.Error(), "returned 4 series") {
			t.Fatalf("error %v, want one naming 4 series", err)
		}
	})

	t.Run("range query, no series", func(t *testing.T) {
		q := promsource.Query{Expr: `queue_backlog{job="{{.Service}}-absent"}`, Range: true}
		_, err := src.Samples(t.Context(), q, promsource.Vars{Service: job}, time.Now().Add(-time.Minute), time.Now())
		if !errors.Is(err, promsource.ErrNoData) {
			t.Fatalf("error %v, want ErrNoData", err)
		}
	})

	t.Run("range flag on an instant query", func(t *testing.T) {
		_, err := src.Value(t.Context(), promsource.Query{Expr: `up`, Range: true}, promsource.Vars{}, time.Now())
		if err == nil || !strings.Contains(err.Error(), "use Samples") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("range vector where one value was expected", func(t *testing.T) {
		_, err := src.Value(t.Context(), promsource.Query{Expr: `queue_backlog{job="{{.Service}}"}[{{.Window}}]`}, promsource.Vars{Service: job, Window: window}, time.Now())
		if err == nil || errors.Is(err, promsource.ErrNoData) || !strings.Contains(err.Error(), "range vector") {
			t.Fatalf("error %v", err)
		}
	})
}

// TestPrometheusDown: a closed port and a peer that accepts but never
// answers both give an error naming the address, after the timeout and not
// before.
func TestPrometheusDown(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})

	const timeout = 400 * time.Millisecond
	for name, hostport := range map[string]string{"refused": closedAddr, "silent": silent.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			address := "http://" + hostport
			src := MustNew(t, promsource.Config{Address: address, Timeout: upfactory.Duration(timeout)})
			began := time.Now()
			_, err := src.Value(t.Context(), promsource.Query{Expr: "up"}, promsource.Vars{}, time.Now())
			took := time.Since(began)
			t.Log(err)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, promsource.ErrNoData) {
				t.Errorf("an unreachable Prometheus gave NoData: %v", err)
			}
			if !strings.Contains(err.Error(), address) || !strings.Contains(err.Error(), fmt.Sprint("within ", timeout)) {
				t.Errorf("error %q: want the address and the timeout", err)
			}
			if took < timeout {
				t.Errorf("error after %s, before the %s timeout", took, timeout)
			}
			if took > timeout+2*time.Second {
				t.Errorf("error after %s, long after the %s timeout", took, timeout)
			}
		})
	}
}
