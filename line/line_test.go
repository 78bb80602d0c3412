package line_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/line"
)

var t0 = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

func ptr(i int) *int { return &i }

// world is a log and the facts beside it, moved forward step by step the
// way the application layer does: derive, then append the line's entries.
type world struct {
	t        *testing.T
	services []*upfactory.Service
	cands    map[string]*upfactory.Candidate
	notes    map[string]bool
	compat   map[string]int64
	log      []upfactory.LogEntry
	cursor   int
	stored   []*upfactory.Upgrade
}

func (w *world) append(e upfactory.LogEntry) {
	e.Seq = int64(len(w.log) + 1)
	w.log = append(w.log, e)
}

func (w *world) sync(now time.Time) {
	l := line.New(w.stored)
	var open []*upfactory.Candidate
	for _, c := range w.cands {
		if c.ResolvedAt == nil {
			open = append(open, c)
		}
	}
	l.Derive(w.log[w.cursor:], line.Facts{Services: w.services, Candidates: open, Now: now,
		NotesOpen: func(c *upfactory.Candidate, _ string) bool { return w.notes[c.ID] },
		CompatRun: func(id string) int64 { return w.compat[id] }})
	_, entries := l.Changed()
	for _, e := range entries {
		w.append(e)
	}
	w.cursor = len(w.log)
	// What the store gives back is JSON: compare like with like.
	b, _ := json.Marshal(l.Upgrades())
	w.stored = nil
	if err := json.Unmarshal(b, &w.stored); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) stage(id string) upfactory.Stage {
	for _, u := range w.stored {
		if u.ID == id {
			return u.Stage
		}
	}
	return ""
}

func TestAnUpgradeMovesDownTheLineAndTheLogRebuildsIt(t *testing.T) {
	shop := &upfactory.Service{Name: "shop", Owner: "team", Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{
		Steps: []upfactory.Step{{Weight: ptr(5)}, {Approval: &upfactory.ApprovalStep{Role: "approver"}}, {Weight: ptr(50)}, {Weight: ptr(100)}}}}}
	app := &upfactory.Candidate{ID: "c-app", Component: "shop", Layer: upfactory.LayerApp, Current: "1.0.0", Recommended: "1.2.0", Services: []string{"shop"}}
	lib := &upfactory.Candidate{ID: "c-lib", Component: "golang.org/x/net", Current: "v0.7.0", Recommended: "v0.17.0", Services: []string{"shop"}}
	w := &world{t: t, services: []*upfactory.Service{shop}, cands: map[string]*upfactory.Candidate{"c-app": app, "c-lib": lib},
		notes: map[string]bool{}, compat: map[string]int64{}}

	w.append(upfactory.LogEntry{Time: t0, Actor: "system", Action: "intake.run"})
	w.sync(t0)
	if w.stage("shop/c-app") != upfactory.StageIntake || w.stage("shop/c-lib") != upfactory.StageIntake {
		t.Fatalf("after intake: %+v", w.stored)
	}
	w.notes["c-app"] = true
	w.sync(t0.Add(time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageRisk {
		t.Fatalf("notes read: stage %s, want risk", got)
	}
	if got := w.stage("shop/c-lib"); got != upfactory.StageIntake {
		t.Fatalf("the library's notes are not read: stage %s, want intake", got)
	}
	w.compat["c-app"] = 7
	w.sync(t0.Add(2 * time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageCompat {
		t.Fatalf("after a compat run: %s", got)
	}

	ro := map[string]any{"rollout": "shop-1.2.0-1"}
	with := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range ro {
			out[k] = v
		}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	w.append(upfactory.LogEntry{Time: t0.Add(3 * time.Minute), Actor: "alice", Action: "rollout.start", Service: "shop", Subject: "1.2.0",
		Values: with(map[string]any{"candidates": "c-app,c-lib", "stable_version": "1.0.0"})})
	w.append(upfactory.LogEntry{Time: t0.Add(4 * time.Minute), Actor: "system", Action: "step.weight", Service: "shop", Subject: "1.2.0", Values: with(map[string]any{"from": 0, "to": 5})})
	w.sync(t0.Add(4 * time.Minute))
	for _, id := range []string{"shop/c-app", "shop/c-lib"} {
		if got := w.stage(id); got != upfactory.StageCanary {
			t.Fatalf("%s at 5%%: %s, want canary", id, got)
		}
	}
	w.append(upfactory.LogEntry{Time: t0.Add(5 * time.Minute), Actor: "system", Action: "step.weight", Service: "shop", Subject: "1.2.0", Values: with(map[string]any{"from": 5, "to": 50})})
	w.sync(t0.Add(5 * time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageProgressive {
		t.Fatalf("past the canary weight: %s", got)
	}
	until := t0.Add(20 * time.Minute)
	w.append(upfactory.LogEntry{Time: t0.Add(6 * time.Minute), Actor: "system", Action: "rollout.completed", Service: "shop", Subject: "1.2.0",
		Values: with(map[string]any{"rollback_until": until.Format(time.RFC3339)})})
	w.sync(t0.Add(6 * time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageVerification {
		t.Fatalf("at 100%%: %s", got)
	}
	// The window is still open: verification goes on.
	w.sync(t0.Add(10 * time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageVerification {
		t.Fatalf("inside the rollback window: %s", got)
	}
	// Intake on the new inventory no longer finds the library: confirmed.
	lib.ResolvedAt = &until
	app.ResolvedAt = &until
	w.sync(until.Add(time.Second))
	for _, id := range []string{"shop/c-app", "shop/c-lib"} {
		if got := w.stage(id); got != upfactory.StageDone {
			t.Errorf("%s after the window, confirmed: %s, want done", id, got)
		}
	}

	var app0 *upfactory.Upgrade
	for _, u := range w.stored {
		if u.ID == "shop/c-app" {
			app0 = u
		}
	}
	var stages []upfactory.Stage
	for _, s := range app0.Stages {
		stages = append(stages, s.Stage)
		if s.Stage != upfactory.StageDone && s.LeftAt.IsZero() {
			t.Errorf("stage %s never left", s.Stage)
		}
	}
	if diff := cmp.Diff(upfactory.LineStages, stages); diff != "" {
		t.Errorf("stages entered (-want +got):\n%s", diff)
	}
	if s := app0.Stages[3]; s.Actor != "alice" || s.Seq == 0 {
		t.Errorf("canary entry %+v: want alice's rollout.start as actor and source", s)
	}

	// A follower with nothing but the log gets the same line.
	if diff := cmp.Diff(w.stored, line.Rebuild(w.log)); diff != "" {
		t.Errorf("Rebuild(log) differs from the derived line (-derived +rebuilt):\n%s", diff)
	}
}

func TestRollbackEndsTheUpgradeAndANewVersionStartsAnother(t *testing.T) {
	shop := &upfactory.Service{Name: "shop", Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{{Weight: ptr(5)}, {Weight: ptr(100)}}}}}
	app := &upfactory.Candidate{ID: "c-app", Component: "shop", Layer: upfactory.LayerApp, Current: "1.0.0", Recommended: "1.1.0", Services: []string{"shop"}}
	w := &world{t: t, services: []*upfactory.Service{shop}, cands: map[string]*upfactory.Candidate{"c-app": app}, notes: map[string]bool{"c-app": true}, compat: map[string]int64{}}
	w.append(upfactory.LogEntry{Time: t0, Actor: "bob", Action: "rollout.start", Service: "shop", Subject: "1.1.0", Values: map[string]any{"rollout": "r1", "candidates": "c-app"}})
	w.append(upfactory.LogEntry{Time: t0.Add(time.Minute), Actor: "system", Action: "rollback.automatic", Service: "shop", Subject: "1.1.0", Reason: "error_rate 8%", Values: map[string]any{"rollout": "r1"}})
	w.sync(t0.Add(time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageRolledBack {
		t.Fatalf("after an automatic rollback: %s", got)
	}
	w.sync(t0.Add(2 * time.Minute))
	if len(w.stored) != 1 {
		t.Fatalf("the same version started a new upgrade: %+v", w.stored)
	}
	app.Recommended = "1.2.0"
	w.sync(t0.Add(3 * time.Minute))
	if got := w.stage("shop/c-app#2"); got != upfactory.StageRisk {
		t.Errorf("a new version of the release: %s, want a second upgrade in risk (notes read)", got)
	}
}

func TestDismiss(t *testing.T) {
	u := &upfactory.Upgrade{ID: "shop/c-1", Service: "shop", Stage: upfactory.StageRisk, Stages: []upfactory.StageRecord{{Stage: upfactory.StageRisk, EnteredAt: t0}}}
	l := line.New([]*upfactory.Upgrade{u})
	if _, err := l.Dismiss("shop/c-1", "", "", t0); upfactory.ErrorCode(err) != upfactory.EINVALID {
		t.Errorf("dismiss without a name: %v", err)
	}
	if _, err := l.Dismiss("shop/nope", "erin", "x", t0); upfactory.ErrorCode(err) != upfactory.ENOTFOUND {
		t.Errorf("dismiss of an unknown upgrade: %v", err)
	}
	got, err := l.Dismiss("shop/c-1", "erin", "we replace the component", t0.Add(time.Hour))
	if err != nil || got.Stage != upfactory.StageDismissed || got.Current().Actor != "erin" {
		t.Fatalf("dismiss: %+v, %v", got, err)
	}
	if _, entries := l.Changed(); len(entries) != 1 || entries[0].Actor != "erin" || entries[0].Reason == "" {
		t.Errorf("dismissal entries: %+v", entries)
	}
	if _, err := l.Dismiss("shop/c-1", "erin", "again", t0); upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Errorf("dismissing twice: %v", err)
	}
}

// Rebuild reads whatever a log holds: entries written by other versions,
// values of unexpected types. It must never panic, and every upgrade it
// gives has the stage of its last entry.
func FuzzRebuild(f *testing.F) {
	f.Add([]byte(`[{"seq":1,"action":"upgrade.stage","service":"shop","values":{"upgrade":"shop/c-1","to_stage":"intake","risk":12.5}}]`))
	f.Add([]byte(`[{"seq":1,"action":"upgrade.stage","values":{"upgrade":7,"to_stage":[1],"created_at":"x","source_seq":"y"}},{"action":"upgrade.stage"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var entries []upfactory.LogEntry
		if json.Unmarshal(data, &entries) != nil {
			return
		}
		for _, u := range line.Rebuild(entries) {
			if len(u.Stages) == 0 || u.Stages[len(u.Stages)-1].Stage != u.Stage {
				t.Errorf("upgrade %q: stage %q, stages %+v", u.ID, u.Stage, u.Stages)
			}
		}
	})
}

// completedWorld is the shop's release rolled out to 100% at t0 + 1m,
// with the rollback window open until t0 + 10m and verification until
// verifyUntil (zero: no verification).
func completedWorld(t *testing.T, verifyUntil time.Time) (*world, *upfactory.Candidate) {
	shop := &upfactory.Service{Name: "shop", Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{{Weight: ptr(5)}, {Weight: ptr(100)}}}}}
	app := &upfactory.Candidate{ID: "c-app", Component: "shop", Layer: upfactory.LayerApp, Current: "1.0.0", Recommended: "1.2.0", Services: []string{"shop"}}
	w := &world{t: t, services: []*upfactory.Service{shop}, cands: map[string]*upfactory.Candidate{"c-app": app}, notes: map[string]bool{"c-app": true}, compat: map[string]int64{}}
	w.append(upfactory.LogEntry{Time: t0, Actor: "bob", Action: "rollout.start", Service: "shop", Subject: "1.2.0", Values: map[string]any{"rollout": "r1", "candidates": "c-app"}})
	values := map[string]any{"rollout": "r1", "rollback_until": t0.Add(10 * time.Minute).Format(time.RFC3339)}
	if !verifyUntil.IsZero() {
		values["verify_until"] = verifyUntil.Format(time.RFC3339)
	}
	w.append(upfactory.LogEntry{Time: t0.Add(time.Minute), Actor: "system", Action: upfactory.ActionCompleted, Service: "shop", Subject: "1.2.0", Values: values})
	w.sync(t0.Add(time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageVerification {
		t.Fatalf("at 100%%: %s", got)
	}
	return w, app
}

func TestVerificationHoldsTheUpgradeUntilItsVerdict(t *testing.T) {
	w, _ := completedWorld(t, t0.Add(31*time.Minute))
	// Confirmed (the service's own release is stable) and the rollback
	// window closed: still verifying.
	w.sync(t0.Add(20 * time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageVerification {
		t.Fatalf("verification pending: %s, want verification", got)
	}
	w.append(upfactory.LogEntry{Time: t0.Add(31 * time.Minute), Actor: "system", Action: upfactory.ActionVerificationPassed, Service: "shop", Subject: "1.2.0", Values: map[string]any{"rollout": "r1"}})
	w.sync(t0.Add(31 * time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageDone {
		t.Fatalf("verification passed: %s, want done", got)
	}
	if u := w.stored[0]; u.Verification != "passed" || u.Current().Reason != "delivery confirmed and post-release verification passed" {
		t.Errorf("done record: %+v", u.Current())
	}
	if diff := cmp.Diff(w.stored, line.Rebuild(w.log)); diff != "" {
		t.Errorf("Rebuild(log) differs (-derived +rebuilt):\n%s", diff)
	}
}

func TestEveryRollbackEndsTheUpgrade(t *testing.T) {
	for _, action := range []string{upfactory.ActionRollbackManual, upfactory.ActionRollbackVerification, upfactory.ActionAbort, upfactory.ActionFailed} {
		t.Run(action, func(t *testing.T) {
			w, _ := completedWorld(t, t0.Add(31*time.Minute))
			w.append(upfactory.LogEntry{Time: t0.Add(2 * time.Minute), Actor: "carol", Action: action, Service: "shop", Subject: "1.2.0", Values: map[string]any{"rollout": "r1"}})
			w.sync(t0.Add(2 * time.Minute))
			if got := w.stage("shop/c-app"); got != upfactory.StageRolledBack {
				t.Fatalf("after %s: %s, want rolled_back", action, got)
			}
		})
	}
}

func TestARegressionLeftInPlaceEndsDoneWithItsOutcome(t *testing.T) {
	w, _ := completedWorld(t, t0.Add(31*time.Minute))
	w.append(upfactory.LogEntry{Time: t0.Add(12 * time.Minute), Actor: "system", Action: upfactory.ActionVerificationFailed, Service: "shop", Subject: "1.2.0", Values: map[string]any{"rollout": "r1"}})
	w.sync(t0.Add(12 * time.Minute))
	if got := w.stage("shop/c-app"); got != upfactory.StageDone {
		t.Fatalf("regression after the window: %s, want done", got)
	}
	if u := w.stored[0]; u.Verification != "regression" || u.Current().Outcome != "" || u.Stages[len(u.Stages)-2].Outcome != "regression" {
		t.Errorf("records: %+v", u.Stages)
	}
}
