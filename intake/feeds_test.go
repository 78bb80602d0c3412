package intake_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestLocalFeedKinds: an OSV feed may be a directory, a zip export or a
// single record; the same record in two feeds counts once, the later
// modification winning; local feeds report status "local".
func TestLocalFeedKinds(t *testing.T) {
	dir := workspace(t)
	// The zip holds every record; the single file repeats GO-2021-0113;
	// the directory holds only the ms record, modified later.
	zipData := zipDir(t, filepath.Join(dir, "osv"), nil)
	writeFile(t, filepath.Join(dir, "all.zip"), string(zipData))
	single := filepath.Join(dir, "GO-2021-0113.json")
	data, err := os.ReadFile(filepath.Join(dir, "osv", "GO-2021-0113.json"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, single, string(data))
	ms, err := os.ReadFile(filepath.Join(dir, "osv", "GHSA-ms01-aaaa-0006.json"))
	if err != nil {
		t.Fatal(err)
	}
	// Later record: the fix moves to 1.0.0.
	later := strings.Replace(strings.Replace(string(ms), `"fixed": "2.0.0"`, `"fixed": "1.0.0"`, 1),
		`"modified": "2024-01-10T00:00:00Z"`, `"modified": "2024-05-01T00:00:00Z"`, 1)
	writeFile(t, filepath.Join(dir, "newer", "GHSA-ms01-aaaa-0006.json"), later)

	yaml := strings.Replace(baseConfig, "    - path: osv\n", "    - path: all.zip\n    - path: GO-2021-0113.json\n    - path: newer\n", 1)
	rep := runIntake(t, parseConfig(t, dir, yaml), openStore(t), clock(t0))
	if len(rep.Problems) != 0 {
		t.Errorf("problems:\n%s", problemsText(rep.Problems))
	}
	records := osvRecordCount(t, dir)
	if rep.Run.Records != records || rep.Run.AdvisoriesNew != records {
		t.Errorf("records %d new %d, want %d distinct records", rep.Run.Records, rep.Run.AdvisoriesNew, records)
	}
	var statuses []string
	for _, f := range rep.Feeds {
		statuses = append(statuses, f.Kind+":"+f.Status)
		if f.Status != "local" {
			t.Errorf("feed %+v: want status local", f)
		}
	}
	for _, want := range []string{"osv:local", "kev:local", "epss:local", "notes:local"} {
		if !slices.Contains(statuses, want) {
			t.Errorf("feeds %v lack %s", statuses, want)
		}
	}
	c := mustCandidate(t, rep.Candidates, "ms")
	if c.FixVersion != "1.0.0" {
		t.Errorf("ms fix %q, want 1.0.0 from the later record", c.FixVersion)
	}
	if xt := mustCandidate(t, rep.Candidates, "golang.org/x/text"); len(xt.Advisories) != 1 {
		t.Errorf("x/text advisories %v: the single record and the zip's GHSA should merge", advisoryIDs(xt))
	}
}

// TestStatefulComponent: a component named in intake.stateful counts as
// stateful in its risk, and that never lowers it.
func TestStatefulComponent(t *testing.T) {
	dir := workspace(t)
	plain := runIntake(t, parseConfig(t, dir, baseConfig), openStore(t), clock(t0))
	stateful := runIntake(t, parseConfig(t, dir, baseConfig+"intake:\n  stateful: [left-pad]\n"), openStore(t), clock(t0))
	a, b := mustCandidate(t, plain.Candidates, "left-pad"), mustCandidate(t, stateful.Candidates, "left-pad")
	fa, fb := factor(a.Risk, "stateful"), factor(b.Risk, "stateful")
	if fa == nil || fb == nil || fa.Value != 0 || fb.Value != 1 {
		t.Fatalf("stateful factor %+v → %+v, want 0 → 1", fa, fb)
	}
	if b.Risk.Total < a.Risk.Total {
		t.Errorf("risk %.1f as stateful is below %.1f", b.Risk.Total, a.Risk.Total)
	}
	// Others are unaffected.
	if la, lb := mustCandidate(t, plain.Candidates, "lodash"), mustCandidate(t, stateful.Candidates, "lodash"); la.Risk.Total != lb.Risk.Total {
		t.Errorf("lodash risk moved %.1f → %.1f", la.Risk.Total, lb.Risk.Total)
	}
}
