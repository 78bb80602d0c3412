package inventory

import (
	"encoding/json"
	"fmt"

	"github.com/upfactory/upfactory"
)

type wpItem struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Update  string `json:"update"`
	Version string `json:"version"`
}

// ParseWPPlugins reads the output of `wp plugin list --format=json`:
// every installed plugin, active or not (an inactive plugin's files are
// still served), as ecosystem WordPress:plugin.
func ParseWPPlugins(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	return parseWP(name, data, "WordPress:plugin", "wp plugin list --format=json")
}

// ParseWPThemes reads the output of `wp theme list --format=json`, as
// ecosystem WordPress:theme.
func ParseWPThemes(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	return parseWP(name, data, "WordPress:theme", "wp theme list --format=json")
}

func parseWP(name string, data []byte, ecosystem, command string) ([]upfactory.Component, []Problem, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, nil, fmt.Errorf("reading %s: not the output of %s (a JSON array): %w", name, command, err)
	}
	c := &collector{file: name}
	for i, raw := range items {
		path := pointer(i)
		var it wpItem
		if err := json.Unmarshal(raw, &it); err != nil {
			c.problem(0, path, "malformed entry: %v", err)
			continue
		}
		c.add(upfactory.Component{Name: it.Name, Ecosystem: ecosystem, Version: it.Version, Direct: true}, 0, path)
	}
	return c.result()
}
