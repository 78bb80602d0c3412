package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/upfactory/upfactory"
)

// RunSeveralWriters writes through several handles on one store, as
// several servers (or a server and CLI commands) would, each from several
// goroutines, and checks that the log is one chain: every entry once, in
// sequence, with no gap and no duplicate. open opens a first handle and
// returns how to open more on the same data.
func RunSeveralWriters[S upfactory.Store](t *testing.T, open func(t *testing.T) (S, func(t *testing.T) S)) {
	first, again := open(t)
	stores := []S{first, again(t), again(t)}
	const goroutines, saves = 4, 10
	var wg sync.WaitGroup
	for i, s := range stores {
		for g := range goroutines {
			wg.Go(func() {
				st := &upfactory.ServiceState{Service: fmt.Sprintf("svc-%d-%d", i, g)}
				for j := range saves {
					e := upfactory.LogEntry{Time: t0.Add(time.Duration(j) * time.Second), Actor: upfactory.ActorSystem,
						Action: "step.advance", Service: st.Service, Subject: fmt.Sprint(j), Values: map[string]any{"i": j}}
					if err := s.Save(t.Context(), st, []upfactory.LogEntry{e}); err != nil {
						t.Errorf("Save(%s): %v", st.Service, err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	n := int64(len(stores) * goroutines * saves)
	v, err := stores[1].VerifyLog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&upfactory.LogVerification{OK: true, Entries: n}, v); diff != "" {
		t.Fatalf("VerifyLog (-want +got):\n%s", diff)
	}
	for i, e := range mustLog(t, stores[2], upfactory.LogFilter{}) {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d: a gap or a duplicate", i, e.Seq)
		}
	}
}
