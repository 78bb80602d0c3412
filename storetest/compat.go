package storetest

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// CompatStore is a store that keeps rollouts and compatibility runs.
type CompatStore interface {
	upfactory.Store
	upfactory.CompatStore
}

// RunCompat runs the conformance suite of upfactory.CompatStore.
func RunCompat(t *testing.T, open func(t *testing.T) CompatStore) {
	t.Run("SaveAndFind", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		_, err := s.CompatRun(ctx, "c-a", "k1")
		wantCode(t, "no run yet", err, upfactory.ENOTFOUND)
		mk := func(key string, at time.Time, outcome string) *upfactory.CompatRun {
			r := &upfactory.CompatRun{CandidateID: "c-a", Key: key, Started: at, Finished: at.Add(time.Second),
				Cells: []upfactory.CompatCell{{Candidate: "c-a", Service: "web", Kind: "static", Component: "woo", Outcome: outcome, Reason: "r", Line: 3}}}
			r.Summarize()
			return r
		}
		entry := upfactory.LogEntry{Time: t0, Actor: upfactory.ActorSystem, Action: "compat.run", Subject: "c-a"}
		first, second, other := mk("k1", t0, upfactory.CompatFail), mk("k1", t0.Add(time.Hour), upfactory.CompatPass), mk("k2", t0.Add(2*time.Hour), upfactory.CompatPass)
		for _, r := range []*upfactory.CompatRun{first, second, other} {
			if err := s.SaveCompatRun(ctx, r, entry); err != nil {
				t.Fatal(err)
			}
			if r.ID == 0 {
				t.Fatal("SaveCompatRun left ID 0")
			}
		}
		got, err := s.CompatRun(ctx, "c-a", "k1")
		if err != nil || got.ID != second.ID || got.Outcome != upfactory.CompatPass || len(got.Cells) != 1 || got.Cells[0].Line != 3 {
			t.Errorf("latest run of k1 = %+v, %v; want run %d", got, err, second.ID)
		}
		all, err := s.CompatRuns(ctx, "c-a", 0)
		if err != nil || len(all) != 3 || all[0].ID != other.ID {
			t.Errorf("runs = %d, %v; want 3, newest first", len(all), err)
		}
		if none, _ := s.CompatRuns(ctx, "c-b", 0); len(none) != 0 {
			t.Errorf("runs of another candidate: %d", len(none))
		}
		wantCode(t, "run without candidate", s.SaveCompatRun(ctx, &upfactory.CompatRun{}, entry), upfactory.EINVALID)
		mustVerify(t, s, 3)
	})
}
