package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/config"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/gate"
	"github.com/upfactory/upfactory/intake"
	"github.com/upfactory/upfactory/proxy"
	"github.com/upfactory/upfactory/sqlite"
	"github.com/upfactory/upfactory/static"
)

func backend(t *testing.T) string {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

// world is the application layer over a real SQLite store and an engine
// delivering "shop" (static instances, real HTTP servers) behind the
// built-in router, with shop's changelog as its release notes.
type world struct {
	app   *app.App
	db    *sqlite.DB
	cfg   *upfactory.Config
	clock time.Time
}

const changelog = `# Changelog
## [1.2.0] - 2026-11-21
### Removed
- The legacy /api/v0/cart endpoint.
## [1.1.0] - 2026-11-20
### Changed
- A new cache.
## [1.0.0] - 2026-10-01
### Added
- First release.
`

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(changelog), 0o644); err != nil {
		t.Fatal(err)
	}
	lodash := "# Changelog\n## [4.17.21] - 2021-02-20\n### Fixed\n- Prototype pollution.\n## [4.17.0] - 2016-11-01\n### Added\n- Things.\n"
	if err := os.WriteFile(filepath.Join(dir, "lodash.md"), []byte(lodash), 0o644); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`server: {data_dir: %s}
feeds:
  release_notes: [{component: shop, path: CHANGELOG.md}, {component: lodash, path: lodash.md}]
services:
  - name: shop
    owner: shop-team
    owners: {canary: sre-oncall}
    stable_version: 1.0.0
    target:
      type: static
      versions: {"1.0.0": [%q], "1.2.0": [%q], "1.3.0": [%q]}
    router: {type: builtin, listen: "127.0.0.1:0"}
    strategy:
      canary:
        steps: [{weight: 5}, {approval: {role: approver}}, {weight: 100}]
    analysis:
      checks: [{metric: error_rate, max: 1%%}]
  - name: blog
    owner: web
    inventory: [{type: component, name: lodash, ecosystem: npm, version: 4.17.0, layer: dependency}]
`, filepath.Join(dir, "data"), backend(t), backend(t), backend(t))
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
	svc := cfg.Service("shop")
	p := proxy.New(proxy.Options{Service: "shop"})
	target, err := static.New(svc, static.Options{})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{db: db, cfg: cfg, clock: time.Now()}
	eng := engine.New(db, []engine.Runtime{{Service: svc, Target: target, Router: p, Metrics: p}}, engine.Options{Now: w.now})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(ctx, true) })
	w.app = &app.App{Config: func() *upfactory.Config { return cfg }, Store: db, Engine: eng, Now: w.now}
	if _, err := intake.Run(ctx, intake.Options{Config: cfg, Store: db, Trigger: "test", Now: w.now}); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) now() time.Time { return w.clock }

func (w *world) logLen(t *testing.T) int {
	t.Helper()
	entries, err := w.db.Log(context.Background(), upfactory.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func closedGates(t *testing.T, err error) []string {
	t.Helper()
	e, ok := err.(*upfactory.Error)
	if !ok || e.Code != upfactory.ECONFLICT {
		t.Fatalf("want a refusal (ECONFLICT), got %v", err)
	}
	d, _ := e.Details.(map[string]any)
	rs, _ := d["closed_gates"].([]gate.Result)
	var out []string
	for _, r := range rs {
		out = append(out, r.Gate)
		if r.Command == "" || r.Reason == "" {
			t.Errorf("closed gate %s without a reason or a command: %+v", r.ID, r)
		}
		if !strings.Contains(e.Message, r.ID) {
			t.Errorf("the refusal's message does not list %s:\n%s", r.ID, e.Message)
		}
	}
	return out
}

func TestRolloutStartListsEveryClosedGateUntilEachOpens(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cands, err := w.db.Candidates(ctx, upfactory.CandidateFilter{Service: "shop"})
	if err != nil || len(cands) != 1 || cands[0].Recommended != "1.2.0" || cands[0].Status != upfactory.CandidateNeedsAck {
		t.Fatalf("intake should find shop's own 1.2.0 with a breaking item: %+v, %v", cands, err)
	}
	shop := cands[0]

	_, err = w.app.StartRollout(ctx, app.StartRequest{Service: "shop", Version: "1.2.0", Actor: "alice"})
	got := closedGates(t, err)
	if strings.Join(got, ",") != "notes,compat,preflight,drill" {
		t.Errorf("closed gates %v, want notes, compat, preflight and drill", got)
	}
	b, err := w.app.Board(ctx, app.BoardFilter{Service: "shop"})
	if err != nil || len(b.Upgrades) != 1 {
		t.Fatalf("board: %+v, %v", b, err)
	}
	if u := b.Upgrades[0]; u.Stage != upfactory.StageIntake || u.Owner != "shop-team" || len(u.BlockedBy) == 0 || u.BlockedBy[0].Gate != "notes" ||
		!strings.Contains(u.Next, "candidates ack "+shop.ID) {
		t.Errorf("board item %+v: want intake, owned by shop-team, blocked by the notes gate, next the ack", u)
	}

	if _, err := intake.Ack(ctx, w.db, shop.ID, "bob", w.now()); err != nil {
		t.Fatal(err)
	}
	_, err = w.app.StartRollout(ctx, app.StartRequest{Service: "shop", Version: "1.2.0", Actor: "alice"})
	if got := closedGates(t, err); strings.Join(got, ",") != "compat,preflight,drill" {
		t.Errorf("after the ack: closed gates %v", got)
	}
	b, _ = w.app.Board(ctx, app.BoardFilter{Service: "shop"})
	if u := b.Upgrades[0]; u.Stage != upfactory.StageRisk || !strings.Contains(u.Next, "compat run "+shop.ID) {
		t.Errorf("after the ack: %+v, want risk with compat next", u)
	}

	// Override the rest, as a named approver: each logged; then it starts.
	for _, id := range []string{gate.CompatID("shop", "1.2.0"), gate.PreflightID("shop", "1.2.0"), gate.DrillID("shop", "1.2.0")} {
		if _, err := w.app.Override(ctx, id, "erin", "test of the override path"); err != nil {
			t.Fatalf("override %s: %v", id, err)
		}
	}
	st, err := w.app.StartRollout(ctx, app.StartRequest{Service: "shop", Version: "1.2.0", Actor: "alice"})
	if err != nil {
		t.Fatalf("with every gate open or overridden: %v", err)
	}
	if st.CanaryVersion != "1.2.0" {
		t.Fatalf("status %+v", st)
	}
	b, _ = w.app.Board(ctx, app.BoardFilter{Service: "shop"})
	if u := b.Upgrades[0]; u.Stage != upfactory.StageCanary || u.Owner != "sre-oncall" || u.Version != "1.2.0" {
		t.Errorf("after the start: %+v, want canary owned by sre-oncall (owners.canary)", u)
	}
	snaps, err := w.db.Snapshots(ctx, "shop", 0)
	if err != nil || len(snaps) != 1 || snaps[0].Version != "1.2.0" || snaps[0].SHA256 == "" {
		t.Errorf("a rollout start takes a config snapshot: %+v, %v", snaps, err)
	}
}

func TestBadRolloutRequestsChangeNothing(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	blog, err := w.db.Candidates(ctx, upfactory.CandidateFilter{Service: "blog"})
	if err != nil {
		t.Fatal(err)
	}
	before := w.logLen(t)
	for _, tc := range []struct {
		name string
		req  app.StartRequest
		code string
		msg  string
	}{
		{"unknown candidate", app.StartRequest{Service: "shop", Version: "1.2.0", Candidates: []string{"c-nope"}}, upfactory.EINVALID, "no candidate c-nope"},
		{"a candidate of another service", app.StartRequest{Service: "shop", Version: "1.2.0", Candidates: []string{candidateOf(t, blog)}}, upfactory.EINVALID, "does not affect shop"},
		{"an intake-only service", app.StartRequest{Service: "blog", Version: "1.0.0"}, upfactory.EINVALID, "no target"},
		{"an unknown service", app.StartRequest{Service: "cart", Version: "1.0.0"}, upfactory.ENOTFOUND, "unknown service"},
		{"the stable version", app.StartRequest{Service: "shop", Version: "1.0.0"}, upfactory.ECONFLICT, "already the stable version"},
	} {
		_, err := w.app.StartRollout(ctx, tc.req)
		if upfactory.ErrorCode(err) != tc.code || !strings.Contains(upfactory.ErrorMessage(err), tc.msg) {
			t.Errorf("%s: %v, want %s with %q", tc.name, err, tc.code, tc.msg)
		}
	}
	if after := w.logLen(t); after != before {
		t.Errorf("refused requests appended %d log entries", after-before)
	}
	_, err = w.app.Override(ctx, "compat:nope:1.2.0", "erin", "typo")
	if upfactory.ErrorCode(err) != upfactory.EINVALID || !strings.Contains(upfactory.ErrorMessage(err), "no service nope") {
		t.Errorf("override of a gate of an unknown service: %v", err)
	}
	_, err = w.app.Override(ctx, "compatt:shop:1.2.0", "erin", "typo")
	if upfactory.ErrorCode(err) != upfactory.EINVALID || !strings.Contains(upfactory.ErrorMessage(err), "compat:SERVICE:VERSION") {
		t.Errorf("override of an unknown gate: %v", err)
	}
}

func candidateOf(t *testing.T, cs []*upfactory.Candidate) string {
	t.Helper()
	if len(cs) == 0 {
		t.Fatal("no candidate")
	}
	return cs[0].ID
}

func TestAVersionNoCandidateNamesEntersTheLine(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	_, err := w.app.StartRollout(ctx, app.StartRequest{Service: "shop", Version: "1.3.0", Actor: "alice"})
	if got := closedGates(t, err); got[0] != "notes" {
		t.Errorf("closed gates %v: a release no notes describe starts at the notes gate", got)
	}
	var made *upfactory.Candidate
	cands, _ := w.db.Candidates(ctx, upfactory.CandidateFilter{Service: "shop"})
	for _, c := range cands {
		if c.Recommended == "1.3.0" {
			made = c
		}
	}
	if made == nil || made.Layer != upfactory.LayerApp || made.Current != "1.0.0" {
		t.Fatalf("no app-release candidate for 1.3.0: %+v", cands)
	}
	if _, err := w.app.NoNotes(ctx, made.ID, "carol", "internal build"); err != nil {
		t.Fatal(err)
	}
	_, err = w.app.StartRollout(ctx, app.StartRequest{Service: "shop", Version: "1.3.0", Actor: "alice"})
	if got := closedGates(t, err); got[0] != "compat" {
		t.Errorf("after no-notes: closed %v", got)
	}
	// Intake does not resolve it: it was named by a rollout, not found.
	if _, err := intake.Run(ctx, intake.Options{Config: w.cfg, Store: w.db, Trigger: "test", Now: w.now}); err != nil {
		t.Fatal(err)
	}
	if c, err := w.db.Candidate(ctx, made.ID); err != nil || c.Status == upfactory.CandidateResolved {
		t.Errorf("intake resolved the candidate a rollout named: %+v, %v", c, err)
	}
}

func TestServiceMap(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	shop := w.cfg.Service("shop")
	shop.Tier, shop.OnCall, shop.DependsOn, shop.FailureModes = 1, "dana", []string{"blog", "payments"}, []string{"timeouts"}
	m, err := w.app.ServiceMap(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]app.ServiceEntry{}
	for _, e := range m.Services {
		byName[e.Name] = e
	}
	s, b := byName["shop"], byName["blog"]
	if s.Versions.Stable != "1.0.0" || !s.Delivered || len(s.SLOs) != 1 || !strings.Contains(s.SLOs[0], "error_rate") {
		t.Errorf("shop: %+v", s)
	}
	problems := strings.Join(s.Problems, "; ")
	if !strings.Contains(problems, "payments, which is not in the config") || !strings.Contains(problems, "tier 1 needs its top three failure modes (has 1)") {
		t.Errorf("shop's problems: %s", problems)
	}
	if b.Delivered || strings.Join(b.Dependents, ",") != "shop" || b.Versions.Stable != "" {
		t.Errorf("blog: %+v, want intake-only with shop as its dependent", b)
	}
	if !strings.Contains(strings.Join(b.Problems, ";"), "no one on call") {
		t.Errorf("blog's problems: %v", b.Problems)
	}
}

func TestACanaryRolledBackOnItsChecksOpensAnIncident(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cands, err := w.db.Candidates(ctx, upfactory.CandidateFilter{Service: "shop"})
	if err != nil || len(cands) != 1 {
		t.Fatalf("candidates: %v %v", cands, err)
	}
	start, back := w.clock, w.clock.Add(90*time.Second)
	// What the engine writes when the checks fail a canary.
	if err := w.db.AppendLog(ctx, []upfactory.LogEntry{
		{Time: start, Actor: "alice", Action: "rollout.start", Service: "shop", Subject: "1.2.0",
			Values: map[string]any{"rollout": "r1", "candidates": cands[0].ID, "stable_version": "1.0.0"}},
		{Time: back, Actor: upfactory.ActorSystem, Action: "rollback.automatic", Service: "shop", Subject: "1.2.0",
			Reason: "error_rate 8% > 1% for 30s", Values: map[string]any{"rollout": "r1"}},
	}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second sync opens nothing more
		if err := w.app.SyncLine(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ins, err := w.app.Incidents(ctx, upfactory.IncidentFilter{Service: "shop"})
	if err != nil || len(ins) != 1 {
		t.Fatalf("incidents %+v, %v: want one", ins, err)
	}
	in := ins[0]
	if in.Source != "rollback.automatic" || in.Open() || in.TimeToRestore() != 90*time.Second || in.Version != "1.2.0" ||
		!strings.Contains(in.Title, "error_rate 8%") || in.Upgrade == "" {
		t.Errorf("incident %+v: want closed, 90s to restore, linked to the upgrade", in)
	}
}

func TestIncidentsByHand(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	before := w.logLen(t)
	for _, req := range []app.OpenRequest{
		{Service: "nope", Severity: "sev2", Title: "x", By: "dana"},
		{Service: "shop", Severity: "critical", Title: "x", By: "dana"},
		{Service: "shop", Severity: "sev2", Title: " ", By: "dana"},
		{Service: "shop", Severity: "sev2", Title: "x", By: "dana", Upgrade: "shop/c-nope"},
		{Service: "shop", Severity: "sev2", Title: "x", By: "dana", StartedAt: w.clock.Add(time.Hour)},
	} {
		if _, err := w.app.OpenIncident(ctx, req); upfactory.ErrorCode(err) != upfactory.EINVALID {
			t.Errorf("open %+v: %v, want EINVALID", req, err)
		}
	}
	if w.logLen(t) != before {
		t.Error("refused opens were logged")
	}
	in, err := w.app.OpenIncident(ctx, app.OpenRequest{Service: "shop", Severity: "sev2", Title: "cart empties", By: "dana", StartedAt: w.clock.Add(-20 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.app.CloseIncident(ctx, in.ID, time.Time{}, "erin", "cache flushed")
	if err != nil || out.TimeToRestore() != 20*time.Minute {
		t.Fatalf("closed %+v, %v: want 20m to restore", out, err)
	}
}

func TestAPostReleaseRegressionOpensAnIncident(t *testing.T) {
	for _, rolledBack := range []bool{true, false} {
		t.Run(fmt.Sprintf("rolled back %v", rolledBack), func(t *testing.T) {
			w := newWorld(t)
			ctx := context.Background()
			cands, err := w.db.Candidates(ctx, upfactory.CandidateFilter{Service: "shop"})
			if err != nil || len(cands) != 1 {
				t.Fatalf("candidates: %v %v", cands, err)
			}
			start := w.clock
			since, seen := start.Add(3*time.Minute), start.Add(4*time.Minute)
			entries := []upfactory.LogEntry{
				{Time: start, Actor: "alice", Action: "rollout.start", Service: "shop", Subject: "1.2.0",
					Values: map[string]any{"rollout": "r1", "candidates": cands[0].ID, "stable_version": "1.0.0"}},
				{Time: start.Add(time.Minute), Actor: upfactory.ActorSystem, Action: upfactory.ActionCompleted, Service: "shop", Subject: "1.2.0",
					Values: map[string]any{"rollout": "r1", "rollback_until": start.Add(11 * time.Minute).Format(time.RFC3339), "verify_until": start.Add(31 * time.Minute).Format(time.RFC3339)}},
				{Time: seen, Actor: upfactory.ActorSystem, Action: upfactory.ActionVerificationFailed, Service: "shop", Subject: "1.2.0",
					Reason: "error_rate 5% after 100%", Values: map[string]any{"rollout": "r1", "regression_since": since.Format(time.RFC3339Nano)}},
			}
			if rolledBack {
				entries = append(entries, upfactory.LogEntry{Time: seen, Actor: upfactory.ActorSystem, Action: upfactory.ActionRollbackVerification,
					Service: "shop", Subject: "1.2.0", Reason: "all traffic back on 1.0.0", Values: map[string]any{"rollout": "r1"}})
			}
			if err := w.db.AppendLog(ctx, entries); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := w.app.SyncLine(ctx); err != nil {
					t.Fatal(err)
				}
			}
			ins, err := w.app.Incidents(ctx, upfactory.IncidentFilter{Service: "shop"})
			if err != nil || len(ins) != 1 {
				t.Fatalf("incidents %+v, %v: want one", ins, err)
			}
			in := ins[0]
			if in.Source != upfactory.ActionVerificationFailed || in.Severity != "sev2" || !in.StartedAt.Equal(since) || in.Upgrade == "" || in.Version != "1.2.0" {
				t.Errorf("incident %+v", in)
			}
			if rolledBack && (in.Open() || in.TimeToRestore() != time.Minute) {
				t.Errorf("rolled back: %+v, want closed a minute after the regression began", in)
			}
			if !rolledBack && !in.Open() {
				t.Errorf("left in place: %+v, want open", in)
			}
		})
	}
}

func TestReviewActionsAreStoredLoggedAndRead(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if err := w.app.SyncLine(ctx); err != nil {
		t.Fatal(err)
	}
	ups, err := w.db.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true})
	if err != nil || len(ups) == 0 {
		t.Fatalf("upgrades %v %v", ups, err)
	}
	id := ups[0].ID
	before := w.logLen(t)
	for _, tc := range []struct{ id, text, by string }{{id, " ", "dana"}, {id, "x", ""}, {"shop/nope", "x", "dana"}} {
		if _, err := w.app.AddAction(ctx, tc.id, tc.text, "", tc.by); err == nil {
			t.Errorf("add %+v: accepted", tc)
		}
	}
	if w.logLen(t) != before {
		t.Error("refused actions were logged")
	}
	act, err := w.app.AddAction(ctx, id, "alert on p99 per route", "sre", "dana")
	if err != nil || act.Seq == 0 || act.Service != ups[0].Service {
		t.Fatalf("added %+v, %v", act, err)
	}
	r, err := w.app.Review(ctx, id)
	if err != nil || len(r.Actions) != 1 || r.Actions[0].Text != "alert on p99 per route" {
		t.Fatalf("review %+v, %v", r, err)
	}
	ro, err := w.app.Readout(ctx, app.ReadoutRequest{From: act.CreatedAt.Add(-time.Hour), To: act.CreatedAt.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range ro.Sections {
		for _, f := range s.Figures {
			if f.Name == "review actions open" && f.Value == 1 && len(f.Sources) == 1 && f.Sources[0] == act.Seq {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the readout does not show the open action: %+v", ro.Sections)
	}
	done, err := w.app.DoneAction(ctx, act.ID, "sam")
	if err != nil || done.Open() {
		t.Fatalf("done %+v, %v", done, err)
	}
	if _, err := w.app.DoneAction(ctx, act.ID, "sam"); upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Errorf("done twice: %v", err)
	}
}

func TestAFreezeHoldsARunningRolloutUntilOverridden(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	if got := w.app.Hold(ctx, "shop", w.clock); got != "" {
		t.Fatalf("no freeze: held by %q", got)
	}
	day := w.clock.UTC()
	w.cfg.Policies.Freezes = []upfactory.Freeze{{Name: "launch", From: day.AddDate(0, 0, -1).Format("2006-01-02"), To: day.AddDate(0, 0, 1).Format("2006-01-02"), TimeZone: "UTC", Reason: "product launch"}}
	got := w.app.Hold(ctx, "shop", w.clock)
	if !strings.Contains(got, "launch") {
		t.Fatalf("in a freeze: held by %q, want the freeze named", got)
	}
	if _, err := w.app.Override(ctx, "freeze:rollout:shop:launch", "carol", "hotfix"); err != nil {
		t.Fatal(err)
	}
	if got := w.app.Hold(ctx, "shop", w.clock); got != "" {
		t.Errorf("overridden freeze: held by %q", got)
	}
}
