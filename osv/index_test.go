package osv_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/osv"
)

type findingSummary struct {
	Component string
	ID        string
	Aliases   []string
	Fixed     []string
	Entries   []string
}

func summarize(fs []osv.Finding) []findingSummary {
	var out []findingSummary
	for _, f := range fs {
		s := findingSummary{Component: f.Component.Name + "@" + f.Component.Version, ID: f.ID, Aliases: f.Aliases, Fixed: f.Fixed}
		for _, e := range f.Entries {
			s.Entries = append(s.Entries, e.ID)
		}
		out = append(out, s)
	}
	return out
}

func withAliases(e *osv.Entry, aliases ...string) *osv.Entry {
	e.Aliases = aliases
	return e
}

func TestIndexMatchMergesAliases(t *testing.T) {
	semver := func(evs ...osv.Event) osv.Range { return rng(osv.RangeSemVer, evs...) }
	entries := []*osv.Entry{
		// GO-1, GHSA-1 and CVE-1 are one vulnerability: GO-1 names CVE-1,
		// GHSA-1 names CVE-1 too, GHSA-2 joins through GHSA-1 (transitive).
		withAliases(record("GO-1", "Go", "github.com/gin-gonic/gin", nil, semver(intro("0"), fixed("1.6.0"))), "CVE-1"),
		withAliases(record("GHSA-1", "Go", "github.com/gin-gonic/gin", nil, semver(intro("0"), fixed("1.6.1"))), "CVE-1", "GHSA-2"),
		withAliases(record("OSV-9", "Go", "github.com/gin-gonic/gin", nil, semver(intro("1.0.0"), fixed("1.5.5"))), "GHSA-2"),
		// A different vulnerability in the same module.
		withAliases(record("GO-2", "Go", "github.com/gin-gonic/gin", nil, semver(intro("1.4.0"), fixed("1.7.7"))), "CVE-2"),
		// Not affecting 1.5.0.
		record("GO-3", "Go", "github.com/gin-gonic/gin", nil, semver(intro("1.8.0"), fixed("1.9.1"))),
		// A PyPI record found through a non-normalised name.
		record("PYSEC-1", "PyPI", "Django", nil, rng(osv.RangeEcosystem, intro("0"), fixed("3.2.5"))),
		// Withdrawn: never matches, and its aliases do not merge anything.
		withdrawnRecord(withAliases(record("GO-4", "Go", "github.com/gin-gonic/gin", nil, semver(intro("0"))), "CVE-2", "CVE-1")),
	}
	ix := osv.NewIndex(entries)
	if ix.Len() != 6 {
		t.Errorf("Len() = %d, want 6", ix.Len())
	}
	got := ix.Match([]upfactory.Component{
		{Name: "github.com/gin-gonic/gin", Ecosystem: "Go", Version: "v1.5.0"},
		{Name: "django", Ecosystem: "PyPI", Version: "3.1"},
		{Name: "django", Ecosystem: "PyPI", Version: "4.0"},
		{PURL: "pkg:golang/github.com/gin-gonic/gin@v1.8.5", Version: "v1.8.5"},
		{Name: "unknown", Ecosystem: "npm", Version: "1.0.0"},
	})
	want := []findingSummary{
		{Component: "github.com/gin-gonic/gin@v1.5.0", ID: "GHSA-1", Aliases: []string{"CVE-1", "GHSA-2", "GO-1", "OSV-9"}, Fixed: []string{"1.5.5", "1.6.0", "1.6.1"}, Entries: []string{"GHSA-1", "GO-1", "OSV-9"}},
		{Component: "github.com/gin-gonic/gin@v1.5.0", ID: "GO-2", Aliases: []string{"CVE-2"}, Fixed: []string{"1.7.7"}, Entries: []string{"GO-2"}},
		{Component: "django@3.1", ID: "PYSEC-1", Fixed: []string{"3.2.5"}, Entries: []string{"PYSEC-1"}},
		{Component: "@v1.8.5", ID: "GO-3", Fixed: []string{"1.9.1"}, Entries: []string{"GO-3"}},
	}
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Errorf("Match (-want +got):\n%s", diff)
	}
	if c, ids, ok := ix.Canonical("CVE-1"); !ok || c != "GHSA-1" || len(ids) != 5 {
		t.Errorf("Canonical(CVE-1) = %q, %v, %v", c, ids, ok)
	}
	if _, _, ok := ix.Canonical("CVE-404"); ok {
		t.Error("Canonical of an unknown ID: ok")
	}
	if n := len(ix.Lookup("PyPI", "DJANGO")); n != 1 {
		t.Errorf("Lookup(PyPI, DJANGO) = %d records, want 1", n)
	}
}

func withdrawnRecord(e *osv.Entry) *osv.Entry {
	e.Withdrawn = &e.Modified
	return e
}

func TestEvaluateReportsUndecided(t *testing.T) {
	ix := osv.NewIndex([]*osv.Entry{record("X-1", "npm", "x", nil, rng(osv.RangeSemVer, intro("0"), fixed("1.0.0")))})
	findings, problems := ix.Evaluate([]upfactory.Component{{Name: "x", Ecosystem: "npm", Version: "latest"}})
	if len(findings) != 0 || len(problems) != 1 || problems[0].ID != "X-1" {
		t.Errorf("Evaluate = %v, %v; want no finding and one problem for X-1", findings, problems)
	}
}

func TestUpgradeTarget(t *testing.T) {
	f := func(fixed ...string) osv.Finding { return osv.Finding{Fixed: fixed} }
	for _, c := range []struct {
		eco      string
		findings []osv.Finding
		want     string
		complete bool
	}{
		{"PyPI", []osv.Finding{f("1.10"), f("1.9", "1.2"), f("1.10.post1")}, "1.10.post1", true},
		{"Go", []osv.Finding{f("1.9.1"), f("1.10.0")}, "1.10.0", true},
		{"Debian", []osv.Finding{f("1:1.0"), f("2.0")}, "1:1.0", true},
		{"npm", []osv.Finding{f("1.0.0"), f()}, "1.0.0", false},
		{"npm", []osv.Finding{f()}, "", false},
		{"npm", nil, "", true},
	} {
		got, complete := osv.UpgradeTarget(c.eco, c.findings)
		if got != c.want || complete != c.complete {
			t.Errorf("UpgradeTarget(%s, %v) = %q, %v; want %q, %v", c.eco, c.findings, got, complete, c.want, c.complete)
		}
	}
}
