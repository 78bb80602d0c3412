package scan_test

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/upfactory/upfactory/internal/corpus"
	"github.com/upfactory/upfactory/scan"
)

// The Proton Bridge SBOM (Go modules) against the whole Go vulnerability
// database: real findings, each complete, and SARIF GitHub would accept.
func TestCorpusProtonBridge(t *testing.T) {
	sbom := corpus.File(t, "sbom/proton-bridge-1.8.0.cdx.json")
	db := corpus.File(t, "osv/go-vulndb-all.zip")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := scan.Run(context.Background(), scan.Options{Inputs: []scan.Input{{Path: sbom}}, DB: db, WorkDir: wd})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d components, %d records: %s (%d problems)", rep.Components, rep.Records, scan.Summary(rep), len(rep.Problems))
	if len(rep.Findings) == 0 {
		t.Fatal("no findings")
	}
	for _, f := range rep.Findings {
		if f.ID == "" || f.Package == "" || f.Version == "" || f.Fixed == nil || f.Severity == "" {
			t.Errorf("incomplete finding %+v", f)
		}
	}
	var b bytes.Buffer
	if err := scan.WriteSARIF(&b, rep); err != nil {
		t.Fatal(err)
	}
	checkSARIF(t, b.Bytes())
}
