package app_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/config"
	"github.com/upfactory/upfactory/internal/golden"
	"github.com/upfactory/upfactory/readout"
	"github.com/upfactory/upfactory/sqlite"
)

// demoHistory writes, on a fixed clock, the history the demo makes: the
// shop's 1.1.0 caught by the canary's mirror step before any user reached
// it, then 1.2.0, carrying the golang.org/x/net fix, delivered to 100%,
// verified against its baseline and confirmed by intake; a review action.
// It returns the app and the history's start.
func demoHistory(t *testing.T) (*app.App, time.Time) {
	t.Helper()
	dir := t.TempDir()
	yaml := `server: {data_dir: ` + filepath.Join(dir, "data") + `}
services:
  - name: shop
    owner: demo-team
    tier: 1
    traffic_share: 1
    stable_version: 1.0.0
    target: {type: static, versions: {"1.0.0": ["127.0.0.1:1"], "1.1.0": ["127.0.0.1:2"], "1.2.0": ["127.0.0.1:3"]}}
    router: {type: builtin, listen: "127.0.0.1:0"}
    strategy: {canary: {steps: [{mirror: {duration: 6s}}, {weight: 5}, {weight: 100}]}}
`
	path := filepath.Join(dir, "upfactory.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := t0
	a := &app.App{Config: func() *upfactory.Config { return cfg }, Store: db, Now: func() time.Time { return now }}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	sync := func(d time.Duration) {
		t.Helper()
		now = at(d)
		if err := a.SyncLine(ctx); err != nil {
			t.Fatal(err)
		}
	}
	appendLog := func(entries ...upfactory.LogEntry) {
		t.Helper()
		if err := db.AppendLog(ctx, entries); err != nil {
			t.Fatal(err)
		}
	}
	epss, cvss := 0.42, 7.5
	app110 := &upfactory.Candidate{ID: "c-shop", Component: "shop", Ecosystem: "SemVer", Layer: upfactory.LayerApp, Current: "1.0.0", Recommended: "1.1.0",
		Services: []string{"shop"}, Sources: []string{"service shop"}, Advisories: []upfactory.Advisory{}, Highlights: []upfactory.Highlight{},
		Risk: upfactory.RiskScore{Total: 25}, LastSeen: at(0)}
	xnet := &upfactory.Candidate{ID: "c-xnet", Component: "golang.org/x/net", Ecosystem: "Go", Current: "v0.15.0", Recommended: "v0.17.0",
		Services: []string{"shop"}, Sources: []string{"inventory/shop.cdx.json"}, Highlights: []upfactory.Highlight{},
		Advisories: []upfactory.Advisory{{ID: "GO-2023-2102", Aliases: []string{"CVE-2023-39325"}, KEV: true, EPSS: &epss, CVSSScore: &cvss, Severity: "HIGH"},
			{ID: "GHSA-qppj-fm5r-hxr3", Aliases: []string{"CVE-2023-44487"}, KEV: true, Severity: "HIGH"}},
		Risk: upfactory.RiskScore{Total: 63.3}, LastSeen: at(0)}
	intakeRun := func(d time.Duration, cands ...*upfactory.Candidate) {
		t.Helper()
		run := &upfactory.IntakeRun{Started: at(d), Finished: at(d), Trigger: "demo", Candidates: len(cands)}
		if err := db.SaveIntake(ctx, run, nil, nil, cands, nil, []upfactory.LogEntry{{Time: at(d), Actor: upfactory.ActorSystem, Action: "intake.run", Subject: "demo"}}); err != nil {
			t.Fatal(err)
		}
	}
	rollout := func(d time.Duration, actor, action, version, reason string, v map[string]any) upfactory.LogEntry {
		return upfactory.LogEntry{Time: at(d), Actor: actor, Action: action, Service: "shop", Subject: version, Reason: reason, Values: v}
	}

	intakeRun(0, app110, xnet)
	sync(time.Second)
	// 1.1.0: the mirror step compares copies of users' requests and rolls it back at weight 0.
	appendLog(
		rollout(time.Minute, "demo", "rollout.start", "1.1.0", "rollout of shop from 1.0.0 to 1.1.0 started", map[string]any{"rollout": "r1", "candidates": "c-shop", "stable_version": "1.0.0",
			"baseline_requests": 1614, "baseline_error_rate": 0.0, "baseline_p95_seconds": 0.00434}),
		rollout(time.Minute+time.Second, upfactory.ActorSystem, upfactory.ActionRollbackAutomatic, "1.1.0",
			"mirror: the canary's answers differ from the users': 41 copies compared, 4.88% mismatched (max 1%)",
			map[string]any{"rollout": "r1", "compared": 41, "mismatches": 2, "worse": 2}),
	)
	sync(2 * time.Minute)
	// 1.2.0, with the x/net fix, to 100%; verified; intake confirms it.
	app120 := *app110
	app120.Recommended = "1.2.0"
	intakeRun(10*time.Minute, &app120, xnet)
	sync(10*time.Minute + time.Second)
	r2 := map[string]any{"rollout": "r2"}
	with := func(v map[string]any) map[string]any {
		v["rollout"] = "r2"
		return v
	}
	appendLog(
		rollout(11*time.Minute, "demo", "rollout.start", "1.2.0", "rollout of shop from 1.0.0 to 1.2.0 started",
			with(map[string]any{"candidates": "c-shop,c-xnet", "stable_version": "1.0.0", "baseline_requests": 1843, "baseline_error_rate": 0.0})),
		rollout(11*time.Minute+10*time.Second, upfactory.ActorSystem, "step.weight", "1.2.0", "canary weight 0% -> 5%", with(map[string]any{"from": 0, "to": 5})),
		rollout(12*time.Minute, upfactory.ActorSystem, "step.weight", "1.2.0", "canary weight 5% -> 100%", with(map[string]any{"from": 5, "to": 100})),
		rollout(12*time.Minute, upfactory.ActorSystem, upfactory.ActionCompleted, "1.2.0", "1.2.0 is stable",
			with(map[string]any{"previous_version": "1.0.0", "rollback_until": at(22 * time.Minute).Format(time.RFC3339), "verify_until": at(12*time.Minute + 10*time.Second).Format(time.RFC3339)})),
		rollout(12*time.Minute+10*time.Second, upfactory.ActorSystem, upfactory.ActionVerificationPassed, "1.2.0", "1.2.0 held against the baseline for the verification window",
			with(map[string]any{"stable_version": "1.0.0",
				"baseline_requests": 1843, "baseline_error_rate": 0.0005, "baseline_p95_seconds": 0.0045, "baseline_cpu_seconds_per_1k": 0.418, "baseline_mib_seconds_per_1k": 512.0,
				"after_requests": 1696, "after_error_rate": 0.0, "after_p95_seconds": 0.0043, "after_cpu_seconds_per_1k": 0.378, "after_mib_seconds_per_1k": 498.0})),
	)
	_ = r2
	sync(12*time.Minute + 20*time.Second)
	intakeRun(13 * time.Minute) // the new SBOM: both candidates resolved
	sync(13*time.Minute + time.Second)
	ups, err := db.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		if u.Version == "1.1.0" {
			now = at(20 * time.Minute)
			if _, err := a.AddAction(ctx, u.ID, "fail the build when compat fails, instead of allowing an override without a second approver", "platform-team", "demo-sre"); err != nil {
				t.Fatal(err)
			}
		}
	}
	return a, t0
}

// The readout of the demo's history is kept as golden files: a change
// that alters a figure, its sources or its wording shows in review.
// go test ./app -run Golden -update rewrites them.
func TestReadoutGolden(t *testing.T) {
	a, t0 := demoHistory(t)
	r, err := a.Readout(context.Background(), app.ReadoutRequest{From: t0, To: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden.Equal(t, "readout.golden.md", []byte(readout.Markdown(r)))
	golden.Equal(t, "readout.golden.html", []byte(readout.HTML(r)))
	golden.Equal(t, "readout.golden.json", append(js, '\n'))
	// What the golden files must say, whatever their wording.
	if r.RegressionsCaught != 1 || r.DORA.Deployments != 1 || r.DORA.ChangeFailureRate != 0 || r.Economics == nil || len(r.Economics.Avoided) != 1 {
		t.Errorf("readout: caught %d, dora %+v, economics %+v", r.RegressionsCaught, r.DORA, r.Economics)
	}
}
