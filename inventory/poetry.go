package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/upfactory/upfactory"
)

// ParsePoetryLock reads a Poetry poetry.lock (TOML): every [[package]]
// with its name and version. Packages of category "dev" (lock files of
// Poetry before 1.5, which still record it) are marked " (dev)" after
// their Source. The lock does not say what is direct.
func ParsePoetryLock(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	var lock struct {
		Package  []map[string]any `toml:"package"`
		Metadata map[string]any   `toml:"metadata"`
	}
	if err := toml.Unmarshal(data, &lock); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return nil, nil, fmt.Errorf("reading %s: not a poetry.lock: %d:%d: %w", name, row, col, err)
		}
		return nil, nil, fmt.Errorf("reading %s: not a poetry.lock: %w", name, err)
	}
	if lock.Package == nil && lock.Metadata == nil {
		return nil, nil, fmt.Errorf("reading %s: not a poetry.lock: no [[package]] or [metadata] table", name)
	}
	lines := packageLines(data)
	if len(lines) != len(lock.Package) {
		// A "[[package]]" inside a multi-line string: lines cannot be trusted.
		lines = nil
	}
	c := &collector{file: name}
	for i, p := range lock.Package {
		line := 0
		if i < len(lines) {
			line = lines[i]
		}
		pkgName, _ := p["name"].(string)
		version, _ := p["version"].(string)
		if _, ok := p["name"]; ok && pkgName == "" {
			c.problem(line, pointer("package", i), "name is not a string")
			continue
		}
		if _, ok := p["version"]; ok && version == "" {
			c.problem(line, pointer("package", i), "%s: version is not a string", pkgName)
			continue
		}
		n := len(c.comps)
		c.add(upfactory.Component{
			Name: pkgName, Ecosystem: "PyPI", Version: version,
			PURL: purlFor("PyPI", pkgName, version),
		}, line, pointer("package", i))
		if cat, _ := p["category"].(string); cat == "dev" && len(c.comps) > n {
			c.comps[n].Source += devMark
		}
	}
	return c.result()
}

// packageLines returns the line of each [[package]] header, in order, so
// that components and problems can name a line.
func packageLines(data []byte) []int {
	var lines []int
	for i, l := range bytes.Split(data, []byte("\n")) {
		if strings.TrimSpace(string(l)) == "[[package]]" {
			lines = append(lines, i+1)
		}
	}
	return lines
}
