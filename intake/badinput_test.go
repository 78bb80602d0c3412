package intake_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/intake"
)

// TestBadInputBecomesProblems: a malformed record, a malformed SBOM
// component, an SBOM that is not JSON and a notes file without releases
// each become a Problem naming the file (and record or JSON pointer); the
// run completes and stores the rest.
func TestBadInputBecomesProblems(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	// A record that is not valid OSV (modified is a number).
	writeFile(t, filepath.Join(dir, "osv", "GHSA-bad0-aaaa-0000.json"),
		`{"id": "GHSA-bad0-aaaa-0000", "modified": 12, "affected": []}`)
	// An SBOM whose second component has a broken purl.
	writeFile(t, filepath.Join(dir, "broken.cdx.json"), `{
  "bomFormat": "CycloneDX",
  "specVersion": "1.5",
  "components": [
    {"type": "library", "name": "lodash", "version": "4.17.15", "purl": "pkg:npm/lodash@4.17.15"},
    {"type": "library", "name": "oops", "version": "1.0.0", "purl": "not a purl"}
  ]
}`)
	writeFile(t, filepath.Join(dir, "garbage.cdx.json"), `{"bomFormat": "CycloneDX", "components": [`)
	yaml := baseConfig + `
    - {component: express, ecosystem: npm, path: no-releases.md}
`
	yaml = strings.Replace(yaml, `  - name: worker`, `  - name: batch
    inventory:
      - {type: cyclonedx, path: broken.cdx.json}
  - name: legacy
    inventory:
      - {type: cyclonedx, path: garbage.cdx.json}
  - name: worker`, 1)
	cfg := parseConfig(t, dir, yaml)
	st := openStore(t)
	rep := runIntake(t, cfg, st, clock(t0))
	t.Logf("problems:\n%s", problemsText(rep.Problems))

	if p := findProblem(rep.Problems, "advisory", "GHSA-bad0-aaaa-0000.json"); p == nil {
		t.Errorf("no advisory problem naming GHSA-bad0-aaaa-0000.json")
	} else if !strings.Contains(p.Source, filepath.Join(dir, "osv")) {
		t.Errorf("advisory problem source %q does not name the feed", p.Source)
	}
	if p := findProblem(rep.Problems, "inventory", "broken.cdx.json", "/components/1"); p == nil {
		t.Errorf("no inventory problem naming broken.cdx.json and /components/1")
	} else if !strings.Contains(p.Source, "batch") {
		t.Errorf("inventory problem %q does not name the service", p.Source)
	}
	if p := findProblem(rep.Problems, "inventory", "garbage.cdx.json"); p == nil {
		t.Errorf("no inventory problem naming garbage.cdx.json")
	}
	if p := findProblem(rep.Problems, "notes", "no-releases.md"); p == nil {
		t.Errorf("no notes problem naming no-releases.md")
	}
	if rep.Run.Problems != len(rep.Problems) {
		t.Errorf("run counts %d problems, report has %d", rep.Run.Problems, len(rep.Problems))
	}

	// The rest went on: every good record was read, lodash now runs in
	// batch too, the other candidates are there and stored.
	if rep.Run.Records != osvRecordCount(t, dir)-1 {
		t.Errorf("records = %d, want every good one (%d)", rep.Run.Records, osvRecordCount(t, dir)-1)
	}
	lo := mustCandidate(t, rep.Candidates, "lodash")
	if !slices.Equal(lo.Services, []string{"api", "batch", "web"}) {
		t.Errorf("lodash services = %v, want [api batch web]", lo.Services)
	}
	for _, name := range []string{"golang.org/x/text", "left-pad", "debug", "ms"} {
		mustCandidate(t, rep.Candidates, name)
	}
	stored, err := st.Candidates(ctx, upfactory.CandidateFilter{})
	if err != nil || len(stored) != len(rep.Candidates) {
		t.Errorf("store has %d candidates (%v), report %d", len(stored), err, len(rep.Candidates))
	}
	if n := countAction(logActions(t, st), "intake.run", ""); n != 1 {
		t.Errorf("%d intake.run entries, want 1", n)
	}
}

// TestMissingInventoryKeepsCandidates: a service whose inventory cannot be
// read this run keeps its candidates open; nothing is resolved for it.
func TestMissingInventoryKeepsCandidates(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	now := clock(t0)
	r1 := runIntake(t, cfg, st, now)
	xt := mustCandidate(t, r1.Candidates, "golang.org/x/text")

	if err := os.Remove(filepath.Join(dir, "worker.go.mod")); err != nil {
		t.Fatal(err)
	}
	r2 := runIntake(t, cfg, st, now)
	if p := findProblem(r2.Problems, "inventory", "worker", "worker.go.mod"); p == nil {
		t.Errorf("no problem naming worker's missing go.mod:\n%s", problemsText(r2.Problems))
	}
	if len(r2.Resolved) != 0 || r2.Run.CandidatesResolved != 0 {
		t.Errorf("resolved %v with an unreadable inventory", r2.Resolved)
	}
	if c := byComponent(r2.Candidates, "golang.org/x/text"); c == nil || c.ID != xt.ID {
		t.Errorf("worker's candidate is not kept open: %+v", c)
	}
	got, err := st.Candidate(ctx, xt.ID)
	if err != nil || got.ResolvedAt != nil || !got.FirstSeen.Equal(xt.FirstSeen) {
		t.Errorf("stored x/text candidate %+v, %v: want open, first seen %v", got, err, xt.FirstSeen)
	}
	if n := countAction(logActions(t, st), "candidate.resolved", ""); n != 0 {
		t.Errorf("%d candidate.resolved entries", n)
	}

	// Once the inventory is back without x/text, it is resolved.
	writeFile(t, filepath.Join(dir, "worker.go.mod"), "module example.com/worker\n\ngo 1.22.0\n")
	r3 := runIntake(t, cfg, st, now)
	if !slices.Equal(r3.Resolved, []string{xt.ID}) {
		t.Errorf("resolved = %v, want [%s]", r3.Resolved, xt.ID)
	}
}

// TestNoAdvisoriesChangesNothing: OSV feeds that yield no record make the
// run fail before it writes anything.
func TestNoAdvisoriesChangesNothing(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	now := clock(t0)
	r1 := runIntake(t, cfg, st, now)

	snapshot := func() (cands []*upfactory.Candidate, runs int, log int, digests int) {
		cs, err := st.Candidates(ctx, upfactory.CandidateFilter{Resolved: true})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := st.IntakeRuns(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		ds, err := st.AdvisoryDigests(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return cs, len(rs), len(logActions(t, st)), len(ds)
	}
	c0, runs0, log0, dig0 := snapshot()

	cases := map[string]func(t *testing.T){
		"empty directory": func(t *testing.T) {
			if err := os.RemoveAll(filepath.Join(dir, "osv")); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "osv"), 0o755); err != nil {
				t.Fatal(err)
			}
		},
		"only malformed records": func(t *testing.T) {
			writeFile(t, filepath.Join(dir, "osv", "GHSA-bad0-aaaa-0000.json"), `{"id": `)
		},
		"missing directory": func(t *testing.T) {
			if err := os.RemoveAll(filepath.Join(dir, "osv")); err != nil {
				t.Fatal(err)
			}
		},
	}
	for _, name := range []string{"empty directory", "only malformed records", "missing directory"} {
		t.Run(name, func(t *testing.T) {
			cases[name](t)
			rep, err := intake.Run(ctx, intake.Options{Config: cfg, Store: st, Trigger: "cli", Now: now})
			if err == nil {
				t.Fatalf("run succeeded with no advisory: %+v", rep.Run)
			}
			// A coded error a person can act on, not an internal one.
			if code := upfactory.ErrorCode(err); code == upfactory.EINTERNAL {
				t.Errorf("error %v is not a coded upfactory error", err)
			}
			c1, runs1, log1, dig1 := snapshot()
			if runs1 != runs0 || log1 != log0 || dig1 != dig0 || len(c1) != len(c0) {
				t.Errorf("store changed: runs %d→%d, log %d→%d, advisories %d→%d, candidates %d→%d",
					runs0, runs1, log0, log1, dig0, dig1, len(c0), len(c1))
			}
			for i := range c1 {
				if c1[i].ID != c0[i].ID || c1[i].ResolvedAt != nil || !c1[i].LastSeen.Equal(c0[i].LastSeen) {
					t.Errorf("candidate %s changed: %+v", c0[i].ID, c1[i])
				}
			}
		})
	}
	if len(c0) != len(r1.Candidates) {
		t.Errorf("snapshot %d candidates, first run %d", len(c0), len(r1.Candidates))
	}
	verifyLog(t, st)
}

// TestInventoryProblemSaysWhereOnce: an inventory problem's Source says
// where (service, file, JSON pointer) and its Message what; the message is
// not repeated in the source, so Problem.String reads once.
func TestInventoryProblemSaysWhereOnce(t *testing.T) {
	dir := workspace(t)
	writeFile(t, filepath.Join(dir, "broken.cdx.json"), `{"bomFormat": "CycloneDX", "specVersion": "1.5",
  "components": [{"type": "library", "name": "oops", "version": "1.0.0", "purl": "not a purl"}]}`)
	yaml := strings.Replace(baseConfig, "{type: cyclonedx, path: web.cdx.json}", "{type: cyclonedx, path: web.cdx.json}\n      - {type: cyclonedx, path: broken.cdx.json}", 1)
	rep := runIntake(t, parseConfig(t, dir, yaml), openStore(t), clock(t0))
	p := findProblem(rep.Problems, "inventory", "web", "broken.cdx.json", "/components/0")
	if p == nil {
		t.Fatalf("no inventory problem for broken.cdx.json#/components/0:\n%s", problemsText(rep.Problems))
	}
	if strings.Contains(p.Source, p.Message) {
		t.Errorf("problem source repeats the message: %q", p.String())
	}
}

// TestMissingInventoryKeepsSharedCandidate: lodash runs in web and api;
// when api's lockfile cannot be read, api keeps its candidate: the
// candidate still lists api (not seeing it is not knowing it is gone).
func TestMissingInventoryKeepsSharedCandidate(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	now := clock(t0)
	r1 := runIntake(t, cfg, st, now)
	lo := mustCandidate(t, r1.Candidates, "lodash")

	if err := os.Remove(filepath.Join(dir, "api-package-lock.json")); err != nil {
		t.Fatal(err)
	}
	r2 := runIntake(t, cfg, st, now)
	lo2 := mustCandidate(t, r2.Candidates, "lodash")
	if lo2.ID != lo.ID || !slices.Equal(lo2.Services, []string{"api", "web"}) {
		t.Errorf("lodash services after api's inventory became unreadable: %v, want [api web]", lo2.Services)
	}
	cs, err := st.Candidates(ctx, upfactory.CandidateFilter{Service: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if byComponent(cs, "lodash") == nil {
		t.Error("service api lost its lodash candidate because its lockfile could not be read")
	}
	if lo2.Risk.Total < lo.Risk.Total {
		t.Errorf("lodash risk dropped from %.1f to %.1f because api's inventory could not be read", lo.Risk.Total, lo2.Risk.Total)
	}
}

// TestOneCandidatePerVersion: the same component at two versions makes
// two candidates, each with the advisories of its version.
func TestOneCandidatePerVersion(t *testing.T) {
	dir := workspace(t)
	data, err := os.ReadFile(filepath.Join(dir, "api-package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "api-package-lock.json"), strings.ReplaceAll(string(data), "4.17.15", "4.17.20"))
	var progress []string
	cfg := parseConfig(t, dir, baseConfig)
	rep, err := intake.Run(context.Background(), intake.Options{Config: cfg, Store: openStore(t), Trigger: "api", Now: clock(t0),
		Progress: func(msg string) { progress = append(progress, msg) }})
	if err != nil {
		t.Fatal(err)
	}
	var los []*upfactory.Candidate
	for _, c := range rep.Candidates {
		if c.Component == "lodash" {
			los = append(los, c)
		}
	}
	if len(los) != 2 {
		t.Fatalf("want two lodash candidates (4.17.15 in web, 4.17.20 in api), got %d", len(los))
	}
	for _, c := range los {
		switch c.Current {
		case "4.17.15":
			if !slices.Equal(c.Services, []string{"web"}) || len(c.Advisories) != 2 {
				t.Errorf("lodash 4.17.15: services %v advisories %v", c.Services, advisoryIDs(c))
			}
		case "4.17.20":
			if !slices.Equal(c.Services, []string{"api"}) || !slices.Equal(advisoryIDs(c), []string{"GHSA-lo02-aaaa-0002"}) || c.FixVersion != "4.17.21" {
				t.Errorf("lodash 4.17.20: services %v advisories %v fix %q", c.Services, advisoryIDs(c), c.FixVersion)
			}
		default:
			t.Errorf("lodash candidate at %s", c.Current)
		}
	}
	if los[0].ID == los[1].ID {
		t.Error("two versions share a candidate ID")
	}
	if rep.Run.Trigger != "api" || len(progress) == 0 {
		t.Errorf("trigger %q, progress %v", rep.Run.Trigger, progress)
	}
}
