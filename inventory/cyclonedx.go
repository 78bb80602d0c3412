package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/upfactory/upfactory"
)

// cdxEnvelope holds the parts of a CycloneDX BOM that are read, with each
// component left raw so that one malformed component is reported on its own
// instead of failing the whole document.
type cdxEnvelope struct {
	BOMFormat   string `json:"bomFormat"`
	SpecVersion string `json:"specVersion"`
	Metadata    *struct {
		Component json.RawMessage `json:"component"`
	} `json:"metadata"`
	Components   []json.RawMessage `json:"components"`
	Dependencies []json.RawMessage `json:"dependencies"`
}

// ParseCycloneDX reads a CycloneDX JSON BOM (spec 1.2 to 1.6): every
// component, nested ones included, with the ecosystem taken from its purl.
// metadata.component is the application itself (layer app),
// operating-system and platform components and OS packages are layer os,
// everything else is a dependency, Direct when the application's entry in
// dependencies lists it. Components of scope "excluded" (build and test
// tooling) are kept with " (dev)" after their Source. Services are not
// components and are not read.
func ParseCycloneDX(name string, data []byte) ([]upfactory.Component, []Problem, error) {
	// Most BOMs are well-formed: decode them in one pass. Only when that
	// fails is each component decoded on its own, so that the bad one is
	// reported with its place and the others are still read.
	if comps, probs, ok := parseCycloneDXFast(name, data); ok {
		return comps, probs, nil
	}
	var bom cdxEnvelope
	if err := json.Unmarshal(data, &bom); err != nil {
		return nil, nil, fmt.Errorf("reading %s: not a CycloneDX JSON BOM: %w", name, jsonError(data, err))
	}
	if bom.BOMFormat != "CycloneDX" {
		return nil, nil, fmt.Errorf("reading %s: not a CycloneDX JSON BOM: bomFormat is %q, want \"CycloneDX\"", name, bom.BOMFormat)
	}
	if !strings.HasPrefix(bom.SpecVersion, "1.") {
		return nil, nil, fmt.Errorf("reading %s: CycloneDX specVersion %q is not supported (want 1.2 to 1.6)", name, bom.SpecVersion)
	}
	c := &collector{file: name}

	var app cdxComponent
	hasApp := false
	if bom.Metadata != nil && len(bom.Metadata.Component) > 0 && string(bom.Metadata.Component) != "null" {
		comp, _, err := decodeCDXComponent(bom.Metadata.Component)
		if err != nil {
			c.problem(0, "/metadata/component", "malformed component: %v", err)
		} else {
			app, hasApp = comp, true
		}
	}
	direct := map[string]bool{}
	if hasApp && app.BOMRef != "" {
		for i, raw := range bom.Dependencies {
			var d cdx.Dependency
			if err := json.Unmarshal(raw, &d); err != nil {
				c.problem(0, pointer("dependencies", i), "malformed dependency: %v", err)
				continue
			}
			if d.Ref == app.BOMRef && d.Dependencies != nil {
				for _, ref := range *d.Dependencies {
					direct[ref] = true
				}
			}
		}
	}
	if hasApp {
		addCDX(c, app, "/metadata/component", upfactory.LayerApp, false)
	}
	var walk func(raws []json.RawMessage, path string)
	walk = func(raws []json.RawMessage, path string) {
		for i, raw := range raws {
			p := path + pointer(i)
			comp, children, err := decodeCDXComponent(raw)
			if err != nil {
				c.problem(0, p, "malformed component: %v", err)
				continue
			}
			layer := upfactory.LayerDependency
			if comp.Type == string(cdx.ComponentTypeOS) || comp.Type == string(cdx.ComponentTypePlatform) {
				layer = upfactory.LayerOS
			}
			addCDX(c, comp, p, layer, direct[comp.BOMRef] && comp.BOMRef != "")
			walk(children, p+"/components")
		}
	}
	walk(bom.Components, "/components")
	return c.result()
}

// cdxComponent is the part of a CycloneDX component inventory reads. It is
// decoded directly rather than through cyclonedx-go's Component, which
// costs three decodes and an encode per component (its nested components
// must be walked one by one to give each problem its JSON pointer) and
// dominates the reading of fleet-sized SBOMs.
type cdxComponent struct {
	Type       string            `json:"type"`
	BOMRef     string            `json:"bom-ref"`
	Group      string            `json:"group"`
	Name       string            `json:"name"`
	Version    string            `json:"version"`
	PackageURL string            `json:"purl"`
	Scope      string            `json:"scope"`
	Components []json.RawMessage `json:"components"`
}

// cdxTree is a component with its nested components decoded too.
type cdxTree struct {
	cdxComponent
	Components []cdxTree `json:"components"`
}

// parseCycloneDXFast reads a BOM whose every part decodes; ok is false
// for any other, which the slow path then reads and explains.
func parseCycloneDXFast(name string, data []byte) (comps []upfactory.Component, probs []Problem, ok bool) {
	var bom struct {
		BOMFormat   string `json:"bomFormat"`
		SpecVersion string `json:"specVersion"`
		Metadata    *struct {
			Component *cdxTree `json:"component"`
		} `json:"metadata"`
		Components   []cdxTree        `json:"components"`
		Dependencies []cdx.Dependency `json:"dependencies"`
	}
	if json.Unmarshal(data, &bom) != nil || bom.BOMFormat != "CycloneDX" || !strings.HasPrefix(bom.SpecVersion, "1.") {
		return nil, nil, false
	}
	c := &collector{file: name}
	direct := map[string]bool{}
	var app *cdxTree
	if bom.Metadata != nil {
		app = bom.Metadata.Component
	}
	if app != nil && app.BOMRef != "" {
		for _, d := range bom.Dependencies {
			if d.Ref == app.BOMRef && d.Dependencies != nil {
				for _, ref := range *d.Dependencies {
					direct[ref] = true
				}
			}
		}
	}
	if app != nil {
		addCDX(c, app.cdxComponent, "/metadata/component", upfactory.LayerApp, false)
	}
	var walk func(ts []cdxTree, path string)
	walk = func(ts []cdxTree, path string) {
		for i := range ts {
			t := &ts[i]
			p := path + pointer(i)
			layer := upfactory.LayerDependency
			if t.Type == string(cdx.ComponentTypeOS) || t.Type == string(cdx.ComponentTypePlatform) {
				layer = upfactory.LayerOS
			}
			addCDX(c, t.cdxComponent, p, layer, direct[t.BOMRef] && t.BOMRef != "")
			walk(t.Components, p+"/components")
		}
	}
	walk(bom.Components, "/components")
	comps, probs, err := c.result()
	return comps, probs, err == nil
}

// decodeCDXComponent decodes one component; its nested components come
// back raw.
func decodeCDXComponent(raw json.RawMessage) (cdxComponent, []json.RawMessage, error) {
	var comp cdxComponent
	if string(bytes.TrimSpace(raw)) == "null" {
		return comp, nil, fmt.Errorf("component is null")
	}
	if err := json.Unmarshal(raw, &comp); err != nil {
		return cdxComponent{}, nil, err
	}
	children := comp.Components
	comp.Components = nil
	return comp, children, nil
}

func addCDX(c *collector, comp cdxComponent, path, layer string, direct bool) {
	label := comp.Name
	if comp.Group != "" {
		label = comp.Group + "/" + comp.Name
	}
	if comp.PackageURL == "" {
		c.problem(0, path, "%s: no purl: cannot tell the ecosystem", label)
		return
	}
	out, err := componentFromPURL(comp.PackageURL, comp.Version)
	if err != nil {
		c.problem(0, path, "%s: bad purl %q: %v", label, comp.PackageURL, err)
		return
	}
	if layer != upfactory.LayerDependency || out.Layer == "" {
		out.Layer = layer
	}
	out.Direct = direct
	n := len(c.comps)
	c.add(out, 0, path)
	if comp.Scope == string(cdx.ScopeExcluded) && len(c.comps) > n {
		// Excluded: present in the build (tests, tooling) but not shipped.
		c.comps[n].Source += devMark
	}
}
