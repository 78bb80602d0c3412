package proxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

// MustMirrorerFront starts a real server in front of a proxy routing to
// primary, with no mirroring yet.
func MustMirrorerFront(tb testing.TB, primary *backend) (*proxy.Proxy, *httptest.Server) {
	tb.Helper()
	p := MustProxy(tb, proxy.Options{Service: "shop"}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{primary.Addr()}})
	tb.Cleanup(func() { p.SetMirror(nil) })
	front := httptest.NewServer(p)
	tb.Cleanup(front.Close)
	return p, front
}

func TestMirrorerIdempotent(t *testing.T) {
	ctx := context.Background()
	release := make(chan struct{})
	var held atomic.Int64
	pv := MustPreview(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			held.Add(1)
			<-release
		}
	})
	defer close(release) // before pv closes: Close waits for its handlers
	primary := MustBackend(t, "v1")
	p, front := MustMirrorerFront(t, primary)
	spec := upfactory.MirrorSpec{Methods: []string{"get"}}
	addrs := []string{pv.Addr()}
	if err := p.Mirror(ctx, "v2", addrs, spec); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		do(t, front.Client(), "GET", front.URL+"/", nil, nil)
	}
	waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 3 })

	// A copy in flight while the engine reconciles: it must survive.
	do(t, front.Client(), "GET", front.URL+"/hold", nil, nil)
	eventually(t, "the copy of /hold to reach the preview", 10*time.Second, func() (bool, string) {
		return held.Load() > 0, "not there yet"
	})
	for range 3 {
		if err := p.Mirror(ctx, "v2", addrs, spec); err != nil {
			t.Fatal(err)
		}
	}
	release <- struct{}{}
	st := waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 4 })
	if !st.Active || st.Mirrored != 4 || st.Errors != 0 {
		t.Errorf("after reconciling thrice: %+v, want 4 copies compared and mirroring on", st)
	}
	if r := p.MirrorReport("v2"); !r.Active || r.Mirrored != 4 || r.Compared != 4 {
		t.Errorf("report %+v, want 4 mirrored and compared", r)
	}

	// A changed spec applies; the counters of the version stay.
	if err := p.Mirror(ctx, "v2", addrs, upfactory.MirrorSpec{SampleRatio: 0.5}); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		do(t, front.Client(), "GET", front.URL+"/", nil, nil)
	}
	waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 6 })

	// No addresses: stopped, and stopping again changes nothing.
	for range 2 {
		if err := p.Mirror(ctx, "v2", nil, spec); err != nil {
			t.Fatal(err)
		}
	}
	do(t, front.Client(), "GET", front.URL+"/", nil, nil)
	if r := p.MirrorReport("v2"); r.Active || r.Mirrored != 6 {
		t.Errorf("after stopping: %+v, want 6 mirrored and inactive", r)
	}

	err := p.Mirror(ctx, "v 2", addrs, spec)
	if code := upfactory.ErrorCode(err); code != upfactory.EINVALID {
		t.Errorf("bad version: error %v, code %q, want %q", err, code, upfactory.EINVALID)
	}
}

func TestMirrorerReport(t *testing.T) {
	primary := MustBackend(t, "v1")
	pv := MustPreview(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cart", "/missing":
			w.WriteHeader(http.StatusInternalServerError)
		case "/broken":
			w.WriteHeader(http.StatusOK)
		}
	})
	p, front := MustMirrorerFront(t, primary)
	if err := p.Mirror(context.Background(), "v2", []string{pv.Addr()}, upfactory.MirrorSpec{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		do(t, front.Client(), "GET", front.URL+"/cart", nil, nil) // 2xx→5xx
	}
	do(t, front.Client(), "GET", front.URL+"/missing?status=404", nil, nil) // 4xx→5xx
	do(t, front.Client(), "GET", front.URL+"/broken?status=503", nil, nil)  // 5xx→2xx: better, not worse
	do(t, front.Client(), "GET", front.URL+"/", nil, nil)                   // alike
	waitMirror(t, p, func(st proxy.MirrorStats) bool { return st.Compared == 6 })

	got := p.MirrorReport("v2")
	want := upfactory.MirrorReport{
		Version: "v2", Active: true, Mirrored: 6, Compared: 6,
		Mismatches: 5, Worse: 4,
		// Pairs of classes, then routes; ties by path.
		Top: []string{"2xx→5xx ×3", "4xx→5xx ×1", "5xx→2xx ×1", "GET /cart ×3", "GET /broken ×1", "GET /missing ×1"},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(upfactory.MirrorReport{}, "PrimaryP95", "MirrorP95")); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
	if got.PrimaryP95 <= 0 || got.MirrorP95 <= 0 {
		t.Errorf("p95 %s and %s, want both measured", got.PrimaryP95, got.MirrorP95)
	}

	// Mirroring another version keeps v2's report, inactive.
	if err := p.Mirror(context.Background(), "v3", []string{pv.Addr()}, upfactory.MirrorSpec{}); err != nil {
		t.Fatal(err)
	}
	if r := p.MirrorReport("v2"); r.Active || r.Mismatches != 5 {
		t.Errorf("v2 after mirroring v3: %+v, want inactive with its 5 mismatches", r)
	}
	if diff := cmp.Diff(upfactory.MirrorReport{Version: "v9"}, p.MirrorReport("v9")); diff != "" {
		t.Errorf("never mirrored (-want +got):\n%s", diff)
	}
}
