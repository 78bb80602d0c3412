package constraint

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	npm "github.com/aquasecurity/go-npm-version/pkg"
)

// go-npm-version v0.0.2 differs from node-semver in ways handled here:
//   - it has no hyphen ranges ("1.2.3 - 2.3.4"): they are rewritten to
//     ">=1.2.3 <=2.3.4" (a partial upper end covers what it names: "- 2.3"
//     is "<2.4.0");
//   - it has no "~>" (node-semver reads it as "~"): rewritten;
//   - a dist-tag ("latest"), URL, path, git, alias ("npm:") or workspace
//     specifier is not a range: unknown, with that said;
//   - an empty alternative ("^1.0 ||") is unknown: node-semver reads it as
//     "any version", which would make a typo count as compatible.
//
// Left as the library does it, and deliberately so: a prerelease version
// satisfies a comparator only when that comparator itself has a
// prerelease; node-semver accepts it when any comparator of the same set
// has a prerelease on the same major.minor.patch. So ">=1.0.0-beta <2.0.0"
// refuses 1.0.0-rc.1 here while npm accepts it. The difference errs towards
// incompatible and only touches prerelease candidates, which upfactory does
// not propose to components on a release. The library also accepts commas
// between comparators, which npm does not.
var (
	npmHyphen      = regexp.MustCompile(`^\s*(\S+)\s+-\s+(\S+)\s*$`)
	npmPartial     = regexp.MustCompile(`^[=v]*(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	npmNotARange   = regexp.MustCompile(`^(?i)(npm:|workspace:|file:|link:|portal:|patch:|git(\+[a-z]+)?:|github:|gitlab:|bitbucket:|gist:|https?:|[a-z0-9_.-]*/|\.{0,2}/|~/)`)
	npmTag         = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*$`)
	npmVersionLike = regexp.MustCompile(`^[vV]\d`)
)

// npmRewrite turns what node-semver accepts and go-npm-version does not
// into what both read the same way.
func npmRewrite(c string) (string, error) {
	s := strings.TrimSpace(c)
	if npmNotARange.MatchString(s) {
		return "", fmt.Errorf("%q is a URL, path, git, alias or workspace specifier, not a version range", c)
	}
	if npmTag.MatchString(s) && !strings.EqualFold(s, "x") && !npmVersionLike.MatchString(s) {
		return "", fmt.Errorf("%q is a dist-tag, which names whatever version is published under it", c)
	}
	parts := strings.Split(s, "||")
	for i, p := range parts {
		if strings.Contains(p, "|") || len(parts) > 1 && strings.TrimSpace(p) == "" {
			return "", fmt.Errorf("an empty alternative or a stray \"|\" in %q", c)
		}
		p = strings.ReplaceAll(p, "~>", "~")
		if m := npmHyphen.FindStringSubmatch(p); m != nil {
			from, to := npmPartial.FindStringSubmatch(m[1]), npmPartial.FindStringSubmatch(m[2])
			if from == nil || to == nil {
				return "", fmt.Errorf("hyphen range %q: both ends must be versions", strings.TrimSpace(p))
			}
			lo := ">=" + npmPad(from)
			var hi string
			switch {
			case isNum(to[1]) && isNum(to[2]) && isNum(to[3]):
				hi = "<=" + strings.TrimLeft(m[2], "=v")
			case isNum(to[1]) && isNum(to[2]):
				n, _ := strconv.Atoi(to[2])
				hi = fmt.Sprintf("<%s.%d.0", to[1], n+1)
			case isNum(to[1]):
				n, _ := strconv.Atoi(to[1])
				hi = fmt.Sprintf("<%d.0.0", n+1)
			default: // "1.2.3 - *": no upper end
			}
			p = strings.TrimSpace(lo + " " + hi)
		}
		parts[i] = p
	}
	return strings.Join(parts, "||"), nil
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.Atoi(s)
	return err == nil
}

// npmPad writes the lower end of a hyphen range: missing or wildcard parts are 0.
func npmPad(m []string) string {
	p := []string{m[1], m[2], m[3]}
	for i := range p {
		if !isNum(p[i]) {
			p[i] = "0"
		}
	}
	return strings.Join(p, ".") + m[4]
}

func checkNPM(c, ver string) (Verdict, string) {
	rw, err := npmRewrite(c)
	if err != nil {
		return Unknown, fmt.Sprintf("npm range %q cannot be checked: %v", c, err)
	}
	cs, err := npm.NewConstraints(rw)
	if err != nil {
		return Unknown, fmt.Sprintf("npm range %q does not parse: %v", c, err)
	}
	v, err := npm.NewVersion(strings.TrimLeft(strings.TrimSpace(ver), "=v"))
	if err != nil {
		return Unknown, fmt.Sprintf("version %q cannot be ordered as an npm version: %v", ver, err)
	}
	if cs.Check(v) {
		return Compatible, fmt.Sprintf("npm range %q allows %s", c, ver)
	}
	return Incompatible, fmt.Sprintf("npm range %q does not allow %s", c, ver)
}
