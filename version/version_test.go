package version_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/upfactory/upfactory/version"
)

// chains lists, per ecosystem, versions in ascending order; the versions in
// one inner slice are equal. Every pair of a chain is checked, so a chain of
// n versions is n(n-1)/2 ordered pairs.
var chains = map[string][][]string{
	"Go": {
		{"v0.0.0-20190101000000-abcdef123456"},
		{"v0.0.0-20200101000000-abcdef123456", "0.0.0-20200101000000-abcdef123456"},
		{"v0.1.0"},
		{"v1.0.0-alpha"},
		{"v1.0.0-alpha.1"},
		{"v1.0.0-beta"},
		{"v1.0.0-rc.1"},
		{"v1.0.0", "1.0.0"},
		{"v1.2.3-pre"},
		{"v1.2.3", "1.2.3"},
		{"v1.2.4-0.20200101000000-abcdef123456"},
		{"v1.2.4-0.20210101000000-000000000000"},
		{"v1.2.4"},
		{"v1.10.0"},
		{"v1.20.5", "go1.20.5"},
		{"go1.21rc1", "v1.21.0-rc.1"},
		{"go1.21.0", "v1.21.0"},
		{"go1.21.3"},
		{"v2.0.0+incompatible", "v2.0.0"},
		{"v2.1.0"},
	},
	"npm": {
		{"0.0.1"},
		{"0.1.0"},
		{"1.0.0-0"},
		{"1.0.0-alpha"},
		{"1.0.0-alpha.1"},
		{"1.0.0-alpha.beta"},
		{"1.0.0-beta"},
		{"1.0.0-beta.2"},
		{"1.0.0-beta.11"},
		{"1.0.0-rc.1"},
		{"1.0.0", "v1.0.0", "=1.0.0", "1.0.0+build.1"},
		{"1.0.1"},
		{"1.2.0"},
		{"1.10.0"},
		{"2.0.0"},
	},
	"crates.io": {
		{"0.0.1"},
		{"0.1.0"},
		{"1.0.0-alpha"},
		{"1.0.0-alpha.1"},
		{"1.0.0-alpha.beta"},
		{"1.0.0-beta"},
		{"1.0.0-beta.2"},
		{"1.0.0-beta.11"},
		{"1.0.0-rc.1"},
		{"1.0.0", "1.0.0+20130313144700"},
		{"1.0.1"},
		{"1.9.0"},
		{"1.10.0"},
		{"2.0.0"},
	},
	"PyPI": {
		{"0.9"},
		{"1.0.dev0"},
		{"1.0a1.dev1"},
		{"1.0a1", "1.0alpha1", "1.0.a1", "1.0-a1"},
		{"1.0a2"},
		{"1.0b1", "1.0beta1"},
		{"1.0rc1", "1.0c1", "1.0RC1"},
		{"1.0", "1.0.0", "v1.0"},
		{"1.0+local.1"},
		{"1.0.post1.dev0"},
		{"1.0.post1", "1.0-1", "1.0post1"},
		{"1.0.1"},
		{"1.1.dev1"},
		{"1.1"},
		{"1.10"},
		{"2.0"},
		{"1!0.1"},
	},
	"RubyGems": {
		{"0.9"},
		{"1.0.a"},
		{"1.0.a.1"},
		{"1.0.b1"},
		{"1.0.pre"},
		{"1.0.rc1"},
		{"1.0", "1.0.0"},
		{"1.0.0.1"},
		{"1.0.1"},
		{"1.1"},
		{"1.10"},
		{"2.0.0.pre"},
		{"2.0.0"},
	},
	"Maven": {
		{"0.9"},
		{"1.0-alpha-1", "1.0-a1", "1.0-alpha1"},
		{"1.0-alpha-2"},
		{"1.0-beta"},
		{"1.0-beta-1", "1.0-b1", "1.0-beta1"},
		{"1.0-milestone-1", "1.0-m1"},
		{"1.0-rc1", "1.0-cr1", "1.0-RC1"},
		{"1.0-SNAPSHOT"},
		{"1.0", "1.0.0", "1", "1.0-ga", "1.0-final", "1.0-release"},
		{"1.0-sp"},
		{"1.0-xyz"},
		{"1.0.1"},
		{"1.1"},
		{"1.10"},
		{"2.0"},
	},
	"Debian": {
		{"0.9"},
		{"1.0~~"},
		{"1.0~~a"},
		{"1.0~rc1"},
		{"1.0"},
		{"1.0-1~bpo12+1"},
		{"1.0-1"},
		{"1.0-1+deb12u1"},
		{"1.0-2"},
		{"1.0a"},
		{"1.0+dfsg"},
		{"1.0.1"},
		{"2.0"},
		{"1:0.9"},
		{"1:1.0"},
		{"2:0.1"},
	},
	"NuGet": {
		{"0.9"},
		{"1.0.0-1"},
		{"1.0.0-ALPHA", "1.0.0-alpha", "1.0.0-Alpha"},
		{"1.0.0-alpha.1"},
		{"1.0.0-beta"},
		{"1.0.0-beta.2"},
		{"1.0.0-beta.11"},
		{"1.0.0-rc.1", "1.0.0-RC.1"},
		{"1.0", "1.0.0", "1.0.0.0", "1.0.0+build", "1"},
		{"1.0.0.1"},
		{"1.0.1"},
		{"1.0.1.5"},
		{"1.1"},
		{"10.0"},
	},
	"Packagist": {
		{"dev-bugfix"},
		{"dev-feature"},
		{"0.9"},
		{"1.0.0-dev"},
		{"1.0.0-alpha1", "1.0.0-a1", "1.0.0alpha1"},
		{"1.0.0-beta1", "1.0.0-b1", "v1.0.0-beta1", "1.0.0-BETA1", "1.0.0-beta.1"},
		{"1.0.0-beta2"},
		{"1.0.0-RC1", "1.0.0-rc1"},
		{"1.0.0", "1.0", "v1.0.0", "1.0.0.0", "1", "1.0.0+build", "1.0.0-stable"},
		{"1.0.0-p1", "1.0.0-patch1", "1.0.0-pl1"},
		{"1.0.1"},
		{"1.0.x-dev"},
		{"1.2"},
		{"1.x-dev"},
		{"2.0.0"},
		{"2010.01.02"},
		{"dev-master", "master", "dev-trunk"},
	},
	"WordPress": {
		{"5.9-beta2"},
		{"5.9-RC1"},
		{"5.9"},
		{"5.9.1"},
		{"5.10"},
		{"6.4"},
		{"6.4.1"},
		{"6.5-dev"},
		{"6.5-alpha", "6.5-a"},
		{"6.5-beta1"},
		{"6.5-beta2"},
		{"6.5-RC1", "6.5-rc1", "6.5RC1", "6.5.RC.1"},
		{"6.5"},
		// PHP's version_compare: a missing element is below a number,
		// so 6.5 < 6.5.0, and "pl" (patch level) is above any number.
		{"6.5.0"},
		{"6.5.1"},
		{"6.5-pl1"},
		{"6.6"},
	},
}

type pair struct {
	a, b string
	want int
}

func chainPairs(chain [][]string) []pair {
	var ps []pair
	for i, gi := range chain {
		for j, gj := range chain {
			for _, a := range gi {
				for _, b := range gj {
					if a == b {
						continue
					}
					ps = append(ps, pair{a, b, sign(i - j)})
				}
			}
		}
	}
	return ps
}

// extraPairs are spec examples written as pairs, on top of the chains.
var extraPairs = map[string][]pair{
	"PyPI": {
		{"1.0.dev0", "1.0a1", -1}, {"1.0a1", "1.0b1", -1}, {"1.0b1", "1.0rc1", -1},
		{"1.0rc1", "1.0", -1}, {"1.0", "1.0.post1", -1}, {"1.0.post1", "1.1.dev0", -1},
		{"2!1.0", "1!9.0", 1}, {"1.0+abc.5", "1.0+abc.7", -1}, {"1.0+5", "1.0+abc", 1},
	},
	"Debian": {
		{"1:1.0", "2.0", 1}, {"1.0~rc1", "1.0", -1}, {"1.0~rc1", "1.0~rc2", -1},
		{"2.30-1", "2.30-1+deb12u1", -1}, {"0:1.0", "1.0", 0},
	},
	"Maven": {
		{"1.0-alpha", "1.0-SNAPSHOT", -1}, {"1.0-SNAPSHOT", "1.0", -1}, {"1.0", "1.0-sp", -1},
		{"1.0-alpha", "1.0-beta", -1}, {"1.0-RC1", "1.0", -1},
	},
	"Go": {
		{"v1.2.3-pre", "v1.2.3", -1},
		{"v0.0.0-20190101000000-abcdef123456", "v0.0.0-20190102000000-000000000000", -1},
		{"v1.2.3", "v1.2.4-0.20190101000000-abcdef123456", -1},
	},
	"npm": {
		{"1.0.0-alpha.1", "1.0.0-alpha.beta", -1}, {"1.0.0-2", "1.0.0-10", -1}, {"1.0.0-alpha", "1.0.0", -1},
	},
	"NuGet": {{"1.0.0-Beta", "1.0.0-beta", 0}, {"1.0.0-beta.10", "1.0.0-beta.9", 1}, {"1.0.0.0", "1.0", 0}},
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

func mustParse(tb testing.TB, eco, v string) version.Version {
	tb.Helper()
	s, err := version.For(eco)
	if err != nil {
		tb.Fatal(err)
	}
	pv, err := s.Parse(v)
	if err != nil {
		tb.Fatalf("parse: %v", err)
	}
	return pv
}

func TestOrdering(t *testing.T) {
	for _, eco := range version.Ecosystems() {
		t.Run(eco, func(t *testing.T) {
			ps := append(chainPairs(chains[eco]), extraPairs[eco]...)
			if len(ps) < 25 {
				t.Fatalf("only %d pairs for %s; want at least 25", len(ps), eco)
			}
			for _, p := range ps {
				a, b := mustParse(t, eco, p.a), mustParse(t, eco, p.b)
				if got := sign(a.Compare(b)); got != p.want {
					t.Errorf("Compare(%q, %q) = %d, want %d", p.a, p.b, got, p.want)
				}
				if got, back := sign(a.Compare(b)), sign(b.Compare(a)); got != -back {
					t.Errorf("not antisymmetric: Compare(%q, %q) = %d, Compare(%q, %q) = %d", p.a, p.b, got, p.b, p.a, back)
				}
				if c, err := version.Compare(eco, p.a, p.b); err != nil || sign(c) != p.want {
					t.Errorf("version.Compare(%q, %q, %q) = %d, %v; want %d", eco, p.a, p.b, c, err, p.want)
				}
			}
			t.Logf("%s: %d ordered pairs", eco, len(ps))
		})
	}
}

// Sorting shuffled versions must give the chain's order, and a stable sort
// must keep equal versions in the order they came in.
func TestSortStability(t *testing.T) {
	for _, eco := range version.Ecosystems() {
		t.Run(eco, func(t *testing.T) {
			type item struct {
				v     version.Version
				group int
				pos   int
			}
			var items []item
			for g, vs := range chains[eco] {
				for _, v := range vs {
					items = append(items, item{v: mustParse(t, eco, v), group: g})
				}
			}
			for seed := uint64(0); seed < 20; seed++ {
				r := rand.New(rand.NewPCG(seed, 1))
				r.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
				for i := range items {
					items[i].pos = i
				}
				slices.SortStableFunc(items, func(a, b item) int { return a.v.Compare(b.v) })
				for i := 1; i < len(items); i++ {
					p, c := items[i-1], items[i]
					if p.group > c.group {
						t.Fatalf("seed %d: %s sorted before %s", seed, p.v, c.v)
					}
					if p.group == c.group && p.pos > c.pos {
						t.Fatalf("seed %d: stable sort swapped equal %s and %s", seed, p.v, c.v)
					}
				}
			}
		})
	}
}

func TestFor(t *testing.T) {
	for eco, want := range map[string]string{
		"Go": "Go", "npm": "npm", "crates.io": "crates.io", "PyPI": "PyPI", "pypi": "PyPI",
		"RubyGems": "RubyGems", "Maven": "Maven", "Packagist": "Packagist",
		"Debian": "Debian", "Debian:12": "Debian", "Debian:11": "Debian", "NuGet": "NuGet",
		"WordPress": "WordPress", "WordPress:plugin": "WordPress", "WordPress:theme": "WordPress", "WordPress:core": "WordPress",
	} {
		s, err := version.For(eco)
		if err != nil {
			t.Errorf("For(%q): %v", eco, err)
			continue
		}
		if s.Name() != want {
			t.Errorf("For(%q).Name() = %q, want %q", eco, s.Name(), want)
		}
	}
	for _, eco := range []string{"", "Hackage", "Alpine:v3.18", "GIT"} {
		if _, err := version.For(eco); !errors.Is(err, version.ErrUnknownEcosystem) {
			t.Errorf("For(%q) error = %v, want ErrUnknownEcosystem", eco, err)
		}
	}
	if _, err := version.Compare("Hackage", "1", "2"); err == nil {
		t.Error("Compare on an unknown ecosystem: no error")
	}
	if got := version.SemVer().Name(); got != "SemVer" {
		t.Errorf("SemVer().Name() = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	bad := map[string][]string{
		"Go":        {"", "1.2.3.4", "v1.2.3-", "latest"},
		"npm":       {"", "1.2", "1.2.3-", "x"},
		"crates.io": {"", "v1.2.3", "1.2", "1.2.3-01"},
		"PyPI":      {"", "1.0-foo", "not a version"},
		"Debian":    {"", "a1.0", "1:"},
		"Maven":     {""},
		"NuGet":     {"", "1.2.3.4.5", "1.0.0-", "1.0.0-01", "a.b", "1..2", "1.0.0-be$ta"},
		"Packagist": {"", "foo", "1.0.0-gamma", "1.0.0-beta1 2"},
		"WordPress": {"", "trunk", "beta"},
	}
	for eco, vs := range bad {
		s, err := version.For(eco)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			_, err := s.Parse(v)
			if err == nil {
				t.Errorf("%s.Parse(%q): no error", eco, v)
				continue
			}
			if !strings.Contains(err.Error(), "expected") || !strings.Contains(err.Error(), fmt.Sprintf("%q", v)) {
				t.Errorf("%s.Parse(%q) error %q does not say what was expected", eco, v, err)
			}
		}
	}
}

func TestSemVerScheme(t *testing.T) {
	s := version.SemVer()
	for _, p := range []pair{
		{"1.2.3", "v1.2.3", 0}, {"0.0.0-20190101000000-abcdef123456", "0.0.1", -1},
		{"2.0.0+incompatible", "2.0.0", 0}, {"1.2", "1.2.0", 0}, {"1.0.0-rc.1", "1.0.0", -1},
	} {
		a, err := s.Parse(p.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := s.Parse(p.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := sign(a.Compare(b)); got != p.want {
			t.Errorf("SemVer Compare(%q, %q) = %d, want %d", p.a, p.b, got, p.want)
		}
	}
	if _, err := s.Parse("not-a-version"); err == nil {
		t.Error("SemVer accepted not-a-version")
	}
}

func TestMixedSchemesPanic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("comparing a Go and a PyPI version did not panic")
		}
	}()
	mustParse(t, "Go", "v1.0.0").Compare(mustParse(t, "PyPI", "1.0"))
}

func TestNormalisedStrings(t *testing.T) {
	for _, c := range []struct{ eco, in, want string }{
		{"NuGet", "1.0", "1.0.0"}, {"NuGet", "1.2.3.4-Beta+meta", "1.2.3.4-Beta"}, {"NuGet", "01.2.3.0", "1.2.3"},
		{"Packagist", "v1.2-b1", "v1.2-b1"}, {"PyPI", "1.0-1", "1.0.post1"}, {"WordPress", "6.5-RC1", "6.5-RC1"},
	} {
		if got := mustParse(t, c.eco, c.in).String(); got != c.want {
			t.Errorf("%s %q String() = %q, want %q", c.eco, c.in, got, c.want)
		}
	}
}
