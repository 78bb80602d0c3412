package inventory

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/upfactory/upfactory"
)

type npmLock struct {
	LockfileVersion *int                       `json:"lockfileVersion"`
	Packages        map[string]json.RawMessage `json:"packages"`
	Dependencies    map[string]json.RawMessage `json:"dependencies"`
}

type npmPackage struct {
	Name                 string            `json:"name"`
	Version              string            `json:"version"`
	Dev                  bool              `json:"dev"`
	Link                 bool              `json:"link"`
	Dependencies         map[string]string `json:"dependencies"`
	DevDependencies      map[string]string `json:"devDependencies"`
	OptionalDependencies map[string]string `json:"optionalDependencies"`
	PeerDependencies     map[string]string `json:"peerDependencies"`
}

// npmV1Dependency is an entry of a lockfile v1 dependencies tree, whose
// dependencies hold the copies nested under its own node_modules.
type npmV1Dependency struct {
	Version      string                     `json:"version"`
	Dev          bool                       `json:"dev"`
	Dependencies map[string]json.RawMessage `json:"dependencies"`
}

// ParsePackageLock reads an npm package-lock.json (or npm-shrinkwrap.json):
// the packages map of lockfile versions 2 and 3 ("node_modules/a/node_modules/b"
// is package b, the root "" and workspace links are skipped, Direct for
// what the root declares), or the dependencies tree of version 1 (which
// does not say what is direct). Development dependencies are kept, with
// " (dev)" after their Source. A version that is not a registry version
// (a git URL, a file: path) is reported.
func ParsePackageLock(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	var lock npmLock
	if err := json.Unmarshal(data, &lock); err != nil {
		return nil, nil, fmt.Errorf("reading %s: not an npm package-lock.json: %w", name, err)
	}
	if lock.LockfileVersion == nil || (lock.Packages == nil && lock.Dependencies == nil) {
		return nil, nil, fmt.Errorf("reading %s: not an npm package-lock.json: no lockfileVersion with packages or dependencies", name)
	}
	c := &collector{file: name}
	if lock.Packages != nil {
		npmPackages(c, lock.Packages)
	} else {
		npmV1(c, lock.Dependencies, "/dependencies")
	}
	return c.result()
}

func npmPackages(c *collector, pkgs map[string]json.RawMessage) {
	direct := map[string]bool{}
	if raw, ok := pkgs[""]; ok {
		var root npmPackage
		if err := json.Unmarshal(raw, &root); err != nil {
			c.problem(0, pointer("packages", ""), "malformed root package: %v", err)
		}
		for _, deps := range []map[string]string{root.Dependencies, root.DevDependencies, root.OptionalDependencies, root.PeerDependencies} {
			for d := range deps {
				direct[d] = true
			}
		}
	}
	keys := make([]string, 0, len(pkgs))
	for k := range pkgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if key == "" {
			continue
		}
		path := pointer("packages", key)
		i := strings.LastIndex(key, "node_modules/")
		if i < 0 {
			// A workspace package ("packages/foo"): the project's own code.
			continue
		}
		var p npmPackage
		if err := json.Unmarshal(pkgs[key], &p); err != nil {
			c.problem(0, path, "malformed package: %v", err)
			continue
		}
		if p.Link {
			continue
		}
		installed := key[i+len("node_modules/"):]
		pkgName := installed
		if p.Name != "" {
			// An alias ("foo": "npm:bar@1") installs bar under node_modules/foo.
			pkgName = p.Name
		}
		topLevel := key == "node_modules/"+installed
		addNPM(c, pkgName, p.Version, p.Dev, topLevel && direct[installed], path)
	}
}

func npmV1(c *collector, deps map[string]json.RawMessage, path string) {
	names := make([]string, 0, len(deps))
	for n := range deps {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := path + pointer(n)
		var d npmV1Dependency
		if err := json.Unmarshal(deps[n], &d); err != nil {
			c.problem(0, p, "malformed dependency: %v", err)
			continue
		}
		addNPM(c, n, d.Version, d.Dev, false, p)
		npmV1(c, d.Dependencies, p+"/dependencies")
	}
}

func addNPM(c *collector, name, version string, dev, direct bool, path string) {
	// lockfile v1 writes an alias's version as "npm:real-name@1.2.3".
	if rest, ok := strings.CutPrefix(version, "npm:"); ok {
		if i := strings.LastIndex(rest, "@"); i > 0 {
			name, version = rest[:i], rest[i+1:]
		}
	}
	if version != "" && !isRegistryVersion(version) {
		c.problem(0, path, "%s: version %q is not a registry release: cannot match advisories", name, version)
		return
	}
	comp := upfactory.Component{
		Name: name, Ecosystem: "npm", Version: version,
		PURL: purlFor("npm", name, version), Direct: direct,
	}
	n := len(c.comps)
	c.add(comp, 0, path)
	if dev && len(c.comps) > n {
		c.comps[n].Source += devMark
	}
}

// isRegistryVersion reports whether v looks like a semver release rather
// than a URL, a path or a git reference.
func isRegistryVersion(v string) bool {
	return v[0] >= '0' && v[0] <= '9' && !strings.ContainsAny(v, ":/ ")
}
