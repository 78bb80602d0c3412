// Package inventory reads what a service runs — SBOMs, lockfiles, go.mod,
// WordPress plugin lists — into upfactory.Components for advisory matching.
package inventory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/upfactory/upfactory"
)

// Source is one inventory entry of a service in upfactory.yaml, such as
// {type: cyclonedx, path: sbom.cdx.json}.
type Source = upfactory.InventorySource

// Problem is a malformed record in an otherwise readable file: it is
// reported and skipped, and the rest of the file is still read.
type Problem struct {
	File string `json:"file"`
	// Line is the 1-based line for line-oriented formats, 0 when unknown.
	Line int `json:"line,omitempty"`
	// Path locates the record inside a structured file: a JSON pointer
	// such as /components/12, or a record name.
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(p.Line))
	}
	if p.Path != "" {
		b.WriteString("#")
		b.WriteString(p.Path)
	}
	b.WriteString(": ")
	b.WriteString(p.Message)
	return b.String()
}

// A parser reads one format. name is the file name used in Source fields,
// problems and errors.
type parser func(name string, data []byte) ([]upfactory.Component, []Problem, error)

var parsers = map[string]parser{
	"cyclonedx":     ParseCycloneDX,
	"spdx":          ParseSPDX,
	"gomod":         ParseGoMod,
	"package-lock":  ParsePackageLock,
	"composer-lock": ParseComposerLock,
	"gemfile-lock":  ParseGemfileLock,
	"requirements":  ParseRequirements,
	"poetry-lock":   ParsePoetryLock,
	"wp-plugins":    ParseWPPlugins,
	"wp-themes":     ParseWPThemes,
}

// TypeComponent is the Source type of a hand-declared component.
const TypeComponent = "component"

// Types lists every Source type Read understands, sorted.
func Types() []string {
	ts := []string{TypeComponent}
	for t := range parsers {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// Validate reports what is wrong with the entry itself, before any file
// is read: an unknown type, a missing path, or for type "component" a
// missing name, ecosystem or version or an unknown layer.
func Validate(s Source) error {
	if s.Type == TypeComponent {
		var missing []string
		for _, f := range []struct{ name, v string }{
			{"name", s.Name}, {"ecosystem", s.Ecosystem}, {"version", s.Version}, {"layer", s.Layer},
		} {
			if strings.TrimSpace(f.v) == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("inventory component: missing %s", strings.Join(missing, ", "))
		}
		switch s.Layer {
		case upfactory.LayerOS, upfactory.LayerRuntime, upfactory.LayerDependency, upfactory.LayerApp:
		default:
			return fmt.Errorf("inventory component %s: layer %q is not one of os, runtime, dependency, app", s.Name, s.Layer)
		}
		return nil
	}
	if _, ok := parsers[s.Type]; !ok {
		return fmt.Errorf("inventory type %q is not one of %s", s.Type, strings.Join(Types(), ", "))
	}
	if s.Path == "" {
		return fmt.Errorf("inventory %s: missing path", s.Type)
	}
	return nil
}

// Read reads one inventory entry. A relative Path is resolved against
// baseDir. It returns an error when the entry is invalid, the file cannot
// be read, or the file is not in the declared format; malformed records
// inside a readable file come back as Problems.
func Read(ctx context.Context, src Source, baseDir string) ([]upfactory.Component, []Problem, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if err := Validate(src); err != nil {
		return nil, nil, err
	}
	if src.Type == TypeComponent {
		return []upfactory.Component{{
			Name:      strings.TrimSpace(src.Name),
			Ecosystem: strings.TrimSpace(src.Ecosystem),
			Version:   strings.TrimSpace(src.Version),
			PURL:      purlFor(src.Ecosystem, src.Name, src.Version),
			Layer:     src.Layer,
			Direct:    true,
			Source:    "declared component " + src.Name,
		}}, nil, nil
	}
	path := src.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(baseDir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s inventory: %w", src.Type, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return parsers[src.Type](src.Path, data)
}

// collector gathers components and problems of one file, enforcing that
// every component it keeps has a name, an ecosystem and a version.
type collector struct {
	file  string
	comps []upfactory.Component
	probs []Problem
}

func (c *collector) problem(line int, path, format string, args ...any) {
	c.probs = append(c.probs, Problem{File: c.file, Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

// add keeps comp, or reports it when it lacks a name or version; line or
// path (a JSON pointer) locates it.
func (c *collector) add(comp upfactory.Component, line int, path string) {
	comp.Name = strings.TrimSpace(comp.Name)
	comp.Version = strings.TrimSpace(comp.Version)
	switch {
	case comp.Name == "":
		c.problem(line, path, "no name")
		return
	case comp.Version == "":
		c.problem(line, path, "%s: no version: cannot match advisories", comp.Name)
		return
	case comp.Ecosystem == "":
		c.problem(line, path, "%s: unknown ecosystem", comp.Name)
		return
	}
	if comp.Layer == "" {
		comp.Layer = upfactory.LayerDependency
	}
	switch {
	case line > 0:
		comp.Source = c.file + ":" + strconv.Itoa(line)
	case path != "":
		comp.Source = c.file + "#" + path
	default:
		comp.Source = c.file
	}
	c.comps = append(c.comps, comp)
}

func (c *collector) result() ([]upfactory.Component, []Problem, error) {
	return c.comps, c.probs, nil
}

// pointer builds a JSON pointer (RFC 6901) from reference tokens.
func pointer(tokens ...any) string {
	var b strings.Builder
	for _, t := range tokens {
		b.WriteByte('/')
		switch t := t.(type) {
		case int:
			b.WriteString(strconv.Itoa(t))
		case string:
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(t))
		default:
			fmt.Fprint(&b, t)
		}
	}
	return b.String()
}

// devMark is appended to Source for development-only dependencies, which
// are kept (they run in CI and on developer machines) but marked.
const devMark = " (dev)"
