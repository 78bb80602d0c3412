package intake_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/corpus"
	"github.com/upfactory/upfactory/osv"
	"github.com/upfactory/upfactory/scan"
	"github.com/upfactory/upfactory/version"
)

// TestCorpusMatchesScan: on a real SBOM and the real Go vulnerability
// database, the (component, advisory) pairs of the candidates are exactly
// the findings of scan.Run on the same inputs.
func TestCorpusMatchesScan(t *testing.T) {
	sbom := corpus.File(t, "sbom/proton-bridge-1.8.0.cdx.json")
	db := corpus.File(t, "osv/go-vulndb-all.zip")
	dir := t.TempDir()
	y := `
server:
  data_dir: ./data
services:
  - name: bridge
    inventory:
      - {type: cyclonedx, path: ` + sbom + `}
feeds:
  osv:
    - path: ` + db + `
`
	cfg := parseConfig(t, dir, y)
	rep := runIntake(t, cfg, openStore(t), clock(t0))

	sr, err := scan.Run(context.Background(), scan.Options{Inputs: []scan.Input{{Path: sbom, Type: "cyclonedx"}}, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Findings) == 0 {
		t.Fatal("scan found nothing: the corpus is not what this test expects")
	}
	key := func(eco, name, ver, id string) string {
		return fmt.Sprintf("%s/%s@%s %s", eco, osv.NormalizeName(eco, name), ver, id)
	}
	want := map[string]bool{}
	for _, f := range sr.Findings {
		want[key(f.Ecosystem, f.Package, f.Version, f.ID)] = true
	}
	got := map[string]bool{}
	for _, c := range rep.Candidates {
		for _, a := range c.Advisories {
			got[key(c.Ecosystem, c.Component, c.Current, a.ID)] = true
		}
		if len(c.Advisories) == 0 {
			t.Errorf("candidate %s@%s without advisory, and no notes are configured", c.Component, c.Current)
		}
	}
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("candidates differ from scan findings (%d pairs vs %d)\nmissing: %v\nextra: %v", len(got), len(want), missing, extra)
	}
	// scan counts the records it indexes (withdrawn ones left out); on a
	// first run each of them is a new advisory.
	if rep.Run.AdvisoriesNew != sr.Records || rep.Run.Records < sr.Records {
		t.Errorf("intake read %d records, %d new; scan indexed %d", rep.Run.Records, rep.Run.AdvisoriesNew, sr.Records)
	}
	t.Logf("%d candidates, %d (component, advisory) pairs, %d records", len(rep.Candidates), len(got), rep.Run.Records)

	// Each candidate's FixVersion fixes every advisory it lists (when
	// they all have fixes).
	for _, c := range rep.Candidates {
		if !c.FixComplete || c.FixVersion == "" {
			continue
		}
		for _, a := range c.Advisories {
			last := a.Fixed[len(a.Fixed)-1]
			if d, err := version.Compare(c.Ecosystem, c.FixVersion, last); err != nil || d < 0 {
				t.Errorf("%s: fix version %s is below %s's fix %s (%v)", c.Component, c.FixVersion, a.ID, last, err)
			}
		}
		// Nothing is recommended only when the fix is not a release, and
		// the candidate says so.
		if c.Recommended == "" && c.RecommendedNote == "" {
			t.Errorf("%s: fix %s known but nothing recommended, and no note why", c.Component, c.FixVersion)
		}
	}
}

// TestCorpusPrometheusHighlights: highlights from the real Prometheus
// changelog cite lines that really hold their text, and come only from
// releases after the current version up to the recommended one.
func TestCorpusPrometheusHighlights(t *testing.T) {
	changelog := corpus.File(t, "changelog/prometheus.CHANGELOG.md")
	dir := t.TempDir()
	y := `
server:
  data_dir: ./data
services:
  - name: monitoring
    inventory:
      - {type: component, name: github.com/prometheus/prometheus, ecosystem: Go, version: v2.40.0, layer: app}
feeds:
  release_notes:
    - {component: github.com/prometheus/prometheus, path: ` + changelog + `}
`
	cfg := parseConfig(t, dir, y)
	rep := runIntake(t, cfg, openStore(t), clock(t0))
	c := mustCandidate(t, rep.Candidates, "github.com/prometheus/prometheus")
	t.Logf("recommended %s, newest in major %s, latest %s, %d highlights", c.Recommended, c.NewestInMajor, c.Latest, len(c.Highlights))
	// The changelog's newest 2.x release is 2.55.1 (listed after the
	// 2.53.x patch releases); 3.x is another major.
	if c.Recommended != "v2.55.1" || c.NewestInMajor != "v2.55.1" {
		t.Errorf("recommended %q newest in major %q, want v2.55.1", c.Recommended, c.NewestInMajor)
	}
	if !strings.HasPrefix(c.Latest, "v3.") {
		t.Errorf("latest %q, want a 3.x release", c.Latest)
	}
	if c.Layer != "app" {
		t.Errorf("layer %q, want app", c.Layer)
	}
	if len(c.Highlights) < 10 {
		t.Fatalf("only %d highlights between v2.40.0 and v2.55.1", len(c.Highlights))
	}
	breaking := 0
	for _, h := range c.Highlights {
		if h.File != changelog {
			t.Errorf("highlight cites %q, want %q", h.File, changelog)
		}
		line := fileLine(t, changelog, h.Line)
		if !strings.Contains(line, textStart(h.Text)) {
			t.Errorf("highlight of %s cites line %d %q, which does not hold %q", h.Version, h.Line, line, textStart(h.Text))
		}
		lo, err1 := version.Compare("Go", h.Version, "v2.40.0")
		hi, err2 := version.Compare("Go", h.Version, "v2.55.1")
		if err1 != nil || err2 != nil || lo <= 0 || hi > 0 {
			t.Errorf("highlight from release %s is outside (v2.40.0, v2.55.1]", h.Version)
		}
		if h.Kind == "breaking" {
			breaking++
		}
	}
	if breaking == 0 || c.BreakingDigest == "" || c.Status != "needs_ack" {
		t.Errorf("%d breaking highlights, digest %q, status %q: Prometheus [CHANGE] items are breaking", breaking, c.BreakingDigest, c.Status)
	}
}

// TestCorpusNeverProposesAPrerelease: with the real Go database, modules
// whose only fix is a pre-release (iris v12.2.0-alpha8) or a pseudo-version
// (nats-io/jwt) are never proposed one while they run a release; once the
// notes know a release past the fix, that release is proposed.
func TestCorpusNeverProposesAPrerelease(t *testing.T) {
	db := corpus.File(t, "osv/go-vulndb-all.zip")
	dir := t.TempDir()
	y := `
server:
  data_dir: ./data
services:
  - name: api
    inventory:
      - {type: component, name: github.com/kataras/iris/v12, ecosystem: Go, version: v12.1.8, layer: dependency}
      - {type: component, name: github.com/nats-io/jwt, ecosystem: Go, version: v0.3.0, layer: dependency}
feeds:
  osv:
    - path: ` + db + `
`
	rep := runIntake(t, parseConfig(t, dir, y), openStore(t), clock(t0))
	byName := map[string]string{}
	for _, c := range rep.Candidates {
		byName[c.Component] = c.Recommended
		if c.Recommended != "" {
			t.Errorf("%s %s: recommended %s; the only fix %s is not a release", c.Component, c.Current, c.Recommended, c.FixVersion)
		}
		if !strings.Contains(c.RecommendedNote, c.FixVersion) || !strings.Contains(c.RecommendedNote, "no release known") {
			t.Errorf("%s: note %q does not say why nothing is recommended", c.Component, c.RecommendedNote)
		}
	}
	if len(byName) != 2 {
		t.Fatalf("candidates %v, want iris and nats-io/jwt", byName)
	}

	// The notes know v12.2.0: that release is past the fix and proposed.
	notes := filepath.Join(dir, "iris.CHANGELOG.md")
	os.WriteFile(notes, []byte("# Changelog\n\n## [v12.2.0] - 2023-03-11\n### Fixed\n- Many fixes.\n\n## [v12.2.0-alpha8] - 2022-12-01\n### Fixed\n- A fix.\n"), 0o644)
	y += `  release_notes:
    - {component: github.com/kataras/iris/v12, path: ` + notes + `}
`
	rep = runIntake(t, parseConfig(t, dir, y), openStore(t), clock(t0))
	for _, c := range rep.Candidates {
		if c.Component == "github.com/kataras/iris/v12" && (c.Recommended != "v12.2.0" || !strings.Contains(c.RecommendedNote, "v12.2.0 is the first known release past it")) {
			t.Errorf("iris with notes of v12.2.0: recommended %q (%s), want v12.2.0", c.Recommended, c.RecommendedNote)
		}
	}
}

// TestCorpusRiskFollowsTheFacts: on the real Go database, which gives its
// records neither CVSS nor severity, candidates whose facts differ (number
// of advisories, KEV, major bump…) score differently, and the one KEV
// lists through a related CVE (HTTP/2 Rapid Reset in golang.org/x/net)
// scores highest.
func TestCorpusRiskFollowsTheFacts(t *testing.T) {
	sbom := corpus.File(t, "sbom/proton-bridge-1.8.0.cdx.json")
	db := corpus.File(t, "osv/go-vulndb-all.zip")
	kev := corpus.File(t, "kev/known_exploited_vulnerabilities.json")
	y := `
server:
  data_dir: ./data
services:
  - name: bridge
    inventory:
      - {type: cyclonedx, path: ` + sbom + `}
feeds:
  osv:
    - path: ` + db + `
  kev: {path: ` + kev + `}
`
	rep := runIntake(t, parseConfig(t, t.TempDir(), y), openStore(t), clock(t0))
	facts := func(c *upfactory.Candidate) string {
		var in []string
		for _, f := range c.Risk.Factors {
			in = append(in, f.Name+"="+f.Input)
		}
		return strings.Join(in, "; ")
	}
	byTotal := map[float64]string{}
	var top *upfactory.Candidate
	for _, c := range rep.Candidates {
		if other, ok := byTotal[c.Risk.Total]; ok && other != facts(c) {
			t.Errorf("risk %.1f for different facts:\n  %s\n  %s", c.Risk.Total, other, facts(c))
		}
		byTotal[c.Risk.Total] = facts(c)
		if top == nil || c.Risk.Total > top.Risk.Total {
			top = c
		}
	}
	if len(byTotal) < 4 {
		t.Errorf("%d candidates share %d risk scores", len(rep.Candidates), len(byTotal))
	}
	if top == nil || top.Component != "golang.org/x/net" {
		t.Fatalf("highest risk: %+v, want golang.org/x/net (KEV through a related CVE)", top)
	}
	for _, a := range top.Advisories {
		if a.ID == "GO-2023-2102" && (!a.KEV || a.KEVVia != "related CVE-2023-44487") {
			t.Errorf("GO-2023-2102: KEV %v via %q, want KEV via related CVE-2023-44487", a.KEV, a.KEVVia)
		}
	}
}
