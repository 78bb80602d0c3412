package constraint_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/upfactory/upfactory/constraint"
)

// fuzzParser checks a parser on any input: no panic, and every declaration
// and problem names the file and a line inside it.
func fuzzParser(f *testing.F, parse constraint.Parser, seeds ...string) {
	for _, s := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "dir/manifest"
		ds, ps, err := parse(file, data)
		if err != nil && (len(ds) > 0 || len(ps) > 0) {
			t.Fatalf("error %v together with %d declarations and %d problems", err, len(ds), len(ps))
		}
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, p := range ps {
			if p.File != file || p.Line < 1 || p.Line > lines || p.Message == "" {
				t.Fatalf("problem without file, line in 1..%d or message: %+v", lines, p)
			}
		}
		for _, d := range ds {
			if d.File != file || d.Line < 1 || d.Line > lines || d.Syntax == "" || d.Kind == "" || d.Target == "" {
				t.Fatalf("declaration incomplete or outside 1..%d: %+v", lines, d)
			}
			for _, v := range []string{"1.0.0", "8.3.4", "v2.0.0", "6.6"} {
				r := constraint.Check(d, v)
				switch r.Verdict {
				case constraint.Compatible, constraint.Incompatible, constraint.Untested, constraint.Unknown:
				default:
					t.Fatalf("Check(%+v, %s) verdict %q", d, v, r.Verdict)
				}
			}
		}
	})
}

func FuzzParseComposerJSON(f *testing.F) {
	fuzzParser(f, constraint.ParseComposerJSON, "composer.json", "package.json")
}

func FuzzParsePackageJSON(f *testing.F) {
	fuzzParser(f, constraint.ParsePackageJSON, "package.json", "composer.json")
}

func FuzzParseGemfile(f *testing.F) {
	fuzzParser(f, constraint.ParseGemfile, "Gemfile", "activesupport.gemspec")
}

func FuzzParseGemspec(f *testing.F) {
	fuzzParser(f, constraint.ParseGemspec, "activesupport.gemspec", "Gemfile")
}

func FuzzParseWordPressHeaders(f *testing.F) {
	fuzzParser(f, constraint.ParseWordPressHeaders, "wp-content/plugins/woo-gateway/woo-gateway.php",
		"wp-content/plugins/akismet/akismet.php", "wp-content/themes/twentytwentyfour/style.css")
}

func FuzzParseGoMod(f *testing.F) {
	fuzzParser(f, constraint.ParseGoMod, "go.mod")
}

// FuzzCheck evaluates any constraint in every syntax against any version:
// no panic, a verdict from the four, a reason, and the declaration carried.
func FuzzCheck(f *testing.F) {
	for _, s := range [][2]string{
		{"^7.4 || ^8.0", "8.3.4"}, {"1.0 - 2.0", "2.0.5"}, {"~1.2.3.4", "1.2.3.9"}, {"^1.8@dev", "1.8.0"},
		{"^14.18.0 || >=16.0.0", "20.11.1"}, {"1.2 - 2.3", "2.3.9"}, {"~> 7.1.3, >= 7.1.3.2", "7.1.3.4"},
		{"6.4", "6.6"}, {"example.com/lib/v2 v2.1.0", "v3.0.0"}, {"dev-master", "1.0"},
	} {
		f.Add(s[0], s[1])
	}
	syntaxes := []string{constraint.SyntaxComposer, constraint.SyntaxNPM, constraint.SyntaxRubyGems,
		constraint.SyntaxWordPressRequires, constraint.SyntaxWordPressTested, constraint.SyntaxPHPRequires, constraint.SyntaxGoMod}
	f.Fuzz(func(t *testing.T, c, v string) {
		for _, s := range syntaxes {
			for _, kind := range []string{constraint.KindModuleMajor, constraint.KindGoDirective} {
				d := constraint.Declared{Constraint: c, Syntax: s, Kind: kind, File: "f", Line: 1}
				r := constraint.Check(d, v)
				if r.Reason == "" || r.Declared != d || r.Version != v {
					t.Fatalf("Check(%+v, %q) = %+v", d, v, r)
				}
				switch r.Verdict {
				case constraint.Compatible, constraint.Incompatible, constraint.Unknown:
				case constraint.Untested:
					if s != constraint.SyntaxWordPressTested {
						t.Fatalf("untested from %s", s)
					}
				default:
					t.Fatalf("verdict %q", r.Verdict)
				}
			}
		}
	})
}
