package inventory_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/inventory"
)

type parseFunc func(name string, data []byte) ([]upfactory.Component, []inventory.Problem, error)

// problemsEqual compares problems without the encoding/json wording that
// follows "json:" in messages about malformed records.
var problemsEqual = cmp.Transformer("problem", func(p inventory.Problem) inventory.Problem {
	p.Message, _, _ = strings.Cut(p.Message, ": json: ")
	return p
})

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		file         string
		parse        parseFunc
		want         []upfactory.Component
		wantProblems []inventory.Problem
	}{
		{
			file:  "app-1.5.cdx.json",
			parse: inventory.ParseCycloneDX,
			want: []upfactory.Component{
				{Name: "github.com/Acme/checkout", Ecosystem: "Go", Version: "v2.4.0", PURL: "pkg:golang/github.com/Acme/checkout@v2.4.0", Layer: "app", Source: "app-1.5.cdx.json#/metadata/component"},
				{Name: "debian", Ecosystem: "generic", Version: "12.5", PURL: "pkg:generic/debian@12.5", Layer: "os", Source: "app-1.5.cdx.json#/components/0"},
				{Name: "libssl3", Ecosystem: "Debian:12", Version: "3.0.11-1~deb12u2", PURL: "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12", Layer: "os", Direct: true, Source: "app-1.5.cdx.json#/components/1"},
				{Name: "zlib1g", Ecosystem: "Debian:12", Version: "1:1.2.13.dfsg-1", PURL: "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?distro=bookworm", Layer: "os", Source: "app-1.5.cdx.json#/components/2"},
				{Name: "musl", Ecosystem: "Alpine:v3.18", Version: "1.2.4-r2", PURL: "pkg:apk/alpine/musl@1.2.4-r2?distro=alpine-3.18.4", Layer: "os", Source: "app-1.5.cdx.json#/components/3"},
				{Name: "github.com/gin-gonic/gin", Ecosystem: "Go", Version: "v1.9.0", PURL: "pkg:golang/github.com/gin-gonic/gin@v1.9.0", Layer: "dependency", Direct: true, Source: "app-1.5.cdx.json#/components/4"},
				{Name: "github.com/gin-gonic/gin", Ecosystem: "Go", Version: "v1.9.0", PURL: "pkg:golang/github.com/gin-gonic/gin@v1.9.0#render", Layer: "dependency", Source: "app-1.5.cdx.json#/components/4/components/0"},
				{Name: "@angular/core", Ecosystem: "npm", Version: "15.2.1", PURL: "pkg:npm/%40angular/core@15.2.1", Layer: "dependency", Source: "app-1.5.cdx.json#/components/5"},
				{Name: "org.apache.logging.log4j:log4j-core", Ecosystem: "Maven", Version: "2.14.1", PURL: "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar", Layer: "dependency", Source: "app-1.5.cdx.json#/components/6"},
				{Name: "django", Ecosystem: "PyPI", Version: "4.2.1", PURL: "pkg:pypi/Django@4.2.1", Layer: "dependency", Source: "app-1.5.cdx.json#/components/7"},
				{Name: "rack", Ecosystem: "RubyGems", Version: "2.2.6", PURL: "pkg:gem/rack@2.2.6", Layer: "dependency", Source: "app-1.5.cdx.json#/components/8"},
				{Name: "symfony/http-kernel", Ecosystem: "Packagist", Version: "v5.4.2", PURL: "pkg:composer/symfony/http-kernel@v5.4.2", Layer: "dependency", Source: "app-1.5.cdx.json#/components/9"},
				{Name: "serde", Ecosystem: "crates.io", Version: "1.0.160", PURL: "pkg:cargo/serde@1.0.160", Layer: "dependency", Source: "app-1.5.cdx.json#/components/10"},
				{Name: "Newtonsoft.Json", Ecosystem: "NuGet", Version: "13.0.1", PURL: "pkg:nuget/Newtonsoft.Json@13.0.1", Layer: "dependency", Source: "app-1.5.cdx.json#/components/11"},
			},
			wantProblems: []inventory.Problem{
				{File: "app-1.5.cdx.json", Path: "/components/4/components/1", Message: "malformed component: json: cannot unmarshal number into Go struct field Component.version of type string"},
				{File: "app-1.5.cdx.json", Path: "/components/12", Message: "left-pad: no purl: cannot tell the ecosystem"},
				{File: "app-1.5.cdx.json", Path: "/components/13", Message: "broken: no version: cannot match advisories"},
				{File: "app-1.5.cdx.json", Path: "/components/14", Message: "not-a-purl: bad purl \"npm:not-a-purl@1\": purl scheme is not \"pkg\": \"npm:not-a-purl@1\""},
				{File: "app-1.5.cdx.json", Path: "/components/15", Message: "malformed component: json: cannot unmarshal string into Go value of type map[string]json.RawMessage"},
			},
		},
		{
			file:  "minimal-1.6.cdx.json",
			parse: inventory.ParseCycloneDX,
			want: []upfactory.Component{
				{Name: "pytest", Ecosystem: "PyPI", Version: "7.3.1", PURL: "pkg:pypi/pytest@7.3.1", Layer: "dependency", Source: "minimal-1.6.cdx.json#/components/0 (dev)"},
				{Name: "requests", Ecosystem: "PyPI", Version: "2.31.0", PURL: "pkg:pypi/requests@2.31.0", Layer: "dependency", Source: "minimal-1.6.cdx.json#/components/1"},
			},
		},
		{
			file:  "small.spdx.json",
			parse: inventory.ParseSPDX,
			want: []upfactory.Component{
				{Name: "lodash", Ecosystem: "npm", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", Layer: "dependency", Source: "small.spdx.json#/packages/0"},
				{Name: "bash", Ecosystem: "Debian:12", Version: "5.2.15-2", PURL: "pkg:deb/debian/bash@5.2.15-2?distro=debian-12", Layer: "os", Source: "small.spdx.json#/packages/1"},
			},
			wantProblems: []inventory.Problem{
				{File: "small.spdx.json", Path: "/packages/2", Message: "in-house: no PACKAGE-MANAGER purl external reference: cannot tell the ecosystem"},
				{File: "small.spdx.json", Path: "/packages/3", Message: "malformed package: json: cannot unmarshal array into Go struct field spdxPackage.name of type string"},
			},
		},
		{
			file:  "go.mod.txt",
			parse: inventory.ParseGoMod,
			want: []upfactory.Component{
				{Name: "stdlib", Ecosystem: "Go", Version: "v1.22.3", Layer: "runtime", Direct: true, Source: "go.mod.txt:5"},
				{Name: "github.com/gin-gonic/gin", Ecosystem: "Go", Version: "v1.9.0", PURL: "pkg:golang/github.com/gin-gonic/gin@v1.9.0", Layer: "dependency", Direct: true, Source: "go.mod.txt:8"},
				{Name: "golang.org/x/net", Ecosystem: "Go", Version: "v0.23.0", PURL: "pkg:golang/golang.org/x/net@v0.23.0", Layer: "dependency", Source: "go.mod.txt:9"},
				{Name: "github.com/new/thing", Ecosystem: "Go", Version: "v1.2.1", PURL: "pkg:golang/github.com/new/thing@v1.2.1", Layer: "dependency", Direct: true, Source: "go.mod.txt:11"},
				{Name: "github.com/BurntSushi/toml", Ecosystem: "Go", Version: "v1.3.2", PURL: "pkg:golang/github.com/BurntSushi/toml@v1.3.2", Layer: "dependency", Direct: true, Source: "go.mod.txt:14"},
			},
			wantProblems: []inventory.Problem{
				{File: "go.mod.txt", Line: 10, Message: "github.com/acme/shared v1.0.0 is replaced by directory ../shared: no version to match advisories"},
			},
		},
		{
			file:  "go-noversion.mod.txt",
			parse: inventory.ParseGoMod,
			want: []upfactory.Component{
				{Name: "stdlib", Ecosystem: "Go", Version: "v1.21.0", Layer: "runtime", Direct: true, Source: "go-noversion.mod.txt:3"},
				{Name: "example.com/good", Ecosystem: "Go", Version: "v1.0.0", PURL: "pkg:golang/example.com/good@v1.0.0", Layer: "dependency", Direct: true, Source: "go-noversion.mod.txt:6"},
			},
			wantProblems: []inventory.Problem{
				{File: "go-noversion.mod.txt", Line: 7, Message: "require example.com/bad: version \"master\" invalid: must be of the form v1.2.3"},
			},
		},
		{
			file:  "package-lock-v1.json",
			parse: inventory.ParsePackageLock,
			want: []upfactory.Component{
				{Name: "express", Ecosystem: "npm", Version: "4.17.1", PURL: "pkg:npm/express@4.17.1", Layer: "dependency", Source: "package-lock-v1.json#/dependencies/express"},
				{Name: "qs", Ecosystem: "npm", Version: "6.7.0", PURL: "pkg:npm/qs@6.7.0", Layer: "dependency", Source: "package-lock-v1.json#/dependencies/express/dependencies/qs"},
				{Name: "jest", Ecosystem: "npm", Version: "29.0.0", PURL: "pkg:npm/jest@29.0.0", Layer: "dependency", Source: "package-lock-v1.json#/dependencies/jest (dev)"},
				{Name: "lodash", Ecosystem: "npm", Version: "4.17.21", PURL: "pkg:npm/lodash@4.17.21", Layer: "dependency", Source: "package-lock-v1.json#/dependencies/my-alias"},
				{Name: "qs", Ecosystem: "npm", Version: "6.11.0", PURL: "pkg:npm/qs@6.11.0", Layer: "dependency", Source: "package-lock-v1.json#/dependencies/qs"},
			},
			wantProblems: []inventory.Problem{
				{File: "package-lock-v1.json", Path: "/dependencies/bad", Message: "malformed dependency: json: cannot unmarshal number into Go struct field npmV1Dependency.version of type string"},
				{File: "package-lock-v1.json", Path: "/dependencies/from-git", Message: "from-git: version \"github:acme/thing#abc123\" is not a registry release: cannot match advisories"},
			},
		},
		{
			file:  "package-lock-v2.json",
			parse: inventory.ParsePackageLock,
			want: []upfactory.Component{
				{Name: "@babel/core", Ecosystem: "npm", Version: "7.22.5", PURL: "pkg:npm/%40babel/core@7.22.5", Layer: "dependency", Source: "package-lock-v2.json#/packages/node_modules~1@babel~1core (dev)"},
				{Name: "express", Ecosystem: "npm", Version: "4.17.1", PURL: "pkg:npm/express@4.17.1", Layer: "dependency", Direct: true, Source: "package-lock-v2.json#/packages/node_modules~1express"},
				{Name: "qs", Ecosystem: "npm", Version: "6.7.0", PURL: "pkg:npm/qs@6.7.0", Layer: "dependency", Source: "package-lock-v2.json#/packages/node_modules~1express~1node_modules~1qs"},
				{Name: "jest", Ecosystem: "npm", Version: "29.0.0", PURL: "pkg:npm/jest@29.0.0", Layer: "dependency", Direct: true, Source: "package-lock-v2.json#/packages/node_modules~1jest (dev)"},
				{Name: "lodash", Ecosystem: "npm", Version: "4.17.21", PURL: "pkg:npm/lodash@4.17.21", Layer: "dependency", Direct: true, Source: "package-lock-v2.json#/packages/node_modules~1my-alias"},
				{Name: "qs", Ecosystem: "npm", Version: "6.11.0", PURL: "pkg:npm/qs@6.11.0", Layer: "dependency", Source: "package-lock-v2.json#/packages/node_modules~1qs"},
			},
			wantProblems: []inventory.Problem{
				{File: "package-lock-v2.json", Path: "/packages/node_modules~1no-version", Message: "no-version: no version: cannot match advisories"},
			},
		},
		{
			file:  "package-lock-v3.json",
			parse: inventory.ParsePackageLock,
			want: []upfactory.Component{
				{Name: "@scope/pkg", Ecosystem: "npm", Version: "1.2.3", PURL: "pkg:npm/%40scope/pkg@1.2.3", Layer: "dependency", Direct: true, Source: "package-lock-v3.json#/packages/node_modules~1@scope~1pkg"},
				{Name: "@other/dep", Ecosystem: "npm", Version: "0.1.0", PURL: "pkg:npm/%40other/dep@0.1.0", Layer: "dependency", Source: "package-lock-v3.json#/packages/node_modules~1@scope~1pkg~1node_modules~1@other~1dep"},
			},
			wantProblems: []inventory.Problem{
				{File: "package-lock-v3.json", Path: "/packages/node_modules~1broken", Message: "malformed package: json: cannot unmarshal string into Go value of type inventory.npmPackage"},
			},
		},
		{
			file:  "composer.lock",
			parse: inventory.ParseComposerLock,
			want: []upfactory.Component{
				{Name: "symfony/http-kernel", Ecosystem: "Packagist", Version: "v5.4.2", PURL: "pkg:composer/symfony/http-kernel@v5.4.2", Layer: "dependency", Source: "composer.lock#/packages/0"},
				{Name: "guzzlehttp/guzzle", Ecosystem: "Packagist", Version: "7.4.1", PURL: "pkg:composer/guzzlehttp/guzzle@7.4.1", Layer: "dependency", Source: "composer.lock#/packages/1"},
				{Name: "phpunit/phpunit", Ecosystem: "Packagist", Version: "9.5.10", PURL: "pkg:composer/phpunit/phpunit@9.5.10", Layer: "dependency", Source: "composer.lock#/packages-dev/0 (dev)"},
			},
			wantProblems: []inventory.Problem{
				{File: "composer.lock", Path: "/packages/2", Message: "broken/no-version: no version: cannot match advisories"},
				{File: "composer.lock", Path: "/packages/3", Message: "malformed package: json: cannot unmarshal array into Go struct field composerPackage.name of type string"},
			},
		},
		{
			file:  "Gemfile.lock",
			parse: inventory.ParseGemfileLock,
			want: []upfactory.Component{
				{Name: "actionpack", Ecosystem: "RubyGems", Version: "7.0.4", PURL: "pkg:gem/actionpack@7.0.4", Layer: "dependency", Direct: true, Source: "Gemfile.lock:16"},
				{Name: "nokogiri", Ecosystem: "RubyGems", Version: "1.14.2", PURL: "pkg:gem/nokogiri@1.14.2", Layer: "dependency", Direct: true, Source: "Gemfile.lock:19"},
				{Name: "racc", Ecosystem: "RubyGems", Version: "1.6.2", PURL: "pkg:gem/racc@1.6.2", Layer: "dependency", Source: "Gemfile.lock:23"},
				{Name: "rack", Ecosystem: "RubyGems", Version: "2.2.6.2", PURL: "pkg:gem/rack@2.2.6.2", Layer: "dependency", Source: "Gemfile.lock:24"},
				{Name: "rack-test", Ecosystem: "RubyGems", Version: "2.0.2", PURL: "pkg:gem/rack-test@2.0.2", Layer: "dependency", Source: "Gemfile.lock:25"},
				{Name: "rails-html-sanitizer", Ecosystem: "RubyGems", Version: "1.5.0.beta1", PURL: "pkg:gem/rails-html-sanitizer@1.5.0.beta1", Layer: "dependency", Source: "Gemfile.lock:27"},
			},
			wantProblems: []inventory.Problem{
				{File: "Gemfile.lock", Line: 5, Message: "forked 0.1.0 comes from GIT source https://github.com/acme/forked.git, not a gem server: cannot match advisories"},
				{File: "Gemfile.lock", Line: 11, Message: "billing 1.0.0 comes from PATH source engines/billing, not a gem server: cannot match advisories"},
				{File: "Gemfile.lock", Line: 28, Message: "malformed spec line \"this is not a spec\""},
			},
		},
		{
			file:  "requirements.txt",
			parse: inventory.ParseRequirements,
			want: []upfactory.Component{
				{Name: "Django", Ecosystem: "PyPI", Version: "4.2.1", PURL: "pkg:pypi/Django@4.2.1", Layer: "dependency", Direct: true, Source: "requirements.txt:4"},
				{Name: "requests", Ecosystem: "PyPI", Version: "2.31.0", PURL: "pkg:pypi/requests@2.31.0", Layer: "dependency", Direct: true, Source: "requirements.txt:5"},
				{Name: "urllib3", Ecosystem: "PyPI", Version: "1.26.15", PURL: "pkg:pypi/urllib3@1.26.15", Layer: "dependency", Direct: true, Source: "requirements.txt:6"},
				{Name: "pandas", Ecosystem: "PyPI", Version: "2.0.1", PURL: "pkg:pypi/pandas@2.0.1", Layer: "dependency", Direct: true, Source: "requirements.txt:11"},
				{Name: "zope.interface", Ecosystem: "PyPI", Version: "6.0", PURL: "pkg:pypi/zope.interface@6.0", Layer: "dependency", Direct: true, Source: "requirements.txt:14"},
			},
			wantProblems: []inventory.Problem{
				{File: "requirements.txt", Line: 2, Message: "include \"-r base.txt\" not followed: list it as its own inventory entry"},
				{File: "requirements.txt", Line: 9, Message: "flask not pinned: cannot match advisories"},
				{File: "requirements.txt", Line: 10, Message: "numpy not pinned: cannot match advisories"},
				{File: "requirements.txt", Line: 12, Message: "editable install \"git+https://github.com/acme/lib.git#egg=lib\" is not pinned: cannot match advisories"},
				{File: "requirements.txt", Line: 13, Message: "lib2 not pinned: cannot match advisories"},
				{File: "requirements.txt", Line: 15, Message: "celery not pinned: cannot match advisories"},
				{File: "requirements.txt", Line: 16, Message: "not a requirement: \"./local/package\""},
				{File: "requirements.txt", Line: 17, Message: "include \"-rother.txt\" not followed: list it as its own inventory entry"},
			},
		},
		{
			file:  "poetry-1.4.lock",
			parse: inventory.ParsePoetryLock,
			want: []upfactory.Component{
				{Name: "django", Ecosystem: "PyPI", Version: "4.2.1", PURL: "pkg:pypi/django@4.2.1", Layer: "dependency", Source: "poetry-1.4.lock:1"},
				{Name: "pytest", Ecosystem: "PyPI", Version: "7.3.1", PURL: "pkg:pypi/pytest@7.3.1", Layer: "dependency", Source: "poetry-1.4.lock:12 (dev)"},
			},
			wantProblems: []inventory.Problem{
				{File: "poetry-1.4.lock", Line: 20, Path: "/package/2", Message: "broken: no version: cannot match advisories"},
			},
		},
		{
			file:  "poetry-2.lock",
			parse: inventory.ParsePoetryLock,
			want: []upfactory.Component{
				{Name: "certifi", Ecosystem: "PyPI", Version: "2023.7.22", PURL: "pkg:pypi/certifi@2023.7.22", Layer: "dependency", Source: "poetry-2.lock:3"},
			},
			wantProblems: []inventory.Problem{
				{File: "poetry-2.lock", Line: 13, Path: "/package/1", Message: "idna: version is not a string"},
			},
		},
		{
			file:  "wp-plugins.json",
			parse: inventory.ParseWPPlugins,
			want: []upfactory.Component{
				{Name: "akismet", Ecosystem: "WordPress:plugin", Version: "5.0.2", Layer: "dependency", Direct: true, Source: "wp-plugins.json#/0"},
				{Name: "hello", Ecosystem: "WordPress:plugin", Version: "1.7.2", Layer: "dependency", Direct: true, Source: "wp-plugins.json#/1"},
			},
			wantProblems: []inventory.Problem{
				{File: "wp-plugins.json", Path: "/2", Message: "db.php: no version: cannot match advisories"},
				{File: "wp-plugins.json", Path: "/3", Message: "malformed entry: json: cannot unmarshal number into Go struct field wpItem.name of type string"},
			},
		},
		{
			file:  "wp-themes.json",
			parse: inventory.ParseWPThemes,
			want: []upfactory.Component{
				{Name: "twentytwentythree", Ecosystem: "WordPress:theme", Version: "1.1", Layer: "dependency", Direct: true, Source: "wp-themes.json#/0"},
				{Name: "twentytwentytwo", Ecosystem: "WordPress:theme", Version: "1.3", Layer: "dependency", Direct: true, Source: "wp-themes.json#/1"},
			},
		},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, problems, err := tc.parse(tc.file, mustRead(t, filepath.Join("testdata", tc.file)))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("components (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantProblems, problems, cmpopts.EquateEmpty(), problemsEqual); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGoModStdlibVersion(t *testing.T) {
	for _, tc := range []struct{ gomod, want string }{
		{"module m\ngo 1.21\n", "v1.21.0"},
		{"module m\ngo 1.16\n", "v1.16.0"},
		{"module m\ngo 1.22.1\ntoolchain go1.23.4\n", "v1.23.4"},
		{"module m\ngo 1.22rc1\n", "v1.22.0-rc.1"},
		{"module m\ngo 1.21.0\ntoolchain default\n", "v1.21.0"},
	} {
		got, _, err := inventory.ParseGoMod("go.mod", []byte(tc.gomod))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Name != "stdlib" || got[0].Version != tc.want || got[0].Layer != upfactory.LayerRuntime {
			t.Errorf("%q: got %+v, want stdlib %s", tc.gomod, got, tc.want)
		}
	}
	got, _, err := inventory.ParseGoMod("go.mod", []byte("module m\n"))
	if err != nil || len(got) != 0 {
		t.Errorf("without a go line: got %+v, %v; want no stdlib", got, err)
	}
}

// cyclonedx-gomod names the standard library std; the Go database, stdlib.
func TestGoStdFromPURL(t *testing.T) {
	data := []byte(`{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
  {"type": "library", "name": "std", "version": "go1.20.1", "purl": "pkg:golang/std@go1.20.1"}]}`)
	got, probs, err := inventory.ParseCycloneDX("bom.json", data)
	if err != nil || len(probs) != 0 || len(got) != 1 {
		t.Fatalf("%v %v %v", got, probs, err)
	}
	if c := got[0]; c.Name != "stdlib" || c.Ecosystem != "Go" || c.Version != "go1.20.1" || c.Layer != "runtime" {
		t.Errorf("std component = %+v; want stdlib go1.20.1, runtime", c)
	}
}
