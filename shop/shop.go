// Package shop is the small sample service that ships inside the upfactory
// binary so `upfactory demo` needs nothing installed. Some versions regress
// on purpose (see Profiles), which is what the demo's canary must catch. It
// exports its own metrics at /metrics, as a real service would, so that a
// canary can also be judged through Prometheus.
//
// The regressions are deterministic, so that whatever catches them catches
// them every time (a FailAfter profile counts from its FailAfter-th request). Each API route counts its own requests, n = 1, 2, …, and
// the n-th fails with 500 when n·ErrorRate crosses an integer: at 8% the
// 13th and the 25th of every 25 fail, so a route's first 12 requests always
// succeed and any 25 consecutive requests to a route hold exactly 2
// failures, whatever the timing or the traffic on other routes. Every API
// request also takes 1 to 3 ms by its count (n mod 3), plus the profile's
// ExtraLatency.
package shop

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Profile is how one version of the shop behaves.
type Profile struct {
	ErrorRate float64 // share of each API route's requests answered 500, spread evenly (see the package doc)
	// FailAfter, when set, spares each route's first FailAfter requests:
	// a regression that shows only under sustained full traffic, after a
	// canary saw the version healthy.
	FailAfter    uint64
	ExtraLatency time.Duration // added to every API request
	NeverReady   bool          // /healthz never answers 200
	Note         string
}

// Profiles lists the versions that behave differently from a healthy shop.
// Every other version is healthy.
var Profiles = map[string]Profile{
	"1.1.0": {ErrorRate: 0.08, ExtraLatency: 120 * time.Millisecond, Note: "regression: 8% of API calls fail and every call is 120ms slower"},
	"2.1.0": {ErrorRate: 0.08, ExtraLatency: 120 * time.Millisecond, Note: "regression: 8% of API calls fail and every call is 120ms slower"},
	"1.3.0": {ErrorRate: 0.08, FailAfter: 100, Note: "regression under sustained traffic: after 100 requests to a route, 8% of its calls fail"},
	"3.9.0": {ErrorRate: 1, Note: "broken release: every API call fails"},
	"9.9.9": {NeverReady: true, Note: "broken build: never passes readiness"},
}

// Main runs the shop until SIGINT or SIGTERM. args are the flags without the
// program name.
func Main(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("shop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8081", "address to serve on")
	version := fs.String("version", "1.0.0", "version this instance reports and behaves as")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("shop: %w", err)
	}
	s := &http.Server{Handler: Handler(*version), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(sctx)
	}()
	fmt.Fprintf(stderr, "shop %s listening on %s\n", *version, ln.Addr())
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Handler serves the shop's pages and API as version, and its metrics at
// GET /metrics (see NewMetrics). The metrics are the handler's own: two
// handlers in one process count apart.
func Handler(version string) http.Handler {
	p := Profiles[version]
	var orders atomic.Int64
	m := NewMetrics(version, time.Now)
	mux := http.NewServeMux()
	// Not through api: a scrape sees neither the injected errors nor the
	// injected latency, and is not counted as a request.
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if p.NeverReady {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	errPPM := uint64(math.Round(min(max(p.ErrorRate, 0), 1) * ppm))
	api := func(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		var seq atomic.Uint64 // this route's requests
		return func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			n := seq.Add(1)
			sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
			defer func() { m.observe(r.Pattern, sw.status, time.Since(start)) }()
			w.Header().Set("X-Shop-Version", version)
			// Real handlers take a little time; the jitter gives latency a shape.
			time.Sleep(time.Duration(1+n%3)*time.Millisecond + p.ExtraLatency)
			if n > p.FailAfter && fails(n-p.FailAfter, errPPM) {
				http.Error(sw, "internal error", http.StatusInternalServerError)
				return
			}
			h(sw, r)
		}
	}
	mux.HandleFunc("GET /{$}", api(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<!doctype html><title>shop</title><h1>Shop %s</h1>\n", version)
	}))
	mux.HandleFunc("GET /api/version", api(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]string{"version": version})
	}))
	mux.HandleFunc("GET /api/products", api(func(w http.ResponseWriter, r *http.Request) {
		m.sessions.Inc()
		writeJSON(w, []map[string]any{{"id": 1, "name": "mug", "price": 9.5}, {"id": 2, "name": "shirt", "price": 21}})
	}))
	mux.HandleFunc("POST /api/checkout", api(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		m.Checkout()
		writeJSON(w, map[string]any{"order": orders.Add(1), "version": version})
	}))
	return mux
}

// ppm is the resolution of Profile.ErrorRate: the pattern of failures
// repeats every million requests to a route.
const ppm = 1_000_000

// fails reports whether a route's n-th request (from 1) fails at a rate of
// rate millionths: when n·rate crosses an integer.
func fails(n, rate uint64) bool {
	k := (n-1)%ppm + 1
	return k*rate/ppm > (k-1)*rate/ppm
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// BacklogWindow is how far back the queue backlog counts checkouts.
const BacklogWindow = 10 * time.Second

// Metrics are one shop's Prometheus metrics, every series labelled with its
// version:
//
//	shop_requests_total{route,code}           API requests answered (route is the mux pattern, "GET /api/products")
//	shop_request_duration_seconds{route}      their latency, injected latency included
//	shop_sessions_total                       sessions started: product listings served
//	shop_checkouts_total                      successful checkouts
//	shop_queue_backlog                        orders waiting: the checkouts of the last BacklogWindow
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	sessions  prometheus.Counter
	checkouts prometheus.Counter
	now       func() time.Time

	mu     sync.Mutex
	recent [BacklogWindow / time.Second]bucket // checkouts per second, by Unix second modulo the window
}

type bucket struct {
	second int64 // Unix second the count is for
	n      int64
}

// NewMetrics returns the metrics of a shop running as version, registered
// in a registry of their own. now is the clock of the queue backlog.
func NewMetrics(version string, now func() time.Time) *Metrics {
	labels := prometheus.Labels{"version": version}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shop_requests_total",
			Help: "API requests answered, by route (the mux pattern) and status code.", ConstLabels: labels},
			[]string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "shop_request_duration_seconds",
			Help: "Time to answer an API request, by route.", ConstLabels: labels, Buckets: prometheus.DefBuckets},
			[]string{"route"}),
		sessions: prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_sessions_total",
			Help: "Sessions started: product listings served.", ConstLabels: labels}),
		checkouts: prometheus.NewCounter(prometheus.CounterOpts{Name: "shop_checkouts_total",
			Help: "Successful checkouts.", ConstLabels: labels}),
		now: now,
	}
	backlog := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "shop_queue_backlog",
		Help: "Orders waiting to be shipped: the checkouts of the last " + BacklogWindow.String() + ".", ConstLabels: labels}, m.backlog)
	m.reg.MustRegister(m.requests, m.duration, m.sessions, m.checkouts, backlog)
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gatherer gives the metrics to a registry or a test.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

func (m *Metrics) observe(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// Checkout counts a successful checkout, which also waits in the queue.
func (m *Metrics) Checkout() {
	m.checkouts.Inc()
	sec := m.now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	b := &m.recent[sec%int64(len(m.recent))]
	if b.second != sec {
		*b = bucket{second: sec}
	}
	b.n++
}

// backlog counts the checkouts of the last BacklogWindow, the current
// second included.
func (m *Metrics) backlog() float64 {
	sec := m.now().Unix()
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, b := range m.recent {
		if b.second > sec-int64(len(m.recent)) && b.second <= sec {
			n += b.n
		}
	}
	return float64(n)
}
