package osv

import (
	"slices"
	"strings"
	"sync"

	"github.com/package-url/packageurl-go"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/version"
)

// Index finds the records that may affect a component without scanning
// them all: it is built once from many entries and keyed by (base
// ecosystem, normalised package name). It also knows which IDs name the
// same vulnerability, so a vulnerability published as GO-…, GHSA-… and
// CVE-… is reported once. An Index is read-only after NewIndex and safe
// for concurrent use.
type Index struct {
	byPackage map[pkgKey][]*Entry
	canonical map[string]string   // any ID → canonical ID of its group
	names     map[string][]string // canonical ID → every ID of the group, sorted
	entries   int
	// prepared holds each range's events parsed and sorted, computed on
	// first use: *Range → preparedRange. A range's scheme follows from its
	// record, so the pointer is key enough.
	prepared sync.Map
}

type preparedRange struct {
	evs []event
	err error
}

func (ix *Index) prepare(r *Range, s version.Scheme) ([]event, error) {
	if p, ok := ix.prepared.Load(r); ok {
		pr := p.(preparedRange)
		return pr.evs, pr.err
	}
	evs, err := prepare(s, r.Events)
	ix.prepared.Store(r, preparedRange{evs, err})
	return evs, err
}

// Affected is the package function Affected for a record of the index,
// with the record's ranges parsed once for all calls.
func (ix *Index) Affected(e *Entry, ecosystem, name, ver string) (bool, []string, error) {
	return affectedWith(e, ecosystem, name, ver, ix.prepare)
}

type pkgKey struct{ ecosystem, name string }

func keyOf(ecosystem, name string) pkgKey {
	base := version.Base(ecosystem)
	return pkgKey{strings.ToLower(base), NormalizeName(base, name)}
}

// NewIndex indexes entries. Withdrawn records are left out. IDs joined by
// aliases are merged transitively (union-find): when A aliases B and B
// aliases C, all three are one vulnerability, named by the smallest record
// ID among them. Related and upstream IDs are not merged.
func NewIndex(entries []*Entry) *Index {
	ix := &Index{
		byPackage: make(map[pkgKey][]*Entry),
		canonical: make(map[string]string),
		names:     make(map[string][]string),
	}
	uf := newUnionFind()
	isRecord := make(map[string]bool)
	for _, e := range entries {
		if e == nil || e.Withdrawn != nil {
			continue
		}
		ix.entries++
		isRecord[e.ID] = true
		uf.add(e.ID)
		for _, a := range e.Aliases {
			uf.union(e.ID, a)
		}
		seen := make(map[pkgKey]bool, len(e.Affected))
		for _, a := range e.Affected {
			if a.Package.Name == "" {
				continue
			}
			k := keyOf(a.Package.Ecosystem, a.Package.Name)
			if !seen[k] {
				seen[k] = true
				ix.byPackage[k] = append(ix.byPackage[k], e)
			}
		}
	}
	groups := make(map[string][]string)
	for id := range uf.parent {
		r := uf.find(id)
		groups[r] = append(groups[r], id)
	}
	for _, ids := range groups {
		slices.Sort(ids)
		canon := ""
		for _, id := range ids {
			if isRecord[id] {
				canon = id
				break
			}
		}
		for _, id := range ids {
			ix.canonical[id] = canon
		}
		ix.names[canon] = ids
	}
	return ix
}

// Len is the number of records indexed (withdrawn ones excluded).
func (ix *Index) Len() int { return ix.entries }

// Lookup returns the records naming the package, in indexing order.
func (ix *Index) Lookup(ecosystem, name string) []*Entry {
	return ix.byPackage[keyOf(ecosystem, name)]
}

// Canonical returns the ID that names id's vulnerability in findings, and
// every ID known for it; ok is false for an ID the index never saw.
func (ix *Index) Canonical(id string) (canonical string, ids []string, ok bool) {
	c, ok := ix.canonical[id]
	if !ok {
		return "", nil, false
	}
	return c, slices.Clone(ix.names[c]), true
}

// Finding is one vulnerability affecting one component, whichever IDs and
// records name it.
type Finding struct {
	// Component is the affected component as given.
	Component upfactory.Component
	// ID names the vulnerability: the smallest record ID among all the IDs
	// that alias one another.
	ID string
	// Aliases are the vulnerability's other IDs, sorted.
	Aliases []string
	// Summary is the first non-empty summary among Entries.
	Summary string
	// Fixed are the versions that fix the ranges the component's version
	// is in, ascending in the ecosystem's order; upgrading to the last
	// one fixes this vulnerability. Empty when no fix is known.
	Fixed []string
	// Entries are the matching records, sorted by ID.
	Entries []*Entry
}

// MatchProblem is a (component, record) pair whose answer is unknown,
// because a version does not parse or the ecosystem cannot be ordered.
type MatchProblem struct {
	Component upfactory.Component
	ID        string
	Err       error
}

func (p MatchProblem) Error() string {
	return "matching " + p.Component.Ecosystem + "/" + p.Component.Name + "@" + p.Component.Version + " against " + p.ID + ": " + p.Err.Error()
}

// Match returns one Finding per (component, vulnerability), components in
// the given order and each component's findings by ID. Pairs that cannot
// be decided are left out; Evaluate reports them.
func (ix *Index) Match(components []upfactory.Component) []Finding {
	f, _ := ix.Evaluate(components)
	return f
}

// Evaluate is Match that also returns the pairs it could not decide, so
// that "not affected" and "unknown" stay distinct.
func (ix *Index) Evaluate(components []upfactory.Component) ([]Finding, []MatchProblem) {
	var findings []Finding
	var problems []MatchProblem
	for _, c := range components {
		eco, name := componentPackage(c)
		if eco == "" || name == "" || c.Version == "" {
			continue
		}
		byID := make(map[string]*Finding)
		for _, e := range ix.Lookup(eco, name) {
			hit, fixed, err := ix.Affected(e, eco, name, c.Version)
			if err != nil {
				problems = append(problems, MatchProblem{Component: c, ID: e.ID, Err: err})
				continue
			}
			if !hit {
				continue
			}
			canon := ix.canonical[e.ID]
			f := byID[canon]
			if f == nil {
				f = &Finding{Component: c, ID: canon}
				for _, id := range ix.names[canon] {
					if id != canon {
						f.Aliases = append(f.Aliases, id)
					}
				}
				byID[canon] = f
			}
			f.Entries = append(f.Entries, e)
			f.Fixed = append(f.Fixed, fixed...)
		}
		ids := make([]string, 0, len(byID))
		for id := range byID {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			f := byID[id]
			slices.SortFunc(f.Entries, func(a, b *Entry) int { return strings.Compare(a.ID, b.ID) })
			for _, e := range f.Entries {
				if e.Summary != "" {
					f.Summary = e.Summary
					break
				}
			}
			if len(f.Fixed) > 1 {
				sortVersions(schemeFor(eco), f.Fixed)
				f.Fixed = slices.Compact(f.Fixed)
			}
			findings = append(findings, *f)
		}
	}
	return findings, problems
}

// purlEcosystems maps package-URL types to OSV ecosystems.
var purlEcosystems = map[string]string{
	"golang": "Go", "npm": "npm", "cargo": "crates.io", "pypi": "PyPI",
	"gem": "RubyGems", "maven": "Maven", "composer": "Packagist",
	"deb": "Debian", "nuget": "NuGet",
}

// componentPackage is the component's (ecosystem, name), read from its
// package URL when the ecosystem or name is missing.
func componentPackage(c upfactory.Component) (string, string) {
	if c.Ecosystem != "" && c.Name != "" || c.PURL == "" {
		return c.Ecosystem, c.Name
	}
	p, err := packageurl.FromString(c.PURL)
	if err != nil {
		return c.Ecosystem, c.Name
	}
	eco, ok := purlEcosystems[p.Type]
	if !ok {
		return c.Ecosystem, c.Name
	}
	name := p.Name
	switch {
	case p.Namespace == "":
	case eco == "Maven":
		name = p.Namespace + ":" + p.Name
	case eco != "Debian":
		name = p.Namespace + "/" + p.Name
	}
	if c.Name != "" {
		name = c.Name
	}
	if c.Ecosystem != "" {
		eco = c.Ecosystem
	}
	return eco, name
}

type unionFind struct{ parent map[string]string }

func newUnionFind() *unionFind { return &unionFind{parent: make(map[string]string)} }

func (u *unionFind) add(x string) {
	if _, ok := u.parent[x]; !ok {
		u.parent[x] = x
	}
}

func (u *unionFind) find(x string) string {
	u.add(x)
	for u.parent[x] != x {
		u.parent[x] = u.parent[u.parent[x]]
		x = u.parent[x]
	}
	return x
}

func (u *unionFind) union(a, b string) {
	ra, rb := u.find(a), u.find(b)
	if ra != rb {
		u.parent[ra] = rb
	}
}

// UpgradeTarget returns the lowest version that fixes every finding of
// one component: the highest, in the ecosystem's order, of the last Fixed
// version of each finding. complete is false when some finding has no
// known fix, in which case target fixes only the others ("" if none has a
// fix).
func UpgradeTarget(ecosystem string, findings []Finding) (target string, complete bool) {
	complete = true
	var needed []string
	for _, f := range findings {
		if len(f.Fixed) == 0 {
			complete = false
			continue
		}
		needed = append(needed, f.Fixed[len(f.Fixed)-1])
	}
	if len(needed) == 0 {
		return "", complete
	}
	sortVersions(schemeFor(ecosystem), needed)
	return needed[len(needed)-1], complete
}
