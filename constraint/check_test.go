package constraint_test

import (
	"strings"
	"testing"

	"github.com/upfactory/upfactory/constraint"
)

// at is one version and the verdict expected for it.
type at struct {
	version string
	want    constraint.Verdict
}

type syntaxCase struct {
	constraint string
	source     string // where the string is seen in the wild
	checks     []at
}

const (
	ok      = constraint.Compatible
	no      = constraint.Incompatible
	unknown = constraint.Unknown
	untest  = constraint.Untested
)

func runSyntax(t *testing.T, syntax string, cases []syntaxCase) {
	t.Helper()
	for _, c := range cases {
		for _, a := range c.checks {
			d := constraint.Declared{Dependent: "dep", Target: "target", Constraint: c.constraint, Syntax: syntax, File: "f", Line: 3}
			got := constraint.Check(d, a.version)
			if got.Verdict != a.want {
				t.Errorf("%s %q (%s) at %s: verdict %s, want %s (reason: %s)", syntax, c.constraint, c.source, a.version, got.Verdict, a.want, got.Reason)
			}
			if got.Reason == "" || got.Version != a.version || got.Declared != d {
				t.Errorf("%s %q at %s: result does not carry the declaration, version and a reason: %+v", syntax, c.constraint, a.version, got)
			}
		}
	}
}

func TestComposerConstraints(t *testing.T) {
	runSyntax(t, constraint.SyntaxComposer, []syntaxCase{
		{"^7.4 || ^8.0", "php, laravel/framework 8", []at{{"8.3.4", ok}, {"7.3.33", no}, {"9.0.0", no}}},
		{">=8.1", "php, symfony/console 6.4", []at{{"8.1.0", ok}, {"8.0.30", no}, {"9.0", ok}}},
		{"^8.2", "php, laravel/framework 11", []at{{"8.2.0", ok}, {"8.1.27", no}, {"8.4.1", ok}}},
		{"^5.4|^6.0|^7.0", "symfony/console in many bundles", []at{{"6.4.3", ok}, {"5.3.16", no}, {"7.1.0", ok}}},
		{"^7.0.1", "guzzlehttp/guzzle, laravel/laravel", []at{{"7.0.0", no}, {"7.8.1", ok}, {"8.0.0", no}}},
		{"^1.0 || ^2.0 || ^3.0", "psr/log in monolog-compatible packages", []at{{"3.0.0", ok}, {"0.9.0", no}, {"4.0.0", no}}},
		{"~1.0", "composer/installers in WordPress plugins", []at{{"1.12.0", ok}, {"2.0.0", no}, {"2.0.0-RC1", no}}},
		{">=5.3.0", "php in old libraries", []at{{"8.3.0", ok}, {"5.2.17", no}, {"5.3.0", ok}}},
		{"^2.13.1|^3.1.4", "doctrine/dbal", []at{{"2.13.0", no}, {"3.1.4", ok}, {"3.1.3", no}}},
		{"*", "ext-json, ext-mbstring", []at{{"1.7.0", ok}, {"8.3.4", ok}}},
		{"~1.1", "symfony/polyfill-mbstring", []at{{"1.28.0", ok}, {"2.0", no}, {"1.0.9", no}}},
		{"dev-latest", "roave/security-advisories", []at{{"1.0.0", unknown}}},
		{"dev-master", "branch requirements", []at{{"1.0.0", unknown}}},
		{"2.x-dev", "branch alias requirements", []at{{"2.5.0", unknown}}},
		{"^0.9.3 || ^0.10.2 || ^0.11", "brick/math in ramsey/uuid 4.7", []at{{"0.9.3", ok}, {"0.10.1", no}, {"0.11.5", ok}, {"0.12.0", no}}},
		{"^0.3", "^0.x covers one minor only", []at{{"0.3.5", ok}, {"0.4.0", no}, {"1.0.0", no}}},
		{"^0.0.3", "^0.0.x covers one patch only", []at{{"0.0.3", ok}, {"0.0.4", no}}},
		{"^0", "caret on a bare 0", []at{{"0.9", ok}, {"1.0", no}}},
		{"~2", "tilde on a major", []at{{"2.9", ok}, {"3.0", no}}},
		{"~1.2.3", "tilde on a patch", []at{{"1.2.9", ok}, {"1.3.0", no}}},
		{"~1.2.3.4", "four-part versions", []at{{"1.2.3.9", ok}, {"1.2.4.0", no}, {"1.2.3.3", no}}},
		{"1.0 - 2.0", "hyphen range with a partial upper end", []at{{"2.0.5", ok}, {"2.1.0", no}, {"0.9", no}}},
		{"1.0 - 2.0.0", "hyphen range with a full upper end", []at{{"2.0.0", ok}, {"2.0.1", no}, {"1.0", ok}}},
		{"10.*", "laravel/framework in older apps", []at{{"10.48.4", ok}, {"11.0.0", no}, {"9.52.16", no}}},
		{"5.4.x", "x wildcard", []at{{"5.4.47", ok}, {"5.5.0", no}}},
		{"^1.8@dev", "behat/mink with a stability flag", []at{{"1.8.0", ok}, {"1.10.0", ok}, {"2.0.0", no}}},
		{"*@stable", "stability flag on everything", []at{{"3.0.0", ok}}},
		{"v1.2.3", "exact version with a v", []at{{"1.2.3", ok}, {"1.2.4", no}, {"v1.2.3", ok}}},
		{"1.2", "exact version, two parts", []at{{"1.2.0", ok}, {"1.2.1", no}}},
		{">=7.1.3,!=7.4.0", "php with an excluded release", []at{{"7.4.0", no}, {"7.4.1", ok}, {"7.1.2", no}}},
		{"^3.1 || ^4.0, !=3.2.0", "OR binds loosest: the != only applies to ^4.0", []at{{"3.2.0", ok}, {"4.0.0", ok}, {"5.0.0", no}}},
		{">=7.2.5 <8.4", "php, space is AND", []at{{"8.3.9", ok}, {"8.4.0", no}, {"8.4.0RC1", no}}},
		{">= 2.0", "space after the operator", []at{{"2.1", ok}, {"1.9", no}}},
		{"<2.0", "< excludes prereleases of the bound", []at{{"2.0.0-beta1", no}, {"1.9.9", ok}}},
		{">=2.0", ">= includes prereleases of the bound", []at{{"2.0.0-RC1", ok}, {"1.9.9", no}}},
		{"^2.0", "^ includes prereleases of its lower bound", []at{{"2.0.0-beta1", ok}, {"3.0.0-alpha1", no}}},
		{"<>1.0", "<> is !=", []at{{"1.0.0", no}, {"1.0.1", ok}}},
		{"^8.1 ||", "trailing OR", []at{{"8.1.0", unknown}}},
		{"^8.1 && ^8.2", "not Composer syntax", []at{{"8.2.0", unknown}}},
		{">=", "operator without a version", []at{{"8.2.0", unknown}}},
		{"^1.0", "version that cannot be ordered", []at{{"not-a-version", unknown}, {"", unknown}}},
		{"dev-main as 1.0.x-dev", "inline alias", []at{{"1.0.0", unknown}}},
	})
}

func TestNPMRanges(t *testing.T) {
	runSyntax(t, constraint.SyntaxNPM, []syntaxCase{
		{"^16.8.0 || ^17.0.0 || ^18.0.0", "react peer of react-redux 8", []at{{"18.2.0", ok}, {"19.0.0", no}, {"16.7.0", no}}},
		{"^14.18.0 || >=16.0.0", "node engine of vite 4", []at{{"14.17.0", no}, {"15.0.0", no}, {"20.11.1", ok}, {"14.18.3", ok}}},
		{">=18", "node engine of many 2024 packages", []at{{"20.0.0", ok}, {"16.20.2", no}, {"v18.0.0", ok}}},
		{"^12.20.0 || ^14.13.1 || >=16.0.0", "node engine of chalk 5, node-fetch 3", []at{{"14.13.0", no}, {"14.17.0", ok}, {"13.0.0", no}, {"18.0.0", ok}}},
		{">= 0.8", "node engine of old packages", []at{{"0.8.0", ok}, {"0.7.9", no}, {"22.1.0", ok}}},
		{">=8", "npm engine", []at{{"9.8.1", ok}, {"7.24.0", no}}},
		{"*", "@types/react peer; * matches no prerelease, as in node-semver", []at{{"18.2.0", ok}, {"0.0.1", ok}, {"19.0.0-rc.1", no}}},
		{"^6.0.0 || ^7.0.0 || ^8.0.0", "eslint peer of eslint-plugin-react-hooks 4", []at{{"8.57.0", ok}, {"9.0.0", no}}},
		{"^5.0.0", "webpack peer of loaders", []at{{"5.90.3", ok}, {"4.47.0", no}}},
		{"16.x || 18.x || 20.x", "node engine with x ranges", []at{{"18.19.0", ok}, {"19.0.0", no}, {"20.11.0", ok}}},
		{"1.x", "x range", []at{{"1.5.0", ok}, {"2.0.0", no}}},
		{"~1.2.3", "tilde", []at{{"1.2.9", ok}, {"1.3.0", no}}},
		{"~> 1.2", "~> is read as ~, as node-semver does", []at{{"1.2.9", ok}, {"1.3.0", no}}},
		{"^0.3", "^0.x covers one minor", []at{{"0.3.9", ok}, {"0.4.0", no}}},
		{">=3.9 <5", "typescript peer, two comparators", []at{{"4.9.5", ok}, {"5.0.0", no}, {"3.8.0", no}}},
		{"1.2.3 - 2.3.4", "hyphen range", []at{{"2.3.4", ok}, {"2.3.5", no}, {"1.2.2", no}}},
		{"1.2 - 2.3", "hyphen range with partial ends", []at{{"1.2.0", ok}, {"2.3.9", ok}, {"2.4.0", no}}},
		{"1 - 2", "hyphen range of majors", []at{{"2.9.9", ok}, {"3.0.0", no}}},
		{"=1.2.3", "exact", []at{{"1.2.3", ok}, {"1.2.4", no}}},
		{"", "empty means any", []at{{"1.0.0", ok}}},
		{"<2.0.0", "a prerelease of the bound is excluded", []at{{"2.0.0-rc.1", no}, {"1.9.0", ok}}},
		{"^1.2.3-beta.2", "prerelease in the range", []at{{"1.2.3-beta.4", ok}, {"1.2.4-beta.1", no}, {"1.2.4", ok}}},
		// node-semver accepts 1.0.0-rc.1 here; go-npm-version does not (see npm.go).
		{">=1.0.0-beta <2.0.0", "prerelease lower bound", []at{{"1.0.0-rc.1", no}, {"1.5.0", ok}}},
		{"^6.0.0 || ^7.0.0 || ^8.0.0-0", "eslint peer with a -0 floor", []at{{"8.57.0", ok}, {"9.0.0", no}, {"8.0.0-rc.1", ok}}},
		{"latest", "dist-tag", []at{{"1.0.0", unknown}}},
		{"workspace:*", "pnpm/yarn workspace", []at{{"1.0.0", unknown}}},
		{"file:../local-lib", "local path", []at{{"1.0.0", unknown}}},
		{"github:user/repo#v1.0.0", "git shorthand", []at{{"1.0.0", unknown}}},
		{"npm:string-width@^4.2.0", "alias", []at{{"4.2.0", unknown}}},
		{">=16 <<18", "garbage", []at{{"17.0.0", unknown}}},
		{"^18.0.0", "version that cannot be ordered", []at{{"eighteen", unknown}}},
	})
}

func TestRubyGemsRequirements(t *testing.T) {
	runSyntax(t, constraint.SyntaxRubyGems, []syntaxCase{
		{"~> 7.1.3, >= 7.1.3.2", "rails in a Rails 7.1 Gemfile", []at{{"7.1.3", no}, {"7.1.3.4", ok}, {"7.1.5", ok}, {"7.2.0", no}}},
		{"~> 1.1", "pg in rails new", []at{{"1.5.6", ok}, {"2.0.0", no}, {"1.0.0", no}}},
		{">= 5.0", "puma in rails new", []at{{"6.4.2", ok}, {"4.3.12", no}}},
		{"~> 1.4", "sqlite3 in rails new", []at{{"1.7.3", ok}, {"2.0.0", no}}},
		{">= 4.0.1", "redis", []at{{"5.0.0", ok}, {"4.0.0", no}}},
		{">= 3.1.0", "required_ruby_version of activesupport 7.2", []at{{"3.3.0", ok}, {"3.0.6", no}}},
		{">= 1.6, < 2", "i18n in activesupport", []at{{"1.14.1", ok}, {"2.0.0", no}, {"1.5.3", no}}},
		{"~> 2.0, >= 2.0.5", "tzinfo in activesupport", []at{{"2.0.6", ok}, {"2.0.4", no}, {"3.0.0", no}}},
		{"~> 1.0, >= 1.0.2", "concurrent-ruby in activesupport", []at{{"1.2.3", ok}, {"1.0.1", no}}},
		{"~> 2.2", "~> on two parts: < 3.0", []at{{"2.9", ok}, {"3.0", no}, {"2.1", no}}},
		{"~> 2.2.0", "~> on three parts: < 2.3", []at{{"2.2.9", ok}, {"2.3.0", no}}},
		{"~> 3", "~> on one part: < 4", []at{{"3.9", ok}, {"4.0", no}}},
		{"~> 7.0", "prereleases sort before their release", []at{{"8.0.0.beta1", no}, {"7.0.0.rc1", no}, {"7.2.1", ok}}},
		{"= 1.2.3", "exact", []at{{"1.2.3", ok}, {"1.2.4", no}}},
		{"1.2.3", "bare version is exact", []at{{"1.2.3", ok}, {"1.2.4", no}}},
		{"!= 1.5.0", "exclusion", []at{{"1.5.0", no}, {"1.5.1", ok}}},
		{"> 1.0, < 3", "two bounds", []at{{"2.5", ok}, {"1.0", no}, {"3.0", no}}},
		{"~> 13.0", "rake development dependency", []at{{"13.2.1", ok}, {"14.0.0", no}}},
		{"1.2.3 || 2.0", "RubyGems has no OR", []at{{"2.0", unknown}}},
		{"~> 1.2 >= 1.2.3", "two requirements in one string", []at{{"1.2.5", unknown}}},
		{"version", "a Ruby variable", []at{{"7.1.0", unknown}}},
		{"", "empty", []at{{"1.0", unknown}}},
		{">= 1", "version that cannot be ordered", []at{{"not a version", unknown}}},
	})
}

func TestWordPressHeaderChecks(t *testing.T) {
	cases := []struct {
		syntax, target, constraint, version string
		want                                constraint.Verdict
		reason                              string
	}{
		{constraint.SyntaxWordPressRequires, "wordpress", "6.2", "6.6", ok, ""},
		{constraint.SyntaxWordPressRequires, "wordpress", "6.2", "6.2", ok, ""},
		{constraint.SyntaxWordPressRequires, "wordpress", "6.2", "6.1.1", no, `"Requires at least: 6.2" and WordPress 6.1.1 is older`},
		{constraint.SyntaxWordPressRequires, "woocommerce", "7.1", "8.9.1", ok, `"WC requires at least: 7.1"`},
		{constraint.SyntaxWordPressRequires, "wordpress", "6.5.0", "6.5", ok, ""},   // x.y.0 read as x.y
		{constraint.SyntaxWordPressRequires, "wordpress", "6.5", "6.5-RC1", ok, ""}, // suffix stripped
		{constraint.SyntaxWordPressRequires, "wordpress", "5.0 or higher", "6.6", unknown, "does not parse"},
		{constraint.SyntaxWordPressTested, "wordpress", "6.4", "6.6", untest, `"Tested up to: 6.4" and the upgrade is to 6.6: untested beyond 6.4`},
		{constraint.SyntaxWordPressTested, "wordpress", "6.4", "6.4.3", ok, "covers"},
		{constraint.SyntaxWordPressTested, "wordpress", "6.4.2", "6.4.5", ok, ""},
		{constraint.SyntaxWordPressTested, "wordpress", "6.4", "6.3.2", ok, ""},
		{constraint.SyntaxWordPressTested, "wordpress", "6.4", "7.0", untest, ""},
		{constraint.SyntaxWordPressTested, "wordpress", "6.4", "6.5-beta1", untest, ""},
		{constraint.SyntaxWordPressTested, "wordpress", "latest", "6.5", unknown, ""},
		{constraint.SyntaxWordPressTested, "woocommerce", "8.5", "9.0.1", untest, `"WC tested up to: 8.5" and the upgrade is to 9.0.1`},
		{constraint.SyntaxPHPRequires, "php", "7.4", "8.3.4", ok, ""},
		{constraint.SyntaxPHPRequires, "php", "8.0", "7.4.33", no, `"Requires PHP: 8.0" and PHP 7.4.33 is older`},
		{constraint.SyntaxPHPRequires, "php", "5.6.20", "5.6.20", ok, ""},
		// PHP's version_compare: 8.1.0RC1 has a third number part, so it is
		// past "8.1"; against "8.1.0" the RC sorts first.
		{constraint.SyntaxPHPRequires, "php", "8.1", "8.1.0RC1", ok, ""},
		{constraint.SyntaxPHPRequires, "php", "8.1.0", "8.1.0RC1", no, ""},
		{constraint.SyntaxPHPRequires, "php", "8.x", "8.1.0", unknown, ""},
	}
	for _, c := range cases {
		d := constraint.Declared{Dependent: "p", Target: c.target, Constraint: c.constraint, Syntax: c.syntax, File: "p.php", Line: 5}
		got := constraint.Check(d, c.version)
		if got.Verdict != c.want || !strings.Contains(got.Reason, c.reason) {
			t.Errorf("%s %q at %s = %s (%s), want %s with reason containing %q", c.syntax, c.constraint, c.version, got.Verdict, got.Reason, c.want, c.reason)
		}
	}
}

func TestGoModChecks(t *testing.T) {
	cases := []struct {
		kind, constraint, version string
		want                      constraint.Verdict
		reason                    string
	}{
		{constraint.KindModuleMajor, "example.com/lib/v2 v2.1.0", "v2.4.0", ok, ""},
		{constraint.KindModuleMajor, "example.com/lib/v2 v2.1.0", "v3.0.0", no, "imports of example.com/lib/v2 use the /v2 path"},
		{constraint.KindModuleMajor, "example.com/lib/v2 v2.1.0", "v2.0.5", no, "minimal version selection"},
		{constraint.KindModuleMajor, "example.com/lib/v2 v2.1.0", "2.3.0", ok, ""},
		{constraint.KindModuleMajor, "golang.org/x/net v0.21.0", "v0.33.0", ok, ""},
		{constraint.KindModuleMajor, "golang.org/x/net v0.21.0", "v1.0.0", ok, ""},
		{constraint.KindModuleMajor, "golang.org/x/net v0.21.0", "v2.0.0", no, "unsuffixed path"},
		{constraint.KindModuleMajor, "gopkg.in/yaml.v3 v3.0.1", "v3.0.2", ok, ""},
		{constraint.KindModuleMajor, "gopkg.in/yaml.v3 v3.0.1", "v4.0.0", no, ""},
		{constraint.KindModuleMajor, "github.com/old/thing v2.0.0+incompatible", "v3.1.0+incompatible", ok, ""},
		{constraint.KindModuleMajor, "example.com/lib/v2 v2.1.0", "latest", unknown, ""},
		{constraint.KindGoDirective, "1.22", "1.26.1", ok, ""},
		{constraint.KindGoDirective, "1.22", "go1.21.13", no, "older"},
		{constraint.KindGoDirective, "1.22.0", "1.22", ok, ""},
		{constraint.KindGoDirective, "1.22", "banana", unknown, ""},
	}
	for _, c := range cases {
		d := constraint.Declared{Dependent: "example.com/shop", Target: "t", Constraint: c.constraint, Syntax: constraint.SyntaxGoMod, Kind: c.kind, File: "go.mod", Line: 6}
		got := constraint.Check(d, c.version)
		if got.Verdict != c.want || !strings.Contains(got.Reason, c.reason) {
			t.Errorf("%s %q at %s = %s (%s), want %s with reason containing %q", c.kind, c.constraint, c.version, got.Verdict, got.Reason, c.want, c.reason)
		}
	}
}

func TestUnknownSyntaxIsUnknown(t *testing.T) {
	got := constraint.Check(constraint.Declared{Constraint: ">=1", Syntax: "pip"}, "1.0")
	if got.Verdict != constraint.Unknown {
		t.Errorf("unknown syntax gave %s", got.Verdict)
	}
}

// A constraint that does not parse is unknown, never compatible, whatever
// the version: the property the issue asks for, over every syntax.
func TestUnparsableIsNeverCompatible(t *testing.T) {
	bad := []string{"", " ", "||", "^", "~>", ">=", "dev-master", "latest", "x.y.z", "1.0 ||| 2.0", "#{v}", "^1.0 && ^2.0", "@dev@dev", "1..2", "=>>1"}
	syntaxes := []string{constraint.SyntaxComposer, constraint.SyntaxNPM, constraint.SyntaxRubyGems, constraint.SyntaxWordPressRequires,
		constraint.SyntaxWordPressTested, constraint.SyntaxPHPRequires}
	for _, s := range syntaxes {
		for _, b := range bad {
			got := constraint.Check(constraint.Declared{Constraint: b, Syntax: s, Kind: constraint.KindModuleMajor}, "1.0.0")
			if got.Verdict == constraint.Compatible && !(s == constraint.SyntaxNPM && strings.TrimSpace(b) == "") {
				t.Errorf("%s %q at 1.0.0 is compatible (%s); an unparsable constraint must not be", s, b, got.Reason)
			}
		}
	}
}

func TestTallyAndWorst(t *testing.T) {
	ds := []constraint.Declared{
		{Target: "php", Constraint: "^8.1", Syntax: constraint.SyntaxComposer},
		{Target: "php", Constraint: "dev-master", Syntax: constraint.SyntaxComposer},
		{Target: "wordpress", Constraint: "6.4", Syntax: constraint.SyntaxWordPressTested},
		{Target: "node", Constraint: ">=18", Syntax: constraint.SyntaxNPM},
	}
	rs := constraint.CheckAll(ds, map[string]string{"php": "8.3.0", "wordpress": "6.6"})
	if len(rs) != 3 {
		t.Fatalf("CheckAll checked %d declarations, want the 3 with a version", len(rs))
	}
	tally := constraint.Tally(rs)
	if tally[ok] != 1 || tally[unknown] != 1 || tally[untest] != 1 {
		t.Errorf("Tally = %v", tally)
	}
	if w := constraint.Worst(rs); w != unknown {
		t.Errorf("Worst = %s, want unknown", w)
	}
	if w := constraint.Worst(rs[:1]); w != ok {
		t.Errorf("Worst of one compatible = %s", w)
	}
	if w := constraint.Worst(nil); w != unknown {
		t.Errorf("Worst of nothing = %s, want unknown", w)
	}
	rs = append(rs, constraint.Check(ds[0], "7.4.0"))
	if w := constraint.Worst(rs); w != no {
		t.Errorf("Worst with an incompatible = %s", w)
	}
}

func TestResultString(t *testing.T) {
	d := constraint.Declared{Dependent: "acme/shop", Target: "php", Constraint: "^8.1 ||", Syntax: constraint.SyntaxComposer, Kind: constraint.KindRequire, File: "composer.json", Line: 11}
	got := constraint.Check(d, "8.3.0").String()
	want := `composer.json:11: acme/shop: unknown: Composer constraint "^8.1 ||" does not parse: an empty alternative around "|" or "||"`
	if got != want {
		t.Errorf("String() = %s\nwant        %s", got, want)
	}
}
