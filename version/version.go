// Package version orders the versions of one package ecosystem, the way that
// ecosystem's own tools do, so that OSV ranges can be evaluated against them.
//
// Each ecosystem is a Scheme found by its OSV ecosystem name with For. Most
// schemes wrap the ecosystem's reference implementation ported to Go; three
// are written here because no maintained Go library exists for them:
// Packagist (Composer's VersionParser::normalize followed by PHP's
// version_compare), WordPress (PHP's version_compare, which WordPress itself
// uses) and NuGet (NuGet.Versioning's SemVer 2 with a fourth legacy part and
// case-insensitive prerelease labels).
package version

import (
	"errors"
	"fmt"
	"strings"
)

// Scheme orders the versions of one ecosystem.
type Scheme interface {
	// Name is the OSV ecosystem name without suffix: "Go", "PyPI", "Debian".
	Name() string
	// Parse reads one version; its error says what was expected.
	Parse(v string) (Version, error)
}

// Version is one parsed version of a Scheme.
type Version interface {
	// Compare returns -1, 0 or +1 as the version is older than, the same as,
	// or newer than other. other must come from the same Scheme: mixing
	// schemes is a programming error and panics.
	Compare(other Version) int
	// String is the version as it was given, or its normalised form where
	// the ecosystem defines one.
	String() string
}

// ErrUnknownEcosystem is returned by For for an ecosystem it cannot order.
var ErrUnknownEcosystem = errors.New("unknown ecosystem")

var schemes = map[string]Scheme{
	"go":        goScheme{},
	"npm":       npmScheme{},
	"crates.io": cratesScheme{},
	"pypi":      pypiScheme{},
	"rubygems":  gemScheme{},
	"maven":     mavenScheme{},
	"packagist": packagistScheme{},
	"debian":    debianScheme{},
	"nuget":     nugetScheme{},
	"wordpress": wordpressScheme{},
	// Not an OSV ecosystem: the versions of a service's own releases, for
	// release notes of applications no package registry knows.
	"semver": semverScheme{},
}

// Ecosystems lists the base ecosystem names For knows, in a fixed order.
func Ecosystems() []string {
	return []string{"Go", "npm", "crates.io", "PyPI", "RubyGems", "Maven", "Packagist", "Debian", "NuGet", "WordPress"}
}

// Base returns the ecosystem name without its ":suffix": "Debian:12" is
// "Debian", "WordPress:plugin" is "WordPress".
func Base(ecosystem string) string {
	base, _, _ := strings.Cut(ecosystem, ":")
	return strings.TrimSpace(base)
}

// For returns the Scheme of an OSV ecosystem name. A suffix after ':' (a
// release, "Debian:12", or a kind, "WordPress:plugin") does not change the
// ordering and is ignored. The base name is matched case-insensitively.
// An ecosystem it cannot order gives an error wrapping ErrUnknownEcosystem.
func For(ecosystem string) (Scheme, error) {
	s, ok := schemes[strings.ToLower(Base(ecosystem))]
	if !ok {
		return nil, fmt.Errorf("ordering versions of ecosystem %q: %w (known: %s)",
			ecosystem, ErrUnknownEcosystem, strings.Join(Ecosystems(), ", "))
	}
	return s, nil
}

// SemVer returns the scheme of OSV "SEMVER" ranges: SemVer 2.0.0, whatever
// the ecosystem. A leading "v" is accepted, as Go's versions carry one.
func SemVer() Scheme { return semverMemo }

var semverMemo = Memo(semverScheme{})

func init() {
	// Every scheme handed out remembers what it parsed (see Memo).
	for k, s := range schemes {
		schemes[k] = Memo(s)
	}
}

// Compare parses a and b in the ecosystem's scheme and compares them.
func Compare(ecosystem, a, b string) (int, error) {
	s, err := For(ecosystem)
	if err != nil {
		return 0, err
	}
	va, err := s.Parse(a)
	if err != nil {
		return 0, err
	}
	vb, err := s.Parse(b)
	if err != nil {
		return 0, err
	}
	return va.Compare(vb), nil
}

func parseError(scheme, v, expected string, err error) error {
	if err != nil {
		return fmt.Errorf("parsing %s version %q: expected %s: %v", scheme, v, expected, err)
	}
	return fmt.Errorf("parsing %s version %q: expected %s", scheme, v, expected)
}

func mismatch(want string, got Version) {
	panic(fmt.Sprintf("version: comparing a %s version with %T (%q): versions of different schemes do not compare", want, got, got.String()))
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
