package proxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

// copySeen is one request as the preview received it.
type copySeen struct {
	method, uri, body string
	header            http.Header
}

// preview is a real HTTP server standing for the preview version: it keeps
// what it received and answers with handler, 200 "preview" by default.
type preview struct {
	*httptest.Server
	mu   sync.Mutex
	seen []copySeen
}

func (pv *preview) Addr() string { return pv.Listener.Addr().String() }

func (pv *preview) received() []copySeen {
	pv.mu.Lock()
	defer pv.mu.Unlock()
	return append([]copySeen(nil), pv.seen...)
}

func MustPreview(tb testing.TB, handler http.HandlerFunc) *preview {
	tb.Helper()
	pv := &preview{}
	pv.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		pv.mu.Lock()
		pv.seen = append(pv.seen, copySeen{r.Method, r.RequestURI, string(body), r.Header.Clone()})
		pv.mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		io.WriteString(w, "preview")
	}))
	tb.Cleanup(pv.Close)
	return pv
}

// MustMirrorFront starts a real server in front of a proxy routing to
// primary, mirroring to pv as cfg says (Version and Addrs filled in).
func MustMirrorFront(tb testing.TB, fast bool, primary *backend, pv *preview, cfg proxy.MirrorConfig) (*proxy.Proxy, *httptest.Server) {
	tb.Helper()
	p := MustProxy(tb, proxy.Options{Service: "shop"}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{primary.Addr()}})
	p.SetFastPathForTest(fast)
	cfg.Version = "v2-preview"
	cfg.Addrs = []string{pv.Addr()}
	if err := p.SetMirror(&cfg); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { p.SetMirror(nil) })
	front := httptest.NewServer(p)
	tb.Cleanup(front.Close)
	return p, front
}

// waitMirror waits until every copy sent got its outcome and cond holds.
func waitMirror(tb testing.TB, p *proxy.Proxy, cond func(proxy.MirrorStats) bool) proxy.MirrorStats {
	tb.Helper()
	var st proxy.MirrorStats
	eventually(tb, "the mirror's stats to settle", 10*time.Second, func() (bool, string) {
		st = p.MirrorStats()
		return st.InFlight == 0 && st.Mirrored == st.Compared+st.Errors && cond(st), fmt.Sprintf("%+v", st)
	})
	return st
}

func do(tb testing.TB, client *http.Client, method, url string, header http.Header, body io.Reader) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMirrorGet(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		primary, pv := MustBackend(t, "v1"), MustPreview(t, nil)
		p, front := MustMirrorFront(t, fast, primary, pv, proxy.MirrorConfig{Sample: 1})
		header := http.Header{"Cookie": {"session=s3cret"}, "Authorization": {"Bearer t0ken"}}
		for i := range 5 {
			status, body := do(t, front.Client(), "GET", fmt.Sprintf("%s/items/%d?q=a", front.URL, i), header, nil)
			if status != 200 || body != "v1" {
				t.Fatalf("user got %d %q, want 200 from v1", status, body)
			}
		}
		do(t, front.Client(), "HEAD", front.URL+"/h", nil, nil)
		do(t, front.Client(), "OPTIONS", front.URL+"/o", nil, nil)
		st := waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 7 })
		if primary.requests() != 7 {
			t.Errorf("primary got %d requests, want 7", primary.requests())
		}
		seen := pv.received()
		if len(seen) != 7 {
			t.Fatalf("preview got %d copies, want 7", len(seen))
		}
		uris := map[string]bool{}
		for _, s := range seen {
			uris[s.method+" "+s.uri] = true
			if s.header.Get(proxy.HeaderMirror) != "1" {
				t.Errorf("copy %s without %s: %v", s.uri, proxy.HeaderMirror, s.header)
			}
		}
		for _, want := range []string{"GET /items/0?q=a", "GET /items/4?q=a", "HEAD /h", "OPTIONS /o"} {
			if !uris[want] {
				t.Errorf("preview did not get %s; got %v", want, uris)
			}
		}
		h := seen[0].header
		if h.Get("Cookie") != "session=s3cret" || h.Get("Authorization") != "Bearer t0ken" || h.Get("X-Forwarded-For") != "127.0.0.1" {
			t.Errorf("copy headers %v: want the cookie, the credentials and X-Forwarded-For", h)
		}
		if primary.lastHeader().Get(proxy.HeaderMirror) != "" {
			t.Error("the primary's request is marked as a copy")
		}
		want := proxy.MirrorStats{
			Version: "v2-preview", Active: true, Mirrored: 7, Compared: 7,
			Primary: proxy.ClassCounts{C2xx: 7}, Mirror: proxy.ClassCounts{C2xx: 7},
		}
		if diff := cmp.Diff(want, st, cmpopts.IgnoreFields(proxy.MirrorStats{}, "PrimaryLatency", "MirrorLatency")); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
		if st.PrimaryLatency.P50 <= 0 || st.MirrorLatency.P99 < st.MirrorLatency.P50 {
			t.Errorf("latencies %+v %+v", st.PrimaryLatency, st.MirrorLatency)
		}
	})
}

func TestMirrorBodies(t *testing.T) {
	small := strings.Repeat("s", 1000)
	big := strings.Repeat("b", proxy.DefaultMirrorMaxBody+1)
	chunked := func(s string) io.Reader { // no length: sent chunked
		return io.MultiReader(strings.NewReader(s[:len(s)/2]), strings.NewReader(s[len(s)/2:]))
	}
	t.Run("POST not mirrored by default", func(t *testing.T) {
		primary, pv := MustBackend(t, "v1"), MustPreview(t, nil)
		p, front := MustMirrorFront(t, false, primary, pv, proxy.MirrorConfig{Sample: 1})
		do(t, front.Client(), "POST", front.URL+"/orders", nil, strings.NewReader(small))
		do(t, front.Client(), "GET", front.URL+"/", nil, nil)
		waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 1 })
		if seen := pv.received(); len(seen) != 1 || seen[0].method != "GET" {
			t.Errorf("preview got %v, want the GET only", seen)
		}
		if got := primary.receivedBodies(); got[0] != small {
			t.Error("primary did not get the POST's body")
		}
	})
	t.Run("allowed and small, or too big", func(t *testing.T) {
		primary, pv := MustBackend(t, "v1"), MustPreview(t, nil)
		p, front := MustMirrorFront(t, false, primary, pv, proxy.MirrorConfig{Sample: 1, Methods: []string{"GET", "POST", "PUT"}})
		for _, tt := range []struct {
			method string
			body   io.Reader
		}{
			{"POST", strings.NewReader(small)},
			{"PUT", chunked(small)},
			{"POST", strings.NewReader(big)}, // too big by its length
			{"PUT", chunked(big)},            // too big once read
		} {
			if status, body := do(t, front.Client(), tt.method, front.URL+"/orders", nil, tt.body); status != 200 || body != "v1" {
				t.Fatalf("user got %d %q", status, body)
			}
		}
		st := waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 2 && st.DroppedBodyTooBig == 2 })
		if diff := cmp.Diff([]string{small, small, big, big}, primary.receivedBodies()); diff != "" {
			t.Errorf("primary bodies (-want +got):\n%s", diff)
		}
		seen := pv.received()
		if len(seen) != 2 || seen[0].body != small || seen[1].body != small {
			t.Errorf("preview got %d copies, want the two small bodies", len(seen))
		}
		if st.Mirrored != 2 {
			t.Errorf("mirrored %d, want 2", st.Mirrored)
		}
	})
}

func TestMirrorSample(t *testing.T) {
	primary, pv := MustBackend(t, "v1"), MustPreview(t, nil)
	p, front := MustMirrorFront(t, true, primary, pv, proxy.MirrorConfig{Sample: 0.25})
	for i := 1; i <= 40; i++ {
		do(t, front.Client(), "GET", fmt.Sprintf("%s/?i=%d", front.URL, i), nil, nil)
	}
	st := waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 10 })
	var got []string
	for _, s := range pv.received() {
		got = append(got, s.uri)
	}
	var want []string
	for i := 4; i <= 40; i += 4 {
		want = append(want, fmt.Sprintf("/?i=%d", i))
	}
	// Copies leave concurrently; which ones, not their order, is fixed.
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("copied requests (-want +got):\n%s", diff)
	}
	if st.Mirrored != 10 {
		t.Errorf("mirrored %d of 40 at 0.25, want 10", st.Mirrored)
	}
}

func TestMirrorHangingPreviewDoesNotBlockUsers(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		release := make(chan struct{})
		var blocked atomic.Int64
		pv := MustPreview(t, func(w http.ResponseWriter, r *http.Request) {
			blocked.Add(1)
			<-release
			w.WriteHeader(http.StatusInternalServerError)
		})
		defer close(release) // before pv closes: Close waits for its handlers
		primary := MustBackend(t, "v1")
		p, front := MustMirrorFront(t, fast, primary, pv, proxy.MirrorConfig{Sample: 1, MaxInFlight: 2})
		const users = 20
		for range users {
			if status, body := do(t, front.Client(), "GET", front.URL+"/", nil, nil); status != 200 || body != "v1" {
				t.Fatalf("user got %d %q while the preview hangs", status, body)
			}
		}
		// Every user was answered while the preview still holds its copies.
		st := p.MirrorStats()
		if st.Mirrored != 2 || st.DroppedInFlight != users-2 || st.InFlight != 2 || st.Compared != 0 {
			t.Errorf("stats %+v, want 2 copies in flight and %d dropped", st, users-2)
		}
		if n := p.Stats("v1", time.Minute, time.Now()).Requests; n != users {
			t.Errorf("primary recorded %d requests, want %d", n, users)
		}
		if blocked.Load() > 2 {
			t.Errorf("preview holds %d copies, want at most 2", blocked.Load())
		}
	})
}

func TestMirrorErrorsAndTimeout(t *testing.T) {
	primary := MustBackend(t, "v1")
	release := make(chan struct{})
	defer close(release)
	slow := MustPreview(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	p := MustProxy(t, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{primary.Addr()}})
	defer p.SetMirror(nil)
	if err := p.SetMirror(&proxy.MirrorConfig{Version: "v2", Addrs: []string{MustClosedAddr(t), slow.Addr()}, Sample: 1, Timeout: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if resp := serve(p, "GET", "/", nil, ""); resp.StatusCode != 200 {
			t.Fatalf("user got %d", resp.StatusCode)
		}
	}
	// Two copies refused, two timed out.
	st := waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Errors == 4 })
	if st.Mirrored != 4 || st.Compared != 0 {
		t.Errorf("stats %+v, want 4 errors and nothing compared", st)
	}
}

func TestMirrorMismatches(t *testing.T) {
	primary := MustBackend(t, "v1")
	pv := MustPreview(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/checkout"):
			w.WriteHeader(http.StatusInternalServerError)
		case r.URL.Path == "/missing":
			w.WriteHeader(http.StatusNotFound)
		}
	})
	p, front := MustMirrorFront(t, false, primary, pv, proxy.MirrorConfig{Sample: 1})
	for range 3 {
		do(t, front.Client(), "GET", front.URL+"/checkout?token=secret", nil, nil)
	}
	do(t, front.Client(), "GET", front.URL+"/checkout/cart", nil, nil)
	do(t, front.Client(), "GET", front.URL+"/", nil, nil)
	do(t, front.Client(), "GET", front.URL+"/missing?status=404", nil, nil) // 404 on both sides
	st := waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 6 })
	if st.Mismatches != 4 {
		t.Errorf("%d mismatches, want 4", st.Mismatches)
	}
	if diff := cmp.Diff([]proxy.MismatchKind{{Primary: "2xx", Mirror: "5xx", Count: 4}}, st.Kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
	wantRoutes := []proxy.RouteMismatches{{Method: "GET", Path: "/checkout", Count: 3}, {Method: "GET", Path: "/checkout/cart", Count: 1}}
	if diff := cmp.Diff(wantRoutes, st.Routes); diff != "" {
		t.Errorf("routes (-want +got):\n%s", diff)
	}
	wantEx := proxy.MismatchExample{Method: "GET", Path: "/checkout", PrimaryStatus: 200, MirrorStatus: 500}
	if len(st.Examples) != 4 {
		t.Fatalf("%d examples, want 4", len(st.Examples))
	}
	if diff := cmp.Diff(wantEx, st.Examples[0], cmpopts.IgnoreFields(proxy.MismatchExample{}, "At")); diff != "" {
		t.Errorf("example (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(proxy.ClassCounts{C2xx: 5, C4xx: 1}, st.Primary); diff != "" {
		t.Errorf("primary classes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(proxy.ClassCounts{C2xx: 1, C4xx: 1, C5xx: 4}, st.Mirror); diff != "" {
		t.Errorf("mirror classes (-want +got):\n%s", diff)
	}

	c := p.Collector()
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", err, problems)
	}
	want := `
# HELP upfactory_router_mirror_requests_total Copies of user requests sent to the preview version.
# TYPE upfactory_router_mirror_requests_total counter
upfactory_router_mirror_requests_total{service="shop",version="v2-preview"} 6
# HELP upfactory_router_mirror_errors_total Copies the preview version did not answer (refused, reset, timed out).
# TYPE upfactory_router_mirror_errors_total counter
upfactory_router_mirror_errors_total{service="shop",version="v2-preview"} 0
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"upfactory_router_mirror_requests_total", "upfactory_router_mirror_errors_total"); err != nil {
		t.Error(err)
	}
	// 16 class pairs, 3 drop reasons, 2 histograms.
	for name, n := range map[string]int{
		"upfactory_router_mirror_responses_total":  16,
		"upfactory_router_mirror_dropped_total":    3,
		"upfactory_router_mirror_duration_seconds": 2,
	} {
		if got := testutil.CollectAndCount(c, name); got != n {
			t.Errorf("%d series of %s, want %d", got, name, n)
		}
	}
}

func TestMirrorStop(t *testing.T) {
	primary, pv := MustBackend(t, "v1"), MustPreview(t, nil)
	p, front := MustMirrorFront(t, true, primary, pv, proxy.MirrorConfig{Sample: 1})
	do(t, front.Client(), "GET", front.URL+"/", nil, nil)
	waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 1 })
	if err := p.SetMirror(nil); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		do(t, front.Client(), "GET", front.URL+"/", nil, nil)
	}
	st := p.MirrorStats()
	if st.Active || st.Mirrored != 1 || len(pv.received()) != 1 {
		t.Errorf("after SetMirror(nil): stats %+v, preview got %d copies; want 1 and inactive", st, len(pv.received()))
	}
}

func TestMirrorSkips(t *testing.T) {
	primary, pv := MustBackend(t, "v1"), MustPreview(t, nil)
	p, front := MustMirrorFront(t, true, primary, pv, proxy.MirrorConfig{Sample: 1})
	MustSetPools(t, p,
		upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{primary.Addr()}},
		upfactory.Pool{Version: "v2-preview", Weight: 0, Addrs: []string{pv.Addr()}},
	)
	// Already a copy, and a tester previewing the preview itself: neither
	// is copied again.
	do(t, front.Client(), "GET", front.URL+"/", http.Header{proxy.HeaderMirror: {"1"}}, nil)
	do(t, front.Client(), "GET", front.URL+"/", http.Header{proxy.HeaderVersion: {"v2-preview"}}, nil)
	if st := p.MirrorStats(); st.Mirrored != 0 {
		t.Errorf("mirrored %d, want 0", st.Mirrored)
	}
	if n := len(pv.received()); n != 1 {
		t.Errorf("preview got %d requests, want the routed one only", n)
	}
}

func TestMirrorHeaderNotForgeable(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		primary, pv := MustBackend(t, "v1"), MustPreview(t, nil)
		_, front := MustMirrorFront(t, fast, primary, pv, proxy.MirrorConfig{Sample: 1})
		do(t, front.Client(), "GET", front.URL+"/", http.Header{proxy.HeaderMirror: {"1"}}, nil)
		do(t, front.Client(), "PUT", front.URL+"/", http.Header{proxy.HeaderMirror: {"1"}}, strings.NewReader("x"))
		primary.mu.Lock()
		defer primary.mu.Unlock()
		if len(primary.seen) != 2 {
			t.Fatalf("primary got %d requests, want 2", len(primary.seen))
		}
		for _, h := range primary.seen {
			if v := h.Get(proxy.HeaderMirror); v != "" {
				t.Errorf("a user's %s: %s reached the primary", proxy.HeaderMirror, v)
			}
		}
	})
}

func TestSetMirrorValidation(t *testing.T) {
	a := "127.0.0.1:9001"
	for _, tt := range []struct {
		name string
		cfg  proxy.MirrorConfig
		want string
	}{
		{"no version", proxy.MirrorConfig{Addrs: []string{a}}, "no version"},
		{"bad version", proxy.MirrorConfig{Version: "v 2", Addrs: []string{a}}, "printable ASCII"},
		{"no address", proxy.MirrorConfig{Version: "v2"}, "no address"},
		{"bad address", proxy.MirrorConfig{Version: "v2", Addrs: []string{"localhost"}}, "not host:port"},
		{"sample above 1", proxy.MirrorConfig{Version: "v2", Addrs: []string{a}, Sample: 1.5}, "sample 1.5"},
		{"negative sample", proxy.MirrorConfig{Version: "v2", Addrs: []string{a}, Sample: -0.1}, "sample -0.1"},
		{"bad method", proxy.MirrorConfig{Version: "v2", Addrs: []string{a}, Methods: []string{"GET POST"}}, "not an HTTP token"},
		{"negative limits", proxy.MirrorConfig{Version: "v2", Addrs: []string{a}, MaxBody: -1, Timeout: -1, MaxInFlight: -1}, "max in flight -1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := proxy.New(proxy.Options{Logger: quiet})
			err := p.SetMirror(&tt.cfg)
			if code := upfactory.ErrorCode(err); code != upfactory.EINVALID {
				t.Fatalf("SetMirror error %v, code %q, want %q", err, code, upfactory.EINVALID)
			}
			if msg := upfactory.ErrorMessage(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain %q", msg, tt.want)
			}
			if st := p.MirrorStats(); st.Active {
				t.Error("an invalid mirror is active")
			}
		})
	}
}

func TestMirrorConcurrent(t *testing.T) {
	primary := MustBackend(t, "v1")
	pv := MustPreview(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("i") == "3" {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	p, front := MustMirrorFront(t, true, primary, pv, proxy.MirrorConfig{Sample: 0.5, Methods: []string{"GET", "POST"}, MaxInFlight: 4})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var answered atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				url := fmt.Sprintf("%s/w%d?i=%d", front.URL, w, i%5)
				var body io.Reader
				method := "GET"
				if i%2 == 1 {
					method, body = "POST", strings.NewReader(strings.Repeat("p", i*100))
				}
				status, got := do(t, front.Client(), method, url, nil, body)
				if status != 200 || got != "v1" {
					t.Errorf("user got %d %q", status, got)
					return
				}
				answered.Add(1)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		cfgs := []proxy.MirrorConfig{
			{Version: "v2", Addrs: []string{pv.Addr()}, Sample: 1, Methods: []string{"GET", "POST"}},
			{Version: "v3", Addrs: []string{pv.Addr()}, Sample: 0.1},
		}
		for i := 0; ctx.Err() == nil; i++ {
			p.MirrorStats()
			testutil.CollectAndCount(p.Collector())
			if i%10 == 0 {
				cfg := cfgs[i/10%2]
				p.SetMirror(&cfg)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	eventually(t, "every user request answered", 30*time.Second, func() (bool, string) {
		n := answered.Load()
		return n == 8*40 || t.Failed(), fmt.Sprintf("%d of %d answered", n, 8*40)
	})
	cancel()
	wg.Wait()
	if n := primary.requests(); n != 8*40 {
		t.Errorf("primary got %d requests, want %d", n, 8*40)
	}
}

// BenchmarkServeHTTPMirror is BenchmarkServeHTTP/fastpath with every request
// copied to a preview: what mirroring costs the proxy's process when on
// (BenchmarkServeHTTP measures it off).
func BenchmarkServeHTTPMirror(b *testing.B) {
	p := MustProxy(b, proxy.Options{Service: "bench"},
		upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{newBenchBackend(b).Listener.Addr().String()}})
	if err := p.SetMirror(&proxy.MirrorConfig{Version: "v2", Addrs: []string{newBenchBackend(b).Listener.Addr().String()}, Sample: 1}); err != nil {
		b.Fatal(err)
	}
	defer p.SetMirror(nil)
	front := httptest.NewServer(p)
	defer front.Close()
	benchGet(b, front.URL)
}
