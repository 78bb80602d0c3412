package storetest

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// IncidentStore is a store that keeps incidents.
type IncidentStore interface {
	upfactory.Store
	upfactory.IncidentStore
}

// RunIncident runs the conformance suite of upfactory.IncidentStore.
func RunIncident(t *testing.T, open func(t *testing.T) IncidentStore) {
	t.Run("OpenCloseList", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		in := &upfactory.Incident{Service: "checkout", Severity: "sev2", Title: "checkout 5xx", Source: "manual", StartedAt: t0, OpenedBy: "dana"}
		if err := s.OpenIncident(ctx, in, newEntry("checkout", "incident.open", nil)); err != nil {
			t.Fatal(err)
		}
		if in.ID == 0 || in.Seq != 1 {
			t.Fatalf("opened %+v: want an ID and the seq of its entry", in)
		}
		auto := &upfactory.Incident{Service: "checkout", Severity: "sev3", Title: "canary rolled back", Source: "rollback.automatic",
			StartedAt: t0.Add(time.Hour), EndedAt: t0.Add(time.Hour + time.Minute), OpenedBy: "system", Seq: 1}
		wantCode(t, "a second incident for the same entry", s.OpenIncident(ctx, auto, newEntry("checkout", "incident.open", nil)), upfactory.ECONFLICT)
		if n := len(mustLog(t, s, upfactory.LogFilter{})); n != 1 {
			t.Errorf("a refused open appended: %d entries", n)
		}
		auto.Seq = 99
		if err := s.OpenIncident(ctx, auto, newEntry("checkout", "incident.open", nil)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "an incident without a title", s.OpenIncident(ctx, &upfactory.Incident{Service: "x", StartedAt: t0}, newEntry("x", "incident.open", nil)), upfactory.EINVALID)

		if got, _ := s.Incidents(ctx, upfactory.IncidentFilter{OpenOnly: true}); len(got) != 1 || got[0].ID != in.ID {
			t.Errorf("open incidents = %+v, want the manual one", got)
		}
		_, err := s.CloseIncident(ctx, in.ID, t0.Add(-time.Minute), "dana", "x", newEntry("checkout", "incident.close", nil))
		wantCode(t, "closing before it started", err, upfactory.EINVALID)
		closed, err := s.CloseIncident(ctx, in.ID, t0.Add(45*time.Minute), "dana", "rolled back", newEntry("checkout", "incident.close", nil))
		if err != nil || closed.TimeToRestore() != 45*time.Minute || closed.ClosedBy != "dana" {
			t.Fatalf("closed %+v, %v: want 45m to restore", closed, err)
		}
		_, err = s.CloseIncident(ctx, in.ID, t0.Add(time.Hour), "dana", "again", newEntry("checkout", "incident.close", nil))
		wantCode(t, "closing twice", err, upfactory.ECONFLICT)
		_, err = s.CloseIncident(ctx, 4242, t0, "dana", "", newEntry("checkout", "incident.close", nil))
		wantCode(t, "closing an unknown incident", err, upfactory.ENOTFOUND)
		all, _ := s.Incidents(ctx, upfactory.IncidentFilter{Service: "checkout"})
		if len(all) != 2 || all[0].Seq != 99 {
			t.Errorf("all incidents = %+v, want both, newest first", all)
		}
		if other, _ := s.Incidents(ctx, upfactory.IncidentFilter{Service: "search"}); len(other) != 0 {
			t.Errorf("another service's incidents: %+v", other)
		}
	})
}
