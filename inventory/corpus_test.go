package inventory_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/corpus"
	"github.com/upfactory/upfactory/inventory"
)

// The corpus SBOMs were written by real tools (CycloneDX Maven, Node,
// gomod and PHP generators, the SPDX example); each must read without
// errors, with the expected counts and a few spot-checked components.
func TestCorpus(t *testing.T) {
	for _, tc := range []struct {
		file   string
		parse  parseFunc
		count  int
		direct int
		// spot holds components expected among the results (Source ignored).
		spot []upfactory.Component
		// wantProblems are expected exactly (Message ignored, Path compared).
		wantProblems []inventory.Problem
	}{
		{
			file:  "juice-shop-11.1.2.cdx.json",
			parse: inventory.ParseCycloneDX,
			count: 841, // 840 npm components + the application
			spot: []upfactory.Component{
				{Name: "juice-shop", Ecosystem: "npm", Version: "11.1.2", PURL: "pkg:npm/juice-shop@11.1.2", Layer: "app"},
				{Name: "body-parser", Ecosystem: "npm", Version: "1.19.0", PURL: "pkg:npm/body-parser@1.19.0", Layer: "dependency"},
			},
		},
		{
			file:   "laravel-7.12.0.cdx.json",
			parse:  inventory.ParseCycloneDX,
			count:  63,
			direct: 1,
			spot: []upfactory.Component{
				{Name: "cyclonedx/cyclonedx-php-composer-demo", Ecosystem: "Packagist", Version: "dev-master", PURL: "pkg:composer/cyclonedx/cyclonedx-php-composer-demo@dev-master", Layer: "app"},
				{Name: "asm89/stack-cors", Ecosystem: "Packagist", Version: "1.3.0", PURL: "pkg:composer/asm89/stack-cors@1.3.0", Layer: "dependency"},
			},
		},
		{
			file:   "proton-bridge-1.8.0.cdx.json",
			parse:  inventory.ParseCycloneDX,
			count:  202,
			direct: 56,
			spot: []upfactory.Component{
				// Module paths keep their case although purls lowercase them.
				{Name: "github.com/ProtonMail/proton-bridge", Ecosystem: "Go", Version: "v1.8.0", PURL: "pkg:golang/github.com/ProtonMail/proton-bridge@v1.8.0", Layer: "app"},
				{Name: "github.com/0xAX/notificator", Ecosystem: "Go", Version: "v0.0.0-20191016112426-3962a5ea8da1", PURL: "pkg:golang/github.com/0xAX/notificator@v0.0.0-20191016112426-3962a5ea8da1", Layer: "dependency", Direct: true},
			},
		},
		{
			file:  "dropwizard-1.3.15.cdx.json",
			parse: inventory.ParseCycloneDX,
			count: 168,
			spot: []upfactory.Component{
				{Name: "io.dropwizard:dropwizard-parent", Ecosystem: "Maven", Version: "1.3.15", PURL: "pkg:maven/io.dropwizard/dropwizard-parent@1.3.15", Layer: "app"},
				{Name: "com.google.guava:guava", Ecosystem: "Maven", Version: "24.1.1-jre", PURL: "pkg:maven/com.google.guava/guava@24.1.1-jre?type=jar", Layer: "dependency"},
			},
		},
		{
			// A SaaSBOM lists services, not components; its application
			// has no purl, so there is nothing to match advisories against.
			file:         "saasbom-apigateway.cdx.json",
			parse:        inventory.ParseCycloneDX,
			count:        0,
			wantProblems: []inventory.Problem{{File: "saasbom-apigateway.cdx.json", Path: "/metadata/component"}},
		},
		{
			// Only Jena has a PACKAGE-MANAGER purl; glibc (a CPE only),
			// Apache Commons Lang, Saxon and CentOS have none.
			file:  "spdx-example-2.3.spdx.json",
			parse: inventory.ParseSPDX,
			count: 1,
			spot: []upfactory.Component{
				{Name: "org.apache.jena:apache-jena", Ecosystem: "Maven", Version: "3.12.0", PURL: "pkg:maven/org.apache.jena/apache-jena@3.12.0", Layer: "dependency"},
			},
			wantProblems: []inventory.Problem{
				{File: "spdx-example-2.3.spdx.json", Path: "/packages/0"},
				{File: "spdx-example-2.3.spdx.json", Path: "/packages/1"},
				{File: "spdx-example-2.3.spdx.json", Path: "/packages/3"},
				{File: "spdx-example-2.3.spdx.json", Path: "/packages/4"},
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := mustRead(t, corpus.File(t, "sbom/"+tc.file))
			got, problems, err := tc.parse(tc.file, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.count {
				t.Errorf("got %d components, want %d", len(got), tc.count)
			}
			direct := 0
			for _, c := range got {
				if c.Direct {
					direct++
				}
				checkComponent(t, c)
			}
			if direct != tc.direct {
				t.Errorf("got %d direct components, want %d", direct, tc.direct)
			}
			for _, want := range tc.spot {
				found := false
				for _, c := range got {
					c.Source = ""
					if cmp.Equal(c, want) {
						found = true
						break
					}
				}
				if !found {
					t.Errorf("missing %+v", want)
				}
			}
			if diff := cmp.Diff(tc.wantProblems, problems, cmpopts.EquateEmpty(), cmpopts.IgnoreFields(inventory.Problem{}, "Message")); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// checkComponent fails when c could not be matched against advisories or
// traced back to its record.
func checkComponent(tb testing.TB, c upfactory.Component) {
	tb.Helper()
	if c.Name == "" || c.Ecosystem == "" || c.Version == "" || c.Source == "" {
		tb.Errorf("incomplete component %+v", c)
	}
	switch c.Layer {
	case upfactory.LayerOS, upfactory.LayerRuntime, upfactory.LayerDependency, upfactory.LayerApp:
	default:
		tb.Errorf("component %+v: bad layer", c)
	}
}
