package osv_test

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/upfactory/upfactory/osv"
)

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestParseFull(t *testing.T) {
	data := mustRead(t, "testdata/GHSA-example.json")
	e, err := osv.Parse(data, "GHSA-example.json")
	if err != nil {
		t.Fatal(err)
	}
	want := &osv.Entry{
		SchemaVersion: "1.6.0",
		ID:            "GHSA-vh95-rmgr-6w4m",
		Modified:      time.Date(2023, 11, 1, 12, 0, 0, 0, time.UTC),
		Published:     time.Date(2021, 5, 1, 10, 0, 0, 0, time.UTC),
		Aliases:       []string{"CVE-2020-8203"},
		Related:       []string{"CVE-2019-10744"},
		Summary:       "Prototype pollution in lodash",
		Details:       "Prototype pollution via `zipObjectDeep`.",
		Severity:      []osv.Severity{{Type: "CVSS_V3", Score: "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H"}},
		Affected: []osv.AffectedPackage{{
			Package: osv.Package{Ecosystem: "npm", Name: "lodash", PURL: "pkg:npm/lodash"},
			Ranges: []osv.Range{
				{Type: osv.RangeGit, Repo: "https://github.com/lodash/lodash", Events: []osv.Event{{Introduced: "0"}, {Fixed: "c84fe82760fb2d3e03a63379b297a1cc1a2fce12"}}},
				{Type: osv.RangeSemVer, Events: []osv.Event{{Introduced: "3.7.0"}, {Fixed: "4.17.19"}}},
			},
			Versions:          []string{"4.17.15"},
			EcosystemSpecific: json.RawMessage(`{"affected_functions": ["zipObjectDeep"]}`),
			DatabaseSpecific:  json.RawMessage(`{"source": "example"}`),
		}},
		References:       []osv.Reference{{Type: "ADVISORY", URL: "https://nvd.nist.gov/vuln/detail/CVE-2020-8203"}},
		Credits:          []osv.Credit{{Name: "Someone", Contact: []string{"mailto:someone@example.com"}, Type: "FINDER"}},
		DatabaseSpecific: json.RawMessage(`{"github_reviewed": true}`),
		Digest:           fmt.Sprintf("%x", sha256.Sum256(data)),
	}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
	for _, c := range []check{{"4.17.18", true, []string{"4.17.19"}}, {"4.17.19", false, nil}, {"3.6.0", false, nil}} {
		got, fx, err := osv.Affected(e, "npm", "lodash", c.version)
		if err != nil || got != c.affected || !cmp.Equal(fx, c.fixed) {
			t.Errorf("Affected(lodash@%s) = %v, %v, %v; want %v, %v", c.version, got, fx, err, c.affected, c.fixed)
		}
	}
}

func TestParseErrors(t *testing.T) {
	const ok = `"id": "X-1", "modified": "2023-01-01T00:00:00Z"`
	tests := []struct {
		name, data string
		wantPath   string
		wantLine   int
		wantText   string
	}{
		{"empty", ``, "", 0, "expected a complete JSON object"},
		{"truncated", `{"id": "X-1",`, "", 0, "expected a complete JSON object"},
		{"syntax", "{\n  \"id\": \"X-1\",\n  \"modified\" 3\n}", "", 3, "expected a JSON object"},
		{"array", `[]`, "", 1, "expected a JSON object"},
		{"no id", `{"modified": "2023-01-01T00:00:00Z"}`, "id", 0, "id is required"},
		{"no modified", `{"id": "X-1"}`, "modified", 0, "modified is required"},
		{"bad time", `{"id": "X-1", "modified": "yesterday"}`, "", 0, "expected an RFC 3339 time"},
		{"aliases not array", `{` + ok + `, "aliases": "CVE-1"}`, "aliases", 1, "expected an array"},
		{"events wrong type", `{` + ok + `, "affected": [{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [{"type": "SEMVER", "events": {}}]}]}`, "affected.ranges.events", 1, "expected an array"},
		{"no package", `{` + ok + `, "affected": [{"ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]}`, "affected[0].package", 0, "expected ecosystem and name"},
		{"bad range type", `{` + ok + `, "affected": [{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [{"type": "semver", "events": [{"introduced": "0"}]}]}]}`, "affected[0].ranges[0].type", 0, "expected SEMVER, ECOSYSTEM or GIT"},
		{"two fields in an event", `{` + ok + `, "affected": [{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0", "fixed": "1.0.0"}]}]}]}`, "affected[0].ranges[0].events[0]", 0, "expected exactly one of"},
		{"no introduced", `{` + ok + `, "affected": [{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [{"type": "SEMVER", "events": [{"fixed": "1.0.0"}]}]}]}`, "affected[0].ranges[0].events", 0, "at least one introduced"},
		{"no events", `{` + ok + `, "affected": [{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [{"type": "SEMVER"}]}]}`, "affected[0].ranges[0].events", 0, "at least one event"},
		{"git without repo", `{` + ok + `, "affected": [{"ranges": [{"type": "GIT", "events": [{"introduced": "0"}]}]}]}`, "affected[0].ranges[0].repo", 0, "required for GIT"},
		{"reference without url", `{` + ok + `, "references": [{"type": "WEB"}]}`, "references[0]", 0, "expected both type and url"},
		{"severity without score", `{` + ok + `, "severity": [{"type": "CVSS_V3"}]}`, "severity[0]", 0, "expected both type and score"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := osv.Parse([]byte(tt.data), "rec.json")
			var pe *osv.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *osv.ParseError", err, err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "rec.json") || !strings.Contains(msg, tt.wantText) {
				t.Errorf("error %q: want the source and %q", msg, tt.wantText)
			}
			if pe.Path != tt.wantPath {
				t.Errorf("path %q, want %q (error %q)", pe.Path, tt.wantPath, msg)
			}
			if tt.wantLine != 0 && pe.Line != tt.wantLine {
				t.Errorf("line %d, want %d (error %q)", pe.Line, tt.wantLine, msg)
			}
		})
	}
}

// A GIT-only affected entry may omit its package.
func TestParseGitOnly(t *testing.T) {
	data := `{"id": "OSV-1", "modified": "2023-01-01T00:00:00Z", "affected": [{"ranges": [{"type": "GIT", "repo": "https://x", "events": [{"introduced": "` + sha1 + `"}]}]}]}`
	if _, err := osv.Parse([]byte(data), "git.json"); err != nil {
		t.Fatal(err)
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.json", string(mustRead(t, "testdata/GHSA-example.json")))
	write("sub/also-good.JSON", `{"id": "X-2", "modified": "2023-01-01T00:00:00Z"}`)
	write("broken.json", `{"id": "X-3", "modified": `)
	write("no-id.json", `{"modified": "2023-01-01T00:00:00Z"}`)
	write("README.md", `not a record`)
	entries, problems, err := osv.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var ids, bad []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	for _, p := range problems {
		bad = append(bad, p.Source)
		if !strings.Contains(p.Error(), p.Source) {
			t.Errorf("problem %q does not name its file", p.Error())
		}
	}
	if diff := cmp.Diff([]string{"GHSA-vh95-rmgr-6w4m", "X-2"}, ids); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"broken.json", "no-id.json"}, bad); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if _, _, err := osv.ReadDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("ReadDir of a missing directory: no error")
	}
	if _, _, err := osv.ReadZip(filepath.Join(dir, "missing.zip")); err == nil {
		t.Error("ReadZip of a missing file: no error")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(mustRead(f, "testdata/GHSA-example.json"))
	f.Add([]byte(`{"id": "X-1", "modified": "2023-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "1.0"}, {"limit": "*"}]}], "versions": ["0.9"]}]}`))
	f.Add([]byte(`{"id": "X-1", "modified": "2023-01-01T00:00:00Z", "withdrawn": "2024-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"id": "X-1", "modified": 3`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := osv.Parse(data, "fuzz.json")
		if err != nil {
			var pe *osv.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			_ = err.Error()
			return
		}
		if e.ID == "" {
			t.Fatal("accepted a record without id")
		}
		// A parsed record re-encodes and parses again to the same record.
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		e2, err := osv.Parse(b, "again.json")
		if err != nil {
			t.Fatalf("re-parsing %s: %v", b, err)
		}
		if diff := cmp.Diff(e.ID, e2.ID); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
		// Evaluating any parsed record must not panic.
		for _, a := range e.Affected {
			osv.Affected(e, a.Package.Ecosystem, a.Package.Name, "1.0.0")
			for _, v := range a.Versions {
				osv.Affected(e, a.Package.Ecosystem, a.Package.Name, v)
			}
		}
	})
}

func TestReadZipSkipsMalformed(t *testing.T) {
	name := filepath.Join(t.TempDir(), "all.zip")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, m := range []struct{ name, data string }{
		{"A-1.json", `{"id": "A-1", "modified": "2023-01-01T00:00:00Z"}`},
		{"A-2.json", `{"id": "A-2", "modified": "2023-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "npm", "name": "x"}, "ranges": [{"type": "SEMVER", "events": [{"fixed": "1.0.0"}]}]}]}`},
		{"notes.txt", `ignored`},
		{"dir/A-3.json", `{"id": "A-3", "modified": "2023-01-01T00:00:00Z"}`},
		{"A-4.json", `{"id": `},
	} {
		w, err := zw.Create(m.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	entries, problems, err := osv.ReadZip(name)
	if err != nil {
		t.Fatal(err)
	}
	var ids, bad []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	for _, p := range problems {
		bad = append(bad, p.Source)
		if !strings.Contains(p.Error(), p.Source) {
			t.Errorf("problem %q does not name its member", p.Error())
		}
	}
	if diff := cmp.Diff([]string{"A-1", "A-3"}, ids); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A-2.json", "A-4.json"}, bad); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	if _, _, err := osv.ReadZip(filepath.Join(filepath.Dir(name), "nope.zip")); err == nil {
		t.Error("missing zip: no error")
	}
}
