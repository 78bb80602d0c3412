package intake

import (
	"testing"

	"github.com/upfactory/upfactory"
)

func TestHistoriesFeedEveryOutcomeBack(t *testing.T) {
	e := func(action, service string, v map[string]any) upfactory.LogEntry {
		return upfactory.LogEntry{Action: action, Service: service, Values: v}
	}
	entries := []upfactory.LogEntry{
		// r1 carried the shop's release and x/net; its canary was rolled back.
		e("upgrade.stage", "shop", map[string]any{"rollout": "r1", "component": "shop"}),
		e("upgrade.stage", "shop", map[string]any{"rollout": "r1", "component": "golang.org/x/net"}),
		e(upfactory.ActionRollbackAutomatic, "shop", map[string]any{"rollout": "r1"}),
		// r2 regressed after 100% and verification rolled it back: one failure.
		e("upgrade.stage", "shop", map[string]any{"rollout": "r2", "component": "golang.org/x/net"}),
		e(upfactory.ActionVerificationFailed, "shop", map[string]any{"rollout": "r2"}),
		e(upfactory.ActionRollbackVerification, "shop", map[string]any{"rollout": "r2"}),
		// The automatic incident repeats r1's rollback; a person's incident is new.
		e("incident.open", "shop", map[string]any{"upgrade": "shop/c-1", "source_seq": 3.0}),
		e("incident.open", "blog", map[string]any{"upgrade": "blog/c-9"}),
		// Drills: a failed one does not count, a passing one does.
		e("drill", "shop", map[string]any{"passed": false}),
		e("drill", "blog", map[string]any{"passed": true}),
		e("rollout.completed", "blog", map[string]any{"rollout": "r3"}),
	}
	byService, byComponent := histories(entries)
	if h := byService["shop"]; h.failed != 2 || h.drilled {
		t.Errorf("shop: %+v, want 2 failed rollouts, no drill", h)
	}
	if h := byService["blog"]; h.failed != 1 || !h.drilled {
		t.Errorf("blog: %+v, want the linked incident and the passing drill", h)
	}
	if byComponent["golang.org/x/net"] != 2 || byComponent["shop"] != 1 {
		t.Errorf("components: %v", byComponent)
	}
}
