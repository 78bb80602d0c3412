package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upfactory/upfactory/internal/corpus"
	"github.com/upfactory/upfactory/scan"
)

// The real Go database gives its records no severity: a --fail-on high
// gate must not pass them in silence. HTTP/2 Rapid Reset names its KEV
// listed CVE only as related, and is flagged KEV with that reason.
func TestScanUnknownSeverityFailsSafe(t *testing.T) {
	db := corpus.File(t, "osv/go-vulndb-all.zip")
	kev := corpus.File(t, "kev/known_exploited_vulnerabilities.json")
	gomod := filepath.Join(t.TempDir(), "go.mod")
	os.WriteFile(gomod, []byte("module example.com/shop\n\ngo 1.22\n\nrequire golang.org/x/net v0.15.0\n"), 0o644)
	args := []string{"scan", "--lockfile", gomod, "--db", db, "--kev", kev, "--fail-on", "high"}

	code, stdout, stderr := run(t, args...)
	if code != exitRefused || !strings.Contains(stdout, "no severity in the database and are counted as failing") || !strings.Contains(stderr, "--unknown-severity pass") {
		t.Fatalf("--fail-on high on unscored findings: exit %d, want 1 saying why:\n%s%s", code, stdout, stderr)
	}

	code, stdout, stderr = run(t, append(args, "--unknown-severity", "pass", "--format", "json")...)
	if code != exitOK {
		t.Fatalf("--unknown-severity pass: exit %d, want 0:\n%s", code, stderr)
	}
	var rep scan.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Gate == nil || rep.Gate.UnknownSeverity != "pass" || !rep.Gate.Passed {
		t.Errorf("gate = %+v, want passed with unknown severity let through", rep.Gate)
	}
	var rapidReset *scan.Finding
	for i, f := range rep.Findings {
		if f.ID == "GO-2023-2102" {
			rapidReset = &rep.Findings[i]
		}
	}
	if rapidReset == nil || !rapidReset.KEV || rapidReset.KEVVia != "related CVE-2023-44487" {
		t.Errorf("GO-2023-2102 = %+v, want KEV via related CVE-2023-44487", rapidReset)
	}

	if code, _, stderr := run(t, append(args, "--unknown-severity", "maybe")...); code != exitUsage || !strings.Contains(stderr, "fail or pass") {
		t.Errorf("--unknown-severity maybe: exit %d: %s", code, stderr)
	}
}
