package storetest

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// PolicyStore is a store that keeps rollouts and policies.
type PolicyStore interface {
	upfactory.Store
	upfactory.PolicyStore
}

// RunPolicy runs the conformance suite of upfactory.PolicyStore.
func RunPolicy(t *testing.T, open func(t *testing.T) PolicyStore) {
	t.Run("PlansAndOverrides", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		if ps, err := s.Plans(ctx); err != nil || len(ps) != 0 {
			t.Fatalf("empty store: %v, %v", ps, err)
		}
		p := upfactory.WindowPlan{Window: "weekly", Manual: true, CandidateIDs: []string{"c-b", "c-a"}, UpdatedBy: "alice", UpdatedAt: t0}
		entry := upfactory.LogEntry{Time: t0, Actor: "alice", Action: "plan.set", Subject: "weekly"}
		if err := s.SavePlan(ctx, p, entry); err != nil {
			t.Fatal(err)
		}
		p.CandidateIDs = []string{"c-a"}
		if err := s.SavePlan(ctx, p, entry); err != nil {
			t.Fatal(err)
		}
		ps, err := s.Plans(ctx)
		if err != nil || len(ps) != 1 || len(ps[0].CandidateIDs) != 1 || !ps[0].Manual || !ps[0].UpdatedAt.Equal(t0) {
			t.Errorf("plans after two saves = %+v, %v; want the second only", ps, err)
		}
		err = s.SavePlan(ctx, upfactory.WindowPlan{}, entry)
		wantCode(t, "plan without a window", err, upfactory.EINVALID)

		o := upfactory.PolicyOverride{ID: "bundle:weekly", By: "carol", Reason: "both exploited", At: t0.Add(time.Minute)}
		oe := upfactory.LogEntry{Time: o.At, Actor: "carol", Action: "policy.override", Subject: o.ID}
		for _, bad := range []upfactory.PolicyOverride{{By: "carol", Reason: "r"}, {ID: "x", Reason: "r"}, {ID: "x", By: "carol"}} {
			wantCode(t, "incomplete override", s.AddOverride(ctx, bad, oe), upfactory.EINVALID)
		}
		if err := s.AddOverride(ctx, o, oe); err != nil {
			t.Fatal(err)
		}
		os, err := s.Overrides(ctx)
		if err != nil || len(os) != 1 || os[0].By != "carol" || !os[0].At.Equal(o.At) || os[0].Reason != o.Reason {
			t.Errorf("overrides = %+v, %v", os, err)
		}
		mustVerify(t, s, 3)
	})
}
