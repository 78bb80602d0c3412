package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/upfactory/upfactory/internal/corpus"
)

const scanData = "testdata/scan/"

func runScan(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), append([]string{"scan"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestScanExitCodes(t *testing.T) {
	db := scanData + "osv"
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"no findings", []string{"--sbom", scanData + "clean.cdx.json", "--db", db}, exitOK},
		{"finding, default fail-on any", []string{"--sbom", scanData + "high.cdx.json", "--db", db}, exitRefused},
		{"finding above threshold", []string{"--sbom", scanData + "high.cdx.json", "--db", db, "--fail-on", "high"}, exitRefused},
		{"finding below threshold", []string{"--sbom", scanData + "high.cdx.json", "--db", db, "--fail-on", "critical"}, exitOK},
		{"report only", []string{"--sbom", scanData + "high.cdx.json", "--db", db, "--fail-on", "none"}, exitOK},
		{"medium lockfile, fail-on high", []string{"--lockfile", scanData + "package-lock.json", "--db", db, "--fail-on", "high"}, exitOK},
		{"medium lockfile, fail-on medium", []string{"--lockfile", scanData + "package-lock.json", "--db", db, "--fail-on", "medium"}, exitRefused},
		{"sbom and lockfile", []string{"--sbom", scanData + "clean.cdx.json", "--lockfile", scanData + "package-lock.json", "--db", db, "--fail-on", "medium"}, exitRefused},
		{"missing --db", []string{"--sbom", scanData + "clean.cdx.json"}, exitUsage},
		{"no inputs", []string{"--db", db}, exitUsage},
		{"unreadable sbom", []string{"--sbom", scanData + "nope.cdx.json", "--db", db}, exitUsage},
		{"unreadable lockfile", []string{"--lockfile", scanData + "go.mod", "--db", db}, exitUsage},
		{"sbom of no known format", []string{"--sbom", scanData + "osv/GHSA-35jh-r3h4-6jhm.json", "--db", db}, exitUsage},
		{"db missing", []string{"--sbom", scanData + "clean.cdx.json", "--db", scanData + "nope.zip"}, exitUsage},
		{"db not osv", []string{"--sbom", scanData + "clean.cdx.json", "--db", scanData + "clean.cdx.json"}, exitUsage},
		{"bad --format", []string{"--sbom", scanData + "clean.cdx.json", "--db", db, "--format", "xml"}, exitUsage},
		{"bad --fail-on", []string{"--sbom", scanData + "clean.cdx.json", "--db", db, "--fail-on", "severe"}, exitUsage},
		{"bad --lockfile-type", []string{"--lockfile", scanData + "package-lock.json", "--lockfile-type", "yarn", "--db", db}, exitUsage},
		{"argument", []string{"--db", db, "extra"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errb := runScan(t, tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.want, out, errb)
			}
			if code == exitUsage && errb == "" {
				t.Error("no explanation on stderr")
			}
		})
	}
}

func TestScanText(t *testing.T) {
	code, out, errb := runScan(t, "--sbom", scanData+"high.cdx.json", "--db", scanData+"osv", "--fail-on", "high")
	if code != exitRefused {
		t.Fatalf("exit %d, want 1; stderr: %s", code, errb)
	}
	for _, s := range []string{"SEVERITY", "GHSA-35jh-r3h4-6jhm", "lodash", "4.17.21", "2 vulnerabilities in 1 of 2 components (2 high)."} {
		if !strings.Contains(out, s) {
			t.Errorf("text output lacks %q:\n%s", s, out)
		}
	}
	if !strings.Contains(errb, "--fail-on high") {
		t.Errorf("stderr does not say why it failed: %q", errb)
	}
}

// The report is the only thing on stdout, with -o json and a failing
// threshold too.
func TestScanJSON(t *testing.T) {
	for _, args := range [][]string{{"--format", "json"}, {"-o", "json"}} {
		code, out, errb := runScan(t, append(args, "--sbom", scanData+"high.cdx.json", "--db", scanData+"osv")...)
		if code != exitRefused {
			t.Fatalf("%v: exit %d, want 1; stderr: %s", args, code, errb)
		}
		var rep struct {
			Findings []struct {
				ID, Package, Version, Severity string
				Fixed                          []string
				CVSSScore                      *float64 `json:"cvss_score"`
			}
			Counts   map[string]int
			Problems []any
		}
		dec := json.NewDecoder(strings.NewReader(out))
		if err := dec.Decode(&rep); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if dec.More() {
			t.Errorf("%v: more than one JSON value on stdout:\n%s", args, out)
		}
		if len(rep.Findings) != 2 || rep.Counts["HIGH"] != 2 || rep.Findings[0].CVSSScore == nil {
			t.Errorf("%v: report %+v", args, rep)
		}
	}
}

func TestScanSARIF(t *testing.T) {
	code, out, errb := runScan(t, "--sbom", scanData+"high.cdx.json", "--db", scanData+"osv", "--format", "sarif", "--fail-on", "none")
	if code != exitOK {
		t.Fatalf("exit %d; stderr: %s", code, errb)
	}
	var log struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string } `json:"artifactLocation"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 || len(log.Runs[0].Results) != 2 {
		t.Fatalf("log %+v", log)
	}
	if uri := log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI; uri != "testdata/scan/high.cdx.json" {
		t.Errorf("uri %q, want the path relative to the working directory", uri)
	}
}

func TestScanCorpusProtonBridge(t *testing.T) {
	sbom := corpus.File(t, "sbom/proton-bridge-1.8.0.cdx.json")
	db := corpus.File(t, "osv/go-vulndb-all.zip")
	code, out, errb := runScan(t, "--sbom", sbom, "--db", db, "--format", "sarif")
	if code != exitRefused {
		t.Fatalf("exit %d, want 1 (findings); stderr: %s", code, errb)
	}
	var log map[string]any
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		t.Fatalf("sarif output is not JSON: %v", err)
	}
	t.Logf("stderr: %s", strings.TrimSpace(errb))
}
