// Package targettest is the conformance suite for upfactory.Target: every
// implementation runs it, so the engine can count on one behavior. It also
// holds the test HTTP server that targets run as an instance.
package targettest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
)

// Options adjust the suite to what a target promises.
type Options struct {
	// Fixed is the number of instances Start returns whatever n it is
	// asked for (a static target: one per address). 0: Start returns n.
	Fixed int
	// StopEndsServing: once Stop returns, the instance's address no
	// longer answers (an exec target stops the process).
	StopEndsServing bool
	// Timeout bounds each wait for a state. Default 30s.
	Timeout time.Duration
}

// Run runs the suite. svc returns the service to test, whose
// StableVersion serves /healthz and which rejects a version named
// "no-such-version"; it is called once per subtest. newTarget returns a
// new target of svc; Run closes it, stopping every instance, when the
// subtest ends.
func Run(t *testing.T, newTarget func(t *testing.T, svc *upfactory.Service) upfactory.Target, svc func(t *testing.T) *upfactory.Service, opts Options) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	s := &suite{newTarget: newTarget, svc: svc, opts: opts}
	tests := []struct {
		name string
		fn   func(*testing.T)
	}{
		{"StartReady", s.testStartReady},
		{"StartUnknownVersion", s.testStartUnknownVersion},
		{"StopUnknown", s.testStopUnknown},
		{"Stop", s.testStop},
		{"InstancesIsCopy", s.testInstancesIsCopy},
		{"Adopt", s.testAdopt},
		{"AdoptSkipsKnown", s.testAdoptSkipsKnown},
		{"Close", s.testClose},
		{"Concurrent", s.testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.fn)
	}
}

type suite struct {
	newTarget func(t *testing.T, svc *upfactory.Service) upfactory.Target
	svc       func(t *testing.T) *upfactory.Service
	opts      Options
}

// target returns a new target of a new service; it is closed with
// stopAll when the test ends.
func (s *suite) target(t *testing.T) (upfactory.Target, *upfactory.Service) {
	t.Helper()
	svc := s.svc(t)
	return s.targetOf(t, svc), svc
}

func (s *suite) targetOf(t *testing.T, svc *upfactory.Service) upfactory.Target {
	t.Helper()
	tgt := s.newTarget(t, svc)
	CloseAtEnd(t, tgt)
	return tgt
}

// MustNew returns the target newTarget makes, closed as CloseAtEnd says;
// it fails the test if newTarget fails.
func MustNew[T upfactory.Target](tb testing.TB, newTarget func() (T, error)) T {
	tb.Helper()
	tgt, err := newTarget()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	CloseAtEnd(tb, tgt)
	return tgt
}

// MustAdopt has tgt adopt recs, as after a restart, and returns the
// instances it lists then; it fails the test if either fails.
func MustAdopt(tb testing.TB, tgt upfactory.Target, recs []upfactory.Instance) []upfactory.Instance {
	tb.Helper()
	if err := tgt.Adopt(tb.Context(), recs); err != nil {
		tb.Fatalf("Adopt: %v", err)
	}
	list, err := tgt.Instances(tb.Context())
	if err != nil {
		tb.Fatalf("Instances: %v", err)
	}
	return list
}

// CloseAtEnd closes tgt, stopping every instance, when the test ends, and
// fails the test if that fails.
func CloseAtEnd(tb testing.TB, tgt upfactory.Target) {
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := tgt.Close(ctx, true); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
}

func (s *suite) want(n int) int {
	if s.opts.Fixed > 0 {
		return s.opts.Fixed
	}
	return n
}

// startReady starts n instances of the stable version and waits until
// they are all Ready.
func (s *suite) startReady(t *testing.T, tgt upfactory.Target, version string, n int) []upfactory.Instance {
	t.Helper()
	insts, err := tgt.Start(t.Context(), version, n)
	if err != nil {
		t.Fatalf("Start(%q, %d): %v", version, n, err)
	}
	if len(insts) != s.want(n) {
		t.Fatalf("Start(%q, %d) returned %d instances, want %d", version, n, len(insts), s.want(n))
	}
	var ready []upfactory.Instance
	for _, in := range insts {
		ready = append(ready, AwaitState(t, tgt, in.ID, upfactory.InstanceReady, s.opts.Timeout))
	}
	return ready
}

func (s *suite) testStartReady(t *testing.T) {
	tgt, svc := s.target(t)
	insts, err := tgt.Start(t.Context(), svc.StableVersion, 2)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if len(insts) != s.want(2) {
		t.Fatalf("Start returned %d instances, want %d", len(insts), s.want(2))
	}
	ids := map[string]bool{}
	for _, in := range insts {
		if in.ID == "" || ids[in.ID] {
			t.Errorf("instance ID %q is empty or repeated", in.ID)
		}
		ids[in.ID] = true
		if in.Service != svc.Name || in.Version != svc.StableVersion || in.Addr == "" || in.StartedAt.IsZero() {
			t.Errorf("Start returned %+v, want service %s, version %s, an address and a start time", in, svc.Name, svc.StableVersion)
		}
		if in.State != upfactory.InstanceStarting && in.State != upfactory.InstanceReady {
			t.Errorf("instance %s is %s right after Start, want Starting", in.ID, in.State)
		}
	}
	for _, in := range insts {
		got := AwaitState(t, tgt, in.ID, upfactory.InstanceReady, s.opts.Timeout)
		if got.Addr != in.Addr || got.Version != in.Version {
			t.Errorf("ready instance %s is %+v, started as %+v", in.ID, got, in)
		}
		if _, err := Get(got.Addr, readinessPath(svc)); err != nil {
			t.Errorf("ready instance %s does not answer: %v", in.ID, err)
		}
	}
	list, err := tgt.Instances(t.Context())
	if err != nil {
		t.Fatalf("Instances: %v", err)
	}
	if len(list) != len(insts) {
		t.Errorf("Instances lists %d instances, want %d", len(list), len(insts))
	}
}

func (s *suite) testStartUnknownVersion(t *testing.T) {
	tgt, _ := s.target(t)
	insts, err := tgt.Start(t.Context(), "no-such-version", 1)
	if code := upfactory.ErrorCode(err); code != upfactory.EINVALID {
		t.Fatalf("Start of an unknown version: error %v (code %q), want code %q", err, code, upfactory.EINVALID)
	}
	if !strings.Contains(upfactory.ErrorMessage(err), "no-such-version") {
		t.Errorf("the message %q does not name the version", upfactory.ErrorMessage(err))
	}
	if len(insts) != 0 {
		t.Errorf("Start of an unknown version returned %v", insts)
	}
	if list, _ := tgt.Instances(t.Context()); len(list) != 0 {
		t.Errorf("after a rejected Start, Instances lists %v", list)
	}
}

func (s *suite) testStopUnknown(t *testing.T) {
	tgt, _ := s.target(t)
	err := tgt.Stop(t.Context(), "no-such-instance")
	if code := upfactory.ErrorCode(err); code != upfactory.ENOTFOUND {
		t.Fatalf("Stop of an unknown instance: error %v (code %q), want code %q", err, code, upfactory.ENOTFOUND)
	}
}

func (s *suite) testStop(t *testing.T) {
	tgt, svc := s.target(t)
	insts := s.startReady(t, tgt, svc.StableVersion, 2)
	victim, other := insts[0], insts[1:]
	if err := tgt.Stop(t.Context(), victim.ID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	list, err := tgt.Instances(t.Context())
	if err != nil {
		t.Fatalf("Instances: %v", err)
	}
	for _, in := range list {
		if in.ID == victim.ID && in.State != upfactory.InstanceStopped {
			t.Errorf("stopped instance is listed as %s", in.State)
		}
	}
	if len(list) < len(other) {
		t.Errorf("after stopping one of %d instances, Instances lists %d", len(insts), len(list))
	}
	if err := tgt.Stop(t.Context(), victim.ID); err != nil {
		t.Errorf("second Stop of the same instance: %v, want nil", err)
	}
	if s.opts.StopEndsServing {
		if _, err := Get(victim.Addr, readinessPath(svc)); err == nil {
			t.Errorf("stopped instance %s still answers at %s", victim.ID, victim.Addr)
		}
	}
	for _, in := range other {
		if got := AwaitState(t, tgt, in.ID, upfactory.InstanceReady, s.opts.Timeout); got.Addr != in.Addr {
			t.Errorf("instance %s moved from %s to %s", in.ID, in.Addr, got.Addr)
		}
	}
}

func (s *suite) testInstancesIsCopy(t *testing.T) {
	tgt, svc := s.target(t)
	s.startReady(t, tgt, svc.StableVersion, 1)
	before, err := tgt.Instances(t.Context())
	if err != nil {
		t.Fatalf("Instances: %v", err)
	}
	mangled, _ := tgt.Instances(t.Context())
	for i := range mangled {
		mangled[i].State = "Mangled"
		mangled[i].Addr = "mangled:1"
		mangled[i].Reason = "mangled"
	}
	after, err := tgt.Instances(t.Context())
	if err != nil {
		t.Fatalf("Instances: %v", err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("changing the result of Instances changed the target (-before +after):\n%s", diff)
	}
}

func (s *suite) testAdopt(t *testing.T) {
	svc := s.svc(t)
	first := s.targetOf(t, svc) // its Close(stopAll=true) at the end cleans up if adoption fails
	insts := s.startReady(t, first, svc.StableVersion, 2)
	recorded, err := first.Instances(t.Context())
	if err != nil {
		t.Fatalf("Instances: %v", err)
	}
	// As on a server crash: supervision ends, the instances keep serving.
	if err := first.Close(t.Context(), false); err != nil {
		t.Fatalf("Close(stopAll=false): %v", err)
	}
	for _, in := range insts {
		if _, err := Get(in.Addr, readinessPath(svc)); err != nil {
			t.Errorf("after Close(stopAll=false), instance %s no longer answers: %v", in.ID, err)
		}
	}
	second := s.targetOf(t, svc)
	if err := second.Adopt(t.Context(), recorded); err != nil {
		t.Fatalf("Adopt: %v", err)
	}
	for _, rec := range recorded {
		got := AwaitState(t, second, rec.ID, upfactory.InstanceReady, s.opts.Timeout)
		if got.Addr != rec.Addr || got.Version != rec.Version || got.PID != rec.PID || got.Service != rec.Service {
			t.Errorf("adopted %+v, recorded %+v: want the same address, version, service and PID", got, rec)
		}
	}
}

func (s *suite) testAdoptSkipsKnown(t *testing.T) {
	tgt, svc := s.target(t)
	insts := s.startReady(t, tgt, svc.StableVersion, 1)
	if err := tgt.Adopt(t.Context(), insts); err != nil {
		t.Fatalf("Adopt of instances the target runs: %v", err)
	}
	list, _ := tgt.Instances(t.Context())
	if len(list) != len(insts) {
		t.Errorf("after adopting its own instances, the target lists %d, want %d", len(list), len(insts))
	}
	other := insts[0]
	other.ID, other.Service = "x-1", svc.Name+"-other"
	if code := upfactory.ErrorCode(tgt.Adopt(t.Context(), []upfactory.Instance{other})); code != upfactory.EINVALID {
		t.Errorf("Adopt of another service's instance: code %q, want %q", code, upfactory.EINVALID)
	}
}

func (s *suite) testClose(t *testing.T) {
	tgt, svc := s.target(t)
	insts := s.startReady(t, tgt, svc.StableVersion, 2)
	if err := tgt.Close(t.Context(), true); err != nil {
		t.Fatalf("Close(stopAll=true): %v", err)
	}
	if s.opts.StopEndsServing {
		for _, in := range insts {
			if _, err := Get(in.Addr, readinessPath(svc)); err == nil {
				t.Errorf("after Close(stopAll=true), instance %s still answers", in.ID)
			}
		}
	}
	if _, err := tgt.Start(t.Context(), svc.StableVersion, 1); err == nil {
		t.Errorf("Start after Close succeeded")
	}
	if err := tgt.Close(t.Context(), true); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func (s *suite) testConcurrent(t *testing.T) {
	tgt, svc := s.target(t)
	var wg sync.WaitGroup
	ids := make(chan string, 16)
	for range 4 {
		wg.Go(func() {
			insts, err := tgt.Start(t.Context(), svc.StableVersion, 1)
			if err != nil {
				t.Errorf("Start: %v", err)
				return
			}
			for _, in := range insts {
				ids <- in.ID
			}
		})
		wg.Go(func() {
			for range 20 {
				if _, err := tgt.Instances(t.Context()); err != nil {
					t.Errorf("Instances: %v", err)
				}
			}
		})
	}
	wg.Wait()
	close(ids)
	var all []string
	for id := range ids {
		all = append(all, id)
	}
	for _, id := range all {
		wg.Go(func() {
			if err := tgt.Stop(t.Context(), id); err != nil {
				t.Errorf("Stop(%s): %v", id, err)
			}
		})
		wg.Go(func() {
			if err := tgt.Stop(t.Context(), id); err != nil {
				t.Errorf("concurrent Stop(%s): %v", id, err)
			}
		})
	}
	wg.Wait()
	list, _ := tgt.Instances(t.Context())
	for _, in := range list {
		if in.State != upfactory.InstanceStopped {
			t.Errorf("after stopping all, %s is %s", in.ID, in.State)
		}
	}
}

func readinessPath(svc *upfactory.Service) string {
	if p := svc.Target.Readiness.Path; p != "" {
		return p
	}
	return upfactory.DefaultReadinessPath
}

// Await polls tgt.Instances until cond holds for them, and returns them;
// it fails the test with the last list after timeout.
func Await(tb testing.TB, tgt upfactory.Target, timeout time.Duration, what string, cond func([]upfactory.Instance) bool) []upfactory.Instance {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		list, err := tgt.Instances(tb.Context())
		if err != nil {
			tb.Fatalf("Instances: %v", err)
		}
		if cond(list) {
			return list
		}
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s for %s; instances:\n%s", timeout, what, Format(list))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// AwaitState waits until instance id is in state want, and returns it.
func AwaitState(tb testing.TB, tgt upfactory.Target, id string, want upfactory.InstanceState, timeout time.Duration) upfactory.Instance {
	tb.Helper()
	var got upfactory.Instance
	Await(tb, tgt, timeout, fmt.Sprintf("instance %s to be %s", id, want), func(list []upfactory.Instance) bool {
		for _, in := range list {
			if in.ID == id {
				got = in
				return in.State == want
			}
		}
		return false
	})
	return got
}

// AwaitGoroutines waits until no more than n goroutines run, as before a
// target was made: its Close must end every goroutine it started. It
// fails the test with every goroutine's stack after timeout.
func AwaitGoroutines(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			tb.Fatalf("%d goroutines before, %d after Close:\n%s", n, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Find returns instance id from list.
func Find(list []upfactory.Instance, id string) (upfactory.Instance, bool) {
	for _, in := range list {
		if in.ID == id {
			return in, true
		}
	}
	return upfactory.Instance{}, false
}

// Format renders instances one per line, for failure messages.
func Format(list []upfactory.Instance) string {
	if len(list) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for _, in := range list {
		fmt.Fprintf(&b, "  %s %s %s pid=%d restarts=%d %s", in.ID, in.State, in.Addr, in.PID, in.Restarts, in.Reason)
		b.WriteByte('\n')
	}
	return b.String()
}
