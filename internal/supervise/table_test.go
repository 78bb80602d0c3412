package supervise_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/supervise"
	"github.com/upfactory/upfactory/targettest"
)

func newTable(t *testing.T, rec *targettest.Recorder, eventAddr bool) *supervise.Table[*supervise.Entry] {
	t.Helper()
	tbl := supervise.NewTable[*supervise.Entry](supervise.Options{
		Service:   "checkout",
		Component: "test",
		Probe:     supervise.NewProbe(upfactory.Readiness{}),
		Event:     rec.Event(),
		EventAddr: eventAddr,
	})
	t.Cleanup(func() {
		if err := tbl.Close(context.Background(), true, halted); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tbl
}

// halted is a halt that has nothing to stop.
func halted(ctx context.Context, in *supervise.Entry, was upfactory.Instance) (supervise.Halted, error) {
	return supervise.Halted{Reason: "stopped on request", Event: "stopped"}, nil
}

// insert adds a Ready instance whose supervision waits for its end.
func insert(t *testing.T, tbl *supervise.Table[*supervise.Entry], id string) *supervise.Entry {
	t.Helper()
	in := &supervise.Entry{Inst: upfactory.Instance{ID: id, Service: "checkout", Version: "1.0.0", Addr: "127.0.0.1:8080", State: upfactory.InstanceReady, StartedAt: time.Now()}}
	if !tbl.Insert(t.Context(), in, func(ctx context.Context) { <-ctx.Done() }) {
		t.Fatalf("Insert(%s) = false", id)
	}
	return in
}

func TestTableStop(t *testing.T) {
	rec := &targettest.Recorder{}
	tbl := newTable(t, rec, false)
	in := insert(t, tbl, "checkout-1.0.0-0001")

	if err := tbl.Stop(t.Context(), "checkout-1.0.0-9999", halted); upfactory.ErrorCode(err) != upfactory.ENOTFOUND {
		t.Errorf("Stop of an unknown ID = %v, want ENOTFOUND", err)
	}

	// A failed halt leaves the instance in the table; the next Stop tries again.
	boom := errors.New("boom")
	fail := func(ctx context.Context, e *supervise.Entry, was upfactory.Instance) (supervise.Halted, error) {
		return supervise.Halted{}, boom
	}
	if err := tbl.Stop(t.Context(), in.Inst.ID, fail); !errors.Is(err, boom) {
		t.Fatalf("Stop with a failing halt = %v, want %v", err, boom)
	}
	if got := tbl.Instances(); len(got) != 1 || got[0].State != upfactory.InstanceReady {
		t.Fatalf("after a failed Stop, instances %+v, want the Ready one", got)
	}
	if _, ok := tbl.Update(in, upfactory.InstanceUnhealthy, "sick"); !ok {
		t.Errorf("Update after a failed Stop was refused")
	}

	var was upfactory.Instance
	if err := tbl.Stop(t.Context(), in.Inst.ID, func(ctx context.Context, e *supervise.Entry, w upfactory.Instance) (supervise.Halted, error) {
		was = w
		if _, ok := tbl.Update(e, upfactory.InstanceReady, ""); ok {
			t.Errorf("Update while Stop is under way was not refused")
		}
		return halted(ctx, e, w)
	}); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if was.State != upfactory.InstanceUnhealthy {
		t.Errorf("halt saw the instance %s, want it as it was when Stop began (Unhealthy)", was.State)
	}
	if got := tbl.Instances(); len(got) != 0 {
		t.Errorf("after Stop, instances %+v", got)
	}
	if err := tbl.Stop(t.Context(), in.Inst.ID, fail); err != nil {
		t.Errorf("second Stop = %v, want nil without calling halt", err)
	}
	var actions []string
	for _, e := range rec.Entries() {
		actions = append(actions, e.Action+" "+e.Subject)
	}
	if diff := cmp.Diff([]string{"instance.stopped checkout-1.0.0-0001"}, actions); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestTableConcurrentStopWaits(t *testing.T) {
	tbl := newTable(t, nil, false)
	in := insert(t, tbl, "checkout-1.0.0-0001")
	release := make(chan struct{})
	entered := make(chan struct{})
	slow := func(ctx context.Context, e *supervise.Entry, was upfactory.Instance) (supervise.Halted, error) {
		close(entered)
		<-release
		return halted(ctx, e, was)
	}
	first := make(chan error)
	go func() { first <- tbl.Stop(t.Context(), in.Inst.ID, slow) }()
	<-entered
	second := make(chan error)
	go func() { second <- tbl.Stop(t.Context(), in.Inst.ID, slow) }()
	select {
	case err := <-second:
		t.Fatalf("the second Stop returned %v before the first was done", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-first; err != nil {
		t.Errorf("first Stop: %v", err)
	}
	if err := <-second; err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestTableClaim(t *testing.T) {
	tbl := newTable(t, nil, false)
	insert(t, tbl, "checkout-1.0.0-0001")
	recs := []upfactory.Instance{
		{ID: "checkout-1.0.0-0001", Service: "checkout", State: upfactory.InstanceReady}, // held
		{ID: "checkout-1.0.0-0002", State: upfactory.InstanceReady, Reason: "old"},       // claimed
		{ID: "checkout-1.0.0-0003", State: upfactory.InstanceStopped},                    // Stopped
		{ID: "", State: upfactory.InstanceReady},                                         // no ID
	}
	got, err := tbl.Claim(recs)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	want := []upfactory.Instance{{ID: "checkout-1.0.0-0002", Service: "checkout", State: upfactory.InstanceReady}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Claim (-want +got):\n%s", diff)
	}
	if again, _ := tbl.Claim(recs); len(again) != 0 {
		t.Errorf("a reserved ID was claimed again: %+v", again)
	}
	tbl.Release("checkout-1.0.0-0002")
	if again, _ := tbl.Claim(recs); len(again) != 1 {
		t.Errorf("after Release, Claim returned %+v", again)
	}
	other := []upfactory.Instance{{ID: "x-1", Service: "catalog"}}
	if _, err := tbl.Claim(other); upfactory.ErrorCode(err) != upfactory.EINVALID {
		t.Errorf("Claim of another service's instance = %v, want EINVALID", err)
	}
}

func TestTableClose(t *testing.T) {
	tbl := newTable(t, nil, false)
	insert(t, tbl, "checkout-1.0.0-0001")
	if err := tbl.Close(t.Context(), false, halted); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !tbl.Closed() || upfactory.ErrorCode(tbl.ErrClosed()) != upfactory.EUNAVAILABLE {
		t.Errorf("after Close: Closed %v, ErrClosed %v", tbl.Closed(), tbl.ErrClosed())
	}
	in := &supervise.Entry{Inst: upfactory.Instance{ID: "checkout-1.0.0-0002", State: upfactory.InstanceStopped}}
	if tbl.Insert(t.Context(), in, nil) {
		t.Errorf("Insert after Close succeeded")
	}
	if got := tbl.Instances(); len(got) != 1 {
		t.Errorf("Close(stopAll=false) changed the instances: %+v", got)
	}
}

func TestTableNewID(t *testing.T) {
	tbl := newTable(t, nil, false)
	tbl.Lock()
	id, suffix := tbl.NewIDLocked("2.0.0 beta/1")
	tbl.Unlock()
	if want := "checkout-2.0.0_beta_1-" + suffix; id != want || len(suffix) != 4 {
		t.Errorf("NewIDLocked = %q, %q; want %q with a 4-digit suffix", id, suffix, want)
	}
}

func TestTableEmitValues(t *testing.T) {
	for _, tt := range []struct {
		name      string
		eventAddr bool
		inst      upfactory.Instance
		want      map[string]any
	}{
		{"Process", false,
			upfactory.Instance{ID: "a", Version: "1.0.0", Addr: "127.0.0.1:8080", PID: 42, Restarts: 2},
			map[string]any{"version": "1.0.0", "port": 8080, "pid": 42, "restarts": 2, "extra": true}},
		{"Address", true,
			upfactory.Instance{ID: "a", Version: "1.0.0", Addr: "db.internal:5432"},
			map[string]any{"version": "1.0.0", "port": 5432, "addr": "db.internal:5432", "extra": true}},
		{"NoPort", true,
			upfactory.Instance{ID: "a", Version: "1.0.0", Addr: "nowhere"},
			map[string]any{"version": "1.0.0", "addr": "nowhere", "extra": true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &targettest.Recorder{}
			tbl := newTable(t, rec, tt.eventAddr)
			tbl.Emit(t.Context(), "instance.ready", tt.inst, "because", map[string]any{"extra": true})
			es := rec.Entries()
			if len(es) != 1 {
				t.Fatalf("%d events, want 1", len(es))
			}
			e := es[0]
			if e.Actor != upfactory.ActorSystem || e.Service != "checkout" || e.Subject != "a" || e.Reason != "because" || !strings.HasPrefix(e.Action, "instance.") {
				t.Errorf("event %+v", e)
			}
			if diff := cmp.Diff(tt.want, e.Values); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileSafe(t *testing.T) {
	for in, want := range map[string]string{
		"2.0.0":         "2.0.0",
		"v1;rm -rf /":   "v1_rm_-rf__",
		"":              "_",
		"..":            "__",
		"ünïcode_1-2.3": "__n__code_1-2.3",
	} {
		if got := supervise.FileSafe(in); got != want {
			t.Errorf("FileSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
