package inventory

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/upfactory/upfactory"
)

var (
	// A spec line: four spaces, name, version (with an optional platform) in parentheses.
	gemSpec = regexp.MustCompile(`^    ([A-Za-z0-9][A-Za-z0-9._-]*) \(([^()\s,]+)\)$`)
	// A dependency line of DEPENDENCIES: "  rails (~> 7.0)", "  mygem!".
	gemDependency = regexp.MustCompile(`^  ([A-Za-z0-9][A-Za-z0-9._-]*)(!)?(?: \(.*\))?$`)
	// Platforms Bundler appends to a version: 1.13.10-x86_64-linux.
	gemPlatform = regexp.MustCompile(`^(.+?)-((?:x86|x64|i[3-6]86|arm|aarch64|universal|java|jruby|mswin|mingw|darwin|linux|powerpc|ppc|sparc|s390|wasm|mips|riscv).*)$`)
)

// ParseGemfileLock reads a Bundler Gemfile.lock: the specs of the GEM
// sections (gems from rubygems.org or another gem server), Direct when
// DEPENDENCIES lists them, with any platform suffix (-x86_64-linux) taken
// off the version and per-platform duplicates kept once. Gems from GIT and
// PATH sections are not releases of the gem server and are reported.
//
// The parser is hand-written: no Go library reads Gemfile.lock. It follows
// Bundler's LockfileParser: section headers at column 0, "  remote:" and
// "  specs:" at two spaces, specs at four, their dependencies at six.
func ParseGemfileLock(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	c := &collector{file: name}
	type spec struct {
		name, version string
		line          int
	}
	var specs []spec
	direct := map[string]bool{}
	section, remote := "", ""
	known := false
	lines := strings.Split(string(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), "\n")
	for i, l := range lines {
		n := i + 1
		if l == "" {
			continue
		}
		if l[0] != ' ' {
			section, remote = strings.TrimSpace(l), ""
			switch section {
			case "GEM", "GIT", "PATH", "PLUGIN SOURCE", "PLATFORMS", "DEPENDENCIES",
				"RUBY VERSION", "BUNDLED WITH", "CHECKSUMS":
				known = true
			}
			continue
		}
		switch section {
		case "GEM", "GIT", "PATH":
			if r, ok := strings.CutPrefix(l, "  remote: "); ok {
				remote = r
				continue
			}
			if strings.HasPrefix(l, "      ") || !strings.HasPrefix(l, "    ") {
				// A spec's own dependencies, or a source option (revision:, ref:, specs:).
				continue
			}
			m := gemSpec.FindStringSubmatch(l)
			if m == nil {
				c.problem(n, "", "malformed spec line %q", strings.TrimSpace(l))
				continue
			}
			if section != "GEM" {
				c.problem(n, "", "%s %s comes from %s source %s, not a gem server: cannot match advisories", m[1], m[2], section, remote)
				continue
			}
			v := m[2]
			if p := gemPlatform.FindStringSubmatch(v); p != nil {
				v = p[1]
			}
			specs = append(specs, spec{m[1], v, n})
		case "DEPENDENCIES":
			if m := gemDependency.FindStringSubmatch(l); m != nil {
				direct[m[1]] = true
			} else {
				c.problem(n, "", "malformed dependency line %q", strings.TrimSpace(l))
			}
		}
	}
	if !known {
		return nil, nil, fmt.Errorf("reading %s: not a Gemfile.lock: no GEM, PATH, GIT or DEPENDENCIES section", name)
	}
	seen := map[string]bool{}
	for _, s := range specs {
		key := s.name + "@" + s.version
		if seen[key] {
			continue
		}
		seen[key] = true
		c.add(upfactory.Component{
			Name: s.name, Ecosystem: "RubyGems", Version: s.version,
			PURL: purlFor("RubyGems", s.name, s.version), Direct: direct[s.name],
		}, s.line, "")
	}
	return c.result()
}
