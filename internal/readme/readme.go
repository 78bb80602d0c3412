// Package readme reads the examples of the project's README, so that the
// tests and benchmarks that run them cannot drift from what users read.
package readme

import (
	"errors"
	"strings"
)

// YAMLExample is the first ```yaml block after the "## section" heading
// of the README text.
func YAMLExample(text, section string) (string, error) {
	_, rest, ok := strings.Cut(text, "\n## "+section+"\n")
	if !ok {
		return "", errors.New("no " + section + " section in the README")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		return "", errors.New("no yaml block in the README's " + section + " section")
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		return "", errors.New("the yaml block of the README's " + section + " section does not end")
	}
	return block, nil
}
