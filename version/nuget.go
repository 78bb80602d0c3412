package version

import (
	"strconv"
	"strings"
)

// nugetScheme orders NuGet package versions as NuGet.Versioning does:
// SemVer 2.0.0 extended with a fourth "revision" part (1.2.3.4, legacy
// System.Version style), missing parts counting as 0 (1.0 == 1.0.0.0),
// prerelease labels compared case-insensitively (numeric labels
// numerically, before alphanumeric ones), build metadata ignored. It is
// written here because no Go library implements NuGet's rules.
type nugetScheme struct{}

type nugetVersion struct {
	parts [4]int64
	pre   []string
	orig  string
}

func (nugetScheme) Name() string { return "NuGet" }

func (nugetScheme) Parse(v string) (Version, error) {
	nv, ok := parseNuGet(v)
	if !ok {
		return nil, parseError("NuGet", v, "a NuGet version such as 1.2.3, 1.2.3.4, 1.0.0-beta.2 or 1.0.0-rc1+build", nil)
	}
	return nv, nil
}

func parseNuGet(v string) (nugetVersion, bool) {
	s := strings.TrimSpace(v)
	out := nugetVersion{orig: v}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		if !validLabels(s[i+1:], false) {
			return out, false
		}
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		pre := s[i+1:]
		if !validLabels(pre, true) {
			return out, false
		}
		out.pre = strings.Split(pre, ".")
		s = s[:i]
	}
	nums := strings.Split(s, ".")
	if len(nums) < 1 || len(nums) > 4 {
		return out, false
	}
	for i, n := range nums {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return out, false
		}
		x, err := strconv.ParseInt(n, 10, 32)
		if err != nil {
			return out, false
		}
		out.parts[i] = x
	}
	return out, true
}

// validLabels reports whether s is dot-separated non-empty [0-9A-Za-z-]
// labels; SemVer forbids leading zeros in numeric prerelease labels.
func validLabels(s string, prerelease bool) bool {
	if s == "" {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
		if prerelease && len(l) > 1 && l[0] == '0' && isNumeric(l) {
			return false
		}
	}
	return true
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (v nugetVersion) Compare(o Version) int {
	w, ok := o.(nugetVersion)
	if !ok {
		mismatch("NuGet", o)
	}
	for i := range v.parts {
		if v.parts[i] != w.parts[i] {
			if v.parts[i] < w.parts[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(v.pre) == 0 && len(w.pre) == 0:
		return 0
	case len(v.pre) == 0:
		return 1
	case len(w.pre) == 0:
		return -1
	}
	for i := 0; i < len(v.pre) && i < len(w.pre); i++ {
		if c := compareLabel(v.pre[i], w.pre[i]); c != 0 {
			return c
		}
	}
	return sign(len(v.pre) - len(w.pre))
}

func compareLabel(a, b string) int {
	na, nb := isNumeric(a), isNumeric(b)
	switch {
	case na && nb:
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return sign(len(a) - len(b))
		}
		return strings.Compare(a, b)
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// String is NuGet's normalised form: three parts, a fourth only when it is
// not zero, the prerelease as given, no build metadata.
func (v nugetVersion) String() string {
	var b strings.Builder
	n := 3
	if v.parts[3] != 0 {
		n = 4
	}
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(v.parts[i], 10))
	}
	if len(v.pre) > 0 {
		b.WriteByte('-')
		b.WriteString(strings.Join(v.pre, "."))
	}
	return b.String()
}
