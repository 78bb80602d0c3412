// Package routertest is the conformance suite for upfactory.Router: every
// router type runs it, so the engine can count on one behaviour whatever
// carries the users' traffic — the weights it sets are the weights users
// get, an address taken out of the pools gets no new request while the
// ones in flight finish, and Drain waits for them.
package routertest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
)

// Router is a router under test and the URL its users' traffic arrives at.
type Router struct {
	upfactory.Router
	URL string
}

// Run runs the suite. newRouter returns a new, empty router serving; Run
// stops nothing: newRouter registers its own cleanup.
func Run(t *testing.T, newRouter func(t *testing.T) Router) {
	RunControl(t, newRouter)
	runTraffic(t, newRouter)
}

// RunControl runs the part of the suite that sends no traffic: for a
// router whose data plane cannot run in the test (a Gateway API
// implementation), what it is told is what it keeps.
func RunControl(t *testing.T, newRouter func(t *testing.T) Router) {
	t.Run("PoolsAreWhatWasSet", func(t *testing.T) {
		r := newRouter(t)
		a, b := backend(t, "A", nil), backend(t, "B", nil)
		want := []upfactory.Pool{{Version: "1.0.0", Weight: 80, Addrs: []string{a}}, {Version: "2.0.0", Weight: 20, Addrs: []string{b}}}
		if err := r.SetPools(t.Context(), want); err != nil {
			t.Fatal(err)
		}
		got, err := r.Pools(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Pools after SetPools (-set +got):\n%s", diff)
		}
	})
}

// runTraffic runs the part of the suite that sends requests through the
// router.
func runTraffic(t *testing.T, newRouter func(t *testing.T) Router) {

	t.Run("WeightsDecideWhoAnswers", func(t *testing.T) {
		r := newRouter(t)
		a, b := backend(t, "A", nil), backend(t, "B", nil)
		for _, tc := range []struct {
			wa, wb       int
			onlyA, onlyB bool
		}{{100, 0, true, false}, {0, 100, false, true}, {50, 50, false, false}} {
			if err := r.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: tc.wa, Addrs: []string{a}}, {Version: "2.0.0", Weight: tc.wb, Addrs: []string{b}}}); err != nil {
				t.Fatal(err)
			}
			seen := map[string]int{}
			for range 200 {
				seen[get(t, r.URL)]++
			}
			switch {
			case tc.onlyA && seen["B"] > 0, tc.onlyB && seen["A"] > 0:
				t.Errorf("weights %d/%d: answers %v", tc.wa, tc.wb, seen)
			case !tc.onlyA && !tc.onlyB && (seen["A"] == 0 || seen["B"] == 0):
				// 200 requests at 50/50 all on one side: 2 in 10^60.
				t.Errorf("weights 50/50: answers %v", seen)
			}
		}
	})

	t.Run("DrainWaitsForRequestsInFlight", func(t *testing.T) {
		r := newRouter(t)
		release := make(chan struct{})
		started := make(chan struct{}, 1)
		slow := backend(t, "A", func() {
			select {
			case started <- struct{}{}:
			default:
			}
			<-release
		})
		other := backend(t, "B", nil)
		if err := r.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100, Addrs: []string{slow}}}); err != nil {
			t.Fatal(err)
		}
		answered := make(chan string, 1)
		go func() { answered <- get(t, r.URL) }()
		<-started
		// Take the slow address out: new requests go to the other one.
		if err := r.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100, Addrs: []string{other}}}); err != nil {
			t.Fatal(err)
		}
		if got := get(t, r.URL); got != "B" {
			t.Errorf("a new request went to %s, want the address left in the pool", got)
		}
		drained := make(chan error, 1)
		go func() { drained <- r.Drain(t.Context(), slow) }()
		select {
		case err := <-drained:
			t.Fatalf("Drain returned (%v) while a request was in flight", err)
		case <-time.After(50 * time.Millisecond): // a request in flight holds Drain: it must not have returned yet
		}
		close(release)
		if err := <-drained; err != nil {
			t.Errorf("Drain: %v", err)
		}
		if got := <-answered; got != "A" {
			t.Errorf("the request in flight was answered by %q, want it to finish on A", got)
		}
	})

	t.Run("DrainEndsWithItsContext", func(t *testing.T) {
		r := newRouter(t)
		release := make(chan struct{})
		defer close(release)
		started := make(chan struct{}, 1)
		slow := backend(t, "A", func() {
			select {
			case started <- struct{}{}:
			default:
			}
			<-release
		})
		if err := r.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100, Addrs: []string{slow}}}); err != nil {
			t.Fatal(err)
		}
		go http.Get(r.URL)
		<-started
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := r.Drain(ctx, slow); err == nil {
			t.Error("Drain with a done context and a request in flight returned no error")
		}
	})
}

// backend serves its name; hold, when set, runs before answering.
func backend(t *testing.T, name string, hold func()) string {
	t.Helper()
	var once sync.Once
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold != nil {
			once.Do(hold) // the first request only
		}
		fmt.Fprint(w, name)
	}))
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

func get(t *testing.T, url string) string {
	resp, err := http.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
