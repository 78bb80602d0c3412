package main

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upfactory/upfactory/internal/corpus"
)

// A run that ends on its problems prints them: intake with an OSV feed
// that gives no record says which feed and why, in text and JSON.
func TestIntakeWithNoAdvisoryPrintsItsProblems(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.zip")
	f, err := os.Create(empty)
	if err != nil {
		t.Fatal(err)
	}
	zip.NewWriter(f).Close()
	f.Close()
	cfg := filepath.Join(dir, "upfactory.yaml")
	os.WriteFile(cfg, []byte(`services:
  - name: blog
    inventory: [{type: component, name: golang.org/x/net, ecosystem: Go, version: v0.15.0, layer: dependency}]
feeds:
  osv: [{path: empty.zip}]
`), 0o644)
	for _, output := range []string{"text", "json"} {
		code, stdout, stderr := run(t, "intake", "run", "-c", cfg, "-o", output)
		if code != exitRefused || !strings.Contains(stdout+stderr, empty+": holds no OSV record") {
			t.Errorf("-o %s: exit %d, want 1 naming the empty feed:\n%s%s", output, code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "see the problems above") {
			t.Errorf("-o %s: points at problems it does not print:\n%s%s", output, stdout, stderr)
		}
	}
}

// A truncated SBOM is recognised as what it was meant to be and reported
// with where its JSON ends, without --lockfile-type.
func TestTruncatedSBOMSaysWhereItEnds(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ file, want string }{
		{"sbom/juice-shop-11.1.2.cdx.json", "not a CycloneDX JSON BOM: the JSON ends early, at line"},
		{"sbom/spdx-example-2.3.spdx.json", "not an SPDX JSON document: the JSON ends early, at line"},
	} {
		data, err := os.ReadFile(filepath.Join(corpus.Dir(t), tc.file))
		if err != nil {
			t.Fatal(err)
		}
		cut := filepath.Join(dir, filepath.Base(tc.file))
		os.WriteFile(cut, data[:len(data)/2], 0o644)
		code, stdout, stderr := run(t, "scan", "--sbom", cut, "--db", filepath.Join(corpus.Dir(t), "osv/go-vulndb-all.zip"))
		if code != exitUsage || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "cut short") {
			t.Errorf("%s cut in half: exit %d, want %d with %q:\n%s%s", tc.file, code, exitUsage, tc.want, stdout, stderr)
		}
	}
}
