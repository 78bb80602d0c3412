package osv_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/upfactory/upfactory/osv"
)

func intro(v string) osv.Event { return osv.Event{Introduced: v} }
func fixed(v string) osv.Event { return osv.Event{Fixed: v} }
func last(v string) osv.Event  { return osv.Event{LastAffected: v} }
func limit(v string) osv.Event { return osv.Event{Limit: v} }

func rng(t osv.RangeType, evs ...osv.Event) osv.Range {
	r := osv.Range{Type: t, Events: evs}
	if t == osv.RangeGit {
		r.Repo = "https://github.com/example/repo"
	}
	return r
}

func record(id, eco, name string, versions []string, ranges ...osv.Range) *osv.Entry {
	return &osv.Entry{
		ID: id,
		Affected: []osv.AffectedPackage{{
			Package:  osv.Package{Ecosystem: eco, Name: name},
			Ranges:   ranges,
			Versions: versions,
		}},
	}
}

type check struct {
	version  string
	affected bool
	fixed    []string
}

const sha1, sha2 = "6f5d0b4b1e7a0d0c9e1b2a3c4d5e6f708192a3b4", "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"

func TestAffectedEvaluation(t *testing.T) {
	withdrawn := record("W-1", "npm", "left-pad", nil, rng(osv.RangeSemVer, intro("0")))
	wt := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	withdrawn.Withdrawn = &wt

	twoEntries := record("T-1", "PyPI", "django", nil, rng(osv.RangeEcosystem, intro("0"), fixed("3.2.5")))
	twoEntries.Affected = append(twoEntries.Affected, osv.AffectedPackage{
		Package: osv.Package{Ecosystem: "PyPI", Name: "Django"},
		Ranges:  []osv.Range{rng(osv.RangeEcosystem, intro("3.0"), fixed("3.1.1"))},
	})

	tests := []struct {
		name      string
		entry     *osv.Entry
		ecosystem string
		pkg       string
		checks    []check
	}{
		{
			name:      "introduced 0 and fixed",
			entry:     record("A-1", "npm", "lodash", nil, rng(osv.RangeSemVer, intro("0"), fixed("1.0.2"))),
			ecosystem: "npm", pkg: "lodash",
			checks: []check{{"0.0.1", true, []string{"1.0.2"}}, {"1.0.1", true, []string{"1.0.2"}}, {"1.0.2-rc.1", true, []string{"1.0.2"}}, {"1.0.2", false, nil}, {"2.0.0", false, nil}},
		},
		{
			name:      "unfixed: every version",
			entry:     record("A-2", "npm", "lodash", nil, rng(osv.RangeSemVer, intro("0"))),
			ecosystem: "npm", pkg: "lodash",
			checks: []check{{"0.0.0", true, nil}, {"99.0.0", true, nil}},
		},
		{
			name:      "several introduced/fixed pairs",
			entry:     record("A-3", "npm", "x", nil, rng(osv.RangeSemVer, intro("1.0.0"), fixed("1.0.2"), intro("3.0.0"), fixed("3.2.5"))),
			ecosystem: "npm", pkg: "x",
			checks: []check{{"0.9.0", false, nil}, {"1.0.0", true, []string{"1.0.2"}}, {"1.0.2", false, nil}, {"2.5.0", false, nil}, {"3.0.0", true, []string{"3.2.5"}}, {"3.2.4", true, []string{"3.2.5"}}, {"3.2.5", false, nil}, {"4.0.0", false, nil}},
		},
		{
			name:      "unsorted events",
			entry:     record("A-4", "npm", "x", nil, rng(osv.RangeSemVer, fixed("3.2.5"), intro("1.0.0"), fixed("1.0.2"), intro("3.0.0"))),
			ecosystem: "npm", pkg: "x",
			checks: []check{{"0.9.0", false, nil}, {"1.0.1", true, []string{"1.0.2"}}, {"1.0.2", false, nil}, {"3.1.0", true, []string{"3.2.5"}}, {"3.2.5", false, nil}},
		},
		{
			name:      "last_affected is inclusive",
			entry:     record("A-5", "PyPI", "pillow", nil, rng(osv.RangeEcosystem, intro("0"), last("9.0.1"))),
			ecosystem: "PyPI", pkg: "pillow",
			checks: []check{{"8.0", true, nil}, {"9.0.1", true, nil}, {"9.0.1.post1", false, nil}, {"9.1", false, nil}},
		},
		{
			name:      "limit bounds the range",
			entry:     record("A-6", "npm", "x", nil, rng(osv.RangeSemVer, intro("1.0.0"), limit("2.0.0"))),
			ecosystem: "npm", pkg: "x",
			checks: []check{{"0.5.0", false, nil}, {"1.5.0", true, nil}, {"2.0.0", false, nil}, {"3.0.0", false, nil}},
		},
		{
			name:      "limit star is infinity",
			entry:     record("A-7", "npm", "x", nil, rng(osv.RangeSemVer, intro("1.0.0"), limit("*"))),
			ecosystem: "npm", pkg: "x",
			checks: []check{{"0.5.0", false, nil}, {"100.0.0", true, nil}},
		},
		{
			name:      "several limits: below any of them",
			entry:     record("A-8", "npm", "x", nil, rng(osv.RangeSemVer, limit("2.0.0"), intro("0"), limit("3.0.0"), fixed("2.5.0"))),
			ecosystem: "npm", pkg: "x",
			checks: []check{{"1.0.0", true, []string{"2.5.0"}}, {"2.2.0", true, []string{"2.5.0"}}, {"2.5.0", false, nil}, {"3.1.0", false, nil}},
		},
		{
			name:      "empty range: introduced and fixed at the same version",
			entry:     record("A-9", "npm", "x", nil, rng(osv.RangeSemVer, intro("1.0.0"), fixed("1.0.0"))),
			ecosystem: "npm", pkg: "x",
			checks: []check{{"1.0.0", false, nil}, {"0.9.0", false, nil}},
		},
		{
			name:      "introduced 0 sorts before every ecosystem version",
			entry:     record("A-10", "PyPI", "x", nil, rng(osv.RangeEcosystem, intro("0"), fixed("0.0.1"))),
			ecosystem: "PyPI", pkg: "x",
			checks: []check{{"0.0.1.dev0", true, []string{"0.0.1"}}, {"0.0.0a1", true, []string{"0.0.1"}}, {"0.0.1", false, nil}},
		},
		{
			name:      "versions list",
			entry:     record("A-11", "PyPI", "x", []string{"1.0", "1.1"}),
			ecosystem: "PyPI", pkg: "x",
			checks: []check{{"1.1", true, nil}, {"1.1.0", true, nil}, {"1.2", false, nil}, {"1.0.post1", false, nil}},
		},
		{
			name:      "versions list adds to ranges",
			entry:     record("A-12", "npm", "x", []string{"5.0.0"}, rng(osv.RangeSemVer, intro("0"), fixed("1.0.0"))),
			ecosystem: "npm", pkg: "x",
			checks: []check{{"0.5.0", true, []string{"1.0.0"}}, {"5.0.0", true, nil}, {"4.0.0", false, nil}},
		},
		{
			name: "GIT range before ECOSYSTEM range does not hide it",
			entry: record("A-13", "PyPI", "x", nil,
				rng(osv.RangeGit, intro(sha1), fixed(sha2)),
				rng(osv.RangeEcosystem, intro("0"), fixed("2.0"))),
			ecosystem: "PyPI", pkg: "x",
			checks: []check{{"1.0", true, []string{"2.0"}}, {"2.0", false, nil}},
		},
		{
			name:      "GIT ranges alone match no package version",
			entry:     record("A-14", "PyPI", "x", nil, rng(osv.RangeGit, intro("0"))),
			ecosystem: "PyPI", pkg: "x",
			checks: []check{{"1.0", false, nil}},
		},
		{
			name:  "withdrawn records never match",
			entry: withdrawn, ecosystem: "npm", pkg: "left-pad",
			checks: []check{{"1.0.0", false, nil}},
		},
		{
			name:      "SEMVER ordering regardless of ecosystem",
			entry:     record("A-15", "Maven", "org.example:lib", nil, rng(osv.RangeSemVer, intro("1.0.0-alpha"), fixed("1.10.0"))),
			ecosystem: "Maven", pkg: "org.example:lib",
			checks: []check{{"1.9.0", true, []string{"1.10.0"}}, {"1.10.0", false, nil}, {"1.0.0-alpha", true, []string{"1.10.0"}}, {"0.9.0", false, nil}},
		},
		{
			name:      "ECOSYSTEM ordering: Debian epochs and tildes",
			entry:     record("A-16", "Debian:12", "openssl", nil, rng(osv.RangeEcosystem, intro("0"), fixed("1:1.0-1~deb12u1"))),
			ecosystem: "Debian:12", pkg: "openssl",
			checks: []check{{"3.0.11-1", true, []string{"1:1.0-1~deb12u1"}}, {"1:1.0-1~deb12u0", true, []string{"1:1.0-1~deb12u1"}}, {"1:1.0-1~deb12u1", false, nil}, {"1:1.0-1", false, nil}},
		},
		{
			name:      "ecosystem suffix must match when the record has one",
			entry:     record("A-17", "Debian:12", "openssl", nil, rng(osv.RangeEcosystem, intro("0"))),
			ecosystem: "Debian:11", pkg: "openssl",
			checks: []check{{"1.0", false, nil}},
		},
		{
			name:      "record without suffix matches every release",
			entry:     record("A-18", "Debian", "openssl", nil, rng(osv.RangeEcosystem, intro("0"), fixed("3.0.12-1"))),
			ecosystem: "Debian:12", pkg: "openssl",
			checks: []check{{"3.0.11-1", true, []string{"3.0.12-1"}}},
		},
		{
			name:      "PyPI names compare PEP 503-normalised",
			entry:     record("A-19", "PyPI", "Foo_Bar.baz", nil, rng(osv.RangeEcosystem, intro("0"))),
			ecosystem: "PyPI", pkg: "foo-bar--BAZ",
			checks: []check{{"1.0", true, nil}},
		},
		{
			name:      "npm names compare exactly",
			entry:     record("A-20", "npm", "Lodash", nil, rng(osv.RangeSemVer, intro("0"))),
			ecosystem: "npm", pkg: "lodash",
			checks: []check{{"1.0.0", false, nil}},
		},
		{
			name:      "Go: v prefix, pseudo-versions and toolchain versions",
			entry:     record("A-21", "Go", "stdlib", nil, rng(osv.RangeSemVer, intro("0"), fixed("1.18.6"), intro("1.19.0-0"), fixed("1.19.1"))),
			ecosystem: "Go", pkg: "stdlib",
			checks: []check{{"go1.18.5", true, []string{"1.18.6"}}, {"v1.18.6", false, nil}, {"go1.19rc1", true, []string{"1.19.1"}}, {"1.19.0", true, []string{"1.19.1"}}, {"go1.19.1", false, nil}},
		},
		{
			name:  "several affected entries: fixes merged and ordered",
			entry: twoEntries, ecosystem: "PyPI", pkg: "DJANGO",
			checks: []check{{"3.0.5", true, []string{"3.1.1", "3.2.5"}}, {"3.1.1", true, []string{"3.2.5"}}, {"3.2.5", false, nil}},
		},
		{
			name:      "WordPress plugin",
			entry:     record("A-22", "WordPress:plugin", "akismet", nil, rng(osv.RangeEcosystem, intro("0"), fixed("5.3.1"))),
			ecosystem: "WordPress:plugin", pkg: "akismet",
			checks: []check{{"5.3", true, []string{"5.3.1"}}, {"5.3.1-RC1", true, []string{"5.3.1"}}, {"5.3.1", false, nil}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range tt.checks {
				got, fx, err := osv.Affected(tt.entry, tt.ecosystem, tt.pkg, c.version)
				if err != nil {
					t.Fatalf("Affected(%s %s@%s): %v", tt.ecosystem, tt.pkg, c.version, err)
				}
				if got != c.affected {
					t.Errorf("Affected(%s %s@%s) = %v, want %v", tt.ecosystem, tt.pkg, c.version, got, c.affected)
				}
				if diff := cmp.Diff(c.fixed, fx); diff != "" {
					t.Errorf("fixed versions for %s (-want +got):\n%s", c.version, diff)
				}
			}
		})
	}
}

func TestAffectedUnknown(t *testing.T) {
	e := record("U-1", "npm", "x", nil, rng(osv.RangeSemVer, intro("0"), fixed("1.0.0")))
	if _, _, err := osv.Affected(e, "npm", "x", "not-a-version"); err == nil {
		t.Error("unparsable component version: no error")
	}
	bad := record("U-2", "npm", "x", nil, rng(osv.RangeSemVer, intro("0"), fixed("one")))
	if _, _, err := osv.Affected(bad, "npm", "x", "1.0.0"); err == nil {
		t.Error("unparsable event version: no error")
	}
	unknown := record("U-3", "Hackage", "aeson", []string{"2.0.0.0"}, rng(osv.RangeEcosystem, intro("0"), fixed("2.0.1.0")))
	if _, _, err := osv.Affected(unknown, "Hackage", "aeson", "1.5"); err == nil {
		t.Error("unknown ecosystem: no error")
	}
	// The versions list still decides when the ranges cannot.
	if got, _, err := osv.Affected(unknown, "Hackage", "aeson", "2.0.0.0"); err != nil || !got {
		t.Errorf("listed version of an unordered ecosystem = %v, %v; want true, nil", got, err)
	}
	// Another package: not affected, and no error.
	if got, _, err := osv.Affected(e, "npm", "y", "not-a-version"); got || err != nil {
		t.Errorf("other package = %v, %v", got, err)
	}
}

func TestEcosystemMatches(t *testing.T) {
	for _, c := range []struct {
		record, component string
		want              bool
	}{
		{"Debian", "Debian:12", true},
		{"Debian:12", "Debian:12", true},
		{"Debian:12", "Debian:11", false},
		{"Debian:12", "Debian", false},
		{"debian", "Debian", true},
		{"Maven:https://maven.google.com", "Maven:https://maven.google.com", true},
		{"Maven:https://maven.google.com", "Maven", false},
		{"WordPress:plugin", "WordPress:theme", false},
		{"npm", "PyPI", false},
	} {
		if got := osv.EcosystemMatches(c.record, c.component); got != c.want {
			t.Errorf("EcosystemMatches(%q, %q) = %v, want %v", c.record, c.component, got, c.want)
		}
	}
}
