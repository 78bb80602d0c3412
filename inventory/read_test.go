package inventory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/inventory"
)

func TestRead(t *testing.T) {
	ctx := context.Background()
	base, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("relative path", func(t *testing.T) {
		got, problems, err := inventory.Read(ctx, inventory.Source{Type: "wp-themes", Path: "wp-themes.json"}, base)
		if err != nil || len(problems) != 0 || len(got) != 2 {
			t.Fatalf("got %v, %v, %v", got, problems, err)
		}
		if got[0].Source != "wp-themes.json#/0" {
			t.Errorf("Source = %q, want the path as written in the config", got[0].Source)
		}
	})
	t.Run("absolute path", func(t *testing.T) {
		got, _, err := inventory.Read(ctx, inventory.Source{Type: "gomod", Path: filepath.Join(base, "go.mod.txt")}, "/nonexistent")
		if err != nil || len(got) != 5 {
			t.Fatalf("got %d components, %v", len(got), err)
		}
	})
	t.Run("component", func(t *testing.T) {
		got, problems, err := inventory.Read(ctx, inventory.Source{
			Type: "component", Name: "openssl", Ecosystem: "Debian:12", Version: "3.0.11-1~deb12u2", Layer: "os",
		}, base)
		if err != nil || len(problems) != 0 {
			t.Fatal(err, problems)
		}
		want := []upfactory.Component{{
			Name: "openssl", Ecosystem: "Debian:12", Version: "3.0.11-1~deb12u2", Layer: "os",
			Direct: true, Source: "declared component openssl",
		}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("declared component purl", func(t *testing.T) {
		got, _, err := inventory.Read(ctx, inventory.Source{
			Type: "component", Name: "github.com/gin-gonic/gin", Ecosystem: "Go", Version: "v1.9.0", Layer: "dependency",
		}, base)
		if err != nil {
			t.Fatal(err)
		}
		if want := "pkg:golang/github.com/gin-gonic/gin@v1.9.0"; got[0].PURL != want {
			t.Errorf("PURL = %q, want %q", got[0].PURL, want)
		}
	})

	for _, tc := range []struct {
		name string
		src  inventory.Source
		want string
	}{
		{"unknown type", inventory.Source{Type: "pom", Path: "pom.xml"}, `inventory type "pom" is not one of`},
		{"no path", inventory.Source{Type: "cyclonedx"}, "missing path"},
		{"component missing fields", inventory.Source{Type: "component", Name: "x"}, "missing ecosystem, version, layer"},
		{"component bad layer", inventory.Source{Type: "component", Name: "x", Ecosystem: "npm", Version: "1", Layer: "kernel"}, `layer "kernel" is not one of`},
		{"missing file", inventory.Source{Type: "cyclonedx", Path: "absent.json"}, "absent.json"},
		{"wrong format", inventory.Source{Type: "cyclonedx", Path: "small.spdx.json"}, "small.spdx.json: not a CycloneDX JSON BOM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := inventory.Read(ctx, tc.src, base)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err := inventory.Read(ctx, inventory.Source{Type: "wp-themes", Path: "wp-themes.json"}, base)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("missing file wraps not-exist", func(t *testing.T) {
		_, _, err := inventory.Read(ctx, inventory.Source{Type: "gomod", Path: "absent.mod"}, base)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want os.ErrNotExist", err)
		}
	})
}

func TestTypes(t *testing.T) {
	want := []string{"component", "composer-lock", "cyclonedx", "gemfile-lock", "gomod", "package-lock",
		"poetry-lock", "requirements", "spdx", "wp-plugins", "wp-themes"}
	if diff := cmp.Diff(want, inventory.Types()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A file in another format is an error naming the file and the format
// that was expected, never an empty inventory.
func TestNotTheFormat(t *testing.T) {
	spdx := mustRead(t, "testdata/small.spdx.json")
	for _, tc := range []struct {
		parser string
		parse  parseFunc
		data   []byte
		want   string
	}{
		{"cyclonedx", inventory.ParseCycloneDX, spdx, "not a CycloneDX JSON BOM"},
		{"cyclonedx-2.0", inventory.ParseCycloneDX, []byte(`{"bomFormat":"CycloneDX","specVersion":"2.0"}`), `specVersion "2.0" is not supported`},
		{"cyclonedx-xml", inventory.ParseCycloneDX, []byte(`<bom xmlns="http://cyclonedx.org/schema/bom/1.4"/>`), "not a CycloneDX JSON BOM"},
		{"spdx", inventory.ParseSPDX, mustRead(t, "testdata/minimal-1.6.cdx.json"), "not an SPDX 2.x JSON document"},
		{"spdx-tag-value", inventory.ParseSPDX, []byte("SPDXVersion: SPDX-2.3\n"), "not an SPDX JSON document"},
		{"gomod", inventory.ParseGoMod, spdx, "not a go.mod file"},
		{"gomod-empty", inventory.ParseGoMod, []byte("// nothing\n"), "not a go.mod file"},
		{"package-lock", inventory.ParsePackageLock, spdx, "not an npm package-lock.json"},
		{"package-lock-package.json", inventory.ParsePackageLock, []byte(`{"name":"x","dependencies":{"a":"^1"}}`), "not an npm package-lock.json"},
		{"composer-lock", inventory.ParseComposerLock, spdx, "not a composer.lock"},
		{"gemfile-lock", inventory.ParseGemfileLock, spdx, "not a Gemfile.lock"},
		{"requirements", inventory.ParseRequirements, spdx, "not a pip requirements file"},
		{"poetry-lock", inventory.ParsePoetryLock, spdx, "not a poetry.lock"},
		{"poetry-lock-pyproject", inventory.ParsePoetryLock, []byte("[tool.poetry]\nname = \"x\"\n"), "not a poetry.lock"},
		{"wp-plugins", inventory.ParseWPPlugins, spdx, "not the output of wp plugin list"},
		{"wp-themes", inventory.ParseWPThemes, []byte("name,status\n"), "not the output of wp theme list"},
	} {
		t.Run(tc.parser, func(t *testing.T) {
			got, _, err := tc.parse("the-file", tc.data)
			if err == nil || !strings.Contains(err.Error(), "the-file") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming the-file and containing %q", err, tc.want)
			}
			if len(got) != 0 {
				t.Errorf("got %d components with an error", len(got))
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	for _, tc := range []struct {
		p    inventory.Problem
		want string
	}{
		{inventory.Problem{File: "requirements.txt", Line: 9, Message: "flask not pinned"}, "requirements.txt:9: flask not pinned"},
		{inventory.Problem{File: "bom.json", Path: "/components/3", Message: "no purl"}, "bom.json#/components/3: no purl"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("String() = %q, want %q", got, tc.want)
		}
	}
}
