package inventory

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spdx/tools-golang/spdx/v2/common"
	"github.com/upfactory/upfactory"
)

// spdxPackage is the part of an SPDX 2.3 package that is read. It mirrors
// tools-golang's v2_3.Package, which cannot be imported here: that package
// needs github.com/anchore/go-struct-converter, absent from go.sum.
type spdxPackage struct {
	Name         string `json:"name"`
	Version      string `json:"versionInfo"`
	ExternalRefs []struct {
		Category string `json:"referenceCategory"`
		Type     string `json:"referenceType"`
		Locator  string `json:"referenceLocator"`
	} `json:"externalRefs"`
	PrimaryPackagePurpose string `json:"primaryPackagePurpose"`
}

type spdxEnvelope struct {
	SPDXVersion string            `json:"spdxVersion"`
	Packages    []json.RawMessage `json:"packages"`
}

// ParseSPDX reads an SPDX 2.x JSON document (2.3, and 2.2 where it agrees):
// every package with a PACKAGE-MANAGER purl external reference, the
// ecosystem taken from the purl. A package without one cannot be matched
// against advisories and is reported as a Problem. Packages whose
// primaryPackagePurpose is OPERATING-SYSTEM, and OS packages, are layer os.
func ParseSPDX(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	var doc spdxEnvelope
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, fmt.Errorf("reading %s: not an SPDX JSON document: %w", name, jsonError(data, err))
	}
	if !strings.HasPrefix(doc.SPDXVersion, "SPDX-2.") {
		return nil, nil, fmt.Errorf("reading %s: not an SPDX 2.x JSON document: spdxVersion is %q", name, doc.SPDXVersion)
	}
	c := &collector{file: name}
	for i, raw := range doc.Packages {
		path := pointer("packages", i)
		var p spdxPackage
		if err := json.Unmarshal(raw, &p); err != nil {
			c.problem(0, path, "malformed package: %v", err)
			continue
		}
		purl := ""
		for _, ref := range p.ExternalRefs {
			// SPDX 2.2 JSON spells the category PACKAGE_MANAGER.
			if strings.ReplaceAll(ref.Category, "_", "-") == common.CategoryPackageManager && ref.Type == common.TypePackageManagerPURL {
				purl = ref.Locator
				break
			}
		}
		if purl == "" {
			c.problem(0, path, "%s: no PACKAGE-MANAGER purl external reference: cannot tell the ecosystem", p.Name)
			continue
		}
		comp, err := componentFromPURL(purl, p.Version)
		if err != nil {
			c.problem(0, path, "%s: bad purl %q: %v", p.Name, purl, err)
			continue
		}
		if p.PrimaryPackagePurpose == "OPERATING-SYSTEM" {
			comp.Layer = upfactory.LayerOS
		}
		c.add(comp, 0, path)
	}
	return c.result()
}
