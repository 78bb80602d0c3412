// Package flagd keeps a service's feature flags in a flagd
// flag-definition file (https://flagd.dev/reference/flag-definitions/),
// which flagd, or an OpenFeature SDK's flagd provider in file mode, reads.
// A flag at p percent is a boolean flag whose "on" variant goes to p% of
// users, bucketed by their targeting key with flagd's fractional
// operation; 0 and 100 need no targeting. The file is rewritten
// atomically (a temporary file renamed over it), so a reader never sees
// half of it, and flags the file holds that upfactory does not set are
// kept as they are.
package flagd

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/google/renameio/v2"
)

// Schema is the flag-definition schema the file names.
const Schema = "https://flagd.dev/schema/v0/flags.json"

// Flag is the definition of one flag at percent.
func Flag(percent int) map[string]any {
	percent = min(max(percent, 0), 100)
	f := map[string]any{"state": "ENABLED", "variants": map[string]any{"on": true, "off": false}, "defaultVariant": "off"}
	switch percent {
	case 0:
	case 100:
		f["defaultVariant"] = "on"
	default:
		f["targeting"] = map[string]any{"fractional": []any{[]any{"on", percent}, []any{"off", 100 - percent}}}
	}
	return f
}

// Merge returns the flag file existing (empty: none yet) with flags set
// to their percents. An existing file that is not a flag-definition
// document is an error naming what is wrong: it is not overwritten.
func Merge(existing []byte, flags map[string]int) ([]byte, error) {
	doc := map[string]any{}
	if len(existing) > 0 {
		if err := json.Unmarshal(existing, &doc); err != nil {
			return nil, fmt.Errorf("the flag file is not JSON: %w", err)
		}
		if doc == nil {
			doc = map[string]any{}
		}
	}
	defs, ok := doc["flags"].(map[string]any)
	if !ok {
		if _, present := doc["flags"]; present {
			return nil, fmt.Errorf(`the flag file's "flags" is not an object`)
		}
		defs = map[string]any{}
	}
	names := make([]string, 0, len(flags))
	for name := range flags {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		defs[name] = Flag(flags[name])
	}
	doc["flags"] = defs
	if _, ok := doc["$schema"]; !ok {
		doc["$schema"] = Schema
	}
	return json.MarshalIndent(doc, "", "  ")
}

// Write sets flags in the file at path, atomically.
func Write(path string, flags map[string]int) error {
	existing, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("reading the flag file %s: %w", path, err)
	}
	body, err := Merge(existing, flags)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := renameio.WriteFile(path, append(body, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the flag file %s: %w", path, err)
	}
	return nil
}
