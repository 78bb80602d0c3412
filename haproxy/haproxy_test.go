package haproxy_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/haproxy"
	"github.com/upfactory/upfactory/haproxy/haproxytest"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/provider/providertest"
	"github.com/upfactory/upfactory/routertest"
)

func TestRouterConformance(t *testing.T) {
	routertest.Run(t, func(t *testing.T) routertest.Router {
		h := haproxytest.Start(t)
		svc := &upfactory.Service{Name: "shop", Router: upfactory.RouterSpec{Type: "haproxy", Socket: h.Socket, Backend: "be"}}
		r, stop, err := provider.NewRouter(context.Background(), svc, provider.RouterEnv{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return routertest.Router{Router: r, URL: h.URL}
	})
}

func backend(t *testing.T, name string) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, name) }))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return string(b), err
}

// A reload (here a restart on the same socket) forgets the servers added
// at run time; the router's watch adds them again with their weights.
func TestServersComeBackAfterAReload(t *testing.T) {
	h := haproxytest.Start(t)
	r := haproxy.New(h.Socket, "be")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); r.Watch(ctx, 50*time.Millisecond, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	b := backend(t, "B")
	if err := r.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 0, Addrs: []string{backend(t, "A")}}, {Version: "2.0.0", Weight: 100, Addrs: []string{b}}}); err != nil {
		t.Fatal(err)
	}
	if got, err := get(h.URL); got != "B" {
		t.Fatalf("before the reload: %q, %v", got, err)
	}
	h.Restart()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := get(h.URL)
		if got == "B" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the reload the servers never came back: %q, %v", got, err)
		}
		<-time.After(20 * time.Millisecond)
	}
	for range 50 {
		if got, err := get(h.URL); got != "B" {
			t.Fatalf("after the reload, weight 0 of 1.0.0 is not kept: %q, %v", got, err)
		}
	}
}

// A command HAProxy refuses comes back with HAProxy's own words.
func TestARefusalSaysWhatHAProxySaid(t *testing.T) {
	h := haproxytest.Start(t)
	r := haproxy.New(h.Socket, "no-such-backend")
	err := r.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100, Addrs: []string{backend(t, "A")}}})
	if err == nil || !strings.Contains(err.Error(), "No such") {
		t.Fatalf("SetPools on a backend HAProxy does not have: %v, want HAProxy's own reply", err)
	}
	_, err = haproxy.Runtime{Socket: filepath.Join(t.TempDir(), "none.sock")}.Do(t.Context(), "show info")
	if upfactory.ErrorCode(err) != upfactory.EUNAVAILABLE {
		t.Errorf("a socket nobody listens on: %v, want unavailable", err)
	}
	if _, err := (haproxy.Runtime{Socket: h.Socket}).Do(t.Context(), "show info; shutdown frontend fe"); upfactory.ErrorCode(err) != upfactory.EINVALID {
		t.Errorf("two commands in one: %v, want refused before sending", err)
	}
}

func TestValidation(t *testing.T) {
	rt, err := provider.LookupRouter("haproxy")
	if err != nil {
		t.Fatal(err)
	}
	got := providertest.Problems{}
	rt.Validate(&upfactory.Service{Router: upfactory.RouterSpec{Type: "haproxy", Socket: "run/admin.sock", Backend: "be/x"}}, got)
	for key, want := range map[string]string{
		"socket":  "want an absolute path",
		"backend": "is not a backend name",
	} {
		if !strings.Contains(got[key], want) {
			t.Errorf("%s: %q, want %q", key, got[key], want)
		}
	}
}
