package version

import (
	"strings"

	"github.com/Masterminds/semver/v3"
	gosemver "golang.org/x/mod/semver"
)

// goScheme orders Go module versions: semantic versions with a leading "v"
// (added when missing, as OSV records write them without), "+incompatible"
// (build metadata, ignored in ordering), and pseudo-versions, whose
// timestamped prerelease orders them by commit time. Go toolchain versions
// ("go1.21.3", "go1.22rc1") are accepted for the standard library.
type goScheme struct{}

type goVersion struct{ canon, orig string }

func (goScheme) Name() string { return "Go" }

func (goScheme) Parse(v string) (Version, error) {
	s := strings.TrimSpace(v)
	if strings.HasPrefix(s, "go") {
		s = goToolchainToSemver(s[2:])
	} else if !strings.HasPrefix(s, "v") {
		s = "v" + s
	}
	if !gosemver.IsValid(s) {
		return nil, parseError("Go", v, "a module version such as v1.2.3, v2.0.0+incompatible or v0.0.0-20190101000000-abcdef123456", nil)
	}
	return goVersion{canon: s, orig: v}, nil
}

// goToolchainToSemver turns "1.22rc1" into "v1.22.0-rc.1", as golang.org/x/vuln does.
func goToolchainToSemver(s string) string {
	for _, pre := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(s, pre); i > 0 {
			base := s[:i]
			if strings.Count(base, ".") == 1 {
				base += ".0"
			}
			return "v" + base + "-" + pre + "." + s[i+len(pre):]
		}
	}
	return "v" + s
}

func (v goVersion) Compare(o Version) int {
	w, ok := o.(goVersion)
	if !ok {
		mismatch("Go", o)
	}
	return gosemver.Compare(v.canon, w.canon)
}

func (v goVersion) String() string { return v.orig }

// semverScheme is SemVer 2.0.0 as OSV SEMVER ranges require, leading "v"
// tolerated; it falls back to Masterminds' coercing parser ("1.2" is 1.2.0)
// so that loosely written component versions still compare.
type semverScheme struct{}

type semverVersion struct {
	v    *semver.Version
	orig string
}

func (semverScheme) Name() string { return "SemVer" }

func (semverScheme) Parse(v string) (Version, error) {
	s := strings.TrimPrefix(strings.TrimSpace(v), "v")
	sv, err := semver.StrictNewVersion(s)
	if err != nil {
		var err2 error
		if sv, err2 = semver.NewVersion(s); err2 != nil {
			return nil, parseError("SemVer", v, "a semantic version MAJOR.MINOR.PATCH[-prerelease][+build]", err)
		}
	}
	return semverVersion{sv, v}, nil
}

func (v semverVersion) Compare(o Version) int {
	w, ok := o.(semverVersion)
	if !ok {
		mismatch("SemVer", o)
	}
	return v.v.Compare(w.v)
}

func (v semverVersion) String() string { return v.orig }

// npmScheme is node-semver's ordering: SemVer 2.0.0, with the leading "v" or
// "=" that npm's loose parser strips.
type npmScheme struct{}

func (npmScheme) Name() string { return "npm" }

func (npmScheme) Parse(v string) (Version, error) {
	s := strings.TrimSpace(v)
	s = strings.TrimLeft(s, "=v")
	sv, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, parseError("npm", v, "a semantic version such as 1.2.3 or 1.2.3-beta.1", err)
	}
	return npmVersion{semverVersion{sv, v}}, nil
}

type npmVersion struct{ semverVersion }

func (v npmVersion) Compare(o Version) int {
	w, ok := o.(npmVersion)
	if !ok {
		mismatch("npm", o)
	}
	return v.v.Compare(w.v)
}

// cratesScheme is Cargo's ordering: strict SemVer 2.0.0, no "v".
type cratesScheme struct{}

func (cratesScheme) Name() string { return "crates.io" }

func (cratesScheme) Parse(v string) (Version, error) {
	sv, err := semver.StrictNewVersion(v)
	if err != nil || strings.HasPrefix(v, "v") {
		return nil, parseError("crates.io", v, "a strict semantic version such as 1.2.3 or 1.0.0-alpha.1", err)
	}
	return cratesVersion{semverVersion{sv, v}}, nil
}

type cratesVersion struct{ semverVersion }

func (v cratesVersion) Compare(o Version) int {
	w, ok := o.(cratesVersion)
	if !ok {
		mismatch("crates.io", o)
	}
	return v.v.Compare(w.v)
}
