package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	uhttp "github.com/upfactory/upfactory/http"
	"github.com/upfactory/upfactory/intake"
)

// lodashNotes has a release with a breaking item and one with a migration
// after the version the inventory runs (4.17.15), and a major after them.
const lodashNotes = `# Changelog

## [5.0.0] - 2026-01-01
### Removed
- Dropped support for Node 10.

## [4.18.0] - 2025-06-01
### Changed
- **Breaking:** _.template no longer evaluates imports by default.
- The cache file format changed; run the migration script once.

## [4.17.21] - 2021-02-20
### Security
- Fixed command injection in _.template.

## [4.17.15] - 2019-07-19
### Fixed
- Older fix.
`

// writeIntakeConfig writes a config with two intake-only services: web runs
// the SBOM with lodash 4.17.15 and express 4.19.2, api depends on web.
func writeIntakeConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	abs, err := filepath.Abs(scanData)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lodash.CHANGELOG.md"), []byte(lodashNotes), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`server:
  data_dir: ./data
%s
feeds:
  osv: [{path: %s}]
  release_notes:
    - {component: lodash, ecosystem: npm, path: lodash.CHANGELOG.md}
services:
  - name: web
    tier: 1
    traffic_share: 0.5
    inventory:
      - {type: cyclonedx, path: %s}
  - name: api
    depends_on: [web]
`, extra, filepath.Join(abs, "osv"), filepath.Join(abs, "high.cdx.json"))
	path := filepath.Join(dir, "upfactory.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestIntakeCandidatesAck(t *testing.T) {
	dir := t.TempDir()
	cfg := writeIntakeConfig(t, dir, "")

	code, out, errb := run(t, "intake", "run", "-c", cfg, "-o", "json")
	if code != exitOK {
		t.Fatalf("intake run: exit %d\n%s\n%s", code, out, errb)
	}
	var rep intake.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("intake run -o json is not one JSON report: %v\n%s", err, out)
	}
	if rep.Run.Records != 4 || rep.Run.AdvisoriesNew != 4 || rep.Run.Components != 2 {
		t.Errorf("run = %+v; want 4 records, all new, 2 components", rep.Run)
	}
	if len(rep.Candidates) != 1 {
		t.Fatalf("candidates = %+v; want only lodash (express 4.19.2 is fixed)", rep.Candidates)
	}
	c := rep.Candidates[0]
	// 4.17.21 fixes both lodash advisories; 4.18.0 is the newest 4.x, not
	// affected, so it is recommended; 5.0.0 is only the latest.
	if c.Component != "lodash" || c.Current != "4.17.15" || c.FixVersion != "4.17.21" ||
		c.NewestInMajor != "4.18.0" || c.Recommended != "4.18.0" || c.Latest != "5.0.0" {
		t.Errorf("candidate = %s %s fix %s newest-in-major %s recommended %s latest %s",
			c.Component, c.Current, c.FixVersion, c.NewestInMajor, c.Recommended, c.Latest)
	}
	if len(c.Advisories) != 2 || c.Status != upfactory.CandidateNeedsAck {
		t.Errorf("advisories %d, status %s; want 2, needs_ack", len(c.Advisories), c.Status)
	}
	kinds := map[string]int{}
	for _, h := range c.Highlights {
		kinds[h.Kind]++
		if h.Version == "5.0.0" || h.Version == "4.17.15" {
			t.Errorf("highlight outside (4.17.15, 4.18.0]: %+v", h)
		}
	}
	if kinds["breaking"] != 1 || kinds["migration"] != 1 || kinds["security"] != 1 {
		t.Errorf("highlight kinds = %v; want one breaking, one migration, one security", kinds)
	}

	// The table, the detail and the explanation.
	code, out, _ = run(t, "candidates", "-c", cfg)
	if code != exitOK || !strings.Contains(out, c.ID) || !strings.Contains(out, "needs_ack") {
		t.Errorf("candidates: exit %d\n%s", code, out)
	}
	code, out, _ = run(t, "candidates", "show", c.ID, "-c", cfg)
	for _, want := range []string{"4.18.0", "GHSA-35jh-r3h4-6jhm", "lodash.CHANGELOG.md:9  **Breaking:** _.template no longer evaluates", "lodash.CHANGELOG.md:10"} {
		if !strings.Contains(out, want) {
			t.Errorf("candidates show lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "risk", "explain", c.ID, "-c", cfg)
	for _, want := range []string{"total =", "dependents", "1 transitive dependent", "migrations", "breaking_items"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("risk explain (exit %d) lacks %q:\n%s", code, want, out)
		}
	}

	// The gate: it cannot move on to compatibility testing unacknowledged.
	if code, _, errb = run(t, "compat", "run", c.ID, "-c", cfg); code != exitRefused || !strings.Contains(errb, "nobody acknowledged") {
		t.Errorf("compat run before the ack: exit %d, want 1: %s", code, errb)
	}
	if code, _, errb = run(t, "candidates", "ack", c.ID, "-c", cfg); code != exitUsage {
		t.Errorf("ack without --as: exit %d, want 2: %s", code, errb)
	}
	if code, _, errb = run(t, "candidates", "ack", "c-nope", "--as", "alice", "-c", cfg); code != exitRefused || !strings.Contains(errb, "c-nope") {
		t.Errorf("ack of an unknown candidate: exit %d, want 1: %s", code, errb)
	}
	code, out, errb = run(t, "candidates", "ack", c.ID, "--as", "alice", "-c", cfg, "-o", "json")
	var acked upfactory.Candidate
	if code != exitOK || json.Unmarshal([]byte(out), &acked) != nil || acked.Status != upfactory.CandidateReady || acked.Ack.By != "alice" {
		t.Fatalf("ack: exit %d status %q\n%s%s", code, acked.Status, out, errb)
	}

	// A second run changes nothing and keeps the acknowledgement.
	code, out, _ = run(t, "intake", "run", "-c", cfg, "-o", "json")
	rep = intake.Report{}
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil {
		t.Fatalf("second run: exit %d\n%s", code, out)
	}
	if r := rep.Run; r.AdvisoriesNew+r.AdvisoriesChanged+r.AdvisoriesRemoved+r.CandidatesNew+r.CandidatesResolved != 0 {
		t.Errorf("second run found changes: %+v", r)
	}
	if len(rep.Candidates) != 1 || rep.Candidates[0].Status != upfactory.CandidateReady || !rep.Candidates[0].FirstSeen.Equal(c.FirstSeen) {
		t.Errorf("after the second run: %+v", rep.Candidates)
	}

	// Every step is in the operation log, which verifies.
	code, out, _ = run(t, "log", "-c", cfg)
	for _, want := range []string{"intake.run", "candidate.new", "candidate.ack", "alice"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ = run(t, "log", "--verify", "-c", cfg); code != exitOK {
		t.Errorf("log --verify: exit %d: %s", code, out)
	}
}

func TestIntakeBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := writeIntakeConfig(t, dir, "intake: {schedule: \"every day\"}")
	code, _, errb := run(t, "intake", "run", "-c", cfg)
	if code != exitUsage || !strings.Contains(errb, "intake.schedule") {
		t.Errorf("bad schedule: exit %d, want 2 naming intake.schedule:\n%s", code, errb)
	}

	// A broken SBOM is a problem, not a failure.
	cfg = writeIntakeConfig(t, dir, "")
	broken := filepath.Join(dir, "broken.cdx.json")
	os.WriteFile(broken, []byte(`{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"name": 3}]}`), 0o644)
	data, _ := os.ReadFile(cfg)
	data = append(data, fmt.Sprintf("    inventory: [{type: cyclonedx, path: %s}]\n", broken)...)
	os.WriteFile(cfg, data, 0o644)
	code, out, errb := run(t, "intake", "run", "-c", cfg)
	if code != exitOK || !strings.Contains(out, "broken.cdx.json") || !strings.Contains(out, "/components/0") {
		t.Errorf("broken SBOM: exit %d, want 0 with the problem named:\n%s\n%s", code, out, errb)
	}

	// No readable advisory at all: exit 1 and nothing stored.
	other := t.TempDir()
	cfg = writeIntakeConfig(t, other, "")
	data, _ = os.ReadFile(cfg)
	abs, _ := filepath.Abs(scanData)
	data = bytes.Replace(data, []byte(filepath.Join(abs, "osv")), []byte(filepath.Join(other, "no-such-db")), 1)
	os.WriteFile(cfg, data, 0o644)
	code, _, errb = run(t, "intake", "run", "-c", cfg)
	if code != exitRefused || !strings.Contains(errb, "nothing was changed") {
		t.Errorf("no advisories: exit %d, want 1: %s", code, errb)
	}
	if code, out, _ := run(t, "candidates", "-c", cfg); code != exitOK || !strings.Contains(out, "no open candidates") {
		t.Errorf("after a failed run: %s", out)
	}
}

// serve runs intake on its schedule and over the API, which wants the
// token for a run or an acknowledgement.
func TestServeRunsIntake(t *testing.T) {
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeIntakeConfig(t, dir, fmt.Sprintf("  listen: 127.0.0.1:%s\nintake: {schedule: \"@every 1s\"}", port))
	s := &served{dir: dir, cfg: cfg, api: "http://127.0.0.1:" + port}
	s.start(t, "--api-token", "sesame")
	t.Cleanup(func() { s.stop(t) })

	var runs struct{ Runs []upfactory.IntakeRun }
	eventually(t, "a scheduled intake run", 30*time.Second, func() (bool, string) {
		resp, err := http.Get(s.api + "/api/v1/intake/runs")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		err = json.NewDecoder(resp.Body).Decode(&runs)
		return len(runs.Runs) > 0, fmt.Sprintf("%s, decoding: %v; serve:\n%s", resp.Status, err, s.stderr)
	})
	if runs.Runs[0].Trigger != "schedule" || runs.Runs[0].Candidates != 1 {
		t.Errorf("scheduled run = %+v", runs.Runs[0])
	}

	resp, err := http.Post(s.api+"/api/v1/intake/runs", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("run without token: %s, want 401", resp.Status)
	}
	c := uhttp.NewClient(s.api, "sesame")
	rep, err := c.RunIntake(t.Context())
	if err != nil && upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		t.Fatalf("run with token: %v", err)
	}
	if err == nil && rep.Run.Trigger != "api" {
		t.Errorf("API run trigger = %q", rep.Run.Trigger)
	}
	cands, err := c.Candidates(t.Context(), "web", false)
	if err != nil || len(cands) != 1 {
		t.Fatalf("candidates of web: %v, %v", cands, err)
	}
	if _, err := uhttp.NewClient(s.api, "").Ack(t.Context(), cands[0].ID, "bob"); upfactory.ErrorCode(err) != upfactory.EUNAUTHORIZED {
		t.Errorf("ack without token: %v, want EUNAUTHORIZED", err)
	}
	got, err := c.Ack(t.Context(), cands[0].ID, "bob")
	if err != nil || got.Status != upfactory.CandidateReady {
		t.Errorf("ack with token: %+v, %v", got, err)
	}
	if strings.Contains(s.stderr.String(), "sesame") {
		t.Errorf("the token was logged:\n%s", s.stderr)
	}
}
