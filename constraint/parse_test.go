package constraint_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upfactory/upfactory/constraint"
)

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseComposerJSON(t *testing.T) {
	ds, ps, err := constraint.ParseComposerJSON("composer.json", mustRead(t, "composer.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := func(target, c, kind string, line int) constraint.Declared {
		return constraint.Declared{Dependent: "acme/shop", Target: target, Constraint: c, Syntax: "composer", Kind: kind, File: "composer.json", Line: line}
	}
	want := []constraint.Declared{
		d("php", "^8.1", "require", 5),
		d("ext-json", "*", "require", 6),
		d("symfony/console", "^5.4|^6.0|^7.0", "require", 7),
		d("guzzlehttp/guzzle", "^7.0.1", "require", 8),
		d("brick/math", "^0.9.3 || ^0.10.2 || ^0.11", "require", 9),
		d("roave/security-advisories", "dev-latest", "require", 10),
		d("broken/one", "^1.0 ||", "require", 11),
		d("phpunit/phpunit", "^9.5.10", "require-dev", 15),
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("declarations (-want +got):\n%s", diff)
	}
	wantP := []constraint.Problem{{File: "composer.json", Line: 12, Message: `require "bad/type": the constraint is not a string; skipped`}}
	if diff := cmp.Diff(wantP, ps); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	// The unparsable one is reported, with its line, as unknown.
	r := constraint.Check(ds[6], "1.0.0")
	if r.Verdict != constraint.Unknown || r.File != "composer.json" || r.Line != 11 || !strings.Contains(r.Reason, "does not parse") {
		t.Errorf("broken constraint: %+v", r)
	}
}

func TestParseComposerJSONErrors(t *testing.T) {
	for _, in := range []string{"", "[]", `{"require": {"php": "^8"`, `{"require": {"php" "^8"}}`, "{} {}"} {
		if _, _, err := constraint.ParseComposerJSON("c.json", []byte(in)); err == nil {
			t.Errorf("ParseComposerJSON(%q) gave no error", in)
		}
	}
	ds, ps, err := constraint.ParseComposerJSON("x/composer.json", []byte("{\n\"require\": [\"php\"],\n\"require-dev\": \"nope\"\n}"))
	if err != nil || len(ds) != 0 || len(ps) != 2 || ps[0].Line != 2 || ps[1].Line != 3 {
		t.Errorf("non-object sections: %v %v %v", ds, ps, err)
	}
}

func TestParsePackageJSON(t *testing.T) {
	ds, ps, err := constraint.ParsePackageJSON("package.json", mustRead(t, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := func(target, c, kind string, line int) constraint.Declared {
		return constraint.Declared{Dependent: "my-app", Target: target, Constraint: c, Syntax: "npm", Kind: kind, File: "package.json", Line: line}
	}
	want := []constraint.Declared{
		d("react", "^18.2.0", "runtime", 5),
		d("local-lib", "file:../local-lib", "runtime", 6),
		d("react-dom", "^16.8.0 || ^17.0.0 || ^18.0.0", "peer", 9),
		d("eslint", "^6.0.0 || ^7.0.0 || ^8.0.0-0", "peer", 10),
		d("node", "^14.18.0 || >=16.0.0", "engine", 16),
		d("npm", ">=8", "engine", 17),
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("declarations (-want +got):\n%s", diff)
	}
	if len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	// Old package.json files have engines as an array: a problem, skipped.
	_, ps, err = constraint.ParsePackageJSON("old/package.json", []byte("{\"name\":\"old\",\n \"engines\": [\"node >= 0.4\"]}"))
	if err != nil || len(ps) != 1 || ps[0].Line != 2 {
		t.Errorf("engines array: %v %v", ps, err)
	}
}

func TestParseGemfile(t *testing.T) {
	ds, ps, err := constraint.ParseGemfile("app/Gemfile", mustRead(t, "Gemfile"))
	if err != nil {
		t.Fatal(err)
	}
	d := func(target, c, kind string, line int) constraint.Declared {
		return constraint.Declared{Dependent: "app", Target: target, Constraint: c, Syntax: "rubygems", Kind: kind, File: "app/Gemfile", Line: line}
	}
	want := []constraint.Declared{
		d("ruby", "3.2.2", "engine", 3),
		d("rails", "~> 7.1.3, >= 7.1.3.2", "gem", 6),
		d("pg", "~> 1.1", "gem", 7),
		d("puma", ">= 5.0", "gem", 8),
		d("redis", ">= 4.0.1", "gem", 10),
		d("rspec-rails", "~> 6.1.0", "gem", 15),
		d("sidekiq", "SIDEKIQ_VERSION", "gem", 20),
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("declarations (-want +got):\n%s", diff)
	}
	if len(ps) != 1 || ps[0].Line != 19 || ps[0].File != "app/Gemfile" {
		t.Errorf("problems: %v, want one for the gem whose name is a variable, line 19", ps)
	}
	if r := constraint.Check(ds[6], "7.2.0"); r.Verdict != constraint.Unknown {
		t.Errorf("a requirement held in a constant checks %s, want unknown", r.Verdict)
	}
	// A ruby version read from a file is not checked, and says so.
	_, ps, _ = constraint.ParseGemfile("Gemfile", []byte("source 'x'\nruby file: \".ruby-version\"\n"))
	if len(ps) != 1 || ps[0].Line != 2 {
		t.Errorf("ruby file: problems %v", ps)
	}
}

func TestParseGemspec(t *testing.T) {
	ds, ps, err := constraint.ParseGemspec("activesupport.gemspec", mustRead(t, "activesupport.gemspec"))
	if err != nil {
		t.Fatal(err)
	}
	d := func(target, c, kind string, line int) constraint.Declared {
		return constraint.Declared{Dependent: "activesupport", Target: target, Constraint: c, Syntax: "rubygems", Kind: kind, File: "activesupport.gemspec", Line: line}
	}
	want := []constraint.Declared{
		d("ruby", ">= 3.1.0", "engine", 11),
		d("i18n", ">= 1.6, < 2", "runtime", 13),
		d("tzinfo", "~> 2.0, >= 2.0.5", "runtime", 14),
		d("concurrent-ruby", "~> 1.0, >= 1.3.1", "runtime", 15),
		d("minitest", ">= 5.1", "runtime", 16),
		d("railties", "version", "runtime", 18),
		d("rake", "~> 13.0", "development", 19),
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("declarations (-want +got):\n%s", diff)
	}
	if len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	if _, _, err := constraint.ParseGemspec("x.gemspec", []byte("puts 1\n")); err == nil {
		t.Error("a file without Gem::Specification.new parsed as a gemspec")
	}
	ds, _, _ = constraint.ParseGemspec("nokogiri.gemspec", []byte("Gem::Specification.new do |spec|\n  spec.required_ruby_version = Gem::Requirement.new(\">= 3.0\", \"< 3.4.dev\")\n  spec.add_runtime_dependency(\"racc\", \"~> 1.4\")\nend\n"))
	if len(ds) != 2 || ds[0].Constraint != ">= 3.0, < 3.4.dev" || ds[1].Target != "racc" || ds[1].Dependent != "nokogiri" || ds[1].Line != 3 {
		t.Errorf("Gem::Requirement.new and parenthesised calls: %+v", ds)
	}
}

func TestParseWordPressHeaders(t *testing.T) {
	file := "wp-content/plugins/woo-gateway/woo-gateway.php"
	ds, _, err := constraint.ParseWordPressHeaders(file, mustRead(t, file))
	if err != nil {
		t.Fatal(err)
	}
	d := func(target, c, syntax, kind string, line int) constraint.Declared {
		return constraint.Declared{Dependent: "woo-gateway", Target: target, Constraint: c, Syntax: syntax, Kind: kind, File: file, Line: line}
	}
	want := []constraint.Declared{
		d("wordpress", "6.2", "wordpress-requires", "requires-at-least", 7),
		d("wordpress", "6.4", "wordpress-tested", "tested-up-to", 8),
		d("php", "7.4", "php-requires", "requires-php", 9),
		d("woocommerce", "7.1", "wordpress-requires", "requires-at-least", 10),
		d("woocommerce", "8.5", "wordpress-tested", "tested-up-to", 11),
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("declarations (-want +got):\n%s", diff)
	}
	r := constraint.Check(ds[1], "6.6")
	if r.Verdict != constraint.Untested || r.Reason != `"Tested up to: 6.4" and the upgrade is to 6.6: untested beyond 6.4` {
		t.Errorf("Tested up to 6.4 at 6.6: %s: %s", r.Verdict, r.Reason)
	}
	if _, _, err := constraint.ParseWordPressHeaders("x.php", []byte("<?php\n// Requires at least: 6.0\n")); err == nil {
		t.Error("a PHP file without Plugin Name parsed as a plugin")
	}
	// Single-line header comment closed on the same line, CRLF endings.
	ds, _, err = constraint.ParseWordPressHeaders("hello.php", []byte("<?php\r\n/* Plugin Name: Hello */\r\n/* Requires PHP: 8.0 */\r\n"))
	if err != nil || len(ds) != 1 || ds[0].Constraint != "8.0" || ds[0].Line != 3 || ds[0].Dependent != "hello" {
		t.Errorf("hello.php: %+v %v", ds, err)
	}
}

func TestParseGoMod(t *testing.T) {
	ds, ps, err := constraint.ParseGoMod("go.mod", mustRead(t, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	d := func(target, c, kind string, line int) constraint.Declared {
		return constraint.Declared{Dependent: "example.com/shop", Target: target, Constraint: c, Syntax: "gomod", Kind: kind, File: "go.mod", Line: line}
	}
	want := []constraint.Declared{
		d("go", "1.22", "go-directive", 3),
		d("example.com/lib", "example.com/lib/v2 v2.1.0", "module-major", 6),
		d("golang.org/x/net", "golang.org/x/net v0.21.0", "module-major", 7),
		d("gopkg.in/yaml", "gopkg.in/yaml.v3 v3.0.1", "module-major", 8),
		d("github.com/old/thing", "github.com/old/thing v2.0.0+incompatible", "module-major", 9),
	}
	if diff := cmp.Diff(want, ds); diff != "" {
		t.Errorf("declarations (-want +got):\n%s", diff)
	}
	if len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	// A candidate moving example.com/lib to v3 breaks code importing /v2.
	r := constraint.Check(ds[1], "v3.0.0")
	if r.Verdict != constraint.Incompatible || !strings.Contains(r.Reason, "/v2 path") {
		t.Errorf("v3 against /v2: %s: %s", r.Verdict, r.Reason)
	}
	if _, _, err := constraint.ParseGoMod("go.mod", []byte("module x\nrequire (\n")); err == nil || !strings.Contains(err.Error(), "go.mod:") {
		t.Errorf("broken go.mod: err = %v, want one naming file and line", err)
	}
}

func TestReadWordPressDirectory(t *testing.T) {
	ds, ps, err := constraint.Read(constraint.ManifestWPHeaders, filepath.Join("testdata", "wp-content", "plugins"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, d := range ds {
		got[d.Dependent]++
	}
	if diff := cmp.Diff(map[string]int{"akismet": 2, "woo-gateway": 5}, got); diff != "" {
		t.Errorf("declarations per plugin (-want +got):\n%s", diff)
	}
	if len(ps) != 0 {
		t.Errorf("problems: %v", ps)
	}
	ds, _, err = constraint.Read(constraint.ManifestWPHeaders, filepath.Join("testdata", "wp-content", "themes"))
	if err != nil || len(ds) != 3 || ds[0].Dependent != "twentytwentyfour" || !strings.HasSuffix(ds[0].File, "style.css") {
		t.Errorf("themes: %+v %v", ds, err)
	}
	// A plugin's own directory works too.
	ds, _, err = constraint.Read(constraint.ManifestWPHeaders, filepath.Join("testdata", "wp-content", "plugins", "akismet"))
	if err != nil || len(ds) != 2 {
		t.Errorf("one plugin directory: %+v %v", ds, err)
	}
	if _, _, err := constraint.Read(constraint.ManifestWPHeaders, t.TempDir()); err == nil {
		t.Error("an empty directory gave no error")
	}
}

func TestRead(t *testing.T) {
	for kind, file := range map[string]string{
		constraint.ManifestComposerJSON: "composer.json",
		constraint.ManifestPackageJSON:  "package.json",
		constraint.ManifestGemfile:      "Gemfile",
		constraint.ManifestGemspec:      "activesupport.gemspec",
		constraint.ManifestGoMod:        "go.mod",
		constraint.ManifestWPHeaders:    "wp-content/themes/twentytwentyfour/style.css",
	} {
		path := filepath.Join("testdata", file)
		ds, _, err := constraint.Read(kind, path)
		if err != nil || len(ds) == 0 {
			t.Errorf("Read(%s, %s) = %d declarations, %v", kind, path, len(ds), err)
		}
		for _, d := range ds {
			if d.File != path || d.Line < 1 {
				t.Errorf("Read(%s): declaration without file and line: %+v", kind, d)
			}
		}
	}
	if _, _, err := constraint.Read("pom", "testdata/go.mod"); !errors.Is(err, constraint.ErrUnknownManifest) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, _, err := constraint.Read(constraint.ManifestGoMod, "testdata/missing"); err == nil {
		t.Error("missing file: no error")
	}
	if _, _, err := constraint.Read(constraint.ManifestGoMod, "testdata"); err == nil {
		t.Error("a directory for gomod: no error")
	}
}
