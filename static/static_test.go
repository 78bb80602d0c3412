package static_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/supervise"
	"github.com/upfactory/upfactory/static"
	"github.com/upfactory/upfactory/targettest"
)

const wait = 30 * time.Second

// server is a running HTTP server whose readiness can be switched.
type server struct {
	*httptest.Server
	healthy atomic.Bool
}

func (s *server) addr() string { return s.Listener.Addr().String() }

func newServer(t *testing.T) *server {
	t.Helper()
	s := &server{}
	s.healthy.Store(true)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		if !s.healthy.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(s.Close)
	return s
}

// service returns a service with two servers for 1.0.0 and one for 2.0.0.
func service(t *testing.T) (*upfactory.Service, []*server) {
	t.Helper()
	srvs := []*server{newServer(t), newServer(t), newServer(t)}
	return &upfactory.Service{
		Name:          "catalog",
		StableVersion: "1.0.0",
		Target: upfactory.TargetSpec{
			Type: "static",
			Versions: map[string][]string{
				"1.0.0": {srvs[0].addr(), srvs[1].addr()},
				"2.0.0": {srvs[2].addr()},
			},
			Readiness: upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(wait), Interval: upfactory.Duration(20 * time.Millisecond)},
		},
	}, srvs
}

func newTarget(t *testing.T, svc *upfactory.Service, rec *targettest.Recorder) *static.Target {
	t.Helper()
	return targettest.MustNew(t, func() (*static.Target, error) {
		return static.New(svc, static.Options{Event: rec.Event()})
	})
}

func TestConformance(t *testing.T) {
	targettest.Run(t,
		func(t *testing.T, svc *upfactory.Service) upfactory.Target { return newTarget(t, svc, nil) },
		func(t *testing.T) *upfactory.Service { svc, _ := service(t); return svc },
		targettest.Options{Fixed: 2, Timeout: wait})
}

func TestNewRejects(t *testing.T) {
	for name, versions := range map[string]map[string][]string{
		"NoVersion":   nil,
		"NoAddress":   {"1.0.0": nil},
		"BadAddress":  {"1.0.0": {"localhost"}},
		"SomeBadAddr": {"1.0.0": {"127.0.0.1:80", "http://x"}},
	} {
		t.Run(name, func(t *testing.T) {
			svc := &upfactory.Service{Name: "catalog", Target: upfactory.TargetSpec{Type: "static", Versions: versions}}
			if _, err := static.New(svc, static.Options{}); upfactory.ErrorCode(err) != upfactory.EINVALID {
				t.Errorf("New = %v, want EINVALID", err)
			}
		})
	}
}

func TestStartReturnsTheAddresses(t *testing.T) {
	svc, srvs := service(t)
	rec := &targettest.Recorder{}
	tgt := newTarget(t, svc, rec)
	insts, err := tgt.Start(t.Context(), "1.0.0", 5)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	var addrs []string
	for _, in := range insts {
		addrs = append(addrs, in.Addr)
		if in.PID != 0 || in.LogPath != "" {
			t.Errorf("static instance %+v has a PID or a log", in)
		}
		targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
		e := rec.Await(t, "instance.ready", in.ID)
		if e.Actor != upfactory.ActorSystem || e.Service != "catalog" || e.Values["addr"] != in.Addr {
			t.Errorf("ready event %+v", e)
		}
	}
	if diff := cmp.Diff([]string{srvs[0].addr(), srvs[1].addr()}, addrs); diff != "" {
		t.Errorf("Start(n=5) addresses (-want +got):\n%s", diff)
	}
}

func TestStartUnknownVersion(t *testing.T) {
	svc, _ := service(t)
	tgt := newTarget(t, svc, nil)
	_, err := tgt.Start(t.Context(), "3.0.0", 1)
	want := `unknown version "3.0.0" of service catalog: known versions are 1.0.0, 2.0.0`
	if upfactory.ErrorCode(err) != upfactory.EINVALID || upfactory.ErrorMessage(err) != want {
		t.Errorf("Start = %v, want EINVALID %q", err, want)
	}
}

func TestNeverReadyFails(t *testing.T) {
	svc, srvs := service(t)
	svc.Target.Readiness.Timeout = upfactory.Duration(300 * time.Millisecond)
	srvs[2].healthy.Store(false)
	rec := &targettest.Recorder{}
	tgt := newTarget(t, svc, rec)
	insts, err := tgt.Start(t.Context(), "2.0.0", 1)
	if err != nil {
		t.Fatal(err)
	}
	got := targettest.AwaitState(t, tgt, insts[0].ID, upfactory.InstanceFailed, wait)
	if !strings.Contains(got.Reason, "503 Service Unavailable") {
		t.Errorf("reason %q does not say what the check got", got.Reason)
	}
	rec.Await(t, "instance.failed", got.ID)
}

func TestUnhealthyAndBack(t *testing.T) {
	svc, srvs := service(t)
	rec := &targettest.Recorder{}
	tgt := newTarget(t, svc, rec)
	insts, err := tgt.Start(t.Context(), "2.0.0", 1)
	if err != nil {
		t.Fatal(err)
	}
	id := insts[0].ID
	targettest.AwaitState(t, tgt, id, upfactory.InstanceReady, wait)
	srvs[2].healthy.Store(false)
	got := targettest.AwaitState(t, tgt, id, upfactory.InstanceUnhealthy, wait)
	if !strings.Contains(got.Reason, fmt.Sprintf("failed %d readiness checks in a row", supervise.UnhealthyAfter)) {
		t.Errorf("reason %q", got.Reason)
	}
	rec.Await(t, "instance.unhealthy", id)
	srvs[2].healthy.Store(true)
	if got := targettest.AwaitState(t, tgt, id, upfactory.InstanceReady, wait); got.Reason != "" {
		t.Errorf("recovered with reason %q", got.Reason)
	}
}

func TestStopLeavesTheServerAlone(t *testing.T) {
	svc, srvs := service(t)
	rec := &targettest.Recorder{}
	tgt := newTarget(t, svc, rec)
	insts, err := tgt.Start(t.Context(), "2.0.0", 1)
	if err != nil {
		t.Fatal(err)
	}
	targettest.AwaitState(t, tgt, insts[0].ID, upfactory.InstanceReady, wait)
	if err := tgt.Stop(t.Context(), insts[0].ID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	rec.Await(t, "instance.stopped", insts[0].ID)
	if _, err := targettest.Get(srvs[2].addr(), "/healthz"); err != nil {
		t.Errorf("the server stopped answering: %v", err)
	}
}

func TestAdopt(t *testing.T) {
	svc, srvs := service(t)
	srvs[1].healthy.Store(false)
	now := time.Now()
	recorded := []upfactory.Instance{
		{ID: "catalog-1.0.0-0001", Service: "catalog", Version: "1.0.0", Addr: srvs[0].addr(), State: upfactory.InstanceReady, StartedAt: now},
		{ID: "catalog-1.0.0-0002", Service: "catalog", Version: "1.0.0", Addr: srvs[1].addr(), State: upfactory.InstanceReady, StartedAt: now},
		{ID: "catalog-1.0.0-0003", Service: "catalog", Version: "1.0.0", Addr: "127.0.0.1:1", State: upfactory.InstanceReady, StartedAt: now},
		{ID: "catalog-1.0.0-0004", Service: "catalog", Version: "1.0.0", Addr: srvs[0].addr(), State: upfactory.InstanceStopped, StartedAt: now},
	}
	rec := &targettest.Recorder{}
	tgt := newTarget(t, svc, rec)
	list := targettest.MustAdopt(t, tgt, recorded)
	got := map[string]upfactory.InstanceState{}
	for _, in := range list {
		got[in.ID] = in.State
	}
	want := map[string]upfactory.InstanceState{
		"catalog-1.0.0-0001": upfactory.InstanceReady,    // answers
		"catalog-1.0.0-0002": upfactory.InstanceStarting, // listed, does not answer yet
		"catalog-1.0.0-0003": upfactory.InstanceStopped,  // no longer listed
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("states after Adopt (-want +got):\n%s", diff)
	}
	rec.Await(t, "instance.adopted", "catalog-1.0.0-0001")
	if e := rec.Await(t, "instance.lost", "catalog-1.0.0-0003"); !strings.Contains(e.Reason, "no longer listed") {
		t.Errorf("lost event %+v", e)
	}
	srvs[1].healthy.Store(true)
	targettest.AwaitState(t, tgt, "catalog-1.0.0-0002", upfactory.InstanceReady, wait)
}

func TestCloseLeaksNoGoroutine(t *testing.T) {
	svc, _ := service(t)
	before := runtime.NumGoroutine()
	tgt, err := static.New(svc, static.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "2.0.0"} {
		insts, err := tgt.Start(t.Context(), v, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range insts {
			targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
		}
	}
	if err := tgt.Close(t.Context(), false); err != nil {
		t.Fatalf("Close: %v", err)
	}
	targettest.AwaitGoroutines(t, before, wait)
}
