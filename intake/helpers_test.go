package intake_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/config"
	"github.com/upfactory/upfactory/intake"
	"github.com/upfactory/upfactory/sqlite"
)

// baseConfig is the config most tests start from: three services sharing
// lodash (web through an SBOM, api through a package-lock), a Go worker,
// a hand-declared left-pad with release notes, and local feeds.
const baseConfig = `
server:
  data_dir: ./data
services:
  - name: web
    tier: 1
    inventory:
      - {type: cyclonedx, path: web.cdx.json}
      - {type: component, name: left-pad, ecosystem: npm, version: 1.0.0, layer: dependency}
  - name: api
    tier: 2
    inventory:
      - {type: package-lock, path: api-package-lock.json}
  - name: worker
    tier: 3
    inventory:
      - {type: gomod, path: worker.go.mod}
feeds:
  osv:
    - path: osv
  kev: {path: kev.json}
  epss: {path: epss.csv}
  release_notes:
    - {component: left-pad, ecosystem: npm, path: left-pad.CHANGELOG.md}
`

// workspace copies testdata into a fresh directory, so that a test may
// change, add or remove files, and returns it.
func workspace(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir("testdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata", p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// parseConfig builds a config as users get it: from YAML in dir, with
// defaults and relative paths resolved against dir.
func parseConfig(t *testing.T, dir, yaml string) *upfactory.Config {
	t.Helper()
	cfg, err := config.Parse(filepath.Join(dir, "upfactory.yaml"), []byte(yaml), dir)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "upfactory.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// clock returns a Now that starts at start and moves one minute per call,
// so that runs have distinct, ordered times without sleeping.
func clock(start time.Time) func() time.Time {
	t := start
	return func() time.Time {
		t = t.Add(time.Minute)
		return t
	}
}

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func runIntake(t *testing.T, cfg *upfactory.Config, st intake.Store, now func() time.Time) *intake.Report {
	t.Helper()
	rep, err := intake.Run(context.Background(), intake.Options{Config: cfg, Store: st, Trigger: "cli", Now: now})
	if err != nil {
		t.Fatalf("intake.Run: %v", err)
	}
	return rep
}

func byComponent(cands []*upfactory.Candidate, name string) *upfactory.Candidate {
	for _, c := range cands {
		if c.Component == name {
			return c
		}
	}
	return nil
}

func mustCandidate(t *testing.T, cands []*upfactory.Candidate, name string) *upfactory.Candidate {
	t.Helper()
	c := byComponent(cands, name)
	if c == nil {
		var names []string
		for _, c := range cands {
			names = append(names, c.Component+"@"+c.Current)
		}
		t.Fatalf("no candidate for %s; candidates: %v", name, names)
	}
	return c
}

func advisoryIDs(c *upfactory.Candidate) []string {
	var ids []string
	for _, a := range c.Advisories {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}

func advisory(c *upfactory.Candidate, id string) *upfactory.Advisory {
	for i := range c.Advisories {
		if c.Advisories[i].ID == id {
			return &c.Advisories[i]
		}
	}
	return nil
}

func problemsText(ps []intake.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// findProblem returns the first problem whose kind is kind and whose source
// contains all of parts.
func findProblem(ps []intake.Problem, kind string, parts ...string) *intake.Problem {
	for i, p := range ps {
		if kind != "" && p.Kind != kind {
			continue
		}
		ok := true
		for _, s := range parts {
			if !strings.Contains(p.Source, s) {
				ok = false
				break
			}
		}
		if ok {
			return &ps[i]
		}
	}
	return nil
}

func logActions(t *testing.T, st intake.Store) []upfactory.LogEntry {
	t.Helper()
	entries, err := st.Log(context.Background(), upfactory.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func countAction(entries []upfactory.LogEntry, action, subject string) int {
	n := 0
	for _, e := range entries {
		if e.Action == action && (subject == "" || e.Subject == subject) {
			n++
		}
	}
	return n
}

func verifyLog(t *testing.T, st *sqlite.DB) {
	t.Helper()
	v, err := st.VerifyLog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK {
		t.Fatalf("operation log does not verify: %+v", v)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fileLine returns line n (1-based) of file.
func fileLine(t *testing.T, file string, n int) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("highlight file: %v", err)
	}
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		t.Fatalf("%s has %d lines, highlight cites line %d", file, len(lines), n)
	}
	return strings.TrimSuffix(lines[n-1], "\r")
}

// textStart is the first words of a highlight's text, as they appear on its
// first line (continuation lines are joined with spaces).
func textStart(text string) string {
	first, _, _ := strings.Cut(text, "\n")
	if len(first) > 30 {
		first = first[:30]
	}
	return strings.TrimSpace(first)
}
