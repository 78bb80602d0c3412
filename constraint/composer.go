package constraint

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/upfactory/upfactory/version"
)

// A composerRange is an OR of ANDs of comparisons with Composer-normalised
// versions, as composer/semver's MultiConstraint builds it.
type composerRange [][]composerCmp

type composerCmp struct {
	op  string // ==, !=, <, <=, >, >=; "" matches every version
	ver string // a version the Packagist scheme parses: "2.0.0.0-dev"
}

var (
	composerOr        = regexp.MustCompile(`\s*\|\|?\s*`)
	composerOpOnly    = regexp.MustCompile(`^(<>|!=|>=?|<=?|==?|\^|~>?)$`)
	composerStabFlag  = regexp.MustCompile(`(?i)@(stable|RC|beta|alpha|dev)$`)
	composerAnyRe     = regexp.MustCompile(`^v?[xX*](\.[xX*])*$`)
	composerNumbers   = `v?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?`
	composerModifier  = `(?:[._-]?(?:stable|beta|b|RC|alpha|a|patch|pl|p)(?:(?:[.-]?\d+)*)?)?(?:[.-]?dev)?`
	composerTildeRe   = regexp.MustCompile(`(?i)^~>?` + composerNumbers + `(` + composerModifier + `)$`)
	composerCaretRe   = regexp.MustCompile(`(?i)^\^` + composerNumbers + `(` + composerModifier + `)$`)
	composerWildRe    = regexp.MustCompile(`^v?(\d{1,9})(?:\.(\d{1,9}))?(?:\.(\d{1,9}))?(?:\.[xX*])+$`)
	composerOpRe      = regexp.MustCompile(`^(<>|!=|>=?|<=?|==?)?\s*(.+)$`)
	composerHasModRe  = regexp.MustCompile(`(?i)-?(stable|beta|b|RC|alpha|a|patch|pl|p)(?:[.-]?\d+)*(?:[.-]?dev)?$|[.-]?dev$`)
	composerNumbersRe = regexp.MustCompile(`(?i)^` + composerNumbers + `(` + composerModifier + `)$`)
)

// parseComposer reads a Composer constraint as composer/semver 3 does.
func parseComposer(s string) (composerRange, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the constraint is empty")
	}
	if strings.Contains(s, " as ") {
		return nil, errors.New("an inline alias (\"as\") names a branch, not a range of releases")
	}
	var out composerRange
	for _, part := range composerOr.Split(s, -1) {
		if strings.TrimSpace(part) == "" {
			return nil, errors.New("an empty alternative around \"|\" or \"||\"")
		}
		and, err := parseComposerAnd(part)
		if err != nil {
			return nil, err
		}
		out = append(out, and)
	}
	return out, nil
}

func parseComposerAnd(part string) ([]composerCmp, error) {
	fields := strings.FieldsFunc(part, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
	var atoms []string
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case composerOpOnly.MatchString(f):
			if i+1 >= len(fields) {
				return nil, fmt.Errorf("operator %q has no version after it", f)
			}
			atoms = append(atoms, f+fields[i+1])
			i++
		case i+2 < len(fields) && fields[i+1] == "-":
			lo, err := composerHyphen(f, fields[i+2])
			if err != nil {
				return nil, err
			}
			atoms = append(atoms, lo...)
			i += 2
		default:
			atoms = append(atoms, f)
		}
	}
	var out []composerCmp
	for _, a := range atoms {
		if strings.HasPrefix(a, "\x00") { // already a comparison, from a hyphen range
			op, ver, _ := strings.Cut(a[1:], " ")
			out = append(out, composerCmp{op, ver})
			continue
		}
		cs, err := parseComposerAtom(a)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// composerHyphen turns "1.0 - 2.0" into >=1.0.0.0-dev <2.1.0.0-dev and
// "1.0 - 2.0.0" into >=1.0.0.0-dev <=2.0.0.0: a partial upper bound covers
// every version it names.
func composerHyphen(from, to string) ([]string, error) {
	from, to = composerStabFlag.ReplaceAllString(from, ""), composerStabFlag.ReplaceAllString(to, "")
	fm := composerNumbersRe.FindStringSubmatch(from)
	tm := composerNumbersRe.FindStringSubmatch(to)
	if fm == nil || tm == nil {
		return nil, fmt.Errorf("hyphen range %q - %q: both ends must be versions", from, to)
	}
	lo := strings.TrimPrefix(strings.TrimPrefix(from, "v"), "V")
	if fm[5] == "" {
		lo += "-dev"
	}
	out := []string{"\x00>= " + lo}
	if (tm[2] != "" && tm[3] != "") || tm[5] != "" {
		return append(out, "\x00<= "+strings.TrimPrefix(to, "v")), nil
	}
	pos := 1
	if tm[2] != "" {
		pos = 2
	}
	return append(out, "\x00< "+composerBump(tm[1:5], pos, 1)+"-dev"), nil
}

// composerBump is VersionParser::manipulateVersionString: parts after pos
// become 0, the part at pos (1-based) grows by inc.
func composerBump(parts []string, pos, inc int) string {
	out := make([]string, 4)
	for i := 0; i < 4; i++ {
		p := ""
		if i < len(parts) {
			p = parts[i]
		}
		n, _ := strconv.Atoi(p)
		switch {
		case i+1 > pos:
			n = 0
		case i+1 == pos:
			n += inc
		}
		out[i] = strconv.Itoa(n)
	}
	return strings.Join(out, ".")
}

func parseComposerAtom(a string) ([]composerCmp, error) {
	orig := a
	a = composerStabFlag.ReplaceAllString(a, "")
	if a == "" || composerAnyRe.MatchString(a) {
		return []composerCmp{{}}, nil
	}
	if strings.HasPrefix(strings.ToLower(a), "dev-") || strings.HasSuffix(strings.ToLower(a), "-dev") && !composerNumbersRe.MatchString(a) {
		return nil, fmt.Errorf("%q names a development branch, which cannot be ordered against a release", orig)
	}
	if m := composerTildeRe.FindStringSubmatch(a); m != nil {
		pos := 1
		for i := 4; i >= 2; i-- {
			if m[i] != "" {
				pos = i
				break
			}
		}
		lo := composerBump(m[1:5], pos, 0)
		if m[5] != "" {
			lo = strings.TrimPrefix(strings.TrimPrefix(a[strings.IndexAny(a, "0123456789"):], "v"), "V")
		} else {
			lo += "-dev"
		}
		hi := composerBump(m[1:5], max(1, pos-1), 1) + "-dev"
		return []composerCmp{{">=", lo}, {"<", hi}}, nil
	}
	if m := composerCaretRe.FindStringSubmatch(a); m != nil {
		var pos int
		switch {
		case m[1] != "0" || m[2] == "":
			pos = 1
		case m[2] != "0" || m[3] == "":
			pos = 2
		default:
			pos = 3
		}
		lo := strings.TrimLeft(a[1:], "vV")
		if m[5] == "" {
			lo += "-dev"
		}
		hi := composerBump(m[1:5], pos, 1) + "-dev"
		return []composerCmp{{">=", lo}, {"<", hi}}, nil
	}
	if m := composerWildRe.FindStringSubmatch(a); m != nil {
		pos := 1
		if m[3] != "" {
			pos = 3
		} else if m[2] != "" {
			pos = 2
		}
		lo := composerBump(m[1:4], pos, 0) + "-dev"
		hi := composerBump(m[1:4], pos, 1) + "-dev"
		if lo == "0.0.0.0-dev" {
			return []composerCmp{{"<", hi}}, nil
		}
		return []composerCmp{{">=", lo}, {"<", hi}}, nil
	}
	m := composerOpRe.FindStringSubmatch(a)
	if m == nil {
		return nil, fmt.Errorf("%q is not a Composer constraint", orig)
	}
	op, ver := m[1], strings.TrimSpace(m[2])
	if strings.HasPrefix(strings.ToLower(ver), "dev-") || strings.HasSuffix(strings.ToLower(ver), "-dev") && !composerNumbersRe.MatchString(ver) {
		return nil, fmt.Errorf("%q names a development branch, which cannot be ordered against a release", orig)
	}
	if _, err := packagist.Parse(ver); err != nil {
		return nil, fmt.Errorf("%q: %v", orig, err)
	}
	switch op {
	case "", "=", "==":
		op = "=="
	case "<>":
		op = "!="
	}
	if (op == "<" || op == ">=") && !composerHasModRe.MatchString(ver) {
		ver += "-dev"
	}
	return []composerCmp{{op, ver}}, nil
}

var packagist = mustScheme("Packagist")

func mustScheme(eco string) version.Scheme {
	s, err := version.For(eco)
	if err != nil {
		panic(err)
	}
	return s
}

func (r composerRange) allows(v version.Version) (bool, error) {
	for _, and := range r {
		ok := true
		for _, c := range and {
			if c.op == "" {
				continue
			}
			b, err := packagist.Parse(c.ver)
			if err != nil {
				return false, fmt.Errorf("bound %s: %v", c.ver, err)
			}
			n := v.Compare(b)
			switch c.op {
			case "==":
				ok = n == 0
			case "!=":
				ok = n != 0
			case "<":
				ok = n < 0
			case "<=":
				ok = n <= 0
			case ">":
				ok = n > 0
			case ">=":
				ok = n >= 0
			}
			if !ok {
				break
			}
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

func checkComposer(c, ver string) (Verdict, string) {
	r, err := parseComposer(c)
	if err != nil {
		return Unknown, fmt.Sprintf("Composer constraint %q does not parse: %v", c, err)
	}
	v, err := packagist.Parse(ver)
	if err != nil {
		return Unknown, fmt.Sprintf("version %q cannot be ordered as a Composer version: %v", ver, err)
	}
	ok, err := r.allows(v)
	if err != nil {
		return Unknown, fmt.Sprintf("Composer constraint %q cannot be evaluated: %v", c, err)
	}
	if ok {
		return Compatible, fmt.Sprintf("Composer constraint %q allows %s", c, ver)
	}
	return Incompatible, fmt.Sprintf("Composer constraint %q does not allow %s", c, ver)
}
