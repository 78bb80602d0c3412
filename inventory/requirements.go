package inventory

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/upfactory/upfactory"
)

var (
	// name, optional [extras], then whatever constraint follows.
	pyRequirement = regexp.MustCompile(`^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(.*)$`)
	pyPinned      = regexp.MustCompile(`^===?\s*([A-Za-z0-9][A-Za-z0-9.+!_-]*)$`)
	pyHashOption  = regexp.MustCompile(`\s--hash[=\s]\S+`)
)

// ParseRequirements reads a pip requirements file: pinned "name==version"
// (or ===) lines only, with extras (pkg[x]==1 → pkg), environment markers
// (; python_version<"3.8") and --hash options stripped. Comments and blank
// lines are skipped; lines continued with a backslash are joined. What
// cannot be matched against advisories is reported as a Problem: unpinned
// requirements, URLs and editable installs, and -r/-c includes, which are
// not followed (list the included file as its own inventory entry).
func ParseRequirements(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	c := &collector{file: name}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	recognised, unrecognised := 0, 0
	for i := 0; i < len(lines); i++ {
		n := i + 1
		l := lines[i]
		for strings.HasSuffix(l, `\`) && i+1 < len(lines) {
			i++
			l = strings.TrimSuffix(l, `\`) + " " + lines[i]
		}
		l = strings.TrimSuffix(l, `\`)
		if j := strings.Index(l, "#"); j >= 0 && (j == 0 || l[j-1] == ' ' || l[j-1] == '\t') {
			l = l[:j]
		}
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "-") {
			recognised++
			opt, arg, _ := strings.Cut(l, " ")
			switch short := !strings.HasPrefix(opt, "--"); {
			case short && (strings.HasPrefix(opt, "-r") || strings.HasPrefix(opt, "-c")) ||
				opt == "--requirement" || opt == "--constraint" ||
				strings.HasPrefix(opt, "--requirement=") || strings.HasPrefix(opt, "--constraint="):
				c.problem(n, "", "include %q not followed: list it as its own inventory entry", strings.TrimSpace(l))
			case short && strings.HasPrefix(opt, "-e") || opt == "--editable" || strings.HasPrefix(opt, "--editable="):
				c.problem(n, "", "editable install %q is not pinned: cannot match advisories", strings.TrimSpace(arg))
			}
			// Other options (--index-url, --hash on its own line…) do not name packages.
			continue
		}
		l = pyHashOption.ReplaceAllString(" "+l, "")
		l = strings.TrimSpace(l)
		if j := strings.Index(l, ";"); j >= 0 {
			l = strings.TrimSpace(l[:j])
		}
		m := pyRequirement.FindStringSubmatch(l)
		if m == nil || strings.Contains(l, "://") && !strings.Contains(m[2], "@") {
			unrecognised++
			c.problem(n, "", "not a requirement: %q", truncate(l))
			continue
		}
		recognised++
		pin := pyPinned.FindStringSubmatch(strings.TrimSpace(m[2]))
		if pin == nil || strings.Contains(pin[1], "*") {
			c.problem(n, "", "%s not pinned: cannot match advisories", m[1])
			continue
		}
		c.add(upfactory.Component{
			Name: m[1], Ecosystem: "PyPI", Version: pin[1],
			PURL: purlFor("PyPI", m[1], pin[1]), Direct: true,
		}, n, "")
	}
	if recognised == 0 && unrecognised > 0 {
		return nil, nil, fmt.Errorf("reading %s: not a pip requirements file: no line is a requirement or an option", name)
	}
	return c.result()
}

func truncate(s string) string {
	const max = 60
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
