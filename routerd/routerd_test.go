package routerd_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/provider/providertest"
	"github.com/upfactory/upfactory/routerd"
	"github.com/upfactory/upfactory/routertest"
)

// standalone runs svc's standalone router in this process until the test
// ends or stop is called, on fresh loopback ports, keeping its state in
// dir; svc's listen and api are set to them.
func standalone(t *testing.T, svc *upfactory.Service, dir string) (stop func()) {
	t.Helper()
	traffic, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc.Router.Listen, svc.Router.API = traffic.Addr().String(), api.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- routerd.Serve(ctx, svc, routerd.Options{StateDir: dir, Traffic: traffic, API: api}) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

func service() *upfactory.Service {
	return &upfactory.Service{Name: "shop", Router: upfactory.RouterSpec{Type: "standalone", Token: "${UPFACTORY_ROUTER_TEST_TOKEN}"}}
}

func TestRouterConformance(t *testing.T) {
	t.Setenv("UPFACTORY_ROUTER_TEST_TOKEN", "test-token-1")
	routertest.Run(t, func(t *testing.T) routertest.Router {
		svc := service()
		standalone(t, svc, t.TempDir())
		r, stop, err := provider.NewRouter(context.Background(), svc, provider.RouterEnv{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return routertest.Router{Router: r, URL: "http://" + svc.Router.Listen}
	})
}

func backend(t *testing.T, name string) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) }))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The data plane outlives the control plane: with no serve at all, the
// router serves its last pools, and after its own restart it serves them
// again from its state before anyone sets them.
func TestItKeepsServingItsLastPoolsWithoutAControlPlane(t *testing.T) {
	t.Setenv("UPFACTORY_ROUTER_TEST_TOKEN", "test-token-2")
	dir := t.TempDir()
	svc := service()
	stop := standalone(t, svc, dir)
	c, err := routerd.NewClient(svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := backend(t, "1.0.0"), backend(t, "2.0.0")
	if err := c.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 0, Addrs: []string{v1}}, {Version: "2.0.0", Weight: 100, Addrs: []string{v2}}}); err != nil {
		t.Fatal(err)
	}
	c = nil // the control plane is gone
	for range 20 {
		if code, body := get(t, "http://"+svc.Router.Listen+"/"); code != 200 || body != "2.0.0" {
			t.Fatalf("with no control plane: %d %q, want 2.0.0 (its last weights)", code, body)
		}
	}
	stop()
	stop = standalone(t, svc, dir) // new ports, the same state
	for range 20 {
		if code, body := get(t, "http://"+svc.Router.Listen+"/"); code != 200 || body != "2.0.0" {
			t.Fatalf("after the router's own restart: %d %q, want 2.0.0 from its saved pools", code, body)
		}
	}
	stop()
}

func TestTheControlAPINeedsTheToken(t *testing.T) {
	t.Setenv("UPFACTORY_ROUTER_TEST_TOKEN", "test-token-3")
	svc := service()
	standalone(t, svc, t.TempDir())
	for _, auth := range []string{"", "Bearer wrong", "test-token-3"} {
		req, _ := http.NewRequest(http.MethodPut, "http://"+svc.Router.API+"/v1/pools", strings.NewReader(`[]`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("PUT /v1/pools with Authorization %q: %d, want 401", auth, resp.StatusCode)
		}
	}
	t.Setenv("UPFACTORY_ROUTER_TEST_TOKEN", "not-the-routers")
	c, err := routerd.NewClient(svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.SetPools(t.Context(), nil)
	if upfactory.ErrorCode(err) != upfactory.EUNAUTHORIZED {
		t.Errorf("a client with another token: %v, want unauthorized", err)
	}
}

// The stats the canary analysis reads come through the control API.
func TestStatsComeThroughTheAPI(t *testing.T) {
	t.Setenv("UPFACTORY_ROUTER_TEST_TOKEN", "test-token-4")
	svc := service()
	standalone(t, svc, t.TempDir())
	c, err := routerd.NewClient(svc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100, Addrs: []string{backend(t, "1.0.0")}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 10 {
		get(t, "http://"+svc.Router.Listen+"/orders/17")
	}
	now := time.Now()
	if s := c.Stats("1.0.0", time.Minute, now); s.Requests != 10 || s.Errors5xx != 0 {
		t.Errorf("Stats: %+v, want 10 requests", s)
	}
	if d := c.Distribution("1.0.0", start.Add(-time.Second), now.Add(time.Second)); d.Requests != 10 {
		t.Errorf("Distribution: %d requests, want 10", d.Requests)
	}
	routes := c.Routes("1.0.0", start.Add(-time.Second), now.Add(time.Second))
	if len(routes) != 1 || routes[0].Requests != 10 {
		t.Errorf("Routes: %+v, want one route with 10 requests", routes)
	}
}

func TestValidation(t *testing.T) {
	rt, err := provider.LookupRouter("standalone")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		api, token, key, want string
	}{
		{"", "", "api", "required for a standalone router"},
		{"10.0.0.5:7171", "", "token", "required when the control API is not on loopback"},
		{"127.0.0.1:7171", "plain", "token", "write it as ${NAME}"},
		{"127.0.0.1:0", "", "api", "port 0 cannot be dialed"},
	} {
		got := providertest.Problems{}
		rt.Validate(&upfactory.Service{Router: upfactory.RouterSpec{Type: "standalone", API: tc.api, Token: tc.token}}, got)
		if !strings.Contains(got[tc.key], tc.want) {
			t.Errorf("api %q token %q: problems %v, want %s: %q", tc.api, tc.token, got, tc.key, tc.want)
		}
	}
	ok := providertest.Problems{}
	rt.Validate(&upfactory.Service{Router: upfactory.RouterSpec{Type: "standalone", API: "127.0.0.1:7171"}}, ok)
	if len(ok) != 0 {
		t.Errorf("a loopback API without a token: %v, want no problem", ok)
	}
}
