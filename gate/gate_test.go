package gate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/gate"
	"github.com/upfactory/upfactory/policy"
)

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func off() *bool { f := false; return &f }

func svc() *upfactory.Service {
	return &upfactory.Service{Name: "shop", Owner: "team", Preflight: upfactory.PreflightSpec{MaxAge: upfactory.Duration(24 * time.Hour)},
		Drill: upfactory.DrillSpec{MaxAge: upfactory.Duration(30 * 24 * time.Hour)}}
}

func override(id string) []upfactory.PolicyOverride {
	return []upfactory.PolicyOverride{{ID: id, By: "erin", Reason: "accepted risk", At: now}}
}

func want(t *testing.T, name string, r gate.Result, open bool, reason string) {
	t.Helper()
	if r.Open != open || !strings.Contains(r.Reason, reason) {
		t.Errorf("%s: open=%v reason %q; want open=%v and a reason with %q", name, r.Open, r.Reason, open, reason)
	}
	if !r.Open && r.Command == "" {
		t.Errorf("%s: closed without a command that opens it", name)
	}
	if !r.Open && !strings.Contains(r.Command, "policy override "+r.ID) {
		t.Errorf("%s: closed gate's command %q does not say how to override %s", name, r.Command, r.ID)
	}
}

func TestNotesGate(t *testing.T) {
	cand := func(notes string, breaking bool, ack string) *upfactory.Candidate {
		c := &upfactory.Candidate{ID: "c-1", Component: "shop", Current: "1.0.0", Recommended: "1.2.0", NotesFile: notes}
		if breaking {
			c.Highlights = []upfactory.Highlight{{Kind: "breaking", Text: "removed /api/v0"}}
			c.BreakingDigest = "d1"
		}
		if ack != "" {
			c.Ack = &upfactory.CandidateAck{By: "bob", Digest: ack}
		}
		return c
	}
	s := svc()
	for _, tc := range []struct {
		name      string
		c         *upfactory.Candidate
		overrides []upfactory.PolicyOverride
		open      bool
		reason    string
	}{
		{"notes read, nothing breaking", cand("CHANGELOG.md", false, ""), nil, true, "release notes read"},
		{"breaking, not acknowledged", cand("CHANGELOG.md", true, ""), nil, false, "1 breaking item(s) nobody acknowledged"},
		{"breaking, acknowledged", cand("CHANGELOG.md", true, "d1"), nil, true, "acknowledged by bob"},
		{"acknowledged items changed since", cand("CHANGELOG.md", true, "d0"), nil, false, "nobody acknowledged"},
		{"no notes read", cand("", false, ""), nil, false, "no release notes were read"},
		{"a person recorded no notes exist", cand("", false, ""), override("notes:c-1"), true, "overridden by erin"},
		{"an override of another candidate does not count", cand("", false, ""), override("notes:c-2"), false, "no release notes"},
	} {
		want(t, tc.name, gate.NotesGate(s, tc.c, tc.overrides), tc.open, tc.reason)
	}
	s.Gates.Notes = off()
	want(t, "switched off", gate.NotesGate(s, cand("", false, ""), nil), true, "gates.notes: false")
}

func TestCompatGate(t *testing.T) {
	app := &upfactory.Candidate{ID: "c-app", Component: "shop", Current: "1.0.0", Recommended: "1.2.0"}
	lib := &upfactory.Candidate{ID: "c-lib", Component: "golang.org/x/net", Current: "v0.7.0", Recommended: "v0.17.0"}
	run := func(id int64, outcomes ...string) *upfactory.CompatRun {
		r := &upfactory.CompatRun{ID: id}
		for _, o := range outcomes {
			r.Cells = append(r.Cells, upfactory.CompatCell{Service: "shop", Outcome: o})
		}
		r.Cells = append(r.Cells, upfactory.CompatCell{Service: "other", Outcome: upfactory.CompatFail})
		return r
	}
	s := svc()
	for _, tc := range []struct {
		name      string
		runs      map[string]*upfactory.CompatRun
		overrides []upfactory.PolicyOverride
		open      bool
		reason    string
	}{
		{"both passed", map[string]*upfactory.CompatRun{"c-app": run(1, "pass", "skipped"), "c-lib": run(2, "skipped")}, nil, true, "compat run 1 passed"},
		{"no run of the release", map[string]*upfactory.CompatRun{"c-lib": run(2, "pass")}, nil, false, "shop 1.0.0 → 1.2.0 has no compat run"},
		{"the release failed", map[string]*upfactory.CompatRun{"c-app": run(1, "pass", "fail"), "c-lib": run(2, "pass")}, nil, false, "fail for shop"},
		{"the release erred", map[string]*upfactory.CompatRun{"c-app": run(1, "error"), "c-lib": run(2, "pass")}, nil, false, "error for shop"},
		{"every cell of the release skipped", map[string]*upfactory.CompatRun{"c-app": run(1, "skipped", "skipped"), "c-lib": run(2, "pass")}, nil, false, "tested nothing"},
		{"a delivered library failed a constraint", map[string]*upfactory.CompatRun{"c-app": run(1, "pass"), "c-lib": run(2, "fail")}, nil, false, "golang.org/x/net v0.17.0: fail"},
		{"a delivered library without a run", map[string]*upfactory.CompatRun{"c-app": run(1, "pass")}, nil, false, "v0.7.0 → v0.17.0 has no compat run"},
		{"overridden", map[string]*upfactory.CompatRun{"c-app": run(1, "fail")}, override("compat:shop:1.2.0"), true, "overridden by erin"},
		{"an override of another version does not count", map[string]*upfactory.CompatRun{"c-app": run(1, "fail"), "c-lib": run(2, "pass")}, override("compat:shop:1.1.0"), false, "fail for shop"},
	} {
		want(t, tc.name, gate.CompatGate(s, "1.2.0", app, []*upfactory.Candidate{app, lib}, tc.runs, tc.overrides), tc.open, tc.reason)
	}
}

func TestFreezeGates(t *testing.T) {
	pc := upfactory.PolicyConfig{Freezes: []upfactory.Freeze{{Name: "holidays", From: "2026-12-01", To: "2026-12-31", Reason: "peak"}}}
	rs := gate.FreezeGates(svc(), pc, now, nil)
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	want(t, "in a freeze", rs[0], false, "freeze holidays is in force")
	id := policy.RolloutFreezeID("shop", "holidays")
	want(t, "overridden", gate.FreezeGates(svc(), pc, now, override(id))[0], true, "overridden by erin")
	want(t, "after the freeze", gate.FreezeGates(svc(), pc, time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), nil)[0], true, "no freeze")
}

func TestWindowGates(t *testing.T) {
	opens := now.Add(-time.Hour)
	inside := gate.Planned{Candidate: "c-1", Window: "weekly", Opens: opens, Closes: opens.Add(4 * time.Hour)}
	want(t, "inside the window", gate.WindowGates(svc(), "1.2.0", []gate.Planned{inside}, now, nil)[0], true, "inside window weekly")
	before := inside
	before.Opens, before.Closes = now.Add(time.Hour), now.Add(5*time.Hour)
	want(t, "before the window", gate.WindowGates(svc(), "1.2.0", []gate.Planned{before}, now, nil)[0], false, "next opens")
	want(t, "before, overridden", gate.WindowGates(svc(), "1.2.0", []gate.Planned{before}, now, override("window:weekly:shop:1.2.0"))[0], true, "overridden")
	want(t, "not planned", gate.WindowGates(svc(), "1.2.0", nil, now, nil)[0], true, "planned into no change window")
	bundled := inside
	bundled.Violations = []policy.Violation{{ID: "bundle:weekly", Policy: "bundle", Message: "window weekly bundles 4 unrelated upgrades"}}
	rs := gate.WindowGates(svc(), "1.2.0", []gate.Planned{bundled}, now, nil)
	if len(rs) != 2 {
		t.Fatalf("%d results, want the window and its violation", len(rs))
	}
	want(t, "the plan bundles too much", rs[1], false, "bundles 4")
	bundled.Violations[0].Override = &upfactory.PolicyOverride{ID: "bundle:weekly", By: "erin", Reason: "one team"}
	want(t, "bundle overridden", gate.WindowGates(svc(), "1.2.0", []gate.Planned{bundled}, now, nil)[1], true, "overridden by erin")
}

func TestPreflightGate(t *testing.T) {
	goAt := func(at time.Time, verdict string) *upfactory.PreflightResult {
		return &upfactory.PreflightResult{Service: "shop", Version: "1.2.0", At: at, By: "alice", Verdict: verdict, Line: verdict}
	}
	s := svc()
	want(t, "none", gate.PreflightGate(s, "1.2.0", nil, now, nil), false, "no preflight")
	want(t, "NO-GO", gate.PreflightGate(s, "1.2.0", goAt(now.Add(-time.Minute), upfactory.PreflightNoGo), now, nil), false, "said NO-GO")
	want(t, "GO", gate.PreflightGate(s, "1.2.0", goAt(now.Add(-time.Minute), upfactory.PreflightGo), now, nil), true, "GO at")
	want(t, "GO too old", gate.PreflightGate(s, "1.2.0", goAt(now.Add(-25*time.Hour), upfactory.PreflightGo), now, nil), false, "older than preflight.max_age")
	want(t, "overridden", gate.PreflightGate(s, "1.2.0", nil, now, override("preflight:shop:1.2.0")), true, "overridden")
	s.Gates.Preflight = off()
	want(t, "off", gate.PreflightGate(s, "1.2.0", nil, now, nil), true, "gates.preflight: false")
}

func TestDrillGate(t *testing.T) {
	d := func(at time.Time, passed bool) *upfactory.DrillResult {
		return &upfactory.DrillResult{Service: "shop", At: at, Passed: passed, Reason: "3 requests failed", Requests: 100}
	}
	s := svc()
	want(t, "none", gate.DrillGate(s, "1.2.0", nil, now, nil), false, "no rollback drill")
	want(t, "only a failed one", gate.DrillGate(s, "1.2.0", []*upfactory.DrillResult{d(now, false)}, now, nil), false, "the latest failed: 3 requests failed")
	want(t, "a recent pass behind a failure", gate.DrillGate(s, "1.2.0", []*upfactory.DrillResult{d(now, false), d(now.Add(-time.Hour), true)}, now, nil), true, "drill passed")
	want(t, "a pass too old", gate.DrillGate(s, "1.2.0", []*upfactory.DrillResult{d(now.Add(-31*24*time.Hour), true)}, now, nil), false, "older than drill.max_age")
	want(t, "overridden", gate.DrillGate(s, "1.2.0", nil, now, override("drill:shop:1.2.0")), true, "overridden")
}

func TestProgressiveGates(t *testing.T) {
	w := 5
	s := svc()
	s.Strategy.Canary = &upfactory.CanaryStrategy{Steps: []upfactory.Step{{Weight: &w}, {Analysis: &upfactory.AnalysisStep{}}, {Approval: &upfactory.ApprovalStep{Role: "approver"}}}}
	r := &upfactory.Rollout{CanaryVersion: "1.2.0", StepIndex: 1, Phase: upfactory.PhaseProgressing, Message: "analysis: 3 of 4 checks pass"}
	if rs := gate.ProgressiveGates(s, r); len(rs) != 1 || rs[0].Gate != gate.Analysis || rs[0].Open {
		t.Errorf("at the analysis step: %+v", rs)
	}
	r.StepIndex, r.Phase = 2, upfactory.PhaseAwaitingApproval
	if rs := gate.ProgressiveGates(s, r); len(rs) != 1 || rs[0].Gate != gate.Approval || rs[0].Open || !strings.Contains(rs[0].Command, "rollout approve shop") {
		t.Errorf("at the approval step: %+v", rs)
	}
	r.Phase = upfactory.PhaseCompleted
	if rs := gate.ProgressiveGates(s, r); len(rs) != 0 {
		t.Errorf("a completed rollout is held by %+v", rs)
	}
}

func TestParseID(t *testing.T) {
	for id, ok := range map[string]bool{"notes:c-1": true, "compat:shop:1.2.0": true, "window:weekly:shop:1.2.0": true,
		"drill:shop:1.2.0": true, "preflight:shop": false, "compat::1.2.0": false, "bogus:shop:1": false, "": false} {
		if _, _, got := gate.ParseID(id); got != ok {
			t.Errorf("ParseID(%q) ok = %v, want %v", id, got, ok)
		}
	}
}

func FuzzParseID(f *testing.F) {
	for _, s := range []string{"notes:c-1", "compat:shop:1.2.0", "window:weekly:shop:1.2.0", "drill:a:b", "::", "compat:a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		g, parts, ok := gate.ParseID(id)
		if !ok {
			return
		}
		if got := g + ":" + strings.Join(parts, ":"); got != id {
			t.Errorf("ParseID(%q) = %q %q, which joins back to %q", id, g, parts, got)
		}
		for _, p := range parts {
			if p == "" {
				t.Errorf("ParseID(%q) accepted an empty part", id)
			}
		}
	})
}
