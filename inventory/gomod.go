package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/upfactory/upfactory"
	"golang.org/x/mod/modfile"
	"golang.org/x/mod/semver"
)

// ParseGoMod reads a go.mod file with golang.org/x/mod/modfile: every
// require line (Direct unless marked // indirect), with replace directives
// applied, and the standard library as component "stdlib" of ecosystem Go
// (the Go vulnerability database's name for it) at the toolchain version,
// or the go line's when there is no toolchain line, layer runtime.
// Versions are kept as go.mod writes them (v1.2.3); stdlib's is given the
// same form (go1.22.3 → v1.22.3, go 1.21 → v1.21.0).
//
// A line modfile rejects (a bad version, say) is reported and the file is
// read again without it; a file still rejected after three rounds is not
// a go.mod file.
func ParseGoMod(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	c := &collector{file: name}
	var f *modfile.File
	for attempt := 0; ; attempt++ {
		var err error
		f, err = modfile.Parse(name, data, nil)
		if err == nil {
			break
		}
		var list modfile.ErrorList
		if !errors.As(err, &list) || attempt >= 3 {
			return nil, nil, fmt.Errorf("reading %s: not a go.mod file: %w", name, err)
		}
		lines := bytes.Split(data, []byte("\n"))
		for _, e := range list {
			l := e.Pos.Line
			if l < 1 || l > len(lines) {
				return nil, nil, fmt.Errorf("reading %s: not a go.mod file: %w", name, err)
			}
			msg := e.Err
			var inner *modfile.Error
			if errors.As(e.Err, &inner) {
				msg = inner // without the position, which the Problem carries
				inner.Filename, inner.Pos = "", modfile.Position{}
			}
			c.problem(l, "", "%v", msg)
			lines[l-1] = nil
		}
		data = bytes.Join(lines, []byte("\n"))
	}
	if f.Module == nil && f.Go == nil && len(f.Require) == 0 {
		return nil, nil, fmt.Errorf("reading %s: not a go.mod file: no module, go or require directive", name)
	}

	if v := goVersion(f); v != "" {
		line := 0
		if f.Toolchain != nil && f.Toolchain.Syntax != nil && strings.HasPrefix(f.Toolchain.Name, "go") {
			line = f.Toolchain.Syntax.Start.Line
		} else if f.Go != nil && f.Go.Syntax != nil {
			line = f.Go.Syntax.Start.Line
		}
		c.add(upfactory.Component{
			Name: "stdlib", Ecosystem: "Go", Version: v,
			Layer: upfactory.LayerRuntime, Direct: true,
		}, line, "")
	}

	for _, r := range f.Require {
		line := 0
		if r.Syntax != nil {
			line = r.Syntax.Start.Line
		}
		path, version := r.Mod.Path, r.Mod.Version
		if rep := replacement(f, path, version); rep != nil {
			if rep.New.Version == "" {
				c.problem(line, "", "%s %s is replaced by directory %s: no version to match advisories", path, version, rep.New.Path)
				continue
			}
			path, version = rep.New.Path, rep.New.Version
		}
		c.add(upfactory.Component{
			Name: path, Ecosystem: "Go", Version: version,
			PURL: purlFor("Go", path, version), Layer: upfactory.LayerDependency, Direct: !r.Indirect,
		}, line, "")
	}
	return c.result()
}

// replacement returns the replace directive that applies to path@version:
// one naming that exact version wins over one for all versions.
func replacement(f *modfile.File, path, version string) *modfile.Replace {
	var any *modfile.Replace
	for _, r := range f.Replace {
		if r.Old.Path != path {
			continue
		}
		if r.Old.Version == version {
			return r
		}
		if r.Old.Version == "" {
			any = r
		}
	}
	return any
}

// goVersion is the Go release the module is built with, in semver form:
// the toolchain line's, else the go line's.
func goVersion(f *modfile.File) string {
	if f.Toolchain != nil {
		v := strings.TrimPrefix(f.Toolchain.Name, "go")
		// "go1.22.3+auto" and similar suffixes name a local toolchain variant.
		v, _, _ = strings.Cut(v, "+")
		if s := semverForGo(v); s != "" {
			return s
		}
	}
	if f.Go != nil {
		return semverForGo(f.Go.Version)
	}
	return ""
}

// semverForGo turns a Go release name (1.21, 1.21.3, 1.22rc1) into semver.
func semverForGo(v string) string {
	pre := ""
	for _, tag := range []string{"rc", "beta"} {
		if i := strings.Index(v, tag); i > 0 {
			v, pre = v[:i], "-"+tag+"."+v[i+len(tag):]
			break
		}
	}
	if strings.Count(v, ".") == 1 {
		v += ".0"
	}
	s := "v" + v + pre
	if !semver.IsValid(s) {
		return ""
	}
	return s
}
