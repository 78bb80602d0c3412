package version_test

import (
	"testing"

	"github.com/upfactory/upfactory/version"
)

// fuzzScheme checks a hand-written scheme: no panic, Compare reflexive and
// antisymmetric, and Parse(String()) giving an equal version.
func fuzzScheme(f *testing.F, eco string, seeds []string) {
	s, err := version.For(eco)
	if err != nil {
		f.Fatal(err)
	}
	for i, a := range seeds {
		f.Add(a, seeds[(i+1)%len(seeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		va, errA := s.Parse(a)
		vb, errB := s.Parse(b)
		if errA == nil {
			if c := va.Compare(va); c != 0 {
				t.Fatalf("Compare(%q, itself) = %d", a, c)
			}
			back, err := s.Parse(va.String())
			if err != nil {
				t.Fatalf("Parse(%q) gave String %q, which does not parse: %v", a, va.String(), err)
			}
			if c := back.Compare(va); c != 0 {
				t.Fatalf("Parse(%q).String() = %q compares %d to the original", a, va.String(), c)
			}
		}
		if errA != nil || errB != nil {
			return
		}
		if ab, ba := va.Compare(vb), vb.Compare(va); ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("Compare(%q, %q) = %d but Compare(%q, %q) = %d", a, b, ab, b, a, ba)
		}
	})
}

func FuzzWordPress(f *testing.F) {
	fuzzScheme(f, "WordPress", []string{"6.4", "6.4.1", "6.5-RC1", "5.9-beta2", "6.5.0", "6.5-pl1", "1.", "1..2", "1#a", "6.5-dev"})
}

func FuzzPackagist(f *testing.F) {
	fuzzScheme(f, "Packagist", []string{"1.2.3", "v1.2.3", "1.2.3-beta1", "1.2.3-RC", "1.2.3-p1", "dev-master", "2.x-dev", "dev-feature", "2010-01-02.5", "1.0.0+build"})
}

func FuzzNuGet(f *testing.F) {
	fuzzScheme(f, "NuGet", []string{"1.2.3", "1.2.3.4", "1.0.0-Beta.2", "1.0.0-rc1+build", "1.0", "01.0", "1.0.0-alpha.10"})
}
