package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

// backend is a real HTTP server standing for one instance of a version. It
// answers with its version as the body, and with the status in ?status=.
type backend struct {
	*httptest.Server
	version string
	mu      sync.Mutex
	seen    []http.Header // headers of the requests it received
	bodies  []string
}

func (b *backend) Addr() string { return b.Listener.Addr().String() }

func (b *backend) requests() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.seen)
}

func (b *backend) receivedBodies() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies...)
}

func (b *backend) lastHeader() http.Header {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seen[len(b.seen)-1]
}

// MustBackend starts a backend for version, closed when the test ends.
func MustBackend(tb testing.TB, version string) *backend {
	tb.Helper()
	b := &backend{version: version}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.seen = append(b.seen, r.Header.Clone())
		b.bodies = append(b.bodies, string(body))
		b.mu.Unlock()
		status := http.StatusOK
		if s := r.URL.Query().Get("status"); s != "" {
			status, _ = strconv.Atoi(s)
		}
		w.WriteHeader(status)
		io.WriteString(w, b.version)
	}))
	tb.Cleanup(b.Close)
	return b
}

// MustClosedAddr returns a loopback address nothing listens on: connections
// to it are refused.
func MustClosedAddr(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// quiet drops the proxy's configuration logs.
var quiet = slog.New(slog.DiscardHandler)

// MustProxy returns a proxy with pools set.
func MustProxy(tb testing.TB, opts proxy.Options, pools ...upfactory.Pool) *proxy.Proxy {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	p := proxy.New(opts)
	if err := p.SetPools(context.Background(), pools); err != nil {
		tb.Fatal(err)
	}
	return p
}

func MustSetPools(tb testing.TB, p *proxy.Proxy, pools ...upfactory.Pool) {
	tb.Helper()
	if err := p.SetPools(context.Background(), pools); err != nil {
		tb.Fatal(err)
	}
}

// eventually polls cond every 5ms until it holds. After timeout it fails
// the test naming what it waited for and where things last stood (cond's
// second result).
func eventually(tb testing.TB, what string, timeout time.Duration, cond func() (bool, string)) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s: %s", timeout, what, state)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// serve sends one request through p's handler and returns the answer.
func serve(p http.Handler, method, target string, header http.Header, body string) *http.Response {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)
	return w.Result()
}

func servedBy(resp *http.Response) string { return resp.Header.Get(proxy.HeaderServedBy) }

// Weighted choice is an even spread, not a draw: at 20% exactly one of
// every 5 requests goes to the canary, and its two instances take turns.
func TestWeightedDistribution(t *testing.T) {
	stable, canary := MustBackend(t, "v1"), MustBackend(t, "v2")
	canary2 := MustBackend(t, "v2")
	p := MustProxy(t, proxy.Options{Service: "shop"},
		upfactory.Pool{Version: "v1", Weight: 80, Addrs: []string{stable.Addr()}},
		upfactory.Pool{Version: "v2", Weight: 20, Addrs: []string{canary.Addr(), canary2.Addr()}},
	)
	const n = 5000
	counts := map[string]int{}
	inFive := 0 // canary requests in the current run of 5
	for i := range n {
		resp := serve(p, "GET", "/", nil, "")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != servedBy(resp) {
			t.Fatalf("answer %d %q served by %q", resp.StatusCode, body, servedBy(resp))
		}
		counts[servedBy(resp)]++
		if servedBy(resp) == "v2" {
			inFive++
		}
		if i%5 == 4 {
			if inFive != 1 {
				t.Fatalf("requests %d–%d: %d to the canary, want 1 of every 5 at 20%%", i-3, i+1, inFive)
			}
			inFive = 0
		}
	}
	if counts["v2"] != n/5 {
		t.Errorf("canary got %d of %d (%v), want exactly %d", counts["v2"], n, counts, n/5)
	}
	// Round robin inside the pool: the canary's two instances share evenly.
	if a, b := canary.requests(), canary2.requests(); a+b != counts["v2"] || a-b > 1 || b-a > 1 {
		t.Errorf("canary instances got %d and %d requests, want an even split of %d", a, b, counts["v2"])
	}
}

// Given the same weights set again between requests (as after a restart of
// an instance elsewhere), the spread goes on where it was: a 5% canary
// still gets 5 of every 100 requests.
func TestWeightedSpreadSurvivesSetPools(t *testing.T) {
	stable, canary := MustBackend(t, "v1"), MustBackend(t, "v2")
	pools := []upfactory.Pool{
		{Version: "v1", Weight: 95, Addrs: []string{stable.Addr()}},
		{Version: "v2", Weight: 5, Addrs: []string{canary.Addr()}},
	}
	p := MustProxy(t, proxy.Options{}, pools...)
	for range 200 {
		MustSetPools(t, p, pools...)
		serve(p, "GET", "/", nil, "")
	}
	if n := canary.requests(); n != 10 {
		t.Errorf("5%% canary got %d of 200 requests, want 10", n)
	}
}

func TestWeightZeroGetsNone(t *testing.T) {
	stable, canary := MustBackend(t, "v1"), MustBackend(t, "v2")
	p := MustProxy(t, proxy.Options{},
		upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{stable.Addr()}},
		upfactory.Pool{Version: "v2", Weight: 0, Addrs: []string{canary.Addr()}},
	)
	for range 1000 {
		if v := servedBy(serve(p, "GET", "/", nil, "")); v != "v1" {
			t.Fatalf("served by %q, want v1", v)
		}
	}
	if n := canary.requests(); n != 0 {
		t.Errorf("weight-0 canary got %d requests", n)
	}
}

func TestSetPoolsValidation(t *testing.T) {
	a, b := "127.0.0.1:9001", "127.0.0.1:9002"
	tests := []struct {
		name  string
		pools []upfactory.Pool
		want  string // in the message; "" for valid pools
	}{
		{"no pools", nil, ""},
		{"one pool", []upfactory.Pool{{Version: "v1", Weight: 100, Addrs: []string{a}}}, ""},
		{"weight 0 without address", []upfactory.Pool{{Version: "v1", Weight: 100, Addrs: []string{a}}, {Version: "v2"}}, ""},
		{"sum below 100", []upfactory.Pool{{Version: "v1", Weight: 60, Addrs: []string{a}}, {Version: "v2", Weight: 30, Addrs: []string{b}}}, "add up to 90"},
		{"sum above 100", []upfactory.Pool{{Version: "v1", Weight: 90, Addrs: []string{a}}, {Version: "v2", Weight: 20, Addrs: []string{b}}}, "add up to 110"},
		{"negative weight", []upfactory.Pool{{Version: "v1", Weight: 110, Addrs: []string{a}}, {Version: "v2", Weight: -10, Addrs: []string{b}}}, "weight -10"},
		{"weight above 100", []upfactory.Pool{{Version: "v1", Weight: 101, Addrs: []string{a}}}, "weight 101"},
		{"duplicate version", []upfactory.Pool{{Version: "v1", Weight: 50, Addrs: []string{a}}, {Version: "v1", Weight: 50, Addrs: []string{b}}}, "more than one pool"},
		{"weight without address", []upfactory.Pool{{Version: "v1", Weight: 100}}, "no address"},
		{"empty version", []upfactory.Pool{{Weight: 100, Addrs: []string{a}}}, "no version"},
		{"version with a space", []upfactory.Pool{{Version: "v 1", Weight: 100, Addrs: []string{a}}}, "printable ASCII"},
		{"address without port", []upfactory.Pool{{Version: "v1", Weight: 100, Addrs: []string{"localhost"}}}, "not host:port"},
		{"address in two pools", []upfactory.Pool{{Version: "v1", Weight: 50, Addrs: []string{a}}, {Version: "v2", Weight: 50, Addrs: []string{a}}}, "is in pool v1 and pool v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proxy.New(proxy.Options{Logger: quiet})
			err := p.SetPools(context.Background(), tt.pools)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("SetPools: %v", err)
				}
				got, err := p.Pools(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				want := tt.pools
				if want == nil {
					want = []upfactory.Pool{}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Pools (-want +got):\n%s", diff)
				}
				return
			}
			if code := upfactory.ErrorCode(err); code != upfactory.EINVALID {
				t.Fatalf("SetPools error %v, code %q, want %q", err, code, upfactory.EINVALID)
			}
			if msg := upfactory.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain %q", msg, tt.want)
			}
		})
	}
}

func TestSetPoolsKeepsPreviousOnError(t *testing.T) {
	stable := MustBackend(t, "v1")
	pools := []upfactory.Pool{{Version: "v1", Weight: 100, Addrs: []string{stable.Addr()}}}
	p := MustProxy(t, proxy.Options{}, pools...)
	if err := p.SetPools(context.Background(), []upfactory.Pool{{Version: "v1", Weight: 50, Addrs: []string{stable.Addr()}}}); err == nil {
		t.Fatal("SetPools accepted weights adding up to 50")
	}
	got, _ := p.Pools(context.Background())
	if diff := cmp.Diff(pools, got); diff != "" {
		t.Errorf("Pools after a rejected SetPools (-want +got):\n%s", diff)
	}
}

func TestNoPools(t *testing.T) {
	p := proxy.New(proxy.Options{Logger: quiet})
	if resp := serve(p, "GET", "/", nil, ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d without pools, want 503", resp.StatusCode)
	}
}

func TestSticky(t *testing.T) {
	stable, canary := MustBackend(t, "v1"), MustBackend(t, "v2")
	p := proxy.New(proxy.Options{Sticky: true, Logger: quiet})
	setWeight := func(w int) {
		t.Helper()
		MustSetPools(t, p,
			upfactory.Pool{Version: "v1", Weight: 100 - w, Addrs: []string{stable.Addr()}},
			upfactory.Pool{Version: "v2", Weight: w, Addrs: []string{canary.Addr()}},
		)
	}
	// request sends one client's request and returns who served it and the
	// cookie set, if any.
	request := func(cookie string) (served string, set *http.Cookie) {
		t.Helper()
		h := http.Header{}
		if cookie != "" {
			h.Set("Cookie", (&http.Cookie{Name: proxy.DefaultCookie, Value: cookie}).String())
		}
		resp := serve(p, "GET", "/", h, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		for _, c := range resp.Cookies() {
			if c.Name == proxy.DefaultCookie {
				set = c
			}
		}
		return servedBy(resp), set
	}

	setWeight(5)
	const clients = 400
	cookies := make([]string, clients)
	onCanary := 0
	for i := range cookies {
		served, set := request("")
		if set == nil {
			t.Fatalf("new client %d got no cookie", i)
		}
		if set.Value != served || set.Path != "/" || !set.HttpOnly || set.SameSite != http.SameSiteLaxMode {
			t.Fatalf("cookie %+v for a client served by %s, want value %[2]s, Path=/, HttpOnly, SameSite=Lax", set, served)
		}
		cookies[i] = set.Value
		if served == "v2" {
			onCanary++
		}
	}
	if onCanary != clients/20 {
		t.Fatalf("%d of %d clients on the canary at 5%%, want %d", onCanary, clients, clients/20)
	}

	for _, w := range []int{25, 50} {
		setWeight(w)
		for i, c := range cookies {
			served, set := request(c)
			if served != c {
				t.Fatalf("weight %d: client %d with cookie %s served by %s", w, i, c, served)
			}
			if set != nil {
				t.Fatalf("weight %d: client %d already carrying %s got cookie %v", w, i, c, set)
			}
		}
	}

	// The canary is taken out of traffic: its clients move and learn it.
	setWeight(0)
	for i, c := range cookies {
		served, set := request(c)
		if served != "v1" {
			t.Fatalf("canary at 0: client %d with cookie %s served by %s", i, c, served)
		}
		if (c == "v2") != (set != nil) {
			t.Fatalf("canary at 0: client %d with cookie %s got cookie %v", i, c, set)
		}
		if set != nil && set.Value != "v1" {
			t.Fatalf("moved client got cookie %s, want v1", set.Value)
		}
	}
}

func TestStickyUnknownCookieRoutesByWeight(t *testing.T) {
	stable := MustBackend(t, "v1")
	p := MustProxy(t, proxy.Options{Sticky: true, Cookie: "ver"},
		upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{stable.Addr()}})
	resp := serve(p, "GET", "/", http.Header{"Cookie": {"ver=v0"}}, "")
	if got := servedBy(resp); got != "v1" {
		t.Errorf("served by %q, want v1", got)
	}
	if got := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(got, "ver=v1;") {
		t.Errorf("Set-Cookie %q, want ver=v1", got)
	}
}

func TestHeaderOverride(t *testing.T) {
	stable, canary := MustBackend(t, "v1"), MustBackend(t, "v2")
	p := MustProxy(t, proxy.Options{Sticky: true},
		upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{stable.Addr()}},
		upfactory.Pool{Version: "v2", Weight: 0, Addrs: []string{canary.Addr()}},
	)
	h := http.Header{proxy.HeaderVersion: {"v2"}}
	for range 20 {
		resp := serve(p, "GET", "/", h, "")
		if got := servedBy(resp); got != "v2" {
			t.Fatalf("with %s: v2, served by %q", proxy.HeaderVersion, got)
		}
		if c := resp.Header.Get("Set-Cookie"); c != "" {
			t.Fatalf("header override set cookie %q", c)
		}
	}
	if got := canary.lastHeader().Get(proxy.HeaderVersion); got != "v2" {
		t.Errorf("backend saw %s %q, want it passed on", proxy.HeaderVersion, got)
	}
	// An unknown version is ignored.
	resp := serve(p, "GET", "/", http.Header{proxy.HeaderVersion: {"v9"}}, "")
	if got := servedBy(resp); got != "v1" {
		t.Errorf("with %s: v9, served by %q, want v1", proxy.HeaderVersion, got)
	}
}

func TestForwardedHeaders(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		stable := MustBackend(t, "v1")
		p := MustProxy(t, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{stable.Addr()}})
		p.SetFastPathForTest(fast)
		front := httptest.NewServer(p)
		defer front.Close()
		req, _ := http.NewRequest("GET", front.URL+"/path?q=1", nil)
		req.Host = "shop.example"
		req.Header.Set("X-Forwarded-For", "6.6.6.6") // a client's claim is not trusted
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := stable.lastHeader()
		got := map[string]string{
			"X-Forwarded-For":   h.Get("X-Forwarded-For"),
			"X-Forwarded-Host":  h.Get("X-Forwarded-Host"),
			"X-Forwarded-Proto": h.Get("X-Forwarded-Proto"),
		}
		want := map[string]string{
			"X-Forwarded-For":   "127.0.0.1",
			"X-Forwarded-Host":  "shop.example",
			"X-Forwarded-Proto": "http",
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("forwarding headers (-want +got):\n%s", diff)
		}
	})
}

func TestRetryConnectionRefused(t *testing.T) {
	stable := MustBackend(t, "v1")
	p := MustProxy(t, proxy.Options{},
		upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{MustClosedAddr(t), stable.Addr(), MustClosedAddr(t)}})
	for i := range 100 {
		method, body := "GET", ""
		if i%2 == 1 {
			method, body = "POST", fmt.Sprintf("order %d", i)
		}
		resp := serve(p, method, "/", nil, body)
		if resp.StatusCode != http.StatusOK || servedBy(resp) != "v1" {
			t.Fatalf("request %d: status %d served by %q", i, resp.StatusCode, servedBy(resp))
		}
	}
	// A retried body arrives whole.
	for i, b := range stable.receivedBodies() {
		if want := fmt.Sprintf("order %d", i); i%2 == 1 && b != want {
			t.Fatalf("backend got body %q, want %q", b, want)
		}
	}
	if st := p.Stats("v1", time.Minute, time.Now()); st.Requests != 100 || st.Errors5xx != 0 {
		t.Errorf("stats %+v, want 100 requests and no 5xx", st)
	}
}

func TestRetryOtherPool(t *testing.T) {
	canary := MustBackend(t, "v2")
	p := MustProxy(t, proxy.Options{},
		upfactory.Pool{Version: "v1", Weight: 50, Addrs: []string{MustClosedAddr(t), MustClosedAddr(t)}},
		upfactory.Pool{Version: "v2", Weight: 50, Addrs: []string{canary.Addr()}},
	)
	for i := range 100 {
		if resp := serve(p, "GET", "/", nil, ""); resp.StatusCode != http.StatusOK || servedBy(resp) != "v2" {
			t.Fatalf("request %d: status %d served by %q", i, resp.StatusCode, servedBy(resp))
		}
	}
	if n := canary.requests(); n != 100 {
		t.Errorf("canary answered %d requests, want all 100", n)
	}
}

func TestAllInstancesDown(t *testing.T) {
	p := MustProxy(t, proxy.Options{},
		upfactory.Pool{Version: "v1", Weight: 70, Addrs: []string{MustClosedAddr(t)}},
		upfactory.Pool{Version: "v2", Weight: 30, Addrs: []string{MustClosedAddr(t)}},
	)
	const n = 50
	for range n {
		resp := serve(p, "GET", "/", http.Header{proxy.HeaderVersion: {"v1"}}, "")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "bad gateway") {
			t.Fatalf("answer %d %q, want 502 with a short text", resp.StatusCode, body)
		}
	}
	// Counted against the version chosen first.
	st := p.Stats("v1", time.Minute, time.Now())
	if st.Requests != n || st.Errors5xx != n {
		t.Errorf("v1 stats %+v, want %d requests, all 5xx", st, n)
	}
	if st := p.Stats("v2", time.Minute, time.Now()); st.Requests != 0 {
		t.Errorf("v2 stats %+v, want none", st)
	}
}

func TestNoRetryAfterBodyRead(t *testing.T) {
	// A backend that reads the body and then drops the connection: the
	// request was sent, so it must not be sent again.
	var mu sync.Mutex
	hits := 0
	dropper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		mu.Lock()
		hits++
		mu.Unlock()
		conn, _, _ := http.NewResponseController(w).Hijack()
		conn.Close()
	}))
	defer dropper.Close()
	other := MustBackend(t, "v2")
	p := MustProxy(t, proxy.Options{},
		upfactory.Pool{Version: "v1", Weight: 50, Addrs: []string{dropper.Listener.Addr().String()}},
		upfactory.Pool{Version: "v2", Weight: 50, Addrs: []string{other.Addr()}},
	)
	resp := serve(p, "POST", "/", http.Header{proxy.HeaderVersion: {"v1"}}, "pay 10")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502", resp.StatusCode)
	}
	mu.Lock()
	defer mu.Unlock()
	if other.requests() != 0 || hits != 1 {
		t.Errorf("request sent %d times to v1 and %d to v2, want once", hits, other.requests())
	}
}

func TestStatusClasses(t *testing.T) {
	stable := MustBackend(t, "v1")
	p := MustProxy(t, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{stable.Addr()}})
	for status, n := range map[int]int{200: 10, 302: 2, 404: 3, 429: 1, 500: 4, 503: 1} {
		for range n {
			if resp := serve(p, "GET", "/?status="+strconv.Itoa(status), nil, ""); resp.StatusCode != status {
				t.Fatalf("status %d, want %d", resp.StatusCode, status)
			}
		}
	}
	st := p.Stats("v1", 30*time.Second, time.Now())
	got := [3]int64{st.Requests, st.Errors4xx, st.Errors5xx}
	if want := [3]int64{21, 4, 5}; got != want {
		t.Errorf("requests, 4xx, 5xx = %v, want %v", got, want)
	}
	if st.Window != 30*time.Second || st.Rate != 21.0/30 {
		t.Errorf("window %s rate %v, want 30s and %v", st.Window, st.Rate, 21.0/30)
	}
	if st.P50 <= 0 || st.P50 > st.P99 {
		t.Errorf("p50 %s p99 %s", st.P50, st.P99)
	}
}

func TestDrain(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "slow")
	}))
	defer slow.Close()
	fast := MustBackend(t, "v2")
	slowAddr := slow.Listener.Addr().String()
	p := MustProxy(t, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{slowAddr}})
	front := httptest.NewServer(p)
	defer front.Close()

	done := make(chan error, 1)
	go func() {
		resp, err := front.Client().Get(front.URL)
		if err == nil {
			_, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
		}
		done <- err
	}()
	<-arrived

	// The instance leaves the pools: new requests go elsewhere, the one in
	// flight carries on.
	MustSetPools(t, p, upfactory.Pool{Version: "v2", Weight: 100, Addrs: []string{fast.Addr()}})
	if resp := serve(p, "GET", "/", nil, ""); servedBy(resp) != "v2" {
		t.Fatalf("new request served by %q after the switch", servedBy(resp))
	}

	// While the request is in flight, Drain cannot succeed.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := p.Drain(ctx, slowAddr)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain with a request in flight: %v, want deadline exceeded", err)
	}
	drained := make(chan error, 1)
	go func() { drained <- p.Drain(context.Background(), slowAddr) }()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned %v with a request in flight", err)
	default:
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatalf("in-flight request: %v", err)
	}
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	// A drained and removed address is unknown: Drain returns at once.
	if err := p.Drain(context.Background(), slowAddr); err != nil {
		t.Fatalf("Drain again: %v", err)
	}
}

func TestServeShutsDownGracefully(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
		io.WriteString(w, "done")
	}))
	defer slow.Close()
	p := MustProxy(t, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{slow.Listener.Addr().String()}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- p.Serve(ctx, ln) }()

	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-arrived
	cancel()
	close(release)
	if b := <-got; b != "done" {
		t.Errorf("in-flight request during shutdown got %q, want done", b)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

// MustDroppingAddr returns the address of an instance that reads each
// request and closes the connection without answering, like a process that
// dies with requests in flight. It counts the requests it swallowed.
func MustDroppingAddr(tb testing.TB) (string, *atomic.Int64) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
					n.Add(1)
				}
			}()
		}
	}()
	return ln.Addr().String(), &n
}

// An idempotent request whose instance died without answering is answered
// by another instance; a POST is not sent twice.
func TestRetryIdempotentWhenInstanceDropsTheRequest(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		live := MustBackend(t, "v1")
		dropping, swallowed := MustDroppingAddr(t)
		p := MustProxy(t, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{dropping, live.Addr()}})
		p.SetFastPathForTest(fast)
		for i := range 20 {
			if resp := serve(p, "GET", "/", nil, ""); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %d: status %d", i, resp.StatusCode)
			}
		}
		if swallowed.Load() == 0 {
			t.Fatal("the dropping instance never got a request: the test proves nothing")
		}
		posts := 0
		for range 20 {
			before := live.requests()
			resp := serve(p, "POST", "/", nil, "order")
			switch {
			case resp.StatusCode == http.StatusBadGateway:
				posts++
				if live.requests() != before {
					t.Fatal("a dropped POST was sent again to another instance")
				}
			case resp.StatusCode != http.StatusOK:
				t.Fatalf("POST: status %d", resp.StatusCode)
			}
		}
		if posts == 0 {
			t.Error("no POST reached the dropping instance")
		}
	})
}
