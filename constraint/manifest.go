package constraint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// jsonEntry is one key of a JSON object section, with the line of its key.
type jsonEntry struct {
	key  string
	raw  json.RawMessage
	line int
}

// jsonSections reads a JSON object and returns, for each top-level key in
// want, the entries of its object value with their lines, plus the string
// value of "name". A section that is not an object is a Problem.
func jsonSections(file string, data []byte, want map[string]bool) (name string, sections map[string][]jsonEntry, problems []Problem, err error) {
	lineAt := func(off int64) int {
		if off > int64(len(data)) {
			off = int64(len(data))
		}
		return 1 + bytes.Count(data[:off], []byte("\n"))
	}
	fail := func(e error) error {
		var se *json.SyntaxError
		if errors.As(e, &se) {
			return fmt.Errorf("reading %s: line %d: %v", file, lineAt(se.Offset), e)
		}
		return fmt.Errorf("reading %s: %w", file, e)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return "", nil, nil, fail(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return "", nil, nil, fmt.Errorf("reading %s: not a JSON object", file)
	}
	sections = map[string][]jsonEntry{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return "", nil, nil, fail(err)
		}
		key, _ := tok.(string)
		keyLine := lineAt(dec.InputOffset())
		if !want[key] {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return "", nil, nil, fail(err)
			}
			if key == "name" {
				_ = json.Unmarshal(raw, &name)
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return "", nil, nil, fail(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != '{' {
			problems = append(problems, Problem{file, keyLine, fmt.Sprintf("%q is not an object; skipped", key)})
			if d, ok := tok.(json.Delim); ok && (d == '[') {
				if err := skipJSON(dec); err != nil {
					return "", nil, nil, fail(err)
				}
			}
			continue
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return "", nil, nil, fail(err)
			}
			k, _ := tok.(string)
			line := lineAt(dec.InputOffset())
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return "", nil, nil, fail(err)
			}
			sections[key] = append(sections[key], jsonEntry{k, raw, line})
		}
		if _, err := dec.Token(); err != nil { // the closing '}'
			return "", nil, nil, fail(err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return "", nil, nil, fail(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", nil, nil, fmt.Errorf("reading %s: line %d: data after the top-level object", file, lineAt(dec.InputOffset()))
	}
	return name, sections, problems, nil
}

// skipJSON consumes the rest of an array or object whose opening delimiter was read.
func skipJSON(dec *json.Decoder) error {
	depth := 1
	for depth > 0 {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '[' || d == '{' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

// dependentName is the name a manifest gives, else its directory's name,
// else the file name without extension.
func dependentName(name, file string) string {
	if name = strings.TrimSpace(name); name != "" {
		return name
	}
	dir := filepath.Base(filepath.Dir(file))
	if dir != "." && dir != string(filepath.Separator) && dir != "" {
		return dir
	}
	return strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
}

func jsonStringEntries(file, section string, es []jsonEntry, problems *[]Problem, each func(e jsonEntry, value string)) {
	for _, e := range es {
		if strings.TrimSpace(e.key) == "" {
			*problems = append(*problems, Problem{file, e.line, fmt.Sprintf("%s: an empty package name; skipped", section)})
			continue
		}
		var s string
		if err := json.Unmarshal(e.raw, &s); err != nil {
			*problems = append(*problems, Problem{file, e.line, fmt.Sprintf("%s %q: the constraint is not a string; skipped", section, e.key)})
			continue
		}
		each(e, s)
	}
}

// ParseComposerJSON reads the require and require-dev sections of a
// composer.json. Package names are lower-cased, as Composer compares them;
// platform packages keep their names ("php", "ext-intl", "lib-icu").
func ParseComposerJSON(file string, data []byte) ([]Declared, []Problem, error) {
	name, secs, problems, err := jsonSections(file, data, map[string]bool{"require": true, "require-dev": true})
	if err != nil {
		return nil, nil, err
	}
	dep := dependentName(name, file)
	var out []Declared
	for _, sec := range []string{"require", "require-dev"} {
		jsonStringEntries(file, sec, secs[sec], &problems, func(e jsonEntry, v string) {
			out = append(out, Declared{Dependent: dep, Target: strings.ToLower(e.key), Constraint: v,
				Syntax: SyntaxComposer, Kind: sec, File: file, Line: e.line})
		})
	}
	sortDeclared(out)
	sortProblems(problems)
	return out, problems, nil
}

// ParsePackageJSON reads peerDependencies, engines (node, npm and any other
// engine named) and dependencies of a package.json. devDependencies are left
// out: they constrain the build, not what the package runs against.
func ParsePackageJSON(file string, data []byte) ([]Declared, []Problem, error) {
	kinds := map[string]string{"peerDependencies": KindPeer, "engines": KindEngine, "dependencies": KindRuntime}
	name, secs, problems, err := jsonSections(file, data, map[string]bool{"peerDependencies": true, "engines": true, "dependencies": true})
	if err != nil {
		return nil, nil, err
	}
	dep := dependentName(name, file)
	var out []Declared
	for _, sec := range []string{"dependencies", "peerDependencies", "engines"} {
		jsonStringEntries(file, sec, secs[sec], &problems, func(e jsonEntry, v string) {
			out = append(out, Declared{Dependent: dep, Target: e.key, Constraint: v,
				Syntax: SyntaxNPM, Kind: kinds[sec], File: file, Line: e.line})
		})
	}
	sortDeclared(out)
	sortProblems(problems)
	return out, problems, nil
}
