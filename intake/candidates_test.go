package intake_test

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/intake"
	"github.com/upfactory/upfactory/risk"
)

// TestCandidates checks the candidates of the base fixture against what the
// records, inventories and notes say, worked out by hand.
func TestCandidates(t *testing.T) {
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	rep := runIntake(t, cfg, st, clock(t0))
	if len(rep.Problems) != 0 {
		t.Errorf("unexpected problems:\n%s", problemsText(rep.Problems))
	}

	// lodash 4.17.15 runs in web (SBOM) and api (package-lock): one
	// candidate listing both.
	var lodash []*upfactory.Candidate
	for _, c := range rep.Candidates {
		if c.Component == "lodash" {
			lodash = append(lodash, c)
		}
	}
	if len(lodash) != 1 {
		t.Fatalf("want one lodash candidate across services, got %d", len(lodash))
	}
	lo := lodash[0]
	if lo.Current != "4.17.15" || lo.Ecosystem != "npm" {
		t.Errorf("lodash: current %q ecosystem %q", lo.Current, lo.Ecosystem)
	}
	if !slices.Equal(lo.Services, []string{"api", "web"}) {
		t.Errorf("lodash services = %v, want [api web]", lo.Services)
	}
	// Sources say where: service, then file with JSON pointer or line.
	var webSrc, apiSrc bool
	for _, src := range lo.Sources {
		webSrc = webSrc || strings.HasPrefix(src, "web: ") && strings.Contains(src, "web.cdx.json#/components/0")
		apiSrc = apiSrc || strings.HasPrefix(src, "api: ") && strings.Contains(src, "api-package-lock.json")
	}
	if !webSrc || !apiSrc {
		t.Errorf("lodash sources %q: want web's SBOM pointer and api's lockfile", lo.Sources)
	}
	if lo.ID != intake.CandidateID("npm", "lodash", "4.17.15") {
		t.Errorf("lodash ID %q is not CandidateID(npm, lodash, 4.17.15)", lo.ID)
	}
	// lo01 (fixed 4.17.19) and lo02 (fixed 4.17.21) affect 4.17.15; lo03
	// (4.17.22 only) and lo04 (5.0.0 only) do not.
	if got, want := advisoryIDs(lo), []string{"GHSA-lo01-aaaa-0001", "GHSA-lo02-aaaa-0002"}; !slices.Equal(got, want) {
		t.Errorf("lodash advisories = %v, want %v", got, want)
	}
	// The lowest version fixing both.
	if lo.FixVersion != "4.17.21" || !lo.FixComplete {
		t.Errorf("lodash fix = %q complete %v, want 4.17.21 complete", lo.FixVersion, lo.FixComplete)
	}
	// Known releases: 4.17.19, 4.17.21, 4.17.22 (affected by lo03),
	// 4.17.23, 5.0.0 (affected by lo04), 5.0.1. Newest in major 4 not
	// affected: 4.17.23; newest of all: 5.0.1.
	if lo.NewestInMajor != "4.17.23" {
		t.Errorf("lodash newest in major = %q, want 4.17.23 (4.17.22 is affected, 5.x is another major)", lo.NewestInMajor)
	}
	if lo.Latest != "5.0.1" {
		t.Errorf("lodash latest = %q, want 5.0.1", lo.Latest)
	}
	// NewestInMajor includes every fix (4.17.23 ≥ 4.17.21): it is the
	// recommendation.
	if lo.Recommended != "4.17.23" {
		t.Errorf("lodash recommended = %q, want 4.17.23", lo.Recommended)
	}
	a1 := advisory(lo, "GHSA-lo01-aaaa-0001")
	if a1 == nil || a1.CVSSScore == nil || math.Abs(*a1.CVSSScore-9.8) > 1e-9 {
		t.Errorf("lo01: want CVSS 9.8 from AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H, got %+v", a1)
	} else {
		if !slices.Contains(a1.Aliases, "CVE-2020-8203") {
			t.Errorf("lo01 aliases = %v, want CVE-2020-8203", a1.Aliases)
		}
		if a1.EPSS == nil || math.Abs(*a1.EPSS-0.01) > 1e-9 {
			t.Errorf("lo01 EPSS = %v, want 0.01 from epss.csv", a1.EPSS)
		}
		if a1.KEV {
			t.Error("lo01 is not in the KEV catalog")
		}
		if !slices.Equal(a1.Fixed, []string{"4.17.19"}) {
			t.Errorf("lo01 fixed = %v", a1.Fixed)
		}
	}
	a2 := advisory(lo, "GHSA-lo02-aaaa-0002")
	if a2 == nil || a2.CVSSScore == nil || math.Abs(*a2.CVSSScore-7.2) > 1e-9 {
		t.Errorf("lo02: want CVSS 7.2 from AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H, got %+v", a2)
	} else if a2.EPSS != nil {
		t.Errorf("lo02 has no EPSS score in epss.csv, got %v", *a2.EPSS)
	}
	if len(lo.Highlights) != 0 || lo.BreakingDigest != "" || lo.Status != upfactory.CandidateReady {
		t.Errorf("lodash has no notes: highlights %v digest %q status %q", lo.Highlights, lo.BreakingDigest, lo.Status)
	}

	// golang.org/x/text: GO-2021-0113 and GHSA-ppp9-7jff-5vj2 alias each
	// other: one advisory, named by the smaller ID, the other an alias.
	xt := mustCandidate(t, rep.Candidates, "golang.org/x/text")
	if len(xt.Advisories) != 1 {
		t.Fatalf("x/text: want the two aliasing records merged into one advisory, got %v", advisoryIDs(xt))
	}
	adv := xt.Advisories[0]
	if adv.ID != "GHSA-ppp9-7jff-5vj2" {
		t.Errorf("x/text advisory ID = %q, want GHSA-ppp9-7jff-5vj2 (the smallest record ID)", adv.ID)
	}
	for _, id := range []string{"GO-2021-0113", "CVE-2021-38561"} {
		if !slices.Contains(adv.Aliases, id) {
			t.Errorf("x/text advisory aliases %v lack %s", adv.Aliases, id)
		}
	}
	if adv.CVSSScore == nil || math.Abs(*adv.CVSSScore-7.5) > 1e-9 {
		t.Errorf("x/text CVSS = %v, want 7.5 from the GHSA record's vector", adv.CVSSScore)
	}
	if !adv.KEV {
		t.Error("x/text: CVE-2021-38561 is in kev.json, advisory KEV is false")
	}
	if adv.EPSS == nil || math.Abs(*adv.EPSS-0.25) > 1e-9 {
		t.Errorf("x/text EPSS = %v, want 0.25", adv.EPSS)
	}
	if xt.FixVersion != "v0.3.7" || xt.Recommended != "v0.3.7" {
		t.Errorf("x/text fix %q recommended %q, want v0.3.7 (Go versions keep their v)", xt.FixVersion, xt.Recommended)
	}
	if !slices.Equal(xt.Services, []string{"worker"}) {
		t.Errorf("x/text services = %v", xt.Services)
	}

	// ms 0.7.0: fixed only in 2.0.0, another major; no release of major 0
	// is known, so the recommendation is the fix.
	ms := mustCandidate(t, rep.Candidates, "ms")
	if ms.FixVersion != "2.0.0" || ms.NewestInMajor != "" || ms.Recommended != "2.0.0" {
		t.Errorf("ms: fix %q newest-in-major %q recommended %q, want 2.0.0, \"\", 2.0.0", ms.FixVersion, ms.NewestInMajor, ms.Recommended)
	}
	// An advisory without a vector: no score.
	if len(ms.Advisories) != 1 || ms.Advisories[0].CVSSScore != nil {
		t.Errorf("ms advisories = %+v, want one without a CVSS score", ms.Advisories)
	}

	// express (no advisory, no notes) and the Go stdlib are no candidates.
	for _, name := range []string{"express", "stdlib"} {
		if c := byComponent(rep.Candidates, name); c != nil {
			t.Errorf("%s has neither advisory nor notes but is a candidate: %+v", name, c)
		}
	}

	// Every candidate the report lists is the store's.
	stored, err := st.Candidates(context.Background(), upfactory.CandidateFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(rep.Candidates) || len(stored) != rep.Run.Candidates {
		t.Errorf("store has %d candidates, report %d, run %d", len(stored), len(rep.Candidates), rep.Run.Candidates)
	}
	// Sorted by descending risk.
	for i := 1; i < len(rep.Candidates); i++ {
		if rep.Candidates[i].Risk.Total > rep.Candidates[i-1].Risk.Total {
			t.Errorf("candidates not by descending risk at %d", i)
		}
	}
	// The service filter of the store sees the shared candidate from both.
	for _, svc := range []string{"web", "api"} {
		cs, err := st.Candidates(context.Background(), upfactory.CandidateFilter{Service: svc})
		if err != nil {
			t.Fatal(err)
		}
		if byComponent(cs, "lodash") == nil {
			t.Errorf("Candidates(Service: %s) lacks lodash", svc)
		}
	}

	// risk.Explain is reachable from the candidate and agrees with it.
	ex := risk.Explain(xt.Risk)
	if !strings.Contains(ex, "risk ") || !strings.Contains(ex, "kev") || !strings.Contains(ex, xt.Risk.Formula) {
		t.Errorf("risk.Explain(candidate.Risk) does not explain it:\n%s", ex)
	}
	if xt.Risk.Total <= 0 || len(xt.Risk.Factors) == 0 {
		t.Errorf("x/text risk not computed: %+v", xt.Risk)
	}
}

// TestNotesOnlyCandidate checks a component with release notes and no
// advisory: a candidate to the newest release of its major, with the
// highlights after current up to the recommendation, each citing its line.
func TestNotesOnlyCandidate(t *testing.T) {
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	rep := runIntake(t, cfg, st, clock(t0))

	lp := mustCandidate(t, rep.Candidates, "left-pad")
	if len(lp.Advisories) != 0 {
		t.Errorf("left-pad has no advisory, got %v", advisoryIDs(lp))
	}
	// Releases 1.1.0, 1.2.0, 2.0.0-rc.1, 2.0.0: newest in major 1 is
	// 1.2.0; newest of all 2.0.0; the pre-release never.
	if lp.NewestInMajor != "1.2.0" || lp.Recommended != "1.2.0" {
		t.Errorf("left-pad newest-in-major %q recommended %q, want 1.2.0", lp.NewestInMajor, lp.Recommended)
	}
	if lp.Latest != "2.0.0" {
		t.Errorf("left-pad latest = %q, want 2.0.0 (not the pre-release)", lp.Latest)
	}
	if lp.Layer != upfactory.LayerDependency || !slices.Equal(lp.Services, []string{"web"}) {
		t.Errorf("left-pad layer %q services %v", lp.Layer, lp.Services)
	}
	notesFile := filepath.Join(dir, "left-pad.CHANGELOG.md")
	if lp.NotesFile != notesFile {
		t.Errorf("notes file = %q, want %q", lp.NotesFile, notesFile)
	}
	// From 1.0.0 (exclusive) to 1.2.0 (inclusive): the breaking item of
	// 1.2.0, the migration and the deprecation of 1.1.0. Not 1.0.0's
	// removal, not 2.0.0's breaking item, not Unreleased.
	kinds := map[string]int{}
	for _, h := range lp.Highlights {
		kinds[h.Kind]++
		if h.Version != "1.1.0" && h.Version != "1.2.0" {
			t.Errorf("highlight from release %s is outside (1.0.0, 1.2.0]: %q", h.Version, h.Text)
		}
		if h.File != notesFile {
			t.Errorf("highlight cites file %q, want %q", h.File, notesFile)
		}
		if line := fileLine(t, notesFile, h.Line); !strings.Contains(line, textStart(h.Text)) {
			t.Errorf("highlight %q cites line %d, which is %q", h.Text, h.Line, line)
		}
	}
	if kinds["breaking"] != 1 || kinds["migration"] != 1 || kinds["deprecation"] != 1 || len(lp.Highlights) != 3 {
		t.Errorf("highlights = %+v, want 1 breaking, 1 migration, 1 deprecation", lp.Highlights)
	}
	if lp.BreakingDigest == "" || lp.Status != upfactory.CandidateNeedsAck {
		t.Errorf("left-pad has a breaking item: digest %q status %q, want needs_ack", lp.BreakingDigest, lp.Status)
	}
	// Migrations and breaking items are reversibility inputs of the score.
	for _, name := range []string{"migrations", "breaking_items"} {
		f := factor(lp.Risk, name)
		if f == nil || f.Value <= 0 {
			t.Errorf("risk factor %s = %+v, want a positive value", name, f)
		}
	}
}

// TestNotesWithoutNewerRelease: a component whose notes know no release
// newer than it runs, and with no advisory, is no candidate.
func TestNotesWithoutNewerRelease(t *testing.T) {
	dir := workspace(t)
	yaml := strings.Replace(baseConfig, "name: left-pad, ecosystem: npm, version: 1.0.0", "name: left-pad, ecosystem: npm, version: 2.0.0", 1)
	cfg := parseConfig(t, dir, yaml)
	rep := runIntake(t, cfg, openStore(t), clock(t0))
	if c := byComponent(rep.Candidates, "left-pad"); c != nil {
		t.Errorf("left-pad 2.0.0 is the newest release; got candidate %+v", c)
	}
	// It is still in the inventory: web's other candidates are there.
	if byComponent(rep.Candidates, "lodash") == nil {
		t.Error("lodash candidate missing")
	}
}

func factor(s upfactory.RiskScore, name string) *upfactory.RiskFactor {
	for i := range s.Factors {
		if s.Factors[i].Name == name {
			return &s.Factors[i]
		}
	}
	return nil
}
