package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

// BenchmarkServeHTTP measures a request through a real loopback client,
// the proxy's server, the proxy and a real loopback backend answering 98
// bytes. BenchmarkBackendDirect is the same without the proxy: the
// difference is what the proxy costs.
//
// The transport sub-benchmark sends every request through http.Transport,
// as requests with a body go, to show what the fast path saves.
func BenchmarkServeHTTP(b *testing.B) {
	for _, fast := range []bool{true, false} {
		name := map[bool]string{true: "fastpath", false: "transport"}[fast]
		b.Run(name, func(b *testing.B) {
			p := MustProxy(b, proxy.Options{Service: "bench"},
				upfactory.Pool{Version: "v1", Weight: 95, Addrs: []string{newBenchBackend(b).Listener.Addr().String()}},
				upfactory.Pool{Version: "v2", Weight: 5, Addrs: []string{newBenchBackend(b).Listener.Addr().String()}},
			)
			p.SetFastPathForTest(fast)
			front := httptest.NewServer(p)
			defer front.Close()
			benchGet(b, front.URL)
		})
	}
}

func BenchmarkBackendDirect(b *testing.B) {
	benchGet(b, newBenchBackend(b).URL)
}

func newBenchBackend(tb testing.TB) *httptest.Server {
	body := []byte(strings.Repeat("x", 97) + "\n")
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(body)
	}))
	tb.Cleanup(s.Close)
	return s
}

func benchGet(b *testing.B, url string) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkRecord measures the metrics path every request takes.
func BenchmarkRecord(b *testing.B) {
	record := proxy.New(proxy.Options{Logger: quiet}).RecorderForTest("v1")
	now := time.Now()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := 137 * time.Microsecond
		for pb.Next() {
			record(200, d, now)
			d += time.Microsecond
		}
	})
}

// BenchmarkStats measures one 15-minute window query over a full ring.
func BenchmarkStats(b *testing.B) {
	p := proxy.New(proxy.Options{Logger: quiet})
	for i := range 900 {
		p.RecordForTest("v1", 200, time.Duration(i)*time.Millisecond, base.Add(-time.Duration(i)*time.Second))
	}
	b.ReportAllocs()
	for b.Loop() {
		p.Stats("v1", 15*time.Minute, base)
	}
}

// BenchmarkRecordRoute measures the per-route counting every request adds
// to BenchmarkRecord: folding the path and finding its counters.
func BenchmarkRecordRoute(b *testing.B) {
	for _, bb := range []struct{ name, path string }{
		{"static", "/api/v1/catalog/items"},
		{"folded", "/api/v1/orders/12345/items/3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
	} {
		b.Run(bb.name, func(b *testing.B) {
			record := proxy.New(proxy.Options{Logger: quiet}).RouteRecorderForTest("v1")
			now := time.Now()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					record("GET", bb.path, 200, now)
				}
			})
		})
	}
}
