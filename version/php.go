package version

import (
	"math"
	"regexp"
	"strings"
)

// phpCanonicalize is php_canonicalize_version from PHP's
// ext/standard/versioning.c: '-', '_' and '+' become '.', a '.' goes between
// a digit and a non-digit, other non-alphanumerics become '.'; runs of '.'
// collapse. The first byte is copied as is, as in PHP.
func phpCanonicalize(v string) string {
	if v == "" {
		return ""
	}
	isDig := func(c byte) bool { return c >= '0' && c <= '9' }
	isNdig := func(c byte) bool { return !isDig(c) && c != '.' }
	isAlnum := func(c byte) bool {
		return isDig(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	}
	buf := make([]byte, 0, 2*len(v))
	buf = append(buf, v[0])
	lp := v[0]
	for i := 1; i < len(v); i++ {
		c := v[i]
		last := buf[len(buf)-1]
		switch {
		case c == '-' || c == '_' || c == '+':
			if last != '.' {
				buf = append(buf, '.')
			}
		case (isNdig(lp) && isDig(c)) || (isDig(lp) && isNdig(c)):
			if last != '.' {
				buf = append(buf, '.')
			}
			buf = append(buf, c)
		case !isAlnum(c):
			if last != '.' {
				buf = append(buf, '.')
			}
		default:
			buf = append(buf, c)
		}
		lp = c
	}
	return string(buf)
}

// phpSpecialForms is PHP's table, searched in order with a prefix match:
// "abc" counts as "a" (alpha), "patch" as "p", anything unknown as -1.
var phpSpecialForms = []struct {
	name  string
	order int
}{
	{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2},
	{"RC", 3}, {"rc", 3}, {"#", 4}, {"pl", 5}, {"p", 5},
}

func phpSpecialOrder(form string) int {
	for _, f := range phpSpecialForms {
		if strings.HasPrefix(form, f.name) {
			return f.order
		}
	}
	return -1
}

// phpAtol is strtol on a run of digits, saturating as C's long does.
func phpAtol(s string) int64 {
	var n int64
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			return math.MaxInt64
		}
		n = n*10 + d
	}
	return n
}

func isDigitAt(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

// phpVersionCompare is PHP's version_compare($a, $b) without an operator,
// transcribed from php_version_compare: element by element, numbers
// numerically, names by the special-form table, a number above any name
// but "pl"/"p"; when one side runs out, its missing element counts as a
// number ("#N#").
func phpVersionCompare(a, b string) int {
	if a == "" || b == "" {
		switch {
		case a == "" && b == "":
			return 0
		case a != "":
			return 1
		}
		return -1
	}
	if a[0] != '#' {
		a = phpCanonicalize(a)
	}
	if b[0] != '#' {
		b = phpCanonicalize(b)
	}
	p1, p2 := a, b
	more1, more2 := true, true // n1, n2 != NULL
	compare := 0
	for p1 != "" && p2 != "" && more1 && more2 {
		var e1, e2 string
		e1, rest1, ok1 := strings.Cut(p1, ".")
		e2, rest2, ok2 := strings.Cut(p2, ".")
		more1, more2 = ok1, ok2
		d1, d2 := isDigitAt(e1), isDigitAt(e2)
		switch {
		case d1 && d2:
			l1, l2 := phpAtol(e1), phpAtol(e2)
			switch {
			case l1 < l2:
				compare = -1
			case l1 > l2:
				compare = 1
			default:
				compare = 0
			}
		case !d1 && !d2:
			compare = sign(phpSpecialOrder(e1) - phpSpecialOrder(e2))
		case d1:
			compare = sign(phpSpecialOrder("#N#") - phpSpecialOrder(e2))
		default:
			compare = sign(phpSpecialOrder(e1) - phpSpecialOrder("#N#"))
		}
		if compare != 0 {
			break
		}
		if ok1 {
			p1 = rest1
		}
		if ok2 {
			p2 = rest2
		}
	}
	if compare == 0 {
		if more1 {
			if isDigitAt(p1) {
				compare = 1
			} else {
				compare = phpVersionCompare(p1, "#N#")
			}
		} else if more2 {
			if isDigitAt(p2) {
				compare = -1
			} else {
				compare = phpVersionCompare("#N#", p2)
			}
		}
	}
	return compare
}

// wordpressScheme orders WordPress core, plugin and theme versions the way
// WordPress does, with PHP's version_compare: 6.4 < 6.4.1, 6.5-beta2 <
// 6.5-RC1 < 6.5. It is written here because PHP's algorithm, with its
// prefix-matched special forms, has no Go implementation to reuse.
type wordpressScheme struct{}

type phpVersion struct {
	scheme string
	v      string // what version_compare sees
	orig   string
}

func (wordpressScheme) Name() string { return "WordPress" }

func (wordpressScheme) Parse(v string) (Version, error) {
	s := strings.TrimSpace(v)
	if s == "" || !isDigitAt(strings.TrimLeft(s, "vV")) {
		return nil, parseError("WordPress", v, "a version starting with a digit, such as 6.4, 6.4.1 or 6.5-RC1", nil)
	}
	// PHP compares "1." below itself (the trailing empty element is
	// compared with "#N#"); trailing separators carry no meaning, so they
	// go, which keeps the order reflexive.
	s = strings.TrimRightFunc(strings.TrimLeft(s, "vV"), func(r rune) bool {
		return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	})
	return phpVersion{scheme: "WordPress", v: s, orig: v}, nil
}

func (v phpVersion) Compare(o Version) int {
	w, ok := o.(phpVersion)
	if !ok || w.scheme != v.scheme {
		mismatch(v.scheme, o)
	}
	return phpVersionCompare(v.v, w.v)
}

func (v phpVersion) String() string { return v.orig }

// packagistScheme orders Composer packages as composer/semver does: the
// version is normalised by VersionParser::normalize (1.2 → 1.2.0.0,
// v1.2.3-beta1 → 1.2.3.0-beta1, -p1 → -patch1, -RC → -RC, dev-master →
// 9999999-dev, 2.x-dev → 2.9999999.9999999.9999999-dev) and the normalised
// forms compared with PHP's version_compare. It is written here because no
// Go port of composer/semver is maintained. Composer refuses to order named
// branches (dev-feature); to give a total order they sort before every
// numbered version and among themselves by name.
type packagistScheme struct{}

type packagistVersion struct {
	norm   string
	branch bool
	orig   string
}

const composerModifier = `[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*)?)?([.-]?dev)?`

var (
	composerClassical = regexp.MustCompile(`(?i)^v?(\d{1,5})(\.\d+)?(\.\d+)?(\.\d+)?` + composerModifier + `$`)
	composerDate      = regexp.MustCompile(`(?i)^v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})` + composerModifier + `$`)
	composerMaster    = regexp.MustCompile(`(?i)^(?:dev-)?(?:master|trunk|default)$`)
	composerBuild     = regexp.MustCompile(`^([^,\s+]+)\+[^\s]+$`)
	composerStability = regexp.MustCompile(`(?i)@(?:stable|RC|beta|alpha|dev)$`)
	composerDevSuffix = regexp.MustCompile(`(?i)^(.*?)[.-]?dev$`)
	composerBranch    = regexp.MustCompile(`(?i)^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$`)
	nonDigit          = regexp.MustCompile(`\D`)
)

func (packagistScheme) Name() string { return "Packagist" }

func (packagistScheme) Parse(v string) (Version, error) {
	norm, branch, ok := composerNormalize(v)
	if !ok {
		return nil, parseError("Packagist", v, "a Composer version such as 1.2.3, v1.2.3, 1.2.3-beta1, 1.2.3-RC2, 1.2.3-p1, 2.x-dev or dev-master", nil)
	}
	return packagistVersion{norm: norm, branch: branch, orig: v}, nil
}

// composerNormalize is VersionParser::normalize of composer/semver 3.
func composerNormalize(v string) (norm string, branch, ok bool) {
	s := strings.TrimSpace(v)
	if i := strings.Index(s, " as "); i >= 0 { // inline alias "1.0 as 2.0"
		s = s[:i]
	}
	s = composerStability.ReplaceAllString(s, "")
	if m := composerBuild.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	if composerMaster.MatchString(s) {
		return "9999999-dev", false, true
	}
	if len(s) > 4 && strings.EqualFold(s[:4], "dev-") {
		return "dev-" + s[4:], true, true
	}
	var m []string
	var index int
	if m = composerClassical.FindStringSubmatch(s); m != nil {
		norm = m[1]
		for _, p := range m[2:5] {
			if p == "" {
				p = ".0"
			}
			norm += p
		}
		index = 5
	} else if m = composerDate.FindStringSubmatch(s); m != nil {
		norm = nonDigit.ReplaceAllString(m[1], ".")
		index = 2
	}
	if m != nil {
		if m[index] != "" {
			if strings.ToLower(m[index]) == "stable" {
				return norm, false, true
			}
			norm += "-" + composerExpandStability(m[index]) + strings.TrimLeft(m[index+1], ".-")
		}
		if m[index+2] != "" {
			norm += "-dev"
		}
		return norm, false, true
	}
	if dm := composerDevSuffix.FindStringSubmatch(s); dm != nil {
		if bm := composerBranch.FindStringSubmatch(dm[1]); bm != nil {
			norm = ""
			for i := 1; i < 5; i++ {
				p := bm[i]
				if p == "" {
					p = ".x"
				}
				norm += strings.NewReplacer("*", "x", "X", "x").Replace(p)
			}
			return strings.ReplaceAll(norm, "x", "9999999") + "-dev", false, true
		}
	}
	return "", false, false
}

func composerExpandStability(s string) string {
	switch s = strings.ToLower(s); s {
	case "a":
		return "alpha"
	case "b":
		return "beta"
	case "p", "pl":
		return "patch"
	case "rc":
		return "RC"
	}
	return s
}

func (v packagistVersion) Compare(o Version) int {
	w, ok := o.(packagistVersion)
	if !ok {
		mismatch("Packagist", o)
	}
	switch {
	case v.branch && w.branch:
		return strings.Compare(v.norm, w.norm)
	case v.branch:
		return -1
	case w.branch:
		return 1
	}
	return phpVersionCompare(v.norm, w.norm)
}

// String is the version as given: Composer's normalisation is not a fixed
// point for date versions (2010-01 → 2010.01, which re-normalises to
// 2010.01.0.0 and compares above it), so the normalised form is only used
// for comparing.
func (v packagistVersion) String() string { return v.orig }
