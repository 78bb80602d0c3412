package constraint

import (
	"fmt"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/upfactory/upfactory/version"
)

// checkGoMod checks a go.mod declaration. module-major: the candidate must
// be in the major version the required path imports (a module path with no
// suffix is v0 or v1, or a +incompatible v2+; "/v2" is v2), and not older
// than the required version, which minimal version selection would keep.
// go-directive: the Go toolchain must be at least the go line.
func checkGoMod(d Declared, ver string) (Verdict, string) {
	switch d.Kind {
	case KindGoDirective:
		n, err := version.Compare("Go", "go"+strings.TrimPrefix(strings.TrimSpace(ver), "go"), "go"+strings.TrimSpace(d.Constraint))
		if err != nil {
			return Unknown, fmt.Sprintf("Go version %q or go line %q cannot be ordered: %v", ver, d.Constraint, err)
		}
		if n >= 0 {
			return Compatible, fmt.Sprintf("go.mod says go %s and Go %s is at least that", d.Constraint, ver)
		}
		return Incompatible, fmt.Sprintf("go.mod says go %s and Go %s is older", d.Constraint, ver)
	case KindModuleMajor:
	default:
		return Unknown, fmt.Sprintf("go.mod declaration kind %q is not one this package checks", d.Kind)
	}
	path, req, _ := strings.Cut(strings.TrimSpace(d.Constraint), " ")
	req = strings.TrimSpace(req)
	_, pathMajor, ok := module.SplitPathVersion(path)
	if !ok {
		return Unknown, fmt.Sprintf("%q is not a valid module path", path)
	}
	v := strings.TrimSpace(ver)
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) {
		return Unknown, fmt.Sprintf("version %q is not a Go module version such as v1.2.3", ver)
	}
	imports := "the unsuffixed path (v0 or v1)"
	if pathMajor != "" {
		imports = "the " + pathMajor + " path"
	}
	if err := module.CheckPathMajor(v, pathMajor); err != nil {
		return Incompatible, fmt.Sprintf("%s is major %s but imports of %s use %s", ver, semver.Major(v), path, imports)
	}
	if semver.IsValid(req) && semver.Compare(v, req) < 0 {
		return Incompatible, fmt.Sprintf("go.mod requires %s %s and %s is older; minimal version selection keeps %s", path, req, ver, req)
	}
	return Compatible, fmt.Sprintf("%s is in the major version that imports of %s (%s) use", ver, path, imports)
}

// ParseGoMod reads a go.mod: each require is a module-major declaration on
// the module path without its major suffix (golang.org/x/foo/v2 →
// golang.org/x/foo), and the go line a go-directive on "go". The dependent
// is the module path. A file that does not parse is an error, since
// golang.org/x/mod reads all of it or nothing; its message has the line.
func ParseGoMod(file string, data []byte) ([]Declared, []Problem, error) {
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", file, err)
	}
	dep := dependentName("", file)
	if f.Module != nil && f.Module.Mod.Path != "" {
		dep = f.Module.Mod.Path
	}
	var out []Declared
	var problems []Problem
	if f.Go != nil && f.Go.Version != "" {
		out = append(out, Declared{Dependent: dep, Target: "go", Constraint: f.Go.Version,
			Syntax: SyntaxGoMod, Kind: KindGoDirective, File: file, Line: lineOf(f.Go.Syntax)})
	}
	for _, r := range f.Require {
		prefix, _, ok := module.SplitPathVersion(r.Mod.Path)
		if !ok || prefix == "" {
			problems = append(problems, Problem{file, lineOf(r.Syntax), fmt.Sprintf("require %s: not a valid module path; skipped", r.Mod.Path)})
			continue
		}
		out = append(out, Declared{Dependent: dep, Target: prefix, Constraint: r.Mod.Path + " " + r.Mod.Version,
			Syntax: SyntaxGoMod, Kind: KindModuleMajor, File: file, Line: lineOf(r.Syntax)})
	}
	sortDeclared(out)
	return out, problems, nil
}

func lineOf(l *modfile.Line) int {
	if l == nil || l.Start.Line < 1 {
		return 1
	}
	return l.Start.Line
}
