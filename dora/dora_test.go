package dora_test

import (
	"math"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/dora"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

func upgrade(id, service, rollout string, created, verified float64, seq int64) *upfactory.Upgrade {
	return &upfactory.Upgrade{ID: id, Service: service, RolloutID: rollout, CreatedAt: at(created), Stage: upfactory.StageVerification,
		Stages: []upfactory.StageRecord{
			{Stage: upfactory.StageIntake, EnteredAt: at(created), LeftAt: at(created + 0.5)},
			{Stage: upfactory.StageCanary, EnteredAt: at(created + 0.5), LeftAt: at(verified), Seq: seq - 1},
			{Stage: upfactory.StageVerification, EnteredAt: at(verified), Seq: seq},
		}}
}

// history: three deployments of checkout (r1 clean, r2 rolled back 30m
// after 100%, r3 with an incident 2h after) and one of search, whose
// incident comes 25h after (outside the failure window).
func history() dora.Inputs {
	e := func(seq int64, h float64, action, service, rollout string) upfactory.LogEntry {
		return upfactory.LogEntry{Seq: seq, Time: at(h), Action: action, Service: service, Values: map[string]any{"rollout": rollout}}
	}
	return dora.Inputs{
		From: at(0), To: at(24 * 30),
		Entries: []upfactory.LogEntry{
			e(10, 10, "rollout.completed", "checkout", "r1"),
			e(20, 20, "rollout.completed", "checkout", "r2"),
			e(21, 20.5, "rollback.manual", "checkout", "r2"),
			e(30, 30, "rollout.completed", "checkout", "r3"),
			e(40, 40, "rollout.completed", "search", "r4"),
		},
		Upgrades: []*upfactory.Upgrade{
			upgrade("checkout/c-1", "checkout", "r1", 8, 10, 11),
			upgrade("checkout/c-2", "checkout", "r2", 16, 20, 22),
			upgrade("checkout/c-3", "checkout", "r3", 24, 30, 31),
			upgrade("search/c-4", "search", "r4", 39, 40, 41),
		},
		Incidents: []*upfactory.Incident{
			{Service: "checkout", Upgrade: "checkout/c-3", StartedAt: at(32), EndedAt: at(32.5), Seq: 50},
			{Service: "search", Upgrade: "search/c-4", StartedAt: at(65), EndedAt: at(65 + 10.0/60), Seq: 60},
			{Service: "checkout", StartedAt: at(100), EndedAt: at(100 + 50.0/60), Seq: 70},
		},
		Candidates: []*upfactory.Candidate{
			{ID: "c-k", Component: "golang.org/x/net", Services: []string{"checkout"}, FirstSeen: at(-48), ResolvedAt: ptr(at(24)),
				Advisories: []upfactory.Advisory{{ID: "GO-2023-2102", KEV: true}}},
			{ID: "c-low", Component: "lodash", Services: []string{"checkout"}, FirstSeen: at(0), Risk: upfactory.RiskScore{Total: 20},
				Advisories: []upfactory.Advisory{{ID: "GHSA-low"}}},
		},
	}
}

func ptr(t time.Time) *time.Time { return &t }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestFleetKeys(t *testing.T) {
	k := dora.Compute(history())
	if !k.HasData {
		t.Fatal("a period with deployments has data")
	}
	if k.Deployments.Value != 4 || len(k.Deployments.Sources) != 4 {
		t.Errorf("deployments %+v, want 4 with their entries", k.Deployments)
	}
	// r2 (rollback 30m after) and r3 (incident 2h after) failed; search's
	// incident came 25h after 100%.
	if !near(k.ChangeFailureRate.Value, 0.5) {
		t.Errorf("change failure rate %v, want 2 of 4", k.ChangeFailureRate.Value)
	}
	// 10m, 30m, 50m to restore: median 30m.
	if !near(k.TimeToRestore.Value, 1800) || k.TimeToRestore.Count != 3 {
		t.Errorf("time to restore %+v, want 1800s over 3", k.TimeToRestore)
	}
	// Lead times 2h, 4h, 6h, 1h: median 3h.
	if !near(k.LeadTime.Value, 3*3600) || k.LeadTime.Count != 4 {
		t.Errorf("lead time %+v, want 3h over 4", k.LeadTime)
	}
	if f := k.LeadTimeByStage["intake"]; !near(f.Value, 1800) {
		t.Errorf("time in intake %+v, want 30m", f)
	}
	if len(k.Exposure) != 1 || !near(k.Exposure[0].Days, 3) || k.Exposure[0].Open || !k.Exposure[0].KEV {
		t.Errorf("exposure %+v, want the KEV advisory, open 3 days", k.Exposure)
	}
}

func TestOneServiceAndAFailureWindow(t *testing.T) {
	x := history()
	x.Service = "search"
	k := dora.Compute(x)
	if k.Deployments.Value != 1 || k.ChangeFailureRate.Value != 0 {
		t.Errorf("search: %+v, %+v", k.Deployments, k.ChangeFailureRate)
	}
	x.FailureWindow = 30 * time.Hour
	if k := dora.Compute(x); k.ChangeFailureRate.Value != 1 {
		t.Errorf("with a 30h window the incident 25h after counts: %v", k.ChangeFailureRate.Value)
	}
}

func TestAPeriodWithNothingOnRecordSaysSo(t *testing.T) {
	x := history()
	x.From, x.To = at(24*60), at(24*90)
	k := dora.Compute(x)
	if k.HasData || k.Deployments.Value != 0 {
		t.Errorf("an empty period: %+v", k)
	}
}
