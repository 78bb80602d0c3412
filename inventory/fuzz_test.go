package inventory_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/upfactory/upfactory/inventory"
)

// fuzzParser checks a parser never panics, and that everything it returns
// is complete: a record it cannot make whole must be a Problem instead.
func fuzzParser(f *testing.F, parse parseFunc, seeds ...string) {
	for _, s := range seeds {
		data, err := os.ReadFile(filepath.Join("testdata", s))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, problems, err := parse("fuzz", data)
		if err != nil && (len(got) > 0 || len(problems) > 0) {
			t.Errorf("error %v with %d components and %d problems", err, len(got), len(problems))
		}
		for _, c := range got {
			checkComponent(t, c)
		}
		for _, p := range problems {
			if p.File != "fuzz" || p.Message == "" {
				t.Errorf("incomplete problem %+v", p)
			}
		}
	})
}

func FuzzParseCycloneDX(f *testing.F) {
	fuzzParser(f, inventory.ParseCycloneDX, "app-1.5.cdx.json", "minimal-1.6.cdx.json")
}

func FuzzParseSPDX(f *testing.F) {
	fuzzParser(f, inventory.ParseSPDX, "small.spdx.json")
}

func FuzzParseGoMod(f *testing.F) {
	fuzzParser(f, inventory.ParseGoMod, "go.mod.txt", "go-noversion.mod.txt")
}

func FuzzParsePackageLock(f *testing.F) {
	fuzzParser(f, inventory.ParsePackageLock, "package-lock-v1.json", "package-lock-v2.json", "package-lock-v3.json")
}

func FuzzParseComposerLock(f *testing.F) {
	fuzzParser(f, inventory.ParseComposerLock, "composer.lock")
}

func FuzzParseGemfileLock(f *testing.F) {
	fuzzParser(f, inventory.ParseGemfileLock, "Gemfile.lock")
}

func FuzzParseRequirements(f *testing.F) {
	fuzzParser(f, inventory.ParseRequirements, "requirements.txt")
}

func FuzzParsePoetryLock(f *testing.F) {
	fuzzParser(f, inventory.ParsePoetryLock, "poetry-1.4.lock", "poetry-2.lock")
}

func FuzzParseWPPlugins(f *testing.F) {
	fuzzParser(f, inventory.ParseWPPlugins, "wp-plugins.json", "wp-themes.json")
}

func FuzzParseWPThemes(f *testing.F) {
	fuzzParser(f, inventory.ParseWPThemes, "wp-themes.json")
}
