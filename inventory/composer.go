package inventory

import (
	"encoding/json"
	"fmt"

	"github.com/upfactory/upfactory"
)

type composerLock struct {
	Packages    []json.RawMessage `json:"packages"`
	PackagesDev []json.RawMessage `json:"packages-dev"`
}

type composerPackage struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// ParseComposerLock reads a Composer composer.lock: packages, and
// packages-dev marked " (dev)" after their Source. Versions are kept as
// given ("v5.4.2"); normalising them for Packagist advisories is the
// version comparison's job. composer.lock does not say what is direct.
func ParseComposerLock(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	var lock composerLock
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil {
		return nil, nil, fmt.Errorf("reading %s: not a composer.lock: %w", name, err)
	}
	_, hasPackages := keys["packages"]
	_, hasHash := keys["content-hash"]
	_, hasOldHash := keys["hash"] // Composer before 1.0
	if !hasPackages || !hasHash && !hasOldHash {
		return nil, nil, fmt.Errorf("reading %s: not a composer.lock: no packages list and content-hash", name)
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, nil, fmt.Errorf("reading %s: not a composer.lock: %w", name, err)
	}
	c := &collector{file: name}
	for _, list := range []struct {
		key  string
		pkgs []json.RawMessage
	}{{"packages", lock.Packages}, {"packages-dev", lock.PackagesDev}} {
		for i, raw := range list.pkgs {
			path := pointer(list.key, i)
			var p composerPackage
			if err := json.Unmarshal(raw, &p); err != nil {
				c.problem(0, path, "malformed package: %v", err)
				continue
			}
			n := len(c.comps)
			c.add(upfactory.Component{
				Name: p.Name, Ecosystem: "Packagist", Version: p.Version,
				PURL: purlFor("Packagist", p.Name, p.Version),
			}, 0, path)
			if list.key == "packages-dev" && len(c.comps) > n {
				c.comps[n].Source += devMark
			}
		}
	}
	return c.result()
}
