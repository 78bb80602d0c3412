package inventory

import (
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
	var bom cdxEnvelope
	if err := json.Unmarshal(data, &bom); err != nil {
		return nil, nil, fmt.Errorf("reading %s: not a CycloneDX JSON BOM: %w", name, err)
	}
	if bom.BOMFormat != "CycloneDX" {
		return nil, nil, fmt.Errorf("reading %s: not a CycloneDX JSON BOM: bomFormat is %q, want \"CycloneDX\"", name, bom.BOMFormat)
	}
	if !strings.HasPrefix(bom.SpecVersion, "1.") {
		return nil, nil, fmt.Errorf("reading %s: CycloneDX specVersion %q is not supported (want 1.2 to 1.6)", name, bom.SpecVersion)
	}
	c := &collector{file: name}

	var app cdx.Component
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
			if comp.Type == cdx.ComponentTypeOS || comp.Type == cdx.ComponentTypePlatform {
				layer = upfactory.LayerOS
			}
			addCDX(c, comp, p, layer, direct[comp.BOMRef] && comp.BOMRef != "")
			walk(children, p+"/components")
		}
	}
	walk(bom.Components, "/components")
	return c.result()
}

// decodeCDXComponent decodes one component without its nested components,
// which it returns raw.
func decodeCDXComponent(raw json.RawMessage) (cdx.Component, []json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return cdx.Component{}, nil, err
	}
	if fields == nil {
		return cdx.Component{}, nil, fmt.Errorf("component is null")
	}
	var children []json.RawMessage
	if ch, ok := fields["components"]; ok {
		if err := json.Unmarshal(ch, &children); err != nil {
			return cdx.Component{}, nil, fmt.Errorf("components: %w", err)
		}
		delete(fields, "components")
	}
	rest, err := json.Marshal(fields)
	if err != nil {
		return cdx.Component{}, nil, err
	}
	var comp cdx.Component
	if err := json.Unmarshal(rest, &comp); err != nil {
		return cdx.Component{}, nil, err
	}
	return comp, children, nil
}

func addCDX(c *collector, comp cdx.Component, path, layer string, direct bool) {
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
	if comp.Scope == cdx.ScopeExcluded && len(c.comps) > n {
		// Excluded: present in the build (tests, tooling) but not shipped.
		c.comps[n].Source += devMark
	}
}
