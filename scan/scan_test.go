package scan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/upfactory/upfactory/internal/golden"
	"github.com/upfactory/upfactory/scan"
)

// testOptions scans testdata/app.cdx.json against testdata/osv, with KEV
// and EPSS.
func testOptions(t *testing.T) scan.Options {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return scan.Options{
		Inputs:  []scan.Input{{Path: "testdata/app.cdx.json"}},
		DB:      "testdata/osv",
		KEV:     "testdata/kev.json",
		EPSS:    "testdata/epss.csv",
		WorkDir: wd,
	}
}

// MustRun runs a scan that must succeed.
func MustRun(tb testing.TB, opts scan.Options) *scan.Report {
	tb.Helper()
	rep, err := scan.Run(context.Background(), opts)
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

func ptr(f float64) *float64 { return &f }

func TestRunFindings(t *testing.T) {
	rep := MustRun(t, testOptions(t))
	const file = "testdata/app.cdx.json"
	want := []scan.Finding{
		{
			ID: "GHSA-35jh-r3h4-6jhm", Aliases: []string{"CVE-2021-23337", "SNYK-JS-LODASH-1040724"},
			Package: "lodash", Ecosystem: "npm", Version: "4.17.15", Fixed: []string{"4.17.21"}, Recommended: "4.17.21",
			CVSSVector: "CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", CVSSScore: ptr(7.2), Severity: scan.High,
			KEV: true, EPSS: ptr(0.5), Summary: "Command Injection in lodash",
			URL: "https://osv.dev/vulnerability/GHSA-35jh-r3h4-6jhm", Source: file + "#/components/0", File: file, Line: 7,
		},
		{
			ID: "GHSA-p6mc-m468-83gw", Aliases: []string{"CVE-2020-8203"},
			Package: "lodash", Ecosystem: "npm", Version: "4.17.15", Fixed: []string{"4.17.19"}, Recommended: "4.17.21",
			CVSSVector: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H", CVSSScore: ptr(7.4), Severity: scan.High,
			EPSS: ptr(0.01234), Summary: "Prototype Pollution in lodash",
			URL: "https://osv.dev/vulnerability/GHSA-p6mc-m468-83gw", Source: file + "#/components/0", File: file, Line: 7,
		},
		{
			// No vector: GitHub's database_specific severity, MODERATE.
			ID: "GHSA-vh95-rmgr-6w4m", Aliases: []string{"CVE-2020-7598"},
			Package: "minimist", Ecosystem: "npm", Version: "1.2.0", Fixed: []string{"1.2.3"}, Recommended: "1.2.3",
			Severity: scan.Medium, EPSS: ptr(0.002), Summary: "Prototype Pollution in minimist",
			URL: "https://osv.dev/vulnerability/GHSA-vh95-rmgr-6w4m", Source: file + "#/components/1", File: file, Line: 8,
		},
		{
			// The vector wins over database_specific's HIGH.
			ID: "GHSA-9vvw-cc9w-f27h", Aliases: []string{"CVE-2017-20165"},
			Package: "debug", Ecosystem: "npm", Version: "2.6.8", Fixed: []string{"2.6.9"}, Recommended: "2.6.9",
			CVSSVector: "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:L", CVSSScore: ptr(2.0), Severity: scan.Low,
			Summary: "debug Inefficient Regular Expression Complexity vulnerability",
			URL:     "https://osv.dev/vulnerability/GHSA-9vvw-cc9w-f27h", Source: file + "#/components/2", File: file, Line: 9,
		},
		{
			// The Go database carries no severity at all.
			ID: "GO-2021-0113", Aliases: []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"},
			Package: "golang.org/x/text", Ecosystem: "Go", Version: "v0.3.5", Fixed: []string{"v0.3.7"}, Recommended: "v0.3.7",
			Severity: scan.Unknown, Summary: "Out-of-bounds read in golang.org/x/text/language",
			URL: "https://osv.dev/vulnerability/GO-2021-0113", Source: file + "#/components/4", File: file, Line: 11,
		},
	}
	if diff := cmp.Diff(want, rep.Findings, cmpopts.IgnoreFields(scan.Finding{}, "Details")); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	wantCounts := map[string]int{"CRITICAL": 0, "HIGH": 2, "MEDIUM": 1, "LOW": 1, "NONE": 0, "UNKNOWN": 1}
	if diff := cmp.Diff(wantCounts, rep.Counts); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if rep.Components != 5 || rep.Records != 7 {
		t.Errorf("components, records = %d, %d; want 5, 7", rep.Components, rep.Records)
	}
	wantProbs := []scan.Problem{{Kind: "inventory", Source: file + "#/metadata/component", Message: "shop: no purl: cannot tell the ecosystem"}}
	if diff := cmp.Diff(wantProbs, rep.Problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

// Two records (GHSA and SNYK) naming CVE-2021-23337 are one finding.
func TestAliasesMerged(t *testing.T) {
	rep := MustRun(t, testOptions(t))
	var got []scan.Finding
	for _, f := range rep.Findings {
		for _, id := range append([]string{f.ID}, f.Aliases...) {
			if id == "CVE-2021-23337" {
				got = append(got, f)
			}
		}
	}
	if len(got) != 1 {
		t.Fatalf("CVE-2021-23337 in %d findings, want 1: %+v", len(got), got)
	}
	if diff := cmp.Diff([]string{"CVE-2021-23337", "SNYK-JS-LODASH-1040724"}, got[0].Aliases); diff != "" {
		t.Errorf("aliases (-want +got):\n%s", diff)
	}
}

func TestEnrichment(t *testing.T) {
	type enr struct {
		KEV  bool
		EPSS *float64
	}
	collect := func(rep *scan.Report) map[string]enr {
		m := map[string]enr{}
		for _, f := range rep.Findings {
			m[f.ID] = enr{f.KEV, f.EPSS}
		}
		return m
	}
	t.Run("with kev and epss", func(t *testing.T) {
		got := collect(MustRun(t, testOptions(t)))
		want := map[string]enr{
			"GHSA-35jh-r3h4-6jhm": {true, ptr(0.5)},
			"GHSA-p6mc-m468-83gw": {false, ptr(0.01234)},
			"GHSA-vh95-rmgr-6w4m": {false, ptr(0.002)},
			"GHSA-9vvw-cc9w-f27h": {},
			"GO-2021-0113":        {},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("without", func(t *testing.T) {
		opts := testOptions(t)
		opts.KEV, opts.EPSS = "", ""
		for id, e := range collect(MustRun(t, opts)) {
			if e.KEV || e.EPSS != nil {
				t.Errorf("%s: kev %v epss %v without enrichment files", id, e.KEV, e.EPSS)
			}
		}
	})
}

func TestExceeds(t *testing.T) {
	report := func(sevs ...string) *scan.Report {
		r := &scan.Report{}
		for _, s := range sevs {
			r.Findings = append(r.Findings, scan.Finding{ID: "X-" + s, Severity: s})
		}
		return r
	}
	tests := []struct {
		sevs          []string
		threshold     string
		unknownPasses bool
		want          bool
	}{
		{nil, "any", false, false},
		{nil, "low", false, false},
		{[]string{scan.Unknown}, "any", false, true},
		// Unknown may be anything: it fails safe unless let through.
		{[]string{scan.Unknown}, "low", false, true},
		{[]string{scan.Unknown}, "critical", false, true},
		{[]string{scan.Unknown}, "high", true, false},
		{[]string{scan.Unknown}, "any", true, true},
		{[]string{scan.Unknown}, "none", false, false},
		{[]string{scan.None}, "any", false, true},
		{[]string{scan.None}, "low", false, false},
		{[]string{scan.Low}, "low", false, true},
		{[]string{scan.Low}, "medium", false, false},
		{[]string{scan.Medium}, "medium", false, true},
		{[]string{scan.Medium}, "high", false, false},
		{[]string{scan.High}, "high", false, true},
		{[]string{scan.High}, "critical", false, false},
		{[]string{scan.Critical}, "critical", false, true},
		{[]string{scan.Critical}, "HIGH", false, true},
		{[]string{scan.Low, scan.Critical}, "critical", false, true},
		{[]string{scan.Critical}, "none", false, false},
		{[]string{scan.Low}, "typo", false, true},
	}
	for _, tt := range tests {
		if got := scan.Exceeds(report(tt.sevs...), tt.threshold, tt.unknownPasses); got != tt.want {
			t.Errorf("Exceeds(%v, %q, unknown passes %v) = %v, want %v", tt.sevs, tt.threshold, tt.unknownPasses, got, tt.want)
		}
	}
}

func TestParseThreshold(t *testing.T) {
	for _, s := range []string{"any", "LOW", "medium", "high", "critical", "none"} {
		if _, err := scan.ParseThreshold(s); err != nil {
			t.Errorf("ParseThreshold(%q): %v", s, err)
		}
	}
	if _, err := scan.ParseThreshold("severe"); err == nil {
		t.Error(`ParseThreshold("severe") = nil error`)
	}
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := scan.WriteJSON(&b, MustRun(t, testOptions(t))); err != nil {
		t.Fatal(err)
	}
	golden.Equal(t, "app.json.golden", b.Bytes())
}

func TestTextGolden(t *testing.T) {
	var b bytes.Buffer
	if err := scan.WriteText(&b, MustRun(t, testOptions(t))); err != nil {
		t.Fatal(err)
	}
	golden.Equal(t, "app.txt.golden", b.Bytes())
}

// checkSARIF validates what GitHub code scanning requires of a log.
func checkSARIF(t *testing.T, data []byte) {
	t.Helper()
	var log map[string]any
	if err := json.Unmarshal(data, &log); err != nil {
		t.Fatalf("sarif is not JSON: %v", err)
	}
	if log["$schema"] != scan.SARIFSchema || log["version"] != "2.1.0" {
		t.Errorf("$schema, version = %v, %v", log["$schema"], log["version"])
	}
	runs, _ := log["runs"].([]any)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	run := runs[0].(map[string]any)
	driver := run["tool"].(map[string]any)["driver"].(map[string]any)
	if driver["name"] != "upfactory" || driver["informationUri"] == "" {
		t.Errorf("driver = %v", driver)
	}
	rules := map[string]bool{}
	for _, r := range driver["rules"].([]any) {
		rule := r.(map[string]any)
		id, _ := rule["id"].(string)
		if id == "" || rules[id] {
			t.Errorf("rule id %q empty or repeated", id)
		}
		rules[id] = true
		for _, k := range []string{"shortDescription", "fullDescription"} {
			if m, _ := rule[k].(map[string]any); m == nil || m["text"] == "" {
				t.Errorf("rule %s: %s.text missing", id, k)
			}
		}
		if u, _ := rule["helpUri"].(string); !strings.HasPrefix(u, "https://") {
			t.Errorf("rule %s: helpUri %q", id, u)
		}
		props := rule["properties"].(map[string]any)
		if ss, ok := props["security-severity"]; ok {
			if s, _ := ss.(string); s == "" {
				t.Errorf("rule %s: security-severity %v is not a string number", id, ss)
			}
		}
		if diff := cmp.Diff([]any{"security"}, props["tags"]); diff != "" {
			t.Errorf("rule %s: tags (-want +got):\n%s", id, diff)
		}
	}
	results, ok := run["results"].([]any)
	if !ok {
		t.Fatal("results missing")
	}
	for i, r := range results {
		res := r.(map[string]any)
		if id, _ := res["ruleId"].(string); !rules[id] {
			t.Errorf("result %d: ruleId %q is not a rule", i, id)
		}
		switch res["level"] {
		case "error", "warning", "note", "none":
		default:
			t.Errorf("result %d: level %v", i, res["level"])
		}
		if m, _ := res["message"].(map[string]any); m == nil || m["text"] == "" {
			t.Errorf("result %d: message.text missing", i)
		}
		locs, _ := res["locations"].([]any)
		if len(locs) == 0 {
			t.Errorf("result %d: no locations", i)
			continue
		}
		pl := locs[0].(map[string]any)["physicalLocation"].(map[string]any)
		uri, _ := pl["artifactLocation"].(map[string]any)["uri"].(string)
		if uri == "" || strings.Contains(uri, `\`) || filepath.IsAbs(uri) {
			t.Errorf("result %d: uri %q", i, uri)
		}
		if line, _ := pl["region"].(map[string]any)["startLine"].(float64); line < 1 {
			t.Errorf("result %d: startLine %v", i, line)
		}
		if fp, _ := res["partialFingerprints"].(map[string]any); len(fp) == 0 {
			t.Errorf("result %d: no partialFingerprints", i)
		}
	}
}

func TestSARIF(t *testing.T) {
	rep := MustRun(t, testOptions(t))
	var b bytes.Buffer
	if err := scan.WriteSARIF(&b, rep); err != nil {
		t.Fatal(err)
	}
	checkSARIF(t, b.Bytes())

	log := scan.SARIF(rep)
	res := log.Runs[0].Results
	if len(res) != len(rep.Findings) || len(log.Runs[0].Tool.Driver.Rules) != len(rep.Findings) {
		t.Fatalf("%d results, %d rules for %d findings", len(res), len(log.Runs[0].Tool.Driver.Rules), len(rep.Findings))
	}
	type short struct{ Rule, Level, Message, URI, SecSev string }
	var got []short
	for _, r := range res {
		got = append(got, short{r.RuleID, r.Level, r.Message.Text, r.Locations[0].PhysicalLocation.ArtifactLocation.URI,
			log.Runs[0].Tool.Driver.Rules[r.RuleIndex].Properties.SecuritySeverity})
	}
	const uri = "testdata/app.cdx.json"
	want := []short{
		{"GHSA-35jh-r3h4-6jhm", "error", "lodash 4.17.15 is affected by GHSA-35jh-r3h4-6jhm; fixed in 4.17.21", uri, "7.2"},
		{"GHSA-p6mc-m468-83gw", "error", "lodash 4.17.15 is affected by GHSA-p6mc-m468-83gw; fixed in 4.17.19; upgrade to 4.17.21 to fix every known vulnerability of lodash", uri, "7.4"},
		{"GHSA-vh95-rmgr-6w4m", "warning", "minimist 1.2.0 is affected by GHSA-vh95-rmgr-6w4m; fixed in 1.2.3", uri, ""},
		{"GHSA-9vvw-cc9w-f27h", "note", "debug 2.6.8 is affected by GHSA-9vvw-cc9w-f27h; fixed in 2.6.9", uri, "2.0"},
		{"GO-2021-0113", "note", "golang.org/x/text v0.3.5 is affected by GO-2021-0113; fixed in v0.3.7", uri, ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}

	var lines []int
	for _, r := range res {
		lines = append(lines, r.Locations[0].PhysicalLocation.Region.StartLine)
	}
	if diff := cmp.Diff([]int{7, 7, 8, 9, 11}, lines); diff != "" {
		t.Errorf("startLines, the components' lines in the SBOM (-want +got):\n%s", diff)
	}

	// Fingerprints are stable across runs and distinct between results.
	again := scan.SARIF(MustRun(t, testOptions(t)))
	seen := map[string]bool{}
	for i, r := range res {
		fp := r.PartialFingerprints["upfactoryFinding/v1"]
		if fp != again.Runs[0].Results[i].PartialFingerprints["upfactoryFinding/v1"] || seen[fp] {
			t.Errorf("result %d: fingerprint %q unstable or repeated", i, fp)
		}
		seen[fp] = true
	}
}

func TestSARIFEmpty(t *testing.T) {
	var b bytes.Buffer
	if err := scan.WriteSARIF(&b, &scan.Report{}); err != nil {
		t.Fatal(err)
	}
	checkSARIF(t, b.Bytes())
	if !strings.Contains(b.String(), `"results": []`) || !strings.Contains(b.String(), `"rules": []`) {
		t.Errorf("empty log must carry empty rules and results arrays:\n%s", b.String())
	}
}

func TestLockfile(t *testing.T) {
	opts := testOptions(t)
	opts.Inputs = []scan.Input{{Path: "testdata/package-lock.json"}}
	rep := MustRun(t, opts)
	type short struct{ ID, Package, Version, File string }
	var got []short
	for _, f := range rep.Findings {
		got = append(got, short{f.ID, f.Package, f.Version, f.File})
	}
	want := []short{{"GHSA-vh95-rmgr-6w4m", "minimist", "1.2.0", "testdata/package-lock.json"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if scan.Exceeds(rep, "high", false) || !scan.Exceeds(rep, "medium", false) {
		t.Error("a MEDIUM finding must exceed medium and not high")
	}
}

func TestDetectType(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct{ path, want string }{
		{"x/go.mod", "gomod"},
		{"web/package-lock.json", "package-lock"},
		{"npm-shrinkwrap.json", "package-lock"},
		{"composer.lock", "composer-lock"},
		{"Gemfile.lock", "gemfile-lock"},
		{"requirements.txt", "requirements"},
		{"requirements-dev.txt", "requirements"},
		{"poetry.lock", "poetry-lock"},
		{write("bom.json", `{"bomFormat":"CycloneDX","specVersion":"1.5"}`), "cyclonedx"},
		{write("doc.json", `{"spdxVersion":"SPDX-2.3"}`), "spdx"},
	}
	for _, tt := range tests {
		got, err := scan.DetectType(tt.path)
		if err != nil || got != tt.want {
			t.Errorf("DetectType(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
	for _, p := range []string{write("other.json", `{"a":1}`), write("notjson.txt", "hello"), filepath.Join(dir, "missing.json")} {
		if got, err := scan.DetectType(p); err == nil {
			t.Errorf("DetectType(%q) = %q, want an error", p, got)
		}
	}
}

func TestRunErrors(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name string
		edit func(*scan.Options)
		want string
	}{
		{"no inputs", func(o *scan.Options) { o.Inputs = nil }, "nothing to scan"},
		{"no db", func(o *scan.Options) { o.DB = "" }, "no OSV database"},
		{"missing db", func(o *scan.Options) { o.DB = "testdata/nope.zip" }, "reading osv database"},
		{"db not a zip", func(o *scan.Options) { o.DB = "testdata/kev.json" }, "reading osv database"},
		{"empty db", func(o *scan.Options) { o.DB = empty }, "no OSV records"},
		{"unreadable sbom", func(o *scan.Options) { o.Inputs = []scan.Input{{Path: "testdata/nope.cdx.json"}} }, "nope.cdx.json"},
		{"unknown format", func(o *scan.Options) { o.Inputs = []scan.Input{{Path: "testdata/kev.json"}} }, "not a CycloneDX or SPDX"},
		{"wrong declared type", func(o *scan.Options) { o.Inputs = []scan.Input{{Path: "testdata/kev.json", Type: "gomod"}} }, "kev.json"},
		{"missing kev", func(o *scan.Options) { o.KEV = "testdata/nope.json" }, "reading kev catalog"},
		{"bad kev", func(o *scan.Options) { o.KEV = "testdata/epss.csv" }, "reading kev catalog"},
		{"bad epss", func(o *scan.Options) { o.EPSS = "testdata/kev.json" }, "reading epss scores"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			tt.edit(&opts)
			_, err := scan.Run(context.Background(), opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestSPDX(t *testing.T) {
	opts := testOptions(t)
	opts.Inputs = []scan.Input{{Path: "testdata/app.spdx.json"}}
	rep := MustRun(t, opts)
	var got []string
	for _, f := range rep.Findings {
		got = append(got, f.ID+" "+f.Package+" "+f.Version+" "+f.Recommended)
	}
	want := []string{"GHSA-35jh-r3h4-6jhm lodash 4.17.20 4.17.21"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// Without a WorkDir an absolute path is a file:// URI, never a bare path.
func TestAbsoluteFileURI(t *testing.T) {
	abs, err := filepath.Abs("testdata/app.spdx.json")
	if err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Inputs, opts.WorkDir = []scan.Input{{Path: abs}}, ""
	rep := MustRun(t, opts)
	if len(rep.Findings) == 0 || !strings.HasPrefix(rep.Findings[0].File, "file:///") {
		t.Fatalf("findings %+v, want a file:// URI", rep.Findings)
	}
}

// FuzzDetectSBOM: telling an SBOM's kind never panics, and agrees with a
// full decode wherever the document is whole.
func FuzzDetectSBOM(f *testing.F) {
	f.Add([]byte(`{"bomFormat": "CycloneDX", "specVersion": "1.5"}`))
	f.Add([]byte(`{"spdxVersion": "SPDX-2.3", "packages": []}`))
	f.Add([]byte(`{"spdxVersion": "SPDX-2.3", "packa`))
	f.Add([]byte(`[1, 2]`))
	f.Add([]byte(`{"bomFormat": 7, "bomFormat": "CycloneDX"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "bom.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		typ, err := scan.DetectSBOM(path)
		var doc struct {
			BOMFormat   string `json:"bomFormat"`
			SPDXVersion string `json:"spdxVersion"`
		}
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		switch {
		case strings.EqualFold(doc.BOMFormat, "CycloneDX") && doc.SPDXVersion == "":
			if typ != "cyclonedx" {
				t.Errorf("a whole CycloneDX document detected as %q (%v)", typ, err)
			}
		case strings.HasPrefix(doc.SPDXVersion, "SPDX-") && doc.BOMFormat == "":
			if typ != "spdx" {
				t.Errorf("a whole SPDX document detected as %q (%v)", typ, err)
			}
		}
	})
}
