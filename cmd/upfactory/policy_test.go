package main

import (
	"encoding/json"
	"fmt"
	"github.com/upfactory/upfactory/app"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// A window's plan is checked for bundling, patch order and
// acknowledgements; policy check exits 1 until each violation is fixed or
// overridden by a named approver, which the log records.
func TestPolicyCheck(t *testing.T) {
	dir := t.TempDir()
	cfg := writeIntakeConfig(t, dir, `policies:
  windows:
    - {name: weekly, cron: "0 22 * * 2", duration: 4h, timezone: Europe/Paris, max_upgrades: 1}
`)
	// Two candidates: lodash (needs an ack) and, with a notes-only second
	// component, none; add express at an affected version to get two.
	sbom := filepath.Join(dir, "two.cdx.json")
	os.WriteFile(sbom, []byte(`{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
  {"type": "library", "name": "express", "version": "4.17.1", "purl": "pkg:npm/express@4.17.1"},
  {"type": "library", "name": "lodash", "version": "4.17.15", "purl": "pkg:npm/lodash@4.17.15"}]}`), 0o644)
	data, _ := os.ReadFile(cfg)
	data = append(data, fmt.Sprintf("    inventory: [{type: cyclonedx, path: %s}]\n", sbom)...)
	os.WriteFile(cfg, data, 0o644)

	if code, out, errb := run(t, "intake", "run", "-c", cfg); code != exitOK {
		t.Fatalf("intake: %d\n%s%s", code, out, errb)
	}
	code, out, _ := run(t, "candidates", "-c", cfg, "-o", "json")
	var list struct{ Candidates []upfactory.Candidate }
	if code != exitOK || json.Unmarshal([]byte(out), &list) != nil || len(list.Candidates) != 2 {
		t.Fatalf("candidates: %s", out)
	}
	var ids []string
	for _, c := range list.Candidates {
		ids = append(ids, c.ID)
	}

	// Nothing planned: nothing to violate.
	if code, out, _ := run(t, "policy", "check", "-c", cfg); code != exitOK || !strings.Contains(out, "policies: OK") {
		t.Errorf("empty plan: exit %d\n%s", code, out)
	}
	if code, _, errb := run(t, "plan", "set", "--window", "nope", ids[0], "--as", "alice", "-c", cfg); code != exitUsage {
		t.Errorf("unknown window: exit %d: %s", code, errb)
	}
	if code, out, errb := run(t, "plan", "set", "--window", "weekly", "--as", "alice", "-c", cfg, ids[0], ids[1]); code != exitOK {
		t.Fatalf("plan set: %d\n%s%s", code, out, errb)
	}
	code, out, _ = run(t, "policy", "check", "-c", cfg, "-o", "json")
	var rep app.PolicyReport
	if code != exitRefused || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("policy check: exit %d, want 1\n%s", code, out)
	}
	var got []string
	for _, v := range rep.Blocked {
		got = append(got, v.ID)
	}
	// express and lodash are unrelated: 2 > max 1; lodash's breaking item
	// is not acknowledged.
	wantBundle, wantAck := "bundle:weekly", ""
	for _, c := range list.Candidates {
		if c.Component == "lodash" {
			wantAck = "ack:" + c.ID
		}
	}
	if !strings.Contains(strings.Join(got, " "), wantBundle) || !strings.Contains(strings.Join(got, " "), wantAck) || len(got) != 2 {
		t.Errorf("violations %v, want %s and %s", got, wantBundle, wantAck)
	}

	// A typo is refused with the IDs that exist, and nothing is logged.
	_, before, _ := run(t, "log", "-c", cfg, "-o", "json")
	code, _, errb := run(t, "policy", "override", "bundle:weeky", "--as", "carol", "--reason", "typo", "-c", cfg)
	if code != exitUsage || !strings.Contains(errb, `no gate or violation "bundle:weeky"`) || !strings.Contains(errb, wantBundle) || !strings.Contains(errb, wantAck) {
		t.Errorf("override of an unknown ID: exit %d, want %d listing the valid IDs:\n%s", code, exitUsage, errb)
	}
	if _, after, _ := run(t, "log", "-c", cfg, "-o", "json"); after != before {
		t.Errorf("a refused override changed the log")
	}

	// Override the bundle, acknowledge lodash: OK, and the log says who.
	if code, _, errb := run(t, "policy", "override", wantBundle, "--as", "carol", "-c", cfg); code != exitUsage {
		t.Errorf("override without a reason: exit %d: %s", code, errb)
	}
	if code, out, errb := run(t, "policy", "override", wantBundle, "--as", "carol", "--reason", "both fix exploited bugs", "-c", cfg); code != exitOK {
		t.Fatalf("override: %d %s%s", code, out, errb)
	}
	if code, out, errb := run(t, "candidates", "ack", strings.TrimPrefix(wantAck, "ack:"), "--as", "alice", "-c", cfg); code != exitOK {
		t.Fatalf("ack: %d %s%s", code, out, errb)
	}
	code, out, _ = run(t, "policy", "check", "-c", cfg)
	if code != exitOK || !strings.Contains(out, "OVERRIDDEN bundle:weekly by carol") {
		t.Errorf("after override and ack: exit %d\n%s", code, out)
	}
	_, out, _ = run(t, "log", "-c", cfg)
	for _, want := range []string{"policy.override", "carol", "plan.set"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// No rollout starts in a freeze unless an approver overrode it.
func TestFreezeRefusesRollout(t *testing.T) {
	dir := t.TempDir()
	cfg, api, router := writeConfig(t, dir, testSteps)
	today := time.Now().UTC()
	data, _ := os.ReadFile(cfg)
	data = append(data, fmt.Sprintf(`policies:
  freezes:
    - {name: launch, from: %s, to: %s, timezone: UTC, reason: product launch}
`, today.AddDate(0, 0, -1).Format("2006-01-02"), today.AddDate(0, 0, 1).Format("2006-01-02"))...)
	os.WriteFile(cfg, data, 0o644)
	s := &served{dir: dir, cfg: cfg, api: api, router: router}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	s.waitStable(t, "1.0.0")

	code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0")
	if code != exitRefused || !strings.Contains(out, "freeze launch") || !strings.Contains(out, "product launch") {
		t.Fatalf("rollout in a freeze: exit %d\n%s", code, out)
	}
	if st := s.status(t); st.CanaryVersion != "" {
		t.Errorf("a refused rollout started anyway: %+v", st)
	}
	if code, out, errb := run(t, "policy", "override", "freeze:rollout:checkout:launch", "--as", "carol", "--reason", "hotfix", "-c", cfg); code != exitOK {
		t.Fatalf("override: %d %s%s", code, out, errb)
	}
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0"); code != exitOK {
		t.Errorf("overridden freeze: exit %d\n%s", code, out)
	}
	if code, out := s.cli(t, "log", "--service", "checkout"); code != exitOK || !strings.Contains(out, "policy.override") {
		t.Errorf("log --service checkout does not show the freeze override (exit %d):\n%s", code, out)
	}
}
