package notes_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upfactory/upfactory/internal/corpus"
	"github.com/upfactory/upfactory/notes"
)

// MustParse parses a file from disk, failing the test on error.
func MustParse(tb testing.TB, path string) *notes.Changelog {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := notes.Parse(path, data)
	if err != nil {
		tb.Fatalf("Parse(%s): %v", path, err)
	}
	return c
}

// numeric orders dotted numbers ("1.2.10" > "1.2.9"), ignoring a leading
// "v"; a missing part counts as zero.
func numeric(a, b string) (int, error) {
	as := strings.Split(strings.TrimPrefix(a, "v"), ".")
	bs := strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		var err error
		if i < len(as) {
			if x, err = strconv.Atoi(as[i]); err != nil {
				return 0, fmt.Errorf("version %q: %w", a, err)
			}
		}
		if i < len(bs) {
			if y, err = strconv.Atoi(bs[i]); err != nil {
				return 0, fmt.Errorf("version %q: %w", b, err)
			}
		}
		if x != y {
			if x < y {
				return -1, nil
			}
			return 1, nil
		}
	}
	return 0, nil
}

func TestParseKeepAChangelog(t *testing.T) {
	const file = "testdata/keepachangelog.md"
	got := MustParse(t, file)
	want := &notes.Changelog{
		File:   file,
		Format: notes.FormatKeepAChangelog,
		Releases: []notes.Release{
			{Version: "Unreleased", Line: 5, Entries: []notes.Entry{
				{Line: 9, Section: "Added", Text: "Work in progress.", Kind: notes.KindOther},
			}},
			{Version: "1.2.0", Date: "2024-03-01", Line: 11, Entries: []notes.Entry{
				{Line: 13, Section: "", Text: "Upgrading from 1.1 requires a database migration:", Kind: notes.KindMigration},
				{Line: 21, Section: "Added", Text: "A `--json` flag.", Kind: notes.KindOther},
				{Line: 22, Section: "Added", Text: "Streaming export, which spans two lines.", Kind: notes.KindOther},
				{Line: 27, Section: "Changed", Text: "**Breaking:** the config key `port` is now `listen`.", Kind: notes.KindBreaking},
				{Line: 28, Section: "Changed", Text: "Faster startup.\n- nested detail about startup", Kind: notes.KindOther},
				{Line: 33, Section: "Deprecated", Text: "The `--legacy` flag.", Kind: notes.KindDeprecation},
				{Line: 37, Section: "Removed", Text: "The v1 API.", Kind: notes.KindBreaking},
				{Line: 41, Section: "Fixed", Text: "Logs no longer repeat.", Kind: notes.KindBreaking},
				{Line: 45, Section: "Security", Text: "Escape user names in the admin page.", Kind: notes.KindSecurity},
			}},
			{Version: "1.0.1", Line: 53, Entries: []notes.Entry{
				{Line: 57, Section: "Fixed", Text: "Fix CVE-2024-1234 in the parser.", Kind: notes.KindSecurity},
			}},
			{Version: "1.0.0", Date: "2024-01-01", Line: 59, Entries: []notes.Entry{
				{Line: 63, Section: "Added", Text: "First release.", Kind: notes.KindOther},
			}},
		},
		Problems: []notes.Problem{{File: file, Line: 47,
			Message: `malformed release heading "## [1.1.0 - 2024-02-01": unclosed '[' in release heading; skipped up to the next release heading`}},
	}
	checkParse(t, want, got)

	wantH := []notes.Highlight{
		{Kind: notes.KindMigration, Version: "1.2.0", Text: "Upgrading from 1.1 requires a database migration:", File: file, Line: 13, Marker: "wording: 'migration'"},
		{Kind: notes.KindBreaking, Version: "1.2.0", Text: "**Breaking:** the config key `port` is now `listen`.", File: file, Line: 27, Marker: "**Breaking:** marker"},
		{Kind: notes.KindDeprecation, Version: "1.2.0", Text: "The `--legacy` flag.", File: file, Line: 33, Marker: "Deprecated section"},
		{Kind: notes.KindBreaking, Version: "1.2.0", Text: "The v1 API.", File: file, Line: 37, Marker: "Removed section"},
		{Kind: notes.KindBreaking, Version: "1.2.0", Text: "Logs no longer repeat.", File: file, Line: 41, Marker: "wording: 'no longer'"},
		{Kind: notes.KindSecurity, Version: "1.2.0", Text: "Escape user names in the admin page.", File: file, Line: 45, Marker: "Security section"},
		{Kind: notes.KindSecurity, Version: "1.0.1", Text: "Fix CVE-2024-1234 in the parser.", File: file, Line: 57, Marker: "wording: 'CVE-'"},
	}
	checkHighlights(t, got, "1.0.0", "1.2.0", wantH)
}

func TestParsePrometheus(t *testing.T) {
	const file = "testdata/prometheus.md"
	got := MustParse(t, file)
	want := &notes.Changelog{
		File:   file,
		Format: notes.FormatPrometheus,
		Releases: []notes.Release{
			{Version: "2.53.0", Date: "2024-06-16", Line: 3, Entries: []notes.Entry{
				{Line: 5, Text: "This release changes the default for GOGC.", Kind: notes.KindOther},
				{Line: 7, Section: "CHANGE", Text: "Runtime: Change GOGC threshold from 100 to 75. #14176", Kind: notes.KindBreaking},
				{Line: 8, Section: "CHANGE", Text: "API: Deprecate the `stats` parameter. #19124", Kind: notes.KindDeprecation},
				{Line: 9, Section: "FEATURE", Text: "Rules: Add new option `query_offset`. #14061", Kind: notes.KindOther},
				{Line: 10, Section: "ENHANCEMENT", Text: "TSDB: Optimize querying with regexp matchers. #13620", Kind: notes.KindOther},
				{Line: 11, Section: "BUGFIX", Text: "OTLP: Don't generate target_info unless there are metrics. #13991", Kind: notes.KindOther},
				{Line: 13, Section: "SECURITY", Text: "UI: Bump `sanitize-html` (CVE-2024-44990). #18697", Kind: notes.KindSecurity},
			}},
			{Version: "2.52.1", Date: "2024-05-29", Line: 15, Entries: []notes.Entry{
				{Line: 17, Section: "BUGFIX", Text: "Linode SD: Fix partial fetch. #14141", Kind: notes.KindOther},
				{Line: 18, Section: "BREAKING", Text: "Remote write: the v1 protocol is gone. #1", Kind: notes.KindBreaking},
			}},
			{Version: "2.52.0", Date: "2024-05-07", Line: 20, Entries: []notes.Entry{
				{Line: 22, Section: "CHANGE", Text: "Remote-write: metrics renamed:\n* `a_total` -> `b_total`.", Kind: notes.KindBreaking},
				{Line: 24, Section: "PERF", Text: "TSDB: Faster compaction. #1", Kind: notes.KindOther},
			}},
		},
	}
	checkParse(t, want, got)
	wantH := []notes.Highlight{
		{Kind: notes.KindBreaking, Version: "2.53.0", Text: "Runtime: Change GOGC threshold from 100 to 75. #14176", File: file, Line: 7, Marker: "[CHANGE] tag"},
		{Kind: notes.KindDeprecation, Version: "2.53.0", Text: "API: Deprecate the `stats` parameter. #19124", File: file, Line: 8, Marker: "wording: 'deprecated'"},
		{Kind: notes.KindSecurity, Version: "2.53.0", Text: "UI: Bump `sanitize-html` (CVE-2024-44990). #18697", File: file, Line: 13, Marker: "[SECURITY] tag"},
		{Kind: notes.KindBreaking, Version: "2.52.1", Text: "Remote write: the v1 protocol is gone. #1", File: file, Line: 18, Marker: "[BREAKING] tag"},
		{Kind: notes.KindBreaking, Version: "2.52.0", Text: "Remote-write: metrics renamed:\n* `a_total` -> `b_total`.", File: file, Line: 22, Marker: "wording: 'renamed'"},
	}
	if diff := cmp.Diff(wantH, notes.Highlights(got.Releases, file)); diff != "" {
		t.Errorf("Highlights mismatch (-want +got):\n%s", diff)
	}
}

func TestParseGitHubRelease(t *testing.T) {
	const file = "testdata/github-release.md"
	got := MustParse(t, file)
	want := &notes.Changelog{
		File:   file,
		Format: notes.FormatGitHubRelease,
		Releases: []notes.Release{
			{Version: "v2.0.0", Line: 1, Entries: []notes.Entry{
				{Line: 7, Section: "⚠️ Breaking", Text: "Require Go 1.22 by @alice in https://github.com/o/r/pull/10", Kind: notes.KindBreaking},
				{Line: 11, Section: "Features", Text: "Add retries by @bob in https://github.com/o/r/pull/11", Kind: notes.KindOther},
				{Line: 12, Section: "Features", Text: "BREAKING CHANGE: `Client.Do` takes a context by @bob in https://github.com/o/r/pull/12", Kind: notes.KindBreaking},
			}},
			{Version: "v1.1.0", Line: 16, Entries: []notes.Entry{
				{Line: 22, Section: "Breaking Changes", Text: "Rename `Opts` to `Options`", Kind: notes.KindBreaking},
				{Line: 26, Section: "Bug fixes", Text: "Fix a vulnerability in header parsing", Kind: notes.KindSecurity},
				{Line: 30, Section: "New Contributors", Text: "@carol made their first contribution", Kind: notes.KindOther},
			}},
		},
	}
	checkParse(t, want, got)
	wantH := []notes.Highlight{
		{Kind: notes.KindBreaking, Version: "v2.0.0", Text: "Require Go 1.22 by @alice in https://github.com/o/r/pull/10", File: file, Line: 7, Marker: "⚠️ Breaking section"},
		{Kind: notes.KindBreaking, Version: "v2.0.0", Text: "BREAKING CHANGE: `Client.Do` takes a context by @bob in https://github.com/o/r/pull/12", File: file, Line: 12, Marker: "BREAKING CHANGE marker"},
	}
	checkHighlights(t, got, "v1.1.0", "v2.0.0", wantH)
}

func TestParseWordPressReadme(t *testing.T) {
	const file = "testdata/readme.txt"
	got := MustParse(t, file)
	want := &notes.Changelog{
		File:   file,
		Format: notes.FormatWordPressReadme,
		Releases: []notes.Release{
			{Version: "1.2.3", Date: "2024-01-01", Line: 13, Entries: []notes.Entry{
				{Line: 14, Section: "Changelog", Text: "Drop support for PHP 7.2.", Kind: notes.KindBreaking},
				{Line: 15, Section: "Changelog", Text: "Fix a typo.", Kind: notes.KindOther},
				{Line: 30, Section: "Upgrade Notice", Text: "Requires PHP 7.4 or later.", Kind: notes.KindMigration},
			}},
			{Version: "1.2.2", Line: 17, Entries: []notes.Entry{
				{Line: 18, Section: "Changelog", Text: "Add a setting. It is off by default.", Kind: notes.KindOther},
			}},
			{Version: "1.2.1", Line: 24, Entries: []notes.Entry{
				{Line: 25, Section: "Changelog", Text: "Fix an XSS issue in the settings page.", Kind: notes.KindSecurity},
			}},
			{Version: "1.0.0", Line: 32, Entries: []notes.Entry{
				{Line: 33, Section: "Upgrade Notice", Text: "Run the database upgrade after updating.", Kind: notes.KindMigration},
			}},
		},
		Problems: []notes.Problem{{File: file, Line: 21,
			Message: `malformed version line "= latest and greatest =": not a version; skipped up to the next version line`}},
	}
	checkParse(t, want, got)
	wantH := []notes.Highlight{
		{Kind: notes.KindBreaking, Version: "1.2.3", Text: "Drop support for PHP 7.2.", File: file, Line: 14, Marker: "wording: 'drop support'"},
		{Kind: notes.KindMigration, Version: "1.2.3", Text: "Requires PHP 7.4 or later.", File: file, Line: 30, Marker: "Upgrade Notice section"},
		{Kind: notes.KindSecurity, Version: "1.2.1", Text: "Fix an XSS issue in the settings page.", File: file, Line: 25, Marker: "wording: 'cross-site scripting'"},
		{Kind: notes.KindMigration, Version: "1.0.0", Text: "Run the database upgrade after updating.", File: file, Line: 33, Marker: "Upgrade Notice section"},
	}
	if diff := cmp.Diff(wantH, notes.Highlights(got.Releases, file)); diff != "" {
		t.Errorf("Highlights mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, file, data, want string
	}{
		{"empty", "empty.md", "", `parsing changelog empty.md: no release headings found (expected release headings like "## [1.2.0] - 2024-01-01", "## 2.53.0 / 2024-06-16" or "## v1.2.0")`},
		{"no headings", "testdata/nochangelog.md", "", `parsing changelog testdata/nochangelog.md: no release headings found (expected release headings like "## [1.2.0] - 2024-01-01", "## 2.53.0 / 2024-06-16" or "## v1.2.0")`},
		{"only malformed", "bad.md", "## [1.0 - 2024-01-01\n- x\n", `parsing changelog bad.md: no release headings found (expected release headings like "## [1.2.0] - 2024-01-01", "## 2.53.0 / 2024-06-16" or "## v1.2.0"); 1 malformed, the first at line 1: malformed release heading "## [1.0 - 2024-01-01": unclosed '[' in release heading; skipped up to the next release heading`},
		{"wordpress without versions", "readme.txt", "== Changelog ==\n* a fix\n", `parsing changelog readme.txt: no release headings found (expected "= 1.2.3 =" or "= 1.2.3 - 2024-01-01 =" version lines under "== Changelog ==")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(tt.data)
			if tt.data == "" && strings.HasPrefix(tt.file, "testdata/") {
				var err error
				if data, err = os.ReadFile(tt.file); err != nil {
					t.Fatal(err)
				}
			}
			c, err := notes.Parse(tt.file, data)
			if err == nil {
				t.Fatalf("Parse succeeded with %d releases; want error", len(c.Releases))
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMalformedHeadings(t *testing.T) {
	data := "## 1.1.0 beta of sorts\n- skipped\n## [] - 2024-01-01\n- skipped too\n## 1.0.0\n- kept\n"
	c, err := notes.Parse("x.md", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []notes.Problem{
		{File: "x.md", Line: 1, Message: `malformed release heading "## 1.1.0 beta of sorts": unexpected "beta of sorts" after version "1.1.0" (expected a date like " - 2024-01-01" or " / 2024-01-01"); skipped up to the next release heading`},
		{File: "x.md", Line: 3, Message: `malformed release heading "## [] - 2024-01-01": "" in brackets is not a version; skipped up to the next release heading`},
	}
	if diff := cmp.Diff(want, c.Problems); diff != "" {
		t.Errorf("Problems mismatch (-want +got):\n%s", diff)
	}
	wantR := []notes.Release{{Version: "1.0.0", Line: 5, Entries: []notes.Entry{{Line: 6, Text: "kept", Kind: notes.KindOther}}}}
	if diff := cmp.Diff(wantR, c.Releases); diff != "" {
		t.Errorf("Releases mismatch (-want +got):\n%s", diff)
	}
}

func versions(rs []notes.Release) []string {
	var vs []string
	for _, r := range rs {
		vs = append(vs, r.Version)
	}
	return vs
}

func TestBetween(t *testing.T) {
	c := MustParse(t, "testdata/keepachangelog.md")
	tests := []struct {
		name, from, to string
		want           []string
	}{
		{"one step", "1.0.1", "1.2.0", []string{"1.2.0"}},
		{"several, in file order", "1.0.0", "1.2.0", []string{"1.2.0", "1.0.1"}},
		{"from equals to", "1.2.0", "1.2.0", nil},
		{"from not present", "0.9", "1.0.1", []string{"1.0.1", "1.0.0"}},
		{"to not present", "1.0.1", "1.5", []string{"1.2.0"}},
		{"unreleased left out", "1.0.0", "99", []string{"1.2.0", "1.0.1"}},
		{"nothing in range", "2.0", "3.0", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := c.Between(tt.from, tt.to, numeric)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, versions(rs)); diff != "" {
				t.Errorf("Between(%q, %q) mismatch (-want +got):\n%s", tt.from, tt.to, diff)
			}
		})
	}
}

func TestBetweenErrors(t *testing.T) {
	c := MustParse(t, "testdata/keepachangelog.md")
	if _, err := c.Between("1.2.0", "1.0.0", numeric); err == nil {
		t.Error("Between with from > to: want error")
	}
	if _, err := c.Between("one", "1.0.0", numeric); err == nil {
		t.Error("Between with an unparsable from: want error")
	}
	bad := &notes.Changelog{File: "x.md", Releases: []notes.Release{{Version: "1.x", Line: 3}}}
	_, err := bad.Between("1.0", "2.0", numeric)
	if err == nil || !strings.HasPrefix(err.Error(), `x.md:3: comparing release "1.x"`) {
		t.Errorf("Between over an unorderable release: got %v, want an error citing x.md:3", err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		section, text string
		kind          notes.Kind
		marker        string
	}{
		{"Changed", "[BREAKING] Drop the v1 API", notes.KindBreaking, "[BREAKING] tag"},
		{"Added", "BREAKING: new default", notes.KindBreaking, "BREAKING marker"},
		{"SECURITY", "Fix login. This is no longer possible.", notes.KindSecurity, "[SECURITY] tag"},
		{"Fixed", "Remove support for Go 1.20", notes.KindBreaking, "wording: 'removed support'"},
		{"Fixed", "The `--foo` flag will be removed in 3.0", notes.KindDeprecation, "wording: 'will be removed'"},
		{"Changed", "The database schema changes on start", notes.KindMigration, "wording: 'schema'"},
		{"Changed", "Now requires PHP 8.1", notes.KindMigration, "wording: 'requires PHP'"},
		{"Fixed", "Patched GHSA-abcd-1234-5678", notes.KindSecurity, "wording: 'GHSA-'"},
		{"Fixed", "Ships a security fix for the session cookie", notes.KindSecurity, "wording: 'security fix'"},
		{"CHANGE", "Runtime: Change GOGC from 100 to 75", notes.KindBreaking, "[CHANGE] tag"},
		{"FEATURE", "Add a thing", notes.KindOther, ""},
		{"Deprecations", "Old thing", notes.KindDeprecation, "Deprecations section"},
		{"Added", "A faster parser", notes.KindOther, ""},
	}
	for _, tt := range tests {
		k, m := notes.Classify(tt.section, tt.text)
		if k != tt.kind || m != tt.marker {
			t.Errorf("Classify(%q, %q) = %q, %q; want %q, %q", tt.section, tt.text, k, m, tt.kind, tt.marker)
		}
	}
}

func TestHighlightsKeepHandSetKind(t *testing.T) {
	rs := []notes.Release{{Version: "1.0", Entries: []notes.Entry{{Line: 4, Text: "Quiet text", Kind: notes.KindMigration}}}}
	want := []notes.Highlight{{Kind: notes.KindMigration, Version: "1.0", Text: "Quiet text", File: "f", Line: 4, Marker: "entry kind"}}
	if diff := cmp.Diff(want, notes.Highlights(rs, "f")); diff != "" {
		t.Errorf("Highlights mismatch (-want +got):\n%s", diff)
	}
}

// countHeadings counts the lines of path starting with prefix.
func countHeadings(tb testing.TB, data []byte, prefix string) int {
	tb.Helper()
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// checkCited fails when a highlight's line does not hold the start of its text.
func checkCited(tb testing.TB, lines []string, hs []notes.Highlight) {
	tb.Helper()
	for _, h := range hs {
		first := strings.Fields(h.Text)
		if h.Line < 1 || h.Line > len(lines) || len(first) == 0 || !strings.Contains(lines[h.Line-1], first[0]) {
			tb.Errorf("highlight %q cites %s:%d, which does not hold its first word", h.Text, h.File, h.Line)
		}
	}
}

type cited struct {
	Version string
	Line    int
	Kind    notes.Kind
	Marker  string
}

func summarize(hs []notes.Highlight) []cited {
	var out []cited
	for _, h := range hs {
		out = append(out, cited{h.Version, h.Line, h.Kind, h.Marker})
	}
	return out
}

func TestCorpusPrometheus(t *testing.T) {
	path := corpus.File(t, "changelog/prometheus.CHANGELOG.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := notes.Parse(filepath.Base(path), data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != notes.FormatPrometheus {
		t.Errorf("Format = %q, want %q", c.Format, notes.FormatPrometheus)
	}
	if want := countHeadings(t, data, "## "); len(c.Releases) != want || want < 200 {
		t.Errorf("parsed %d releases, the file has %d \"## \" headings", len(c.Releases), want)
	}
	if len(c.Problems) != 0 {
		t.Errorf("Problems = %v, want none", c.Problems)
	}
	lines := strings.Split(string(data), "\n")

	rs, err := c.Between("2.52.0", "2.53.0", numeric)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2.53.0", "2.52.1"}, versions(rs)); diff != "" {
		t.Errorf("Between(2.52.0, 2.53.0) mismatch (-want +got):\n%s", diff)
	}
	if rs[0].Line != 815 || len(rs[0].Entries) != 14 {
		t.Errorf("2.53.0 at line %d with %d entries, want line 815 with 14 (a paragraph and 13 bullets)", rs[0].Line, len(rs[0].Entries))
	}
	hs := notes.Highlights(rs, c.File)
	want := []cited{
		{"2.53.0", 819, notes.KindBreaking, "[CHANGE] tag"},
		{"2.53.0", 820, notes.KindBreaking, "[CHANGE] tag"},
	}
	if diff := cmp.Diff(want, summarize(hs)); diff != "" {
		t.Errorf("Highlights 2.52.0..2.53.0 mismatch (-want +got):\n%s", diff)
	}
	checkCited(t, lines, hs)

	rs, err = c.Between("3.12.0", "3.13.0", numeric)
	if err != nil {
		t.Fatal(err)
	}
	hs = notes.Highlights(rs, c.File)
	want = []cited{
		{"3.13.0", 59, notes.KindSecurity, "[SECURITY] tag"},
		{"3.13.0", 60, notes.KindBreaking, "[CHANGE] tag"},
		{"3.13.0", 61, notes.KindBreaking, "[CHANGE] tag"},
		{"3.13.0", 62, notes.KindBreaking, "wording: 'no longer'"},
		{"3.13.0", 63, notes.KindBreaking, "[CHANGE] tag"},
		{"3.13.0", 64, notes.KindBreaking, "[CHANGE] tag"},
		{"3.13.0", 97, notes.KindBreaking, "wording: 'was removed'"},
	}
	if diff := cmp.Diff(want, summarize(hs)); diff != "" {
		t.Errorf("Highlights 3.12.0..3.13.0 mismatch (-want +got):\n%s", diff)
	}
	checkCited(t, lines, hs)

	// Every highlight in the whole file cites its own line.
	checkCited(t, lines, notes.Highlights(c.Releases, c.File))
}

func TestCorpusKeepAChangelog(t *testing.T) {
	path := corpus.File(t, "changelog/keep-a-changelog.CHANGELOG.md")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := notes.Parse(filepath.Base(path), data)
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != notes.FormatKeepAChangelog {
		t.Errorf("Format = %q, want %q", c.Format, notes.FormatKeepAChangelog)
	}
	if want := countHeadings(t, data, "## "); len(c.Releases) != want {
		t.Errorf("parsed %d releases, the file has %d \"## \" headings", len(c.Releases), want)
	}
	if len(c.Problems) != 0 {
		t.Errorf("Problems = %v, want none", c.Problems)
	}
	rs, err := c.Between("1.1.2", "2.0.0", numeric)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"2.0.0"}, versions(rs)); diff != "" {
		t.Errorf("Between(1.1.2, 2.0.0) mismatch (-want +got):\n%s", diff)
	}
	hs := notes.Highlights(rs, c.File)
	want := []cited{
		{"2.0.0", 12, notes.KindBreaking, "wording: 'breaking'"}, // the summary paragraph: "It breaks the guidance"
		{"2.0.0", 22, notes.KindBreaking, "wording: 'breaking'"}, // an Added bullet about "marking breaking changes": conservative
		{"2.0.0", 40, notes.KindBreaking, "**Breaking:** marker"},
		{"2.0.0", 43, notes.KindBreaking, "**Breaking:** marker"},
		{"2.0.0", 52, notes.KindBreaking, "Removed section"},
		{"2.0.0", 54, notes.KindBreaking, "**Breaking:** marker"},
	}
	if diff := cmp.Diff(want, summarize(hs)); diff != "" {
		t.Errorf("Highlights 1.1.2..2.0.0 mismatch (-want +got):\n%s", diff)
	}
	checkCited(t, strings.Split(string(data), "\n"), hs)
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"keepachangelog.md", "prometheus.md", "github-release.md", "readme.txt", "nochangelog.md"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("## [1.0] - x\n- a\n  - b\n\n  c\n* [CHANGE]\n"))
	f.Add([]byte("== Changelog ==\n= 1 =\n* x\n== Upgrade Notice ==\n= 2 =\ny\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := notes.Parse("f", data)
		if err != nil {
			if c != nil {
				t.Fatal("Parse returned both a changelog and an error")
			}
			return
		}
		lines := strings.Split(string(data), "\n")
		n := len(lines)
		for _, r := range c.Releases {
			if r.Line < 1 || r.Line > n {
				t.Fatalf("release %q at line %d of %d", r.Version, r.Line, n)
			}
			for _, e := range r.Entries {
				if e.Line < 1 || e.Line > n {
					t.Fatalf("entry %q at line %d of %d", e.Text, e.Line, n)
				}
			}
		}
		for _, p := range c.Problems {
			if p.Line < 1 || p.Line > n {
				t.Fatalf("problem %q at line %d of %d", p.Message, p.Line, n)
			}
		}
		checkCited(t, lines, notes.Highlights(c.Releases, "f"))
		_, _ = c.Between("0", "9", numeric)
	})
}

func TestReleaseHeadings(t *testing.T) {
	tests := []struct {
		heading, version, date string
	}{
		{"## [1.2.0] - 2024-01-01", "1.2.0", "2024-01-01"},
		{"## [1.2.0](https://example.com/compare/v1.1.0...v1.2.0) - 2024-01-01", "1.2.0", "2024-01-01"},
		{"## [1.2.0] - 2024-01-01 [YANKED]", "1.2.0", "2024-01-01"},
		{"## 1.2.0", "1.2.0", ""},
		{"## 1.2.0 – 2024-01-01", "1.2.0", "2024-01-01"},
		{"## 2.53.0 / 2024-06-16", "2.53.0", "2024-06-16"},
		{"## 1.0.0-rc.1 / 2024-06-16", "1.0.0-rc.1", "2024-06-16"},
		{"## v1.2.0", "v1.2.0", ""},
		{"## v1.2.0 (2024-01-01)", "v1.2.0", "2024-01-01"},
		{"## Release v1.2.0", "v1.2.0", ""},
		{"## Version 1.2.0: 2024-01-01", "1.2.0", "2024-01-01"},
		{"## [Unreleased]", "Unreleased", ""},
		{"## Unreleased", "Unreleased", ""},
		{"# v3.0.0 #", "v3.0.0", ""},
		{"1.2.0 / 2024-01-01\n==================", "1.2.0", "2024-01-01"},
		{"v1.2.0\n------", "v1.2.0", ""},
	}
	for _, tt := range tests {
		c, err := notes.Parse("h.md", []byte(tt.heading+"\n- entry\n"))
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.heading, err)
			continue
		}
		if len(c.Releases) != 1 || c.Releases[0].Version != tt.version || c.Releases[0].Date != tt.date || len(c.Releases[0].Entries) != 1 {
			t.Errorf("Parse(%q) = %+v; want one release %q dated %q with one entry", tt.heading, c.Releases, tt.version, tt.date)
		}
	}
}

func TestSetextSections(t *testing.T) {
	data := "1.1.0\n=====\n\nBreaking changes\n----------------\n\n- Dropped the v1 API\n\nRun the migration before starting.\n---\n"
	c, err := notes.Parse("s.md", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []notes.Release{{Version: "1.1.0", Line: 1, Entries: []notes.Entry{
		{Line: 7, Section: "Breaking changes", Text: "Dropped the v1 API", Kind: notes.KindBreaking},
		{Line: 9, Section: "Breaking changes", Text: "Run the migration before starting.", Kind: notes.KindBreaking},
	}}}
	if diff := cmp.Diff(want, c.Releases); diff != "" {
		t.Errorf("Releases mismatch (-want +got):\n%s", diff)
	}
}

func TestFencesAndComments(t *testing.T) {
	data := "## 1.1.0\n<!--\n- not an entry\n-->\n```\n## 9.9.9\n```\n- entry\n## 1.0.0\n```sh\n- swallowed\n"
	c, err := notes.Parse("f.md", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := &notes.Changelog{
		File:   "f.md",
		Format: notes.FormatKeepAChangelog,
		Releases: []notes.Release{
			{Version: "1.1.0", Line: 1, Entries: []notes.Entry{{Line: 8, Text: "entry", Kind: notes.KindOther}}},
			{Version: "1.0.0", Line: 9},
		},
		Problems: []notes.Problem{{File: "f.md", Line: 10, Message: "code fence ``` is never closed; the rest of the file was read as code"}},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

// conventional-changelog (standard-version, release-please) writes patch
// releases one heading level below minor ones.
func TestConventionalChangelogLevels(t *testing.T) {
	data := `# Changelog

## [1.3.0](https://x/compare/v1.2.1...v1.3.0) (2024-02-01)

### ⚠ BREAKING CHANGES

* **api:** remove the ` + "`v1`" + ` routes

### Features

* add x ([abc1234](https://x/commit/abc1234))

### [1.2.1](https://x/compare/v1.2.0...v1.2.1) (2024-01-15)

### Bug Fixes

* **parser:** accept tabs ([def5678](https://x/commit/def5678))
`
	c, err := notes.Parse("CHANGELOG.md", []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []notes.Release{
		{Version: "1.3.0", Date: "2024-02-01", Line: 3, Entries: []notes.Entry{
			{Line: 7, Section: "⚠ BREAKING CHANGES", Text: "**api:** remove the `v1` routes", Kind: notes.KindBreaking},
			{Line: 11, Section: "Features", Text: "add x ([abc1234](https://x/commit/abc1234))", Kind: notes.KindOther},
		}},
		{Version: "1.2.1", Date: "2024-01-15", Line: 13, Entries: []notes.Entry{
			{Line: 17, Section: "Bug Fixes", Text: "**parser:** accept tabs ([def5678](https://x/commit/def5678))", Kind: notes.KindOther},
		}},
	}
	if diff := cmp.Diff(want, c.Releases); diff != "" {
		t.Errorf("Releases mismatch (-want +got):\n%s", diff)
	}
	if len(c.Problems) != 0 {
		t.Errorf("Problems = %v, want none", c.Problems)
	}
}

func BenchmarkParsePrometheus(b *testing.B) {
	data, err := os.ReadFile(corpus.File(b, "changelog/prometheus.CHANGELOG.md"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		c, err := notes.Parse("CHANGELOG.md", data)
		if err != nil {
			b.Fatal(err)
		}
		_ = notes.Highlights(c.Releases, c.File)
	}
}

func checkParse(t *testing.T, want, got *notes.Changelog) {
	t.Helper()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

// checkHighlights compares the highlights of the releases after from up
// to to with want.
func checkHighlights(t *testing.T, got *notes.Changelog, from, to string, want []notes.Highlight) {
	t.Helper()
	rs, err := got.Between(from, to, numeric)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, notes.Highlights(rs, got.File)); diff != "" {
		t.Errorf("Highlights mismatch (-want +got):\n%s", diff)
	}
}
