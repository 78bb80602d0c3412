package loadgen_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/loadgen"
	"github.com/upfactory/upfactory/proxy"
)

// Sticky sessions must not starve a small canary: with users coming and
// going, a 5% pool gets about 5% of requests.
func TestStickyTrafficFollowsWeights(t *testing.T) {
	backend := func(v string) string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, v) }))
		t.Cleanup(s.Close)
		return s.Listener.Addr().String()
	}
	p := proxy.New(proxy.Options{Service: "s", Sticky: true})
	if err := p.SetPools(context.Background(), []upfactory.Pool{
		{Version: "1", Weight: 95, Addrs: []string{backend("1")}},
		{Version: "2", Weight: 5, Addrs: []string{backend("2")}},
	}); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Serve(ctx, ln)
	res, done := loadgen.Run(ctx, loadgen.Options{BaseURL: "http://" + ln.Addr().String(), Rate: 2000, Clients: 8, Limit: 4000})
	<-done
	c := res.Snapshot()
	share := float64(c.ByVersion["2"]) / float64(c.Total)
	t.Logf("%d requests, by version %v: canary share %.1f%%", c.Total, c.ByVersion, share*100)
	if c.Failed() != 0 {
		t.Fatalf("%d failed: %s", c.Failed(), c.LastErr)
	}
	if share < 0.025 || share > 0.09 {
		t.Errorf("canary share %.1f%%, want about 5%%", share*100)
	}
}
