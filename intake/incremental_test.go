package intake_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
)

func osvRecordCount(t *testing.T, dir string) int {
	t.Helper()
	ms, err := filepath.Glob(filepath.Join(dir, "osv", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	return len(ms)
}

// TestIncremental checks what a run counts as new, changed and removed,
// and that candidates keep their first-seen time and are resolved when
// their advisory goes.
func TestIncremental(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	now := clock(t0)
	records := osvRecordCount(t, dir)

	// First run: every record is new, every candidate is new.
	r1 := runIntake(t, cfg, st, now)
	if r1.Run.Records != records || r1.Run.AdvisoriesNew != records || r1.Run.AdvisoriesChanged != 0 || r1.Run.AdvisoriesRemoved != 0 {
		t.Errorf("first run: %+v, want %d records all new", r1.Run, records)
	}
	if r1.Run.CandidatesNew != len(r1.Candidates) || len(r1.New) != len(r1.Candidates) || r1.Run.CandidatesResolved != 0 {
		t.Errorf("first run: %d candidates, %d new (report %d)", len(r1.Candidates), r1.Run.CandidatesNew, len(r1.New))
	}
	if r1.Run.ID == 0 || r1.Run.Trigger != "cli" {
		t.Errorf("run ID %d trigger %q", r1.Run.ID, r1.Run.Trigger)
	}
	// Components: web 4 SBOM components + its app + left-pad, api 2,
	// worker x/text + stdlib.
	if r1.Run.Components != 10 {
		t.Errorf("components = %d, want 10 (web 6 with the app and left-pad, api 2, worker 2 with stdlib)", r1.Run.Components)
	}
	firstSeen := map[string]upfactory.Candidate{}
	for _, c := range r1.Candidates {
		firstSeen[c.ID] = *c
	}

	// Second run, nothing changed.
	r2 := runIntake(t, cfg, st, now)
	if r2.Run.AdvisoriesNew != 0 || r2.Run.AdvisoriesChanged != 0 || r2.Run.AdvisoriesRemoved != 0 {
		t.Errorf("unchanged run: advisories %d new %d changed %d removed, want 0/0/0",
			r2.Run.AdvisoriesNew, r2.Run.AdvisoriesChanged, r2.Run.AdvisoriesRemoved)
	}
	if len(r2.New)+len(r2.Changed)+len(r2.Resolved) != 0 || r2.Run.CandidatesNew+r2.Run.CandidatesChanged+r2.Run.CandidatesResolved != 0 {
		t.Errorf("unchanged run: candidates new %v changed %v resolved %v", r2.New, r2.Changed, r2.Resolved)
	}
	if len(r2.Candidates) != len(r1.Candidates) {
		t.Errorf("unchanged run: %d candidates, first had %d", len(r2.Candidates), len(r1.Candidates))
	}
	for _, c := range r2.Candidates {
		p, ok := firstSeen[c.ID]
		if !ok {
			t.Errorf("candidate %s appeared in an unchanged run", c.ID)
			continue
		}
		if !c.FirstSeen.Equal(p.FirstSeen) {
			t.Errorf("%s first seen moved %v → %v", c.Component, p.FirstSeen, c.FirstSeen)
		}
		if !c.LastSeen.After(p.LastSeen) {
			t.Errorf("%s last seen %v not after %v", c.Component, c.LastSeen, p.LastSeen)
		}
	}
	if r2.Run.ID <= r1.Run.ID {
		t.Errorf("run IDs %d then %d", r1.Run.ID, r2.Run.ID)
	}

	// A record's modified time changes: one changed.
	p := filepath.Join(dir, "osv", "GHSA-lo02-aaaa-0002.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, strings.Replace(string(data), `"modified": "2024-01-10T00:00:00Z"`, `"modified": "2024-02-11T09:30:00Z"`, 1))
	r3 := runIntake(t, cfg, st, now)
	if r3.Run.AdvisoriesNew != 0 || r3.Run.AdvisoriesChanged != 1 || r3.Run.AdvisoriesRemoved != 0 {
		t.Errorf("one modified record: %d new %d changed %d removed, want 0/1/0",
			r3.Run.AdvisoriesNew, r3.Run.AdvisoriesChanged, r3.Run.AdvisoriesRemoved)
	}
	digests, err := st.AdvisoryDigests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := digests["GHSA-lo02-aaaa-0002"]; !strings.HasPrefix(d.Modified, "2024-02-11T09:30:00") {
		t.Errorf("stored digest of the changed record: %+v", d)
	}
	if len(digests) != records {
		t.Errorf("store holds %d advisories, want %d", len(digests), records)
	}

	// The only advisory of debug 2.6.8 goes: one removed, its candidate
	// resolved.
	debug := mustCandidate(t, r3.Candidates, "debug")
	if err := os.Remove(filepath.Join(dir, "osv", "GHSA-dbg1-aaaa-0005.json")); err != nil {
		t.Fatal(err)
	}
	r4 := runIntake(t, cfg, st, now)
	if r4.Run.AdvisoriesRemoved != 1 || r4.Run.AdvisoriesNew != 0 || r4.Run.AdvisoriesChanged != 0 {
		t.Errorf("one removed record: %d new %d changed %d removed, want 0/0/1",
			r4.Run.AdvisoriesNew, r4.Run.AdvisoriesChanged, r4.Run.AdvisoriesRemoved)
	}
	if r4.Run.CandidatesResolved != 1 || !slices.Equal(r4.Resolved, []string{debug.ID}) {
		t.Errorf("resolved: run %d, report %v, want [%s]", r4.Run.CandidatesResolved, r4.Resolved, debug.ID)
	}
	if byComponent(r4.Candidates, "debug") != nil {
		t.Error("resolved candidate still among the open ones")
	}
	if r4.Run.Candidates != len(r3.Candidates)-1 {
		t.Errorf("open candidates %d, want %d", r4.Run.Candidates, len(r3.Candidates)-1)
	}
	all, err := st.Candidates(ctx, upfactory.CandidateFilter{Resolved: true})
	if err != nil {
		t.Fatal(err)
	}
	got := byComponent(all, "debug")
	if got == nil || got.ResolvedAt == nil || got.Status != upfactory.CandidateResolved {
		t.Fatalf("store: resolved debug candidate %+v", got)
	}
	if !got.ResolvedAt.Equal(r4.Run.Finished) {
		t.Errorf("resolved at %v, want the run's end %v", got.ResolvedAt, r4.Run.Finished)
	}
	if digests, _ := st.AdvisoryDigests(ctx); len(digests) != records-1 {
		t.Errorf("store holds %d advisories after a removal, want %d", len(digests), records-1)
	}

	// The operation log.
	entries := logActions(t, st)
	if n := countAction(entries, "intake.run", ""); n != 4 {
		t.Errorf("%d intake.run entries, want 4", n)
	}
	if n := countAction(entries, "candidate.new", ""); n != len(r1.Candidates) {
		t.Errorf("%d candidate.new entries, want %d", n, len(r1.Candidates))
	}
	for _, c := range r1.Candidates {
		if countAction(entries, "candidate.new", c.ID) != 1 {
			t.Errorf("no candidate.new entry for %s", c.ID)
		}
	}
	if n := countAction(entries, "candidate.resolved", debug.ID); n != 1 {
		t.Errorf("%d candidate.resolved entries for %s, want 1", n, debug.ID)
	}
	if n := countAction(entries, "candidate.resolved", ""); n != 1 {
		t.Errorf("%d candidate.resolved entries, want 1", n)
	}
	runs, err := st.IntakeRuns(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 4 || runs[0].ID != r4.Run.ID || runs[0].AdvisoriesRemoved != 1 {
		t.Errorf("intake runs: %d, newest %+v", len(runs), runs[0])
	}
	verifyLog(t, st)
}

// TestComponentUpgradedResolves: when the inventory moves to a fixed
// version, the old candidate is resolved and no new one appears for it.
func TestComponentUpgradedResolves(t *testing.T) {
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	now := clock(t0)
	r1 := runIntake(t, cfg, st, now)
	xt := mustCandidate(t, r1.Candidates, "golang.org/x/text")

	writeFile(t, filepath.Join(dir, "worker.go.mod"), "module example.com/worker\n\ngo 1.22.0\n\nrequire golang.org/x/text v0.3.7\n")
	r2 := runIntake(t, cfg, st, now)
	if !slices.Equal(r2.Resolved, []string{xt.ID}) {
		t.Errorf("resolved = %v, want [%s]", r2.Resolved, xt.ID)
	}
	if c := byComponent(r2.Candidates, "golang.org/x/text"); c != nil {
		t.Errorf("x/text v0.3.7 is fixed, got candidate %+v", c)
	}
}

// TestWithdrawnRecord: a record that is withdrawn counts as removed, and a
// candidate that only it made is resolved.
func TestWithdrawnRecord(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	now := clock(t0)
	r1 := runIntake(t, cfg, st, now)
	ms := mustCandidate(t, r1.Candidates, "ms")

	p := filepath.Join(dir, "osv", "GHSA-ms01-aaaa-0006.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, p, strings.Replace(string(data), `"modified": "2024-01-10T00:00:00Z",`,
		`"modified": "2024-03-01T00:00:00Z", "withdrawn": "2024-03-01T00:00:00Z",`, 1))
	r2 := runIntake(t, cfg, st, now)
	if r2.Run.AdvisoriesRemoved != 1 || r2.Run.AdvisoriesChanged != 0 || r2.Run.AdvisoriesNew != 0 {
		t.Errorf("withdrawn record: %d new %d changed %d removed, want 0/0/1",
			r2.Run.AdvisoriesNew, r2.Run.AdvisoriesChanged, r2.Run.AdvisoriesRemoved)
	}
	if !slices.Equal(r2.Resolved, []string{ms.ID}) {
		t.Errorf("resolved %v, want [%s]", r2.Resolved, ms.ID)
	}
	if ds, _ := st.AdvisoryDigests(ctx); ds != nil {
		if _, ok := ds["GHSA-ms01-aaaa-0006"]; ok {
			t.Error("the withdrawn record is still stored as an advisory")
		}
	}
	// A third run does not count it as removed again.
	r3 := runIntake(t, cfg, st, now)
	if r3.Run.AdvisoriesRemoved != 0 {
		t.Errorf("withdrawn record counted as removed again: %d", r3.Run.AdvisoriesRemoved)
	}
}

// TestFixVersionChangeIsChanged: a record's fix moves; the candidate's
// FixVersion changes, so the candidate is reported changed.
func TestFixVersionChangeIsChanged(t *testing.T) {
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	now := clock(t0)
	r1 := runIntake(t, cfg, st, now)
	lo := mustCandidate(t, r1.Candidates, "lodash")

	p := filepath.Join(dir, "osv", "GHSA-lo02-aaaa-0002.json")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), `"fixed": "4.17.21"`, `"fixed": "4.17.20"`, 1)
	s = strings.Replace(s, `"modified": "2024-01-10T00:00:00Z"`, `"modified": "2024-02-11T09:30:00Z"`, 1)
	writeFile(t, p, s)
	r2 := runIntake(t, cfg, st, now)
	lo2 := mustCandidate(t, r2.Candidates, "lodash")
	if lo2.FixVersion != "4.17.20" {
		t.Fatalf("fix version %q, want 4.17.20", lo2.FixVersion)
	}
	if !contains(r2.Changed, lo.ID) || r2.Run.CandidatesChanged != 1 {
		t.Errorf("lodash fix version moved %s → %s but changed = %v", lo.FixVersion, lo2.FixVersion, r2.Changed)
	}
	if countAction(logActions(t, st), "candidate.changed", lo.ID) != 1 {
		t.Error("no candidate.changed log entry")
	}
}
