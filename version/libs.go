package version

import (
	"strings"

	gem "github.com/aquasecurity/go-gem-version"
	pep440 "github.com/aquasecurity/go-pep440-version"
	deb "github.com/knqyf263/go-deb-version"
	mvn "github.com/masahiro331/go-mvn-version"
)

// pypiScheme is PEP 440: epochs, pre-, post- and dev-releases, local labels.
type pypiScheme struct{}

type pypiVersion struct{ v pep440.Version }

func (pypiScheme) Name() string { return "PyPI" }

func (pypiScheme) Parse(v string) (Version, error) {
	pv, err := pep440.Parse(v)
	if err != nil {
		return nil, parseError("PyPI", v, "a PEP 440 version such as 1.0, 1!2.0, 1.0rc1, 1.0.post1 or 1.0.dev0", err)
	}
	return pypiVersion{pv}, nil
}

func (v pypiVersion) Compare(o Version) int {
	w, ok := o.(pypiVersion)
	if !ok {
		mismatch("PyPI", o)
	}
	return sign(v.v.Compare(w.v))
}

func (v pypiVersion) String() string { return v.v.String() }

// gemScheme is RubyGems' Gem::Version: a letter starts a prerelease segment.
type gemScheme struct{}

type gemVersion struct{ v gem.Version }

func (gemScheme) Name() string { return "RubyGems" }

func (gemScheme) Parse(v string) (Version, error) {
	gv, err := gem.NewVersion(v)
	if err != nil {
		return nil, parseError("RubyGems", v, "a gem version such as 1.2.3 or 1.2.3.pre1", err)
	}
	return gemVersion{gv}, nil
}

func (v gemVersion) Compare(o Version) int {
	w, ok := o.(gemVersion)
	if !ok {
		mismatch("RubyGems", o)
	}
	return sign(v.v.Compare(w.v))
}

func (v gemVersion) String() string { return v.v.String() }

// mavenScheme is Maven's ComparableVersion: alpha < beta < milestone < rc <
// snapshot < release < sp, unknown qualifiers after all of them.
type mavenScheme struct{}

type mavenVersion struct{ v mvn.Version }

func (mavenScheme) Name() string { return "Maven" }

func (mavenScheme) Parse(v string) (Version, error) {
	if strings.TrimSpace(v) == "" {
		return nil, parseError("Maven", v, "a non-empty Maven version such as 1.0, 1.0-SNAPSHOT or 1.0-rc-1", nil)
	}
	mv, err := mvn.NewVersion(v)
	if err != nil {
		return nil, parseError("Maven", v, "a Maven version such as 1.0, 1.0-SNAPSHOT or 1.0-rc-1", err)
	}
	return mavenVersion{mv}, nil
}

func (v mavenVersion) Compare(o Version) int {
	w, ok := o.(mavenVersion)
	if !ok {
		mismatch("Maven", o)
	}
	return sign(v.v.Compare(w.v))
}

func (v mavenVersion) String() string { return v.v.String() }

// debianScheme is dpkg's ordering: [epoch:]upstream[-revision], with '~'
// sorting before everything, even the end of the string.
type debianScheme struct{}

type debianVersion struct{ v deb.Version }

func (debianScheme) Name() string { return "Debian" }

func (debianScheme) Parse(v string) (Version, error) {
	dv, err := deb.NewVersion(v)
	if err != nil {
		return nil, parseError("Debian", v, "a Debian version [epoch:]upstream[-revision] such as 1:2.30-1~deb12u1", err)
	}
	return debianVersion{dv}, nil
}

func (v debianVersion) Compare(o Version) int {
	w, ok := o.(debianVersion)
	if !ok {
		mismatch("Debian", o)
	}
	return sign(v.v.Compare(w.v))
}

func (v debianVersion) String() string { return v.v.String() }
