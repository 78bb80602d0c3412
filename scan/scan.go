// Package scan checks SBOMs and lockfiles against an OSV database, enriched
// with CISA KEV and FIRST EPSS, for CI pipelines that run no upfactory server.
//
// Run reads the inputs and the database and returns a Report; WriteText,
// WriteJSON and WriteSARIF render it, and Exceeds decides whether a CI job
// should fail. The command is `upfactory scan`:
//
//	upfactory scan --sbom bom.cdx.json --db osv-all.zip [--kev kev.json] [--epss epss.csv]
//	               [--format text|json|sarif] [--fail-on any]
//
// Exit codes: 0 when no finding reaches the --fail-on threshold, 1 when
// some finding does, 2 for usage or input errors (an unreadable or
// unrecognised file, a database without records). The default threshold is
// "any", as osv-scanner and govulncheck fail on any finding; "none" only
// reports. A finding's severity is the band of its CVSS base score (a v3
// vector preferred, then v4, then v2); without a vector, the database's own
// severity (GitHub advisories carry one: MODERATE reads as MEDIUM); else
// UNKNOWN, which only the threshold "any" fails on. Records of the Go
// vulnerability database carry no severity, so their findings are UNKNOWN.
package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/cvss"
	"github.com/upfactory/upfactory/epss"
	"github.com/upfactory/upfactory/inventory"
	"github.com/upfactory/upfactory/kev"
	"github.com/upfactory/upfactory/osv"
	"github.com/upfactory/upfactory/version"
)

// Severities, from the CVSS qualitative bands, plus UNKNOWN for a
// vulnerability no score or database severity describes.
const (
	Critical = "CRITICAL"
	High     = "HIGH"
	Medium   = "MEDIUM"
	Low      = "LOW"
	None     = "NONE"
	Unknown  = "UNKNOWN"
)

// Severities lists the severities from the most to the least severe.
var Severities = []string{Critical, High, Medium, Low, None, Unknown}

// Input is one file to scan.
type Input struct {
	// Path is the file, relative to the working directory unless absolute.
	Path string
	// Type is an inventory type (inventory.Types); empty to detect it from
	// the file: its content for SBOMs, its name for lockfiles.
	Type string
}

// Options says what Run scans and against what.
type Options struct {
	// Inputs are the SBOMs and lockfiles to scan. At least one is required.
	Inputs []Input
	// DB is the OSV database: a directory of records or a zip export such
	// as osv.dev's all.zip. Required.
	DB string
	// KEV is CISA's known_exploited_vulnerabilities.json. Optional.
	KEV string
	// EPSS is FIRST's EPSS CSV, plain or gzip. Optional.
	EPSS string
	// WorkDir is the directory that File paths in the report are relative
	// to (SARIF wants paths relative to the repository); empty leaves
	// them as given.
	WorkDir string
}

// Report is the outcome of a scan.
type Report struct {
	// Inputs are the scanned files, as Finding.File names them.
	Inputs []string `json:"inputs"`
	// Components is the number of components read from Inputs.
	Components int `json:"components"`
	// Records is the number of OSV records in the database.
	Records int `json:"records"`
	// Findings are one per (component, vulnerability), in input order and
	// by ID within a component.
	Findings []Finding `json:"findings"`
	// Counts is the number of findings per severity; every severity is
	// present.
	Counts map[string]int `json:"counts"`
	// Problems are parts of the inputs, database or enrichment files that
	// could not be used, and (component, record) pairs that could not be
	// decided: the scan went on without them.
	Problems []Problem `json:"problems"`
	// Gate is the --fail-on verdict, when one was applied (ApplyGate).
	Gate *Gate `json:"gate,omitempty"`
}

// Finding is one vulnerability affecting one component.
type Finding struct {
	// ID names the vulnerability: the smallest record ID among those that
	// alias one another.
	ID string `json:"id"`
	// Aliases are its other IDs (CVE, GHSA…), sorted.
	Aliases   []string `json:"aliases"`
	Package   string   `json:"package"`
	Ecosystem string   `json:"ecosystem"`
	Version   string   `json:"version"`
	// Fixed are the versions that fix the ranges the version is in,
	// ascending; empty when no fix is known.
	Fixed []string `json:"fixed"`
	// Recommended is the lowest version that fixes every finding of the
	// component (osv.UpgradeTarget); empty when none is known.
	Recommended string `json:"recommended"`
	// CVSSVector is the vector the severity comes from; empty when the
	// records carry none.
	CVSSVector string `json:"cvss_vector"`
	// CVSSScore is the vector's base score; nil without a usable vector.
	CVSSScore *float64 `json:"cvss_score"`
	// Severity is one of Severities.
	Severity string `json:"severity"`
	// KEV is true when one of the vulnerability's CVE IDs is in CISA's
	// Known Exploited Vulnerabilities catalog, or one its records name as
	// related (KEVVia says which, then).
	KEV    bool   `json:"kev"`
	KEVVia string `json:"kev_via,omitempty"`
	// EPSS is the highest EPSS probability among its CVE IDs; nil when
	// none is scored (or no EPSS file was given).
	EPSS    *float64 `json:"epss"`
	Summary string   `json:"summary"`
	// URL is the vulnerability's page on osv.dev.
	URL string `json:"url"`
	// Source is where the component was read: file and line, or file and
	// JSON pointer.
	Source string `json:"source"`
	// File is the scanned file, with forward slashes, and Line the
	// component's line in it when the format has lines (else 0).
	File string `json:"file"`
	Line int    `json:"line,omitempty"`

	// Details is the advisory's longer description, for SARIF rules.
	Details string `json:"-"`
}

// Problem is something the scan could not use.
type Problem struct {
	// Kind is inventory, database, match, kev or epss.
	Kind    string `json:"kind"`
	Source  string `json:"source"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Kind + ": " + p.Source + ": " + p.Message }

// Run reads the inputs, the database and the enrichment files and matches
// them. Its error is for input that cannot be used at all: a missing
// option, an unreadable file, a file in no known format, a database
// without records. Problems inside readable files end up in the Report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if len(opts.Inputs) == 0 {
		return nil, errors.New("nothing to scan: give an SBOM or a lockfile")
	}
	if opts.DB == "" {
		return nil, errors.New("no OSV database: give a directory of records or a zip export")
	}
	rep := &Report{}
	type read struct {
		comps      []upfactory.Component
		path, file string
	}
	var reads []read
	for _, in := range opts.Inputs {
		comps, probs, err := readInput(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, p := range probs {
			rep.Problems = append(rep.Problems, Problem{Kind: "inventory", Source: problemSource(p), Message: p.Message})
		}
		file := relPath(opts.WorkDir, in.Path)
		rep.Inputs = append(rep.Inputs, file)
		reads = append(reads, read{comps, in.Path, file})
		rep.Components += len(comps)
	}

	entries, dbProbs, err := readDB(opts.DB)
	if err != nil {
		return nil, err
	}
	for _, p := range dbProbs {
		rep.Problems = append(rep.Problems, Problem{Kind: "database", Source: p.Source, Message: p.Err.Error()})
	}
	ix := osv.NewIndex(entries)
	rep.Records = ix.Len()
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	var enr Enrichment
	if opts.KEV != "" {
		data, err := os.ReadFile(opts.KEV)
		if err != nil {
			return nil, fmt.Errorf("reading kev catalog: %w", err)
		}
		cat, probs, err := kev.Parse(opts.KEV, data)
		if err != nil {
			return nil, fmt.Errorf("reading kev catalog: %w", err)
		}
		enr.KEV = cat
		if len(probs) > 0 {
			rep.Problems = append(rep.Problems, Problem{Kind: "kev", Source: opts.KEV,
				Message: fmt.Sprintf("%d entries skipped (first: %s)", len(probs), probs[0])})
		}
	}
	if opts.EPSS != "" {
		f, err := os.Open(opts.EPSS)
		if err != nil {
			return nil, fmt.Errorf("reading epss scores: %w", err)
		}
		scores, probs, err := epss.Parse(opts.EPSS, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("reading epss scores: %w", err)
		}
		enr.EPSS = scores
		if len(probs) > 0 {
			rep.Problems = append(rep.Problems, Problem{Kind: "epss", Source: opts.EPSS,
				Message: fmt.Sprintf("%d lines skipped (first: %s)", len(probs), probs[0])})
		}
	}

	for _, r := range reads {
		found, mprobs := ix.Evaluate(r.comps)
		for _, p := range mprobs {
			rep.Problems = append(rep.Problems, Problem{Kind: "match", Source: p.Component.Source, Message: p.Error()})
		}
		assessed := Assess(found, enr)
		ptrs := map[string]bool{}
		for _, f := range assessed {
			if p := sourcePointer(f.Source); f.Line == 0 && p != "" {
				ptrs[p] = true
			}
		}
		var lines map[string]int
		if len(ptrs) > 0 {
			if data, err := os.ReadFile(r.path); err == nil {
				lines = pointerLines(data, ptrs)
			}
		}
		for _, f := range assessed {
			f.File = r.file
			if f.Line == 0 {
				f.Line = lines[sourcePointer(f.Source)]
			}
			rep.Findings = append(rep.Findings, f)
		}
	}
	rep.Counts = countSeverities(rep.Findings)
	if rep.Findings == nil {
		rep.Findings = []Finding{}
	}
	if rep.Problems == nil {
		rep.Problems = []Problem{}
	}
	return rep, nil
}

// Enrichment holds the optional exploitation data; nil fields are absent.
type Enrichment struct {
	KEV  *kev.Catalog
	EPSS *epss.Scores
}

// Assess turns osv findings into report findings: severity, CVSS, KEV,
// EPSS and the recommended upgrade per component. It is pure. File is left
// empty for the caller.
func Assess(found []osv.Finding, enr Enrichment) []Finding {
	byComp := map[upfactory.Component][]osv.Finding{}
	for _, f := range found {
		byComp[f.Component] = append(byComp[f.Component], f)
	}
	targets := make(map[upfactory.Component]string, len(byComp))
	for c, fs := range byComp {
		targets[c], _ = osv.UpgradeTarget(c.Ecosystem, fs)
	}
	out := make([]Finding, 0, len(found))
	for _, f := range found {
		c := f.Component
		target := targets[c]
		r := Finding{
			ID:          f.ID,
			Aliases:     nonNil(f.Aliases),
			Package:     c.Name,
			Ecosystem:   c.Ecosystem,
			Version:     c.Version,
			Fixed:       append([]string{}, f.Fixed...),
			Recommended: target,
			Summary:     f.Summary,
			URL:         "https://osv.dev/vulnerability/" + f.ID,
			Source:      c.Source,
			Line:        sourceLine(c.Source),
			Severity:    Unknown,
		}
		for _, e := range f.Entries {
			if r.Details == "" {
				r.Details = e.Details
			}
		}
		if v, s, ok := bestCVSS(f, c); ok {
			r.CVSSVector = v
			base := s.Base
			r.CVSSScore = &base
			r.Severity = s.Severity
		} else if sev := databaseSeverity(f, c); sev != "" {
			r.Severity = sev
		}
		for _, id := range append([]string{f.ID}, f.Aliases...) {
			if !strings.HasPrefix(strings.ToUpper(id), "CVE-") {
				continue
			}
			if enr.KEV != nil {
				if _, ok := enr.KEV.Has(id); ok {
					r.KEV, r.KEVVia = true, ""
				}
			}
			if enr.EPSS != nil {
				if s, ok := enr.EPSS.Get(id); ok && (r.EPSS == nil || s.EPSS > *r.EPSS) {
					p := s.EPSS
					r.EPSS = &p
				}
			}
		}
		if enr.KEV != nil && !r.KEV {
			// A record may name the exploited CVE only as related: Go's
			// HTTP/2 Rapid Reset (GO-2023-2102) is CVE-2023-39325, and
			// relates CVE-2023-44487, the protocol flaw CISA lists.
			if id := relatedKEV(f, enr.KEV); id != "" {
				r.KEV, r.KEVVia = true, "related "+id
			}
		}
		if strings.EqualFold(version.Base(c.Ecosystem), "Go") {
			// The Go database's SEMVER ranges drop the "v" Go writes.
			for i, v := range r.Fixed {
				r.Fixed[i] = goVersion(v)
			}
			r.Recommended = goVersion(r.Recommended)
		}
		out = append(out, r)
	}
	return out
}

func goVersion(v string) string {
	if v == "" || strings.HasPrefix(v, "v") {
		return v
	}
	return "v" + v
}

// cvssPreference ranks OSV severity types: v3 first, as GitHub and most
// databases publish it, then v4, then v2.
var cvssPreference = map[string]int{"CVSS_V3": 3, "CVSS_V4": 2, "CVSS_V2": 1}

// bestCVSS picks the vector to score f by, among the severities of its
// records and of their affected entries for c: the preferred CVSS version,
// the highest base score within it.
func bestCVSS(f osv.Finding, c upfactory.Component) (string, cvss.Score, bool) {
	var (
		best     cvss.Score
		bestRank int
		found    bool
	)
	consider := func(sevs []osv.Severity) {
		for _, s := range sevs {
			rank := cvssPreference[s.Type]
			if rank == 0 {
				continue
			}
			sc, err := cvss.Parse(s.Score)
			if err != nil {
				continue
			}
			if !found || rank > bestRank || (rank == bestRank && sc.Base > best.Base) {
				best, bestRank, found = sc, rank, true
			}
		}
	}
	for _, e := range f.Entries {
		consider(e.Severity)
		for _, a := range e.Affected {
			if osv.PackageMatches(a.Package, c.Ecosystem, c.Name) {
				consider(a.Severity)
			}
		}
	}
	return best.Vector, best, found
}

// databaseSeverity reads database_specific.severity, as GitHub advisories
// write it (LOW, MODERATE, HIGH, CRITICAL), from the records or their
// affected entries for c (and those entries' ecosystem_specific.severity);
// the most severe wins.
func databaseSeverity(f osv.Finding, c upfactory.Component) string {
	best := ""
	consider := func(raw json.RawMessage) {
		if len(raw) == 0 {
			return
		}
		var ds struct {
			Severity any `json:"severity"`
		}
		if json.Unmarshal(raw, &ds) != nil {
			return
		}
		s, ok := ds.Severity.(string)
		if !ok {
			return
		}
		sev := strings.ToUpper(strings.TrimSpace(s))
		if sev == "MODERATE" {
			sev = Medium
		}
		switch sev {
		case Critical, High, Medium, Low:
		default:
			return
		}
		if best == "" || rank(sev) > rank(best) {
			best = sev
		}
	}
	for _, e := range f.Entries {
		consider(e.DatabaseSpecific)
		for _, a := range e.Affected {
			if osv.PackageMatches(a.Package, c.Ecosystem, c.Name) {
				consider(a.DatabaseSpecific)
				consider(a.EcosystemSpecific) // some distributions write it here
			}
		}
	}
	return best
}

// relatedKEV is the first CVE, among those f's records name as related,
// that the KEV catalog lists; "" if none.
func relatedKEV(f osv.Finding, cat *kev.Catalog) string {
	var ids []string
	for _, e := range f.Entries {
		for _, id := range e.Related {
			if strings.HasPrefix(strings.ToUpper(id), "CVE-") {
				ids = append(ids, id)
			}
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		if _, ok := cat.Has(id); ok {
			return id
		}
	}
	return ""
}

// rank orders severities; NONE and UNKNOWN are 0.
func rank(sev string) int {
	switch sev {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// Thresholds lists the values Exceeds accepts, from the strictest.
var Thresholds = []string{"any", "low", "medium", "high", "critical", "none"}

// ParseThreshold checks a --fail-on value, case-insensitively.
func ParseThreshold(s string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if !slices.Contains(Thresholds, t) {
		return "", fmt.Errorf("fail-on %q is not one of %s", s, strings.Join(Thresholds, ", "))
	}
	return t, nil
}

// Gate is a severity gate applied to a report.
type Gate struct {
	FailOn string `json:"fail_on"`
	// UnknownSeverity is "fail" (findings nobody scored count as reaching
	// the threshold) or "pass".
	UnknownSeverity string `json:"unknown_severity"`
	// Failing is the number of findings that reach the threshold;
	// UnknownCounted how many of them count only because their severity
	// is unknown, and UnknownIDs their vulnerabilities.
	Failing        int      `json:"failing"`
	UnknownCounted int      `json:"unknown_counted"`
	UnknownIDs     []string `json:"unknown_ids,omitempty"`
	Passed         bool     `json:"passed"`
}

// ApplyGate records in r the verdict of threshold on it.
func (r *Report) ApplyGate(threshold string, unknownPasses bool) *Gate {
	g := &Gate{FailOn: strings.ToLower(threshold), UnknownSeverity: "fail"}
	if unknownPasses {
		g.UnknownSeverity = "pass"
	}
	min := rank(strings.ToUpper(g.FailOn))
	seen := map[string]bool{}
	for _, f := range Failing(r, threshold, unknownPasses) {
		g.Failing++
		if g.FailOn != "any" && min > 0 && f.Severity == Unknown {
			g.UnknownCounted++
			if !seen[f.ID] {
				seen[f.ID] = true
				g.UnknownIDs = append(g.UnknownIDs, f.ID)
			}
		}
	}
	g.Passed = g.Failing == 0
	r.Gate = g
	return g
}

// Exceeds reports whether some finding is at or above threshold: "any"
// counts every finding, UNKNOWN and NONE included; "low" to "critical"
// count findings of that band or above, and findings of UNKNOWN severity
// unless unknownPasses (a finding nobody scored may be critical: by
// default it fails safe); "none" never fails. An unknown threshold counts
// every finding, so a typo cannot pass a build.
func Exceeds(r *Report, threshold string, unknownPasses bool) bool {
	return len(Failing(r, threshold, unknownPasses)) > 0
}

// Failing lists the findings that reach threshold, as Exceeds counts them.
func Failing(r *Report, threshold string, unknownPasses bool) []Finding {
	t := strings.ToLower(threshold)
	if t == "none" {
		return nil
	}
	min := rank(strings.ToUpper(t))
	var out []Finding
	for _, f := range r.Findings {
		if t == "any" || min == 0 || rank(f.Severity) >= min || (f.Severity == Unknown && !unknownPasses) {
			out = append(out, f)
		}
	}
	return out
}

func countSeverities(fs []Finding) map[string]int {
	m := make(map[string]int, len(Severities))
	for _, s := range Severities {
		m[s] = 0
	}
	for _, f := range fs {
		m[f.Severity]++
	}
	return m
}

// readInput reads one SBOM or lockfile, detecting its type when not given.
func readInput(ctx context.Context, in Input) ([]upfactory.Component, []inventory.Problem, error) {
	typ := in.Type
	if typ == "" {
		var err error
		if typ, err = DetectType(in.Path); err != nil {
			return nil, nil, err
		}
	}
	if typ == inventory.TypeComponent {
		return nil, nil, fmt.Errorf("scanning %s: type %q declares a component by hand and reads no file", in.Path, typ)
	}
	comps, probs, err := inventory.Read(ctx, inventory.Source{Type: typ, Path: in.Path}, "")
	if err != nil {
		return nil, nil, fmt.Errorf("scanning %s: %w", in.Path, err)
	}
	return comps, probs, nil
}

// DetectType tells the inventory type of the file at path: SBOMs by their
// content (CycloneDX's bomFormat, SPDX's spdxVersion), lockfiles by their
// name (go.mod, package-lock.json, npm-shrinkwrap.json, composer.lock,
// Gemfile.lock, requirements*.txt, poetry.lock).
func DetectType(path string) (string, error) {
	base := filepath.Base(path)
	switch {
	case base == "go.mod":
		return "gomod", nil
	case base == "package-lock.json" || base == "npm-shrinkwrap.json":
		return "package-lock", nil
	case base == "composer.lock":
		return "composer-lock", nil
	case base == "Gemfile.lock" || base == "gems.locked":
		return "gemfile-lock", nil
	case base == "poetry.lock":
		return "poetry-lock", nil
	case strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt"):
		return "requirements", nil
	}
	return DetectSBOM(path)
}

// DetectSBOM tells a CycloneDX JSON BOM (bomFormat) from an SPDX JSON
// document (spdxVersion) by its content.
func DetectSBOM(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("scanning %s: %w", path, err)
	}
	if typ := sbomKind(data); typ != "" {
		return typ, nil
	}
	return "", fmt.Errorf("scanning %s: not a CycloneDX or SPDX JSON document, nor a lockfile known by its name (give its type, one of %s)",
		path, strings.Join(FileTypes(), ", "))
}

// sbomKind reads the top-level keys of a JSON document until one says
// what it is: CycloneDX (bomFormat) or SPDX (spdxVersion). It reads token
// by token, so a document cut off after that key is still recognised and
// its reader can say where it ends, instead of it being called unknown.
func sbomKind(data []byte) string {
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return ""
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return ""
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return ""
		}
		var str string
		if json.Unmarshal(v, &str) != nil {
			continue
		}
		switch {
		case keyIs(key, "bomFormat") && strings.EqualFold(str, "CycloneDX"):
			return "cyclonedx"
		case keyIs(key, "spdxVersion") && strings.HasPrefix(str, "SPDX-"):
			return "spdx"
		}
	}
	return ""
}

// FileTypes lists the inventory types a scan can read from a file.
func FileTypes() []string {
	var ts []string
	for _, t := range inventory.Types() {
		if t != inventory.TypeComponent {
			ts = append(ts, t)
		}
	}
	return ts
}

// readDB reads a directory of OSV records or a zip export.
func readDB(path string) ([]*osv.Entry, []osv.Problem, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading osv database: %w", err)
	}
	var (
		entries []*osv.Entry
		probs   []osv.Problem
	)
	if fi.IsDir() {
		entries, probs, err = osv.ReadDir(path)
	} else {
		entries, probs, err = osv.ReadZip(path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading osv database %s: %w", path, err)
	}
	if len(entries) == 0 {
		return nil, nil, fmt.Errorf("reading osv database %s: no OSV records in it (%d unreadable)", path, len(probs))
	}
	return entries, probs, nil
}

// relPath makes path relative to dir with forward slashes, as SARIF
// artifact locations want; an absolute path that cannot be made relative
// becomes a file:// URI, which SARIF also accepts.
func relPath(dir, path string) string {
	if dir != "" {
		abs, err := filepath.Abs(path)
		if err == nil {
			if rel, err := filepath.Rel(dir, abs); err == nil {
				path = rel
			}
		}
	}
	if filepath.IsAbs(path) {
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(path)}
		if !strings.HasPrefix(u.Path, "/") {
			u.Path = "/" + u.Path // C:/x on Windows
		}
		return u.String()
	}
	return filepath.ToSlash(path)
}

// sourceLine takes the line out of a Source "file:12" (" (dev)" may
// follow); 0 when there is none.
func sourceLine(src string) int {
	src = strings.TrimSuffix(src, " (dev)")
	i := strings.LastIndexByte(src, ':')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(src[i+1:])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

func problemSource(p inventory.Problem) string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
	}
	if p.Path != "" {
		s += "#" + p.Path
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// keyIs matches a JSON key as encoding/json does: case-insensitively.
func keyIs(key json.Token, name string) bool {
	s, ok := key.(string)
	return ok && strings.EqualFold(s, name)
}
