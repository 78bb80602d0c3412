package review_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/review"
)

var t0 = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

func TestReviewKeepsWhatConcernsTheUpgrade(t *testing.T) {
	u := &upfactory.Upgrade{ID: "shop/c-app", CandidateID: "c-app", Service: "shop", Component: "shop", From: "1.0.0", To: "1.1.0",
		Version: "1.1.0", RolloutID: "r1", Stage: upfactory.StageRolledBack, Stages: []upfactory.StageRecord{
			{Stage: upfactory.StageIntake, EnteredAt: t0}, {Stage: upfactory.StageCanary, EnteredAt: t0.Add(time.Hour)},
			{Stage: upfactory.StageRolledBack, EnteredAt: t0.Add(time.Hour + time.Minute), Reason: "error_rate 8% > 1%"}}}
	e := func(seq int64, min int, actor, action, subject, reason string, v map[string]any) upfactory.LogEntry {
		return upfactory.LogEntry{Seq: seq, Time: t0.Add(time.Duration(min) * time.Minute), Actor: actor, Action: action, Service: "shop", Subject: subject, Reason: reason, Values: v}
	}
	entries := []upfactory.LogEntry{
		e(1, 0, "system", "upgrade.stage", "shop/c-app", "shop 1.0.0 → 1.1.0: → intake", map[string]any{"upgrade": "shop/c-app"}),
		e(2, 10, "alice", "candidate.ack", "c-app", "breaking item read", nil),
		e(3, 20, "dana", "drill", "1.1.0", "rollback drill passed", map[string]any{"passed": true, "rollback_seconds": 0.004}),
		e(4, 30, "erin", "policy.override", "compat:shop:1.1.0", "emergency change", nil),
		e(5, 31, "erin", "policy.override", "compat:shop:1.2.0", "another version", nil),
		e(6, 60, "bob", "rollout.start", "1.1.0", "rollout started", map[string]any{"rollout": "r1"}),
		e(7, 61, "system", "rollback.automatic", "1.1.0", "check error_rate failed", map[string]any{"rollout": "r1", "check": "error_rate",
			"rule": "error_rate <= 1%", "canary_text": "8.00%", "stable_text": "0.00%", "canary_count": 250.0}),
		e(8, 90, "bob", "rollout.start", "1.2.0", "another rollout", map[string]any{"rollout": "r2"}),
		{Seq: 9, Time: t0, Action: "drill", Service: "blog", Subject: "1.1.0", Reason: "another service"},
	}
	incidents := []*upfactory.Incident{
		{ID: 1, Service: "shop", Severity: "sev3", Title: "canary rolled back", Upgrade: "shop/c-app", StartedAt: t0.Add(time.Hour), EndedAt: t0.Add(61 * time.Minute)},
		{ID: 2, Service: "shop", Severity: "sev2", Title: "unrelated", StartedAt: t0},
	}
	actions := []*upfactory.ReviewAction{{ID: 3, Upgrade: "shop/c-app", Text: "make the compat gate unskippable for tier 1", Owner: "sre", CreatedBy: "dana", Seq: 12}}
	r := review.Build(review.Inputs{Upgrade: u, Entries: entries, Incidents: incidents, Actions: actions})

	var seqs []int64
	for _, ev := range r.Timeline {
		seqs = append(seqs, ev.Seq)
	}
	if want := []int64{1, 2, 3, 4, 6, 7}; !slices.Equal(seqs, want) {
		t.Errorf("timeline seqs %v, want %v", seqs, want)
	}
	if len(r.Gates) != 3 || r.Gates[0].Action != "candidate.ack" || r.Gates[2].Actor != "erin" {
		t.Errorf("gates %+v", r.Gates)
	}
	if len(r.Checks) != 1 || r.Checks[0].Seq != 7 || !strings.Contains(strings.Join(r.Checks[0].Measured, "; "), "canary_text 8.00%") {
		t.Errorf("checks %+v", r.Checks)
	}
	if len(r.Incidents) != 1 || r.Incidents[0].ID != 1 || len(r.Actions) != 1 {
		t.Errorf("incidents %+v actions %+v", r.Incidents, r.Actions)
	}
	md := review.Markdown(r)
	for _, want := range []string{"# Blameless review: shop/c-app", "error_rate 8% > 1%", "rule error_rate <= 1%", "rollback_seconds 4ms",
		"#1 sev3, restored in 1m", "[ ] #3 make the compat gate unskippable for tier 1 (owner sre", review.Questions[1]} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestReviewOfAnUpgradeThatNeverRolledOut(t *testing.T) {
	u := &upfactory.Upgrade{ID: "shop/c-lib", CandidateID: "c-lib", Service: "shop", Component: "golang.org/x/net", From: "v0.15.0", To: "v0.17.0",
		Stage: upfactory.StageRisk, Stages: []upfactory.StageRecord{{Stage: upfactory.StageIntake, EnteredAt: t0}, {Stage: upfactory.StageRisk, EnteredAt: t0.Add(time.Hour)}}}
	r := review.Build(review.Inputs{Upgrade: u})
	md := review.Markdown(r)
	for _, want := range []string{"No check judged it", "No gate decision on record", "None linked", "review action add shop/c-lib"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}
