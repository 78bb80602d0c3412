package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
)

// A candidate whose critical-path probe fails stops the matrix before the
// other checks start; the static constraint that excludes it fails too;
// a second run with nothing changed is the stored one.
func TestCompatCriticalPathFailsFast(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("CHANGELOG.md", "# Changelog\n\n## [2.1.0] - 2026-11-01\n### Changed\n- Faster checkout.\n\n## [1.0.0] - 2026-10-01\n### Added\n- First.\n")
	write("package.json", `{
  "name": "storefront-widget",
  "version": "3.2.0",
  "peerDependencies": {
    "checkout": "^1.0.0"
  }
}
`)
	cfg := write("upfactory.yaml", fmt.Sprintf(`server: {data_dir: ./data}
feeds:
  release_notes:
    - {component: checkout, path: CHANGELOG.md}
services:
  - name: checkout
    tier: 1
    stable_version: 1.0.0
    target:
      type: exec
      command: [%q, "shop", "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"]
      readiness: {path: /healthz, timeout: 10s}
    router: {listen: "127.0.0.1:0"}
    strategy: {canary: {steps: [{weight: 100}]}}
    compat:
      constraints: [{type: package-json, path: package.json}]
      checks:
        - {name: smoke, command: ["true"]}
      journeys:
        - name: buy
          tags: [payment]
          steps:
            - {name: products, path: /api/products, expect: {status: 200}}
            - {name: pay, method: POST, path: /api/checkout, body: '{"product": 1}', expect: {status: 200, max_latency: 100ms}}
      load: {rate: 20, duration: 2s}
`, binary))

	if code, out, errb := run(t, "intake", "run", "-c", cfg); code != exitOK {
		t.Fatalf("intake: %d\n%s%s", code, out, errb)
	}
	_, out, _ := run(t, "candidates", "-c", cfg, "-o", "json")
	var list struct{ Candidates []upfactory.Candidate }
	json.Unmarshal([]byte(out), &list)
	if len(list.Candidates) != 1 || list.Candidates[0].Component != "checkout" || list.Candidates[0].Recommended != "2.1.0" {
		t.Fatalf("candidates = %s", out)
	}
	id := list.Candidates[0].ID

	code, out, errb := run(t, "compat", "run", id, "-c", cfg, "-o", "json")
	if code != exitRefused {
		t.Fatalf("compat run: exit %d, want 1\n%s\n%s", code, out, errb)
	}
	var r upfactory.CompatRun
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("compat run -o json: %v\n%s", err, out)
	}
	cells := map[string]upfactory.CompatCell{}
	for _, c := range r.Cells {
		cells[c.Kind+" "+c.Component] = c
	}
	static := cells["static storefront-widget"]
	if static.Outcome != upfactory.CompatFail || static.Line != 5 || !strings.HasSuffix(static.File, "package.json") {
		t.Errorf("static cell = %+v; want fail at package.json:5", static)
	}
	buy := cells["journey buy"]
	if buy.Outcome != upfactory.CompatFail || !strings.Contains(buy.Reason, "pay") {
		t.Errorf("journey cell = %+v; want the pay step to fail on latency", buy)
	}
	for _, k := range []string{"check smoke", "load twin vs stable", "load load"} {
		c, ok := cells[k]
		if !ok {
			continue
		}
		if c.Outcome != upfactory.CompatSkipped || !strings.Contains(c.Reason, "critical-path item failed: buy") {
			t.Errorf("%s = %+v; want skipped after the critical failure", k, c)
		}
	}
	if _, ok := cells["check smoke"]; !ok {
		t.Errorf("no cell for the smoke check: %v", r.Cells)
	}
	if r.Outcome != upfactory.CompatFail || r.Counts[upfactory.CompatSkipped] < 2 {
		t.Errorf("run outcome %s counts %v", r.Outcome, r.Counts)
	}

	// Nothing changed: the stored run, not a new one.
	code, out, _ = run(t, "compat", "run", id, "-c", cfg, "-o", "json")
	var again upfactory.CompatRun
	json.Unmarshal([]byte(out), &again)
	if code != exitRefused || !again.Reused || again.ID != r.ID {
		t.Errorf("second run: exit %d reused %v id %d (first %d)", code, again.Reused, again.ID, r.ID)
	}
	// The constraint file changes: a new run.
	write("package.json", `{"name": "storefront-widget", "peerDependencies": {"checkout": ">=1.0.0"}}`)
	code, out, _ = run(t, "compat", "run", id, "-c", cfg)
	if !strings.Contains(out, "storefront-widget") || strings.Contains(out, "reused") {
		t.Errorf("after the constraint changed: exit %d\n%s", code, out)
	}
	if code, out, _ := run(t, "compat", "show", id, "-c", cfg); code != exitOK || !strings.Contains(out, "journey") {
		t.Errorf("compat show: exit %d\n%s", code, out)
	}
}
