package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
)

const lineChangelog20 = `# Changelog of checkout
## [2.0.0] - 2026-12-01
### Removed
- The legacy /api/v0/cart endpoint; clients use /api/cart.
## [1.0.0] - 2026-10-01
### Added
- First release.
`

// 2.1.0 is the bundled shop's regressing version (shop.Profiles).
const lineChangelog21 = `# Changelog of checkout
## [2.1.0] - 2026-12-04
### Changed
- A faster catalogue.
` + "## [2.0.0] - 2026-12-01\n### Removed\n- The legacy /api/v0/cart endpoint; clients use /api/cart.\n## [1.0.0] - 2026-10-01\n### Added\n- First release.\n"

// writeLineConfig writes a config in which every gate is on: release notes
// for checkout's own releases, compat journeys and load, a preflight with
// a command item and a person's item, and a fast drill.
func writeLineConfig(t *testing.T, dir string) (cfgPath, api, router string) {
	t.Helper()
	apiPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	routerPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(lineChangelog20), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("APIPORT", apiPort, "DATA", filepath.Join(dir, "data"), "BINARY", fmt.Sprintf("%q", binary),
		"ROUTERPORT", routerPort).Replace(`server: {listen: 127.0.0.1:APIPORT, data_dir: DATA, tick_interval: 100ms}
feeds:
  release_notes: [{component: checkout, path: CHANGELOG.md}]
services:
  - name: checkout
    owner: payments-team
    owners: {canary: sre-oncall}
    on_call: dana
    comms: "#checkout"
    tier: 1
    failure_modes: [payment timeouts, cart loss, slow catalogue]
    stable_version: 1.0.0
    target:
      type: exec
      command: [BINARY, "shop", "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"]
      replicas: 2
      readiness: {path: /healthz, timeout: 8s}
    router: {type: builtin, listen: 127.0.0.1:ROUTERPORT, sticky: true}
    strategy:
      canary:
        steps:
          - weight: 10
          - analysis: {duration: 3s}
          - weight: 50
          - weight: 100
    analysis:
      interval: 1s
      min_samples: 10
      checks:
        - {metric: error_rate, max: 1%, for: 2s}
    compat:
      journeys:
        - name: buy
          steps:
            - {name: products, path: /api/products, expect: {status: 200}}
            - {name: checkout, method: POST, path: /api/checkout, body: '{"items": [1]}', expect: {status: 200}}
      load: {rate: 40, duration: 3s, latency_slack: 50ms}   # 2.1.0 fails on its errors alone
    preflight:
      backups: {command: [BINARY, "shop", "tagged", "CHANGELOG.md"]}
      release_tagged: {command: [BINARY, "shop", "tagged", "CHANGELOG.md"]}
      items:
        - {name: cs-briefed, confirm: true}
    drill: {speed: 10, max_rollback: 1m}
`)
	cfgPath = filepath.Join(dir, "upfactory.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, "http://127.0.0.1:" + apiPort, "http://127.0.0.1:" + routerPort
}

// refusedGates runs rollout start and returns the IDs of the gates its
// refusal lists, failing unless it exits 1.
func refusedGates(t *testing.T, s *served, version string) string {
	t.Helper()
	code, out := s.cli(t, "rollout", "start", "checkout", "--version", version, "--as", "alice")
	if code != exitRefused {
		t.Fatalf("rollout start %s: exit %d, want 1 (refused):\n%s", version, code, out)
	}
	var gates []string
	for _, line := range strings.Split(out, "\n") {
		if g, _, ok := strings.Cut(strings.TrimSpace(line), " ("); ok && strings.HasPrefix(line, "  ") && !strings.HasPrefix(strings.TrimSpace(line), "→") {
			gates = append(gates, g)
		}
	}
	return strings.Join(gates, ",")
}

func candidateFor(t *testing.T, s *served, version string) string {
	t.Helper()
	code, out := s.cli(t, "candidates", "-c", s.cfg, "--service", "checkout", "-o", "json")
	if code != 0 {
		t.Fatalf("candidates: %d %s", code, out)
	}
	var list struct{ Candidates []*upfactory.Candidate }
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Candidates {
		if c.Component == "checkout" && c.Recommended == version {
			return c.ID
		}
	}
	t.Fatalf("intake found no candidate for checkout %s: %s", version, out)
	return ""
}

// The line end to end, under steady load: an app release with a breaking
// note is held at each gate in turn until its notes are acknowledged, its
// compat run passes, a rollback drill passes with no failed request and a
// preflight is confirmed GO; then it rolls out with no failed request, and
// the board shows every stage it entered with its time. A release that
// fails compat is held at the compat gate.
func TestTheLineGatesARelease(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a drill, compat twins and a rollout")
	}
	dir := t.TempDir()
	cfg, api, router := writeLineConfig(t, dir)
	s := &served{dir: dir, cfg: cfg, api: api, router: router}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	s.waitStable(t, "1.0.0")
	_, stopLoad := startLoad(t, s, 30)

	if code, out := s.cli(t, "intake", "run", "-c", cfg); code != 0 {
		t.Fatalf("intake: %d %s", code, out)
	}
	id := candidateFor(t, s, "2.0.0")

	if got := refusedGates(t, s, "2.0.0"); got != "notes,compat,preflight,drill" {
		t.Fatalf("before anything: refused by %q, want notes,compat,preflight,drill", got)
	}
	if code, out := s.cli(t, "candidates", "-c", cfg, "ack", id, "--as", "bob"); code != 0 {
		t.Fatalf("ack: %d %s", code, out)
	}
	if got := refusedGates(t, s, "2.0.0"); got != "compat,preflight,drill" {
		t.Fatalf("after the ack: refused by %q, want compat,preflight,drill", got)
	}
	if code, out := s.cli(t, "compat", "-c", cfg, "run", id); code != 0 {
		t.Fatalf("compat run of 2.0.0: %d %s", code, out)
	}
	if got := refusedGates(t, s, "2.0.0"); got != "preflight,drill" {
		t.Fatalf("after compat: refused by %q, want preflight,drill", got)
	}

	code, out := s.cli(t, "drill", "-c", cfg, "checkout", "--version", "2.0.0", "--as", "carol", "-o", "json")
	var drill upfactory.DrillResult
	if code != 0 || json.NewDecoder(strings.NewReader(out)).Decode(&drill) != nil {
		t.Fatalf("drill: exit %d\n%s", code, out)
	}
	if !drill.Passed || drill.FailedRequests != 0 || drill.Requests == 0 {
		t.Fatalf("drill %+v: want passed with 0 failed requests", drill)
	}
	code, out = s.cli(t, "preflight", "-c", cfg, "checkout", "--version", "2.0.0", "--as", "carol")
	if code != exitRefused || !strings.Contains(out, "NO-GO:") || !strings.Contains(out, "cs-briefed") {
		t.Fatalf("preflight before the confirmation: exit %d, want NO-GO naming cs-briefed:\n%s", code, out)
	}
	if got := refusedGates(t, s, "2.0.0"); got != "preflight" {
		t.Fatalf("after a drill and a NO-GO: refused by %q, want preflight", got)
	}
	if code, out := s.cli(t, "preflight", "-c", cfg, "confirm", "checkout", "cs-briefed", "--version", "2.0.0", "--as", "erin"); code != 0 {
		t.Fatalf("confirm: %d %s", code, out)
	}
	if code, out := s.cli(t, "preflight", "-c", cfg, "checkout", "--version", "2.0.0", "--as", "carol"); code != 0 || !strings.Contains(out, "GO") {
		t.Fatalf("preflight after the confirmation: exit %d\n%s", code, out)
	}

	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0", "--as", "alice", "--wait", "--timeout", "2m"); code != 0 {
		t.Fatalf("rollout with every gate open: exit %d\n%s", code, out)
	}
	if c := stopLoad(); c.Failed() != 0 || c.Total == 0 {
		t.Errorf("load during the line: %d of %d requests failed", c.Failed(), c.Total)
	}

	var b app.Board
	eventually(t, "the board to show 2.0.0 in verification", 30*time.Second, func() (bool, string) {
		code, out := s.cli(t, "board", "-c", cfg, "--all", "-o", "json")
		if code != 0 || json.Unmarshal([]byte(out), &b) != nil {
			return false, out
		}
		for _, u := range b.Upgrades {
			if u.Candidate == id && u.Stage == upfactory.StageVerification {
				return true, ""
			}
		}
		return false, out
	})
	for _, u := range b.Upgrades {
		if u.Candidate != id {
			continue
		}
		var stages []string
		for _, sp := range u.Stages {
			stages = append(stages, string(sp.Stage))
			if sp.EnteredAt.IsZero() || (sp.Stage != upfactory.StageVerification && sp.LeftAt.IsZero()) {
				t.Errorf("stage %s without its times: %+v", sp.Stage, sp)
			}
		}
		if got := strings.Join(stages, ","); got != "intake,risk,compat,canary,progressive,verification" {
			t.Errorf("stages entered: %s", got)
		}
		if u.Owner != "payments-team" || u.Version != "2.0.0" {
			t.Errorf("board item %+v", u)
		}
	}

	// 2.1.0 regresses: its compat run fails and the gate holds it.
	if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte(lineChangelog21), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := s.cli(t, "intake", "run", "-c", cfg); code != 0 {
		t.Fatalf("intake: %d %s", code, out)
	}
	bad := candidateFor(t, s, "2.1.0")
	if code, out := s.cli(t, "compat", "-c", cfg, "run", bad); code != exitRefused {
		t.Fatalf("compat of the regressing 2.1.0: exit %d, want 1\n%s", code, out)
	}
	if got := refusedGates(t, s, "2.1.0"); !strings.HasPrefix(got, "compat") {
		t.Errorf("2.1.0 after a failed compat run: refused by %q, want the compat gate first", got)
	}
}
