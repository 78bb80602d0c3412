package storetest

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// LineStore is a store that keeps the line and what it reads.
type LineStore interface {
	upfactory.Store
	upfactory.IntakeStore
	upfactory.LineStore
}

// RunLine runs the conformance suite of upfactory.LineStore.
func RunLine(t *testing.T, open func(t *testing.T) LineStore) {
	t.Run("UpgradesMoveWithTheCursor", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		if c, err := s.LineCursor(ctx); err != nil || c != 0 {
			t.Fatalf("empty store cursor = %d, %v", c, err)
		}
		mustAppend(t, s, []upfactory.LogEntry{newEntry("checkout", "intake.run", nil)})
		u := &upfactory.Upgrade{ID: "checkout/c-1", CandidateID: "c-1", Service: "checkout", Stage: upfactory.StageIntake,
			Stages: []upfactory.StageRecord{{Stage: upfactory.StageIntake, EnteredAt: t0, Actor: "system"}}, CreatedAt: t0}
		entries := []upfactory.LogEntry{newEntry("checkout", "upgrade.stage", map[string]any{"upgrade": u.ID, "to": "intake"})}
		if err := s.SaveLine(ctx, 0, 1, []*upfactory.Upgrade{u}, entries); err != nil {
			t.Fatal(err)
		}
		if entries[0].Seq != 2 {
			t.Fatalf("the line's entry has seq %d, want 2", entries[0].Seq)
		}
		if c, _ := s.LineCursor(ctx); c != 2 {
			t.Errorf("cursor after SaveLine = %d, want 2 (past the line's own entry)", c)
		}
		// Someone else moved the line: nothing of the stale save is kept.
		stale := *u
		stale.Stage = upfactory.StageDismissed
		err := s.SaveLine(ctx, 0, 1, []*upfactory.Upgrade{&stale}, []upfactory.LogEntry{newEntry("checkout", "upgrade.stage", nil)})
		wantCode(t, "SaveLine from a stale cursor", err, upfactory.ECONFLICT)
		if n := len(mustLog(t, s, upfactory.LogFilter{})); n != 2 {
			t.Errorf("a refused SaveLine appended: %d entries, want 2", n)
		}
		open, err := s.Upgrades(ctx, upfactory.UpgradeFilter{})
		if err != nil || len(open) != 1 || open[0].Stage != upfactory.StageIntake || !open[0].CreatedAt.Equal(t0) {
			t.Fatalf("open upgrades = %+v, %v", open, err)
		}
		u.Stage = upfactory.StageDone
		if err := s.SaveLine(ctx, 2, 2, []*upfactory.Upgrade{u}, nil); err != nil {
			t.Fatal(err)
		}
		if open, _ := s.Upgrades(ctx, upfactory.UpgradeFilter{}); len(open) != 0 {
			t.Errorf("a done upgrade is listed as open: %+v", open)
		}
		if all, _ := s.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true, Service: "checkout"}); len(all) != 1 {
			t.Errorf("with Closed: %d upgrades, want 1", len(all))
		}
		if other, _ := s.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true, Service: "search"}); len(other) != 0 {
			t.Errorf("another service's filter found %d", len(other))
		}
	})
	t.Run("CandidatesNamedByARolloutOutliveIntake", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		c := newCandidate("c-app", 10, t0, "checkout")
		c.FirstSeen = t0
		if err := s.AddCandidate(ctx, c, newEntry("checkout", "candidate.add", nil)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "AddCandidate twice", s.AddCandidate(ctx, c, newEntry("checkout", "candidate.add", nil)), upfactory.ECONFLICT)
		saveRun(t, s, t0.Add(time.Hour), nil, nil, newCandidate("c-lib", 5, t0.Add(time.Hour), "checkout"))
		got, err := s.Candidate(ctx, "c-app")
		if err != nil || got.Status == upfactory.CandidateResolved {
			t.Fatalf("an intake run resolved a candidate a rollout named: %+v, %v", got, err)
		}
		if err := s.ResolveCandidate(ctx, "c-app", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Candidate(ctx, "c-app"); got.Status != upfactory.CandidateResolved {
			t.Errorf("after ResolveCandidate: status %s", got.Status)
		}
	})
	t.Run("Records", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		for i, v := range []string{"1.1.0", "1.2.0"} {
			r := &upfactory.PreflightResult{Service: "checkout", Version: v, At: t0.Add(time.Duration(i) * time.Minute), Verdict: upfactory.PreflightGo}
			if err := s.SavePreflight(ctx, r, newEntry("checkout", "preflight", nil)); err != nil || r.ID == 0 {
				t.Fatalf("SavePreflight: %v (id %d)", err, r.ID)
			}
		}
		if ps, err := s.Preflights(ctx, "checkout", "1.2.0", 0); err != nil || len(ps) != 1 || ps[0].Version != "1.2.0" {
			t.Errorf("Preflights of 1.2.0 = %+v, %v", ps, err)
		}
		if ps, _ := s.Preflights(ctx, "checkout", "", 1); len(ps) != 1 || ps[0].Version != "1.2.0" {
			t.Errorf("newest preflight = %+v, want 1.2.0's", ps)
		}
		wantCode(t, "preflight without a service", s.SavePreflight(ctx, &upfactory.PreflightResult{}, newEntry("", "preflight", nil)), upfactory.EINVALID)
		conf := upfactory.PreflightConfirmation{Service: "checkout", Version: "1.2.0", Item: "cs-briefed", By: "carol", At: t0}
		if err := s.AddConfirmation(ctx, conf, newEntry("checkout", "preflight.confirm", nil)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "confirmation without a name", s.AddConfirmation(ctx, upfactory.PreflightConfirmation{Service: "checkout", Item: "x"}, newEntry("checkout", "x", nil)), upfactory.EINVALID)
		if cs, _ := s.Confirmations(ctx, "checkout", "1.2.0"); len(cs) != 1 || cs[0].By != "carol" {
			t.Errorf("confirmations = %+v", cs)
		}
		if cs, _ := s.Confirmations(ctx, "checkout", "1.1.0"); len(cs) != 0 {
			t.Errorf("a confirmation for 1.2.0 counts for 1.1.0: %+v", cs)
		}
		d := &upfactory.DrillResult{Service: "checkout", Version: "1.2.0", At: t0, Passed: true, RollbackSeconds: 0.01, Requests: 900}
		if err := s.SaveDrill(ctx, d, newEntry("checkout", "drill", nil)); err != nil || d.ID == 0 {
			t.Fatalf("SaveDrill: %v", err)
		}
		if ds, _ := s.Drills(ctx, "checkout", 5); len(ds) != 1 || !ds[0].Passed || ds[0].Requests != 900 {
			t.Errorf("drills = %+v", ds)
		}
		if err := s.SaveSnapshot(ctx, upfactory.ConfigSnapshot{Service: "checkout", Version: "1.2.0", At: t0, SHA256: "ab", Config: "{}"}); err != nil {
			t.Fatal(err)
		}
		if ss, _ := s.Snapshots(ctx, "checkout", 0); len(ss) != 1 || ss[0].SHA256 != "ab" {
			t.Errorf("snapshots = %+v", ss)
		}
		if n := len(mustLog(t, s, upfactory.LogFilter{})); n != 4 {
			t.Errorf("log holds %d entries; want 4 (2 preflights, a confirmation, a drill; a snapshot logs nothing itself)", n)
		}
	})
}
