package constraint

import (
	"fmt"
	"regexp"
	"strings"

	gem "github.com/aquasecurity/go-gem-version"
)

// gemRequirement is one RubyGems requirement, as Gem::Requirement::PATTERN
// reads it. go-gem-version is more lenient than RubyGems (it takes "||" and
// several requirements in one string), so each requirement is validated
// here first and the requirements of a declaration are ANDed one by one.
var gemRequirement = regexp.MustCompile(`^\s*(=|!=|>|<|>=|<=|~>)?\s*[0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?\s*$`)

func checkGem(c, ver string) (Verdict, string) {
	if strings.TrimSpace(c) == "" {
		return Unknown, "RubyGems requirement is empty"
	}
	var all []gem.Constraints
	for _, req := range strings.Split(c, ",") {
		if !gemRequirement.MatchString(req) {
			return Unknown, fmt.Sprintf("RubyGems requirement %q does not parse: %q is not an operator (=, !=, >, <, >=, <=, ~>) and a version", c, strings.TrimSpace(req))
		}
		cs, err := gem.NewConstraints(strings.TrimSpace(req))
		if err != nil {
			return Unknown, fmt.Sprintf("RubyGems requirement %q does not parse: %v", c, err)
		}
		all = append(all, cs)
	}
	v, err := gem.NewVersion(strings.TrimSpace(ver))
	if err != nil {
		return Unknown, fmt.Sprintf("version %q cannot be ordered as a RubyGems version: %v", ver, err)
	}
	for i, cs := range all {
		ok, err := gemCheck(cs, v)
		if err != nil {
			return Unknown, fmt.Sprintf("RubyGems requirement %q cannot be evaluated: %v", c, err)
		}
		if !ok {
			return Incompatible, fmt.Sprintf("RubyGems requirement %q does not allow %s (fails %q)", c, ver, strings.TrimSpace(strings.Split(c, ",")[i]))
		}
	}
	return Compatible, fmt.Sprintf("RubyGems requirement %q allows %s", c, ver)
}

// gemCheck is cs.Check(v), with a panic of the library (it panics on a
// "~>" whose version segments overflow an int64) turned into an error:
// one odd declaration must not stop a compatibility run.
func gemCheck(cs gem.Constraints, v gem.Version) (ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-gem-version failed on it: %v", r)
		}
	}()
	return cs.Check(v), nil
}
