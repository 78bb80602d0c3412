package constraint

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Kinds of manifest Read knows.
const (
	ManifestComposerJSON = "composer-json"
	ManifestPackageJSON  = "package-json"
	ManifestGemfile      = "gemfile"
	ManifestGemspec      = "gemspec"
	ManifestWPHeaders    = "wp-headers"
	ManifestGoMod        = "gomod"
)

// ErrUnknownManifest is returned by Read for a kind it does not know.
var ErrUnknownManifest = errors.New("unknown manifest kind")

// Parser is the shape of every Parse function.
type Parser func(file string, data []byte) ([]Declared, []Problem, error)

var parsers = map[string]Parser{
	ManifestComposerJSON: ParseComposerJSON,
	ManifestPackageJSON:  ParsePackageJSON,
	ManifestGemfile:      ParseGemfile,
	ManifestGemspec:      ParseGemspec,
	ManifestWPHeaders:    ParseWordPressHeaders,
	ManifestGoMod:        ParseGoMod,
}

// Read reads the manifest at path with the parser of kind (one of the
// Manifest constants). For wp-headers, path may be a directory: of
// plugins or themes (wp-content/plugins), whose every plugin main file and
// theme style.css one level down is read, or of one plugin or theme. PHP
// files without a Plugin Name header are not plugins and are passed over;
// a directory with no plugin or theme at all is an error.
func Read(kind, path string) ([]Declared, []Problem, error) {
	parse, ok := parsers[kind]
	if !ok {
		return nil, nil, fmt.Errorf("reading %s: %w %q (known: composer-json, package-json, gemfile, gemspec, wp-headers, gomod)", path, ErrUnknownManifest, kind)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s manifest: %w", kind, err)
	}
	if !fi.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s manifest: %w", kind, err)
		}
		return parse(path, data)
	}
	if kind != ManifestWPHeaders {
		return nil, nil, fmt.Errorf("reading %s manifest: %s is a directory", kind, path)
	}
	return readWordPressDir(path)
}

func readWordPressDir(dir string) ([]Declared, []Problem, error) {
	var files []string
	add := func(d string) error {
		entries, err := os.ReadDir(d)
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			if e.Type().IsRegular() && (strings.EqualFold(filepath.Ext(name), ".php") || name == "style.css") {
				files = append(files, filepath.Join(d, name))
			}
		}
		return nil
	}
	if err := add(dir); err != nil {
		return nil, nil, fmt.Errorf("reading wp-headers directory %s: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("reading wp-headers directory %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() {
			if err := add(filepath.Join(dir, e.Name())); err != nil {
				return nil, nil, fmt.Errorf("reading wp-headers directory %s: %w", dir, err)
			}
		}
	}
	sort.Strings(files)
	var out []Declared
	var problems []Problem
	found := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			problems = append(problems, Problem{f, 1, fmt.Sprintf("cannot read: %v; skipped", err)})
			continue
		}
		ds, ps, err := ParseWordPressHeaders(f, data)
		if err != nil {
			continue // not a plugin main file or a theme stylesheet
		}
		found++
		out = append(out, ds...)
		problems = append(problems, ps...)
	}
	if found == 0 {
		return nil, problems, fmt.Errorf("reading wp-headers directory %s: no plugin main file or theme style.css found in it or one level down", dir)
	}
	return out, problems, nil
}
