// Package constraint checks an upgrade candidate statically against the
// version constraints its dependents declare: composer.json, package.json,
// Gemfile and gemspec requirements, WordPress plugin and theme headers, go.mod.
//
// Each parser turns a manifest into Declared constraints, each with the file
// and line that declared it; Check evaluates one against a candidate version
// and says compatible, incompatible, untested (beyond a WordPress "Tested up
// to") or unknown (the constraint does not parse, or the version cannot be
// ordered). Unknown is never counted as compatible.
//
// npm ranges are evaluated by github.com/aquasecurity/go-npm-version and
// RubyGems requirements by github.com/aquasecurity/go-gem-version, with the
// gaps between them and npm or RubyGems closed here (see npm.go, rubygems.go).
// Composer constraints are evaluated by hand (composer.go), following
// composer/semver's VersionParser::parseConstraints: no maintained Go library
// implements them, and the npm or SemVer libraries get them wrong in ways that
// matter for a verdict (Composer's ^0.3 and ~1.2, "|" as OR, "," or space as
// AND, 4-part versions, -dev lower bounds, stability flags). Versions are
// ordered by package version, which already ports Composer's normalisation.
package constraint

import (
	"fmt"
	"sort"
)

// Syntaxes of a Declared constraint.
const (
	SyntaxComposer          = "composer"
	SyntaxNPM               = "npm"
	SyntaxRubyGems          = "rubygems"
	SyntaxWordPressRequires = "wordpress-requires"
	SyntaxWordPressTested   = "wordpress-tested"
	SyntaxPHPRequires       = "php-requires"
	SyntaxGoMod             = "gomod"
)

// Kinds of a Declared constraint: where in its file it was declared.
const (
	KindRequire         = "require"           // composer.json require
	KindRequireDev      = "require-dev"       // composer.json require-dev
	KindPeer            = "peer"              // package.json peerDependencies
	KindEngine          = "engine"            // package.json engines, Gemfile ruby, gemspec required_ruby_version
	KindRuntime         = "runtime"           // package.json dependencies, gemspec add_(runtime_)dependency
	KindDevelopment     = "development"       // gemspec add_development_dependency
	KindGem             = "gem"               // Gemfile gem
	KindTestedUpTo      = "tested-up-to"      // WordPress "Tested up to", "WC tested up to"
	KindRequiresAtLeast = "requires-at-least" // WordPress "Requires at least", "WC requires at least"
	KindRequiresPHP     = "requires-php"      // WordPress "Requires PHP"
	KindModuleMajor     = "module-major"      // go.mod require: the major version its path imports
	KindGoDirective     = "go-directive"      // go.mod go line: the oldest Go toolchain it builds with
)

// Declared is one constraint a dependent component puts on another.
type Declared struct {
	// Dependent declares the constraint: a plugin or theme slug, a Composer
	// or npm package name, a gem, a Go module path, or an application
	// named after its directory when the manifest has no name.
	Dependent string `json:"dependent"`
	// Target is what is constrained, normalised: a package name (Composer
	// names lower-cased), a Go module path without its major suffix, or one
	// of "php", "wordpress", "woocommerce", "node", "npm", "ruby",
	// "rubygems", "go".
	Target string `json:"target"`
	// Constraint is as written: "^8.1 || ^8.2", ">=16", "~> 7.0, >= 7.0.4"
	// (several RubyGems requirements joined by ", "), "6.4",
	// "example.com/lib/v2 v2.1.0".
	Constraint string `json:"constraint"`
	// Syntax says how Constraint is read: one of the Syntax constants.
	Syntax string `json:"syntax"`
	// Kind says where it was declared: one of the Kind constants.
	Kind string `json:"kind"`
	// File is the file that declared it, as given to the parser.
	File string `json:"file"`
	// Line is the 1-based line of the declaration in File.
	Line int `json:"line"`
}

// Verdict is the outcome of checking one constraint against one version.
type Verdict string

// Verdicts. Unknown is not a failure of the check: it says nothing can be
// concluded, and is never to be read as compatible.
const (
	Compatible   Verdict = "compatible"
	Incompatible Verdict = "incompatible"
	// Untested: the version is beyond what the dependent says it was
	// tested with ("Tested up to: 6.4" for 6.6), which does not make it
	// incompatible.
	Untested Verdict = "untested"
	// Unknown: the constraint does not parse, or the version cannot be
	// ordered in the constraint's syntax.
	Unknown Verdict = "unknown"
)

// Result is one Declared constraint checked against a candidate version.
type Result struct {
	Declared
	Version string  `json:"version"`
	Verdict Verdict `json:"verdict"`
	// Reason is one sentence a person reads.
	Reason string `json:"reason"`
}

// Problem is a part of a file a parser skipped, with where it is.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"` // 1-based; 0 only when the format has no lines
	Message string `json:"message"`
}

// String is the result on one line: "file:line: dependent: verdict: reason".
func (r Result) String() string {
	return fmt.Sprintf("%s:%d: %s: %s: %s", r.File, r.Line, r.Dependent, r.Verdict, r.Reason)
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message) }

// Check evaluates d against version, the candidate's version of d.Target.
// It is a pure function: the same inputs give the same Result.
func Check(d Declared, version string) Result {
	r := Result{Declared: d, Version: version}
	if version == "" {
		r.Verdict, r.Reason = Unknown, "no candidate version was given"
		return r
	}
	switch d.Syntax {
	case SyntaxComposer:
		r.Verdict, r.Reason = checkComposer(d.Constraint, version)
	case SyntaxNPM:
		r.Verdict, r.Reason = checkNPM(d.Constraint, version)
	case SyntaxRubyGems:
		r.Verdict, r.Reason = checkGem(d.Constraint, version)
	case SyntaxWordPressRequires:
		r.Verdict, r.Reason = checkWordPressMinimum(d, version, true)
	case SyntaxPHPRequires:
		r.Verdict, r.Reason = checkWordPressMinimum(d, version, false)
	case SyntaxWordPressTested:
		r.Verdict, r.Reason = checkWordPressTested(d, version)
	case SyntaxGoMod:
		r.Verdict, r.Reason = checkGoMod(d, version)
	default:
		r.Verdict, r.Reason = Unknown, fmt.Sprintf("constraint syntax %q is not one this package checks", d.Syntax)
	}
	return r
}

// CheckAll checks every declaration whose Target has a version in versions
// (target → candidate version) and returns the results in the order of ds.
func CheckAll(ds []Declared, versions map[string]string) []Result {
	var out []Result
	for _, d := range ds {
		if v, ok := versions[d.Target]; ok {
			out = append(out, Check(d, v))
		}
	}
	return out
}

// Tally counts results by verdict.
func Tally(rs []Result) map[Verdict]int {
	m := map[Verdict]int{}
	for _, r := range rs {
		m[r.Verdict]++
	}
	return m
}

// Worst is the verdict a set of results adds up to: incompatible before
// unknown before untested before compatible. No results give Unknown: an
// absence of constraints is not evidence of compatibility.
func Worst(rs []Result) Verdict {
	rank := map[Verdict]int{Compatible: 0, Untested: 1, Unknown: 2, Incompatible: 3}
	if len(rs) == 0 {
		return Unknown
	}
	w := Compatible
	for _, r := range rs {
		if rank[r.Verdict] > rank[w] {
			w = r.Verdict
		}
	}
	return w
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
}

func sortDeclared(ds []Declared) {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Line < ds[j].Line })
}
