package intake

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/module"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/notes"
	"github.com/upfactory/upfactory/osv"
	"github.com/upfactory/upfactory/risk"
	"github.com/upfactory/upfactory/scan"
	"github.com/upfactory/upfactory/version"
)

// wellKnownStateful are components that keep state: rolling their binary
// back does not roll back what they wrote. Names are compared in lower
// case, against the last path element of the component's name too (so
// "github.com/redis/go-redis" is not stateful, but "redis" and
// "postgresql-15" are).
var wellKnownStateful = []string{
	"postgresql", "postgres", "mysql", "mariadb", "mongodb", "redis", "valkey", "memcached",
	"elasticsearch", "opensearch", "cassandra", "etcd", "rabbitmq", "kafka", "zookeeper",
	"sqlite", "sqlite3", "clickhouse", "cockroachdb", "minio", "nats-server", "consul",
}

// serviceComponents is one service's inventory as read.
type serviceComponents struct {
	service    *upfactory.Service
	components []upfactory.Component
	// failed says an inventory source could not be read at all: the
	// service's candidates cannot be known this run.
	failed bool
}

// builder turns matches into candidates. It does no I/O.
type builder struct {
	index    *osv.Index
	enrich   scan.Enrichment
	notes    []loadedNotes
	weights  risk.Weights
	stateful map[string]bool
	services map[string]*upfactory.Service
	// dependents maps a service to those that call it, directly.
	dependents map[string][]string
	// history is per service: failed rollouts and whether a rollback
	// was drilled; componentFailed counts, per component name, the failed
	// rollouts that carried it. Every outcome on record feeds them.
	history         map[string]history
	componentFailed map[string]int
}

type history struct {
	failed  int
	drilled bool
}

// loadedNotes is a parsed changelog and what it is for.
type loadedNotes struct {
	src       upfactory.ReleaseNotesSource
	changelog *notes.Changelog
	file      string // as cited in highlights
}

// compKey identifies a component at one version.
type compKey struct{ ecosystem, name, version string }

func keyOf(c upfactory.Component) compKey {
	return compKey{c.Ecosystem, osv.NormalizeName(c.Ecosystem, c.Name), c.Version}
}

// CandidateID derives a candidate's ID from its component at its version.
func CandidateID(ecosystem, name, current string) string {
	sum := sha256.Sum256([]byte(ecosystem + "\x00" + osv.NormalizeName(ecosystem, name) + "\x00" + current))
	return "c-" + hex.EncodeToString(sum[:4])
}

// group is one component at one version across services.
type group struct {
	comp     upfactory.Component
	services []string
	sources  []string
	findings []scan.Finding
}

// build returns the candidates for the services' inventories, sorted by
// descending risk then ID, and problems it met (versions it could not
// compare while selecting notes or releases).
func (b *builder) build(inv []serviceComponents, findings map[compKey][]scan.Finding) ([]*upfactory.Candidate, []scan.Problem) {
	groups := map[compKey]*group{}
	var order []compKey
	for _, sc := range inv {
		for _, c := range sc.components {
			if c.Ecosystem == "" || c.Name == "" || c.Version == "" {
				continue
			}
			k := keyOf(c)
			g := groups[k]
			if g == nil {
				g = &group{comp: c, findings: findings[k]}
				groups[k] = g
				order = append(order, k)
			}
			if !slices.Contains(g.services, sc.service.Name) {
				g.services = append(g.services, sc.service.Name)
			}
			g.sources = append(g.sources, sc.service.Name+": "+c.Source)
			if c.Layer != "" && g.comp.Layer == "" {
				g.comp.Layer = c.Layer
			}
		}
	}
	// Groups are independent: build them on every core.
	cands := make([]*upfactory.Candidate, len(order))
	gprobs := make([][]scan.Problem, len(order))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				cands[i], gprobs[i] = b.candidate(groups[order[i]])
			}
		})
	}
	for i := range order {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []*upfactory.Candidate
	var probs []scan.Problem
	for i, c := range cands {
		probs = append(probs, gprobs[i]...)
		if c != nil {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b *upfactory.Candidate) int {
		if c := cmp.Compare(b.Risk.Total, a.Risk.Total); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, probs
}

// candidate builds the candidate of one group, or nil when there is
// nothing to propose: no advisory and no newer release in the notes.
func (b *builder) candidate(g *group) (*upfactory.Candidate, []scan.Problem) {
	comp := g.comp
	eco := comp.Ecosystem
	var probs []scan.Problem
	compare := func(a, b string) (int, error) { return version.Compare(eco, a, b) }
	newer := func(v string) bool {
		d, err := compare(v, comp.Version)
		return err == nil && d > 0
	}

	// Without advisories, only release notes make a candidate: they say
	// someone wants the component kept current.
	ln := b.notesFor(comp)
	known := b.knownVersions(comp, ln)
	// A component already on a pre-release may move to a newer one; a
	// Go pseudo-version is a commit, not a pre-release by choice.
	pre := isPrerelease(eco, comp.Version) && !module.IsPseudoVersion(comp.Version)
	latest, notesNewer := "", false
	for _, v := range known {
		if !newer(v) || (!pre && isPrerelease(eco, v)) {
			continue
		}
		if latest == "" || less(compare, latest, v) {
			latest = v
		}
	}
	if ln != nil {
		for _, r := range ln.changelog.Releases {
			if !r.IsUnreleased() && newer(r.Version) && (pre || !isPrerelease(eco, r.Version)) {
				notesNewer = true
				break
			}
		}
	}
	if len(g.findings) == 0 && !notesNewer {
		return nil, nil
	}

	c := &upfactory.Candidate{
		ID:           CandidateID(eco, comp.Name, comp.Version),
		Component:    comp.Name,
		Ecosystem:    eco,
		Layer:        comp.Layer,
		Current:      comp.Version,
		FixComplete:  true,
		Latest:       display(eco, latest),
		Services:     slices.Sorted(slices.Values(g.services)),
		Sources:      g.sources[:min(len(g.sources), upfactory.MaxSources)],
		SourcesTotal: len(g.sources),
		Advisories:   []upfactory.Advisory{},
		Highlights:   []upfactory.Highlight{},
	}
	if len(g.findings) > 0 {
		c.FixVersion = g.findings[0].Recommended
	}
	for _, f := range g.findings {
		if len(f.Fixed) == 0 {
			c.FixComplete = false
		}
		c.Advisories = append(c.Advisories, upfactory.Advisory{
			ID: f.ID, Aliases: f.Aliases, Summary: f.Summary, Fixed: f.Fixed,
			CVSSVector: f.CVSSVector, CVSSScore: f.CVSSScore, Severity: f.Severity,
			KEV: f.KEV, KEVVia: f.KEVVia, EPSS: f.EPSS, URL: f.URL,
		})
	}

	// The newest release in the current major that no known advisory
	// affects.
	curMajor := major(comp.Version)
	var inMajor []string
	for _, v := range known {
		if newer(v) && major(v) == curMajor && (pre || !isPrerelease(eco, v)) {
			inMajor = append(inMajor, v)
		}
	}
	// Newest first: the first one no advisory affects is the answer.
	slices.SortStableFunc(inMajor, func(a, b string) int {
		d, _ := compare(b, a)
		return d
	})
	entries := b.index.Lookup(eco, comp.Name)
	for _, v := range inMajor {
		if !b.affectedByAny(entries, eco, comp.Name, v) {
			c.NewestInMajor = display(eco, v)
			break
		}
	}
	// A fix that is only a pre-release or a commit is not proposed to a
	// component on a release: the first release past it is, when one is
	// known and clean.
	fix := c.FixVersion
	if fix != "" && !pre && isPrerelease(eco, fix) {
		fix = b.releaseFrom(entries, comp, known, fix, compare)
		if fix == "" {
			c.RecommendedNote = fmt.Sprintf("the fix %s is a %s; no release known to include it yet: move to the first release at or above it", c.FixVersion, prereleaseKind(c.FixVersion))
		} else {
			c.RecommendedNote = fmt.Sprintf("the fix %s is a %s: %s is the first known release past it", c.FixVersion, prereleaseKind(c.FixVersion), display(eco, fix))
		}
	}
	switch {
	case fix != "" && c.NewestInMajor != "" && !less(compare, c.NewestInMajor, fix):
		c.Recommended = c.NewestInMajor
	case fix != "":
		c.Recommended = display(eco, fix)
	case c.FixVersion != "":
		// only a pre-release fixes it: nothing to propose yet
	case c.NewestInMajor != "":
		c.Recommended = c.NewestInMajor
	case len(g.findings) == 0:
		c.Recommended = c.Latest
	}

	if ln != nil && c.Recommended != "" {
		rels, err := ln.changelog.Between(comp.Version, c.Recommended, compare)
		if err != nil {
			probs = append(probs, scan.Problem{Kind: "notes", Source: ln.file, Message: err.Error()})
		}
		for _, h := range notes.Highlights(rels, ln.file) {
			c.Highlights = append(c.Highlights, upfactory.Highlight{
				Kind: string(h.Kind), Version: h.Version, Text: h.Text, Why: h.Marker, File: h.File, Line: h.Line,
			})
		}
		c.NotesFile = ln.file
	}
	c.BreakingDigest = breakingDigest(c.Highlights)
	c.Risk = risk.Compute(b.riskInputs(c), b.weights)
	return c, probs
}

// releaseFrom is the lowest known release at or above fix that no known
// advisory affects, or "".
func (b *builder) releaseFrom(entries []*osv.Entry, comp upfactory.Component, known []string, fix string, compare func(a, b string) (int, error)) string {
	best := ""
	for _, v := range known {
		if isPrerelease(comp.Ecosystem, v) || less(compare, v, fix) || b.affectedByAny(entries, comp.Ecosystem, comp.Name, v) {
			continue
		}
		if best == "" || less(compare, v, best) {
			best = v
		}
	}
	return best
}

// prereleaseKind names what a version that is not a release is.
func prereleaseKind(v string) string {
	if module.IsPseudoVersion(v) {
		return "Go pseudo-version (a commit, not a release)"
	}
	return "pre-release"
}

func less(compare func(a, b string) (int, error), a, b string) bool {
	d, err := compare(a, b)
	return err == nil && d < 0
}

// riskInputs gathers what the score depends on.
func (b *builder) riskInputs(c *upfactory.Candidate) risk.Inputs {
	in := risk.Inputs{Advisories: len(c.Advisories)}
	for _, a := range c.Advisories {
		if a.CVSSScore != nil && (in.CVSS == nil || *a.CVSSScore > *in.CVSS) {
			in.CVSS = a.CVSSScore
		}
		if a.EPSS != nil && (in.EPSS == nil || *a.EPSS > *in.EPSS) {
			in.EPSS = a.EPSS
		}
		in.KEV = in.KEV || a.KEV
		if bandRank(a.Severity) > bandRank(in.Severity) {
			in.Severity = a.Severity
		}
	}
	in.ServicesAffected = len(c.Services)
	in.TransitiveDependents = len(b.transitiveDependents(c.Services))
	paths := map[string]bool{}
	for _, name := range c.Services {
		s := b.services[name]
		if s == nil {
			continue
		}
		t := max(s.Tier, 1)
		if in.Tier == 0 || t < in.Tier {
			in.Tier = t
		}
		in.TrafficShare += s.TrafficShare
		for _, p := range s.CriticalPaths {
			if !paths[p] {
				paths[p] = true
				in.CriticalPaths = append(in.CriticalPaths, p)
			}
		}
		h := b.history[name]
		in.FailedRollouts += h.failed
		in.RollbackDrilled = in.RollbackDrilled || h.drilled
	}
	in.FailedRollouts = max(in.FailedRollouts, b.componentFailed[c.Component])
	in.TrafficShare = min(in.TrafficShare, 1)
	for _, h := range c.Highlights {
		switch h.Kind {
		case string(notes.KindMigration):
			in.Migrations = true
		case string(notes.KindBreaking):
			in.BreakingItems++
		}
	}
	in.MajorBump = c.Recommended != "" && major(c.Recommended) != major(c.Current)
	in.Stateful = b.isStateful(c.Component)
	return in
}

// bandRank orders database severity bands; anything else is 0.
func bandRank(s string) int {
	return slices.Index([]string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}, strings.ToUpper(s)) + 1
}

// transitiveDependents are the services that call the given ones, directly
// or not, leaving out the given ones.
func (b *builder) transitiveDependents(services []string) []string {
	seen := map[string]bool{}
	for _, s := range services {
		seen[s] = true
	}
	queue := slices.Clone(services)
	var out []string
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, d := range b.dependents[s] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				queue = append(queue, d)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (b *builder) isStateful(name string) bool {
	n := strings.ToLower(name)
	if b.stateful[n] {
		return true
	}
	if i := strings.LastIndexAny(n, "/:"); i >= 0 && b.stateful[n[i+1:]] {
		return true
	}
	// Debian packages carry the major in their name: postgresql-15.
	if i := strings.LastIndexByte(n, '-'); i > 0 && isDigits(n[i+1:]) && b.stateful[n[:i]] {
		return true
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// notesFor returns the changelog configured for comp, if any.
func (b *builder) notesFor(comp upfactory.Component) *loadedNotes {
	for i := range b.notes {
		n := &b.notes[i]
		if n.src.Ecosystem != "" && !osv.EcosystemMatches(n.src.Ecosystem, comp.Ecosystem) {
			continue
		}
		if osv.NormalizeName(comp.Ecosystem, n.src.Component) == osv.NormalizeName(comp.Ecosystem, comp.Name) {
			return n
		}
	}
	return nil
}

// knownVersions are the releases of comp that upfactory knows exist: those
// in its release notes and those the advisories of its package name
// (range events and versions lists), each once.
func (b *builder) knownVersions(comp upfactory.Component, ln *loadedNotes) []string {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v == "" || v == "0" || seen[v] {
			return
		}
		if _, err := version.Compare(comp.Ecosystem, v, v); err != nil {
			return
		}
		seen[v] = true
		out = append(out, v)
	}
	if ln != nil {
		for _, r := range ln.changelog.Releases {
			if !r.IsUnreleased() {
				add(r.Version)
			}
		}
	}
	for _, e := range b.index.Lookup(comp.Ecosystem, comp.Name) {
		for _, a := range e.Affected {
			if !osv.PackageMatches(a.Package, comp.Ecosystem, comp.Name) {
				continue
			}
			for _, r := range a.Ranges {
				if r.Type == osv.RangeGit {
					continue
				}
				for _, ev := range r.Events {
					add(ev.Introduced)
					add(ev.Fixed)
					add(ev.LastAffected)
				}
			}
			for _, v := range a.Versions {
				add(v)
			}
		}
	}
	return out
}

func (b *builder) affectedByAny(entries []*osv.Entry, eco, name, v string) bool {
	for _, e := range entries {
		if hit, _, err := b.index.Affected(e, eco, name, v); err != nil || hit {
			return true
		}
	}
	return false
}

var prereleaseWords = regexp.MustCompile(`(?i)(alpha|beta|\brc|[.-]rc\d|dev|pre|snapshot|milestone|[.-]m\d|[.-]cr\d|preview|nightly)`)

// isPrerelease reports whether v is a pre-release (or, for Go, a
// pseudo-version), which is never recommended to a component on a
// release. SemVer-style ecosystems mark one with "-" after the version
// core; PEP 440 with a, b, rc or dev; the others by wording.
func isPrerelease(eco, v string) bool {
	switch strings.ToLower(version.Base(eco)) {
	case "go", "npm", "crates.io", "semver", "nuget":
		core, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), "+")
		return strings.Contains(core, "-")
	case "pypi":
		return pep440Pre.MatchString(strings.ToLower(v))
	}
	return prereleaseWords.MatchString(v)
}

var pep440Pre = regexp.MustCompile(`\d(a|b|c|rc|alpha|beta|pre|preview|dev)\.?\d*|[._-](a|b|c|rc|alpha|beta|pre|preview|dev)\.?\d*`)

// major is the leading number of a version, after an epoch ("1:") and a
// "v": "v1.22.3" → "1", "3.0.11-1~deb12u2" → "3", "2:1.0" → "1". Versions
// with no leading number are their own major.
func major(v string) string {
	if _, rest, ok := strings.Cut(v, ":"); ok && isDigits(v[:strings.IndexByte(v, ':')]) {
		v = rest
	}
	v = strings.TrimPrefix(strings.TrimPrefix(v, "v"), "V")
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 {
		return v
	}
	return strings.TrimLeft(v[:i], "0") + "."
}

// display writes a version as its ecosystem's users do: Go modules with a
// leading "v" (the Go database's ranges drop it).
func display(eco, v string) string {
	if v != "" && strings.EqualFold(version.Base(eco), "Go") && !strings.HasPrefix(v, "v") && !strings.HasPrefix(v, "go") {
		return "v" + v
	}
	return v
}

// breakingDigest identifies the breaking highlights, so an acknowledgement
// can say which ones it covers.
func breakingDigest(hs []upfactory.Highlight) string {
	h := sha256.New()
	n := 0
	for _, x := range hs {
		if x.Kind != string(notes.KindBreaking) {
			continue
		}
		n++
		// Not the file: moving the notes does not change what was read.
		fmt.Fprintf(h, "%s\x00%s\x00", x.Version, x.Text)
	}
	if n == 0 {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
