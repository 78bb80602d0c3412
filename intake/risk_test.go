package intake_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
)

// riskConfig runs x/text (one GHSA/GO advisory) in worker, with front
// and edge beside it; the placeholders are what the variants change.
const riskConfig = `
server:
  data_dir: ./data
services:
  - name: worker
    tier: TIER
    inventory:
      - {type: gomod, path: worker.go.mod}
  - name: front
    tier: 2
    DEPS_FRONT
  - name: edge
    tier: 2
    DEPS_EDGE
feeds:
  osv:
    - path: osv
  KEV
`

type riskVariant struct {
	tier              string
	depsFront, depsEd string
	kev               bool
	// vector replaces the CVSS vector of GHSA-ppp9-7jff-5vj2 when set.
	vector string
}

func (v riskVariant) run(t *testing.T) *upfactory.Candidate {
	t.Helper()
	dir := workspace(t)
	if v.vector != "" {
		p := filepath.Join(dir, "osv", "GHSA-ppp9-7jff-5vj2.json")
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		const orig = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
		if !strings.Contains(string(data), orig) {
			t.Fatal("fixture changed: vector not found")
		}
		writeFile(t, p, strings.Replace(string(data), orig, v.vector, 1))
	}
	y := strings.NewReplacer(
		"TIER", v.tier,
		"DEPS_FRONT", v.depsFront,
		"DEPS_EDGE", v.depsEd,
	).Replace(riskConfig)
	if v.kev {
		y = strings.Replace(y, "KEV", "kev: {path: kev.json}", 1)
	} else {
		y = strings.Replace(y, "KEV", "", 1)
	}
	rep := runIntake(t, parseConfig(t, dir, y), openStore(t), clock(t0))
	return mustCandidate(t, rep.Candidates, "golang.org/x/text")
}

// TestRiskNeverLower builds pairs of configs that differ in one thing that
// makes an upgrade more urgent or more dangerous, and checks that the
// input reached the score (its factor moved) and that the total did not
// go down.
func TestRiskNeverLower(t *testing.T) {
	base := riskVariant{tier: "3", depsFront: "", depsEd: "", kev: false}
	cases := []struct {
		name          string
		lower, higher riskVariant
		factor        string
	}{
		{"kev", base, func() riskVariant { v := base; v.kev = true; return v }(), "kev"},
		{"cvss", func() riskVariant {
			v := base
			v.vector = "CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N" // 1.8
			return v
		}(), base, "cvss"},
		// front calls worker, edge calls front: two transitive dependents.
		{"dependents", base, func() riskVariant {
			v := base
			v.depsFront = "depends_on: [worker]"
			v.depsEd = "depends_on: [front]"
			return v
		}(), "dependents"},
		{"tier", base, func() riskVariant { v := base; v.tier = "1"; return v }(), "tier"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lo := tc.lower.run(t)
			hi := tc.higher.run(t)
			fl, fh := factor(lo.Risk, tc.factor), factor(hi.Risk, tc.factor)
			if fl == nil || fh == nil {
				t.Fatalf("no %s factor in the risk score", tc.factor)
			}
			if fh.Value <= fl.Value {
				t.Errorf("%s factor value %v → %v: the config change did not reach the score (inputs %q → %q)",
					tc.factor, fl.Value, fh.Value, fl.Input, fh.Input)
			}
			if hi.Risk.Total < lo.Risk.Total {
				t.Errorf("risk went down from %.1f to %.1f with more %s", lo.Risk.Total, hi.Risk.Total, tc.factor)
			}
		})
	}
}

// TestRiskTransitiveDependents checks the dependents count: edge depends
// on worker only through front.
func TestRiskTransitiveDependents(t *testing.T) {
	direct := riskVariant{tier: "3", depsFront: "depends_on: [worker]", depsEd: ""}.run(t)
	transitive := riskVariant{tier: "3", depsFront: "depends_on: [worker]", depsEd: "depends_on: [front]"}.run(t)
	fd, ft := factor(direct.Risk, "dependents"), factor(transitive.Risk, "dependents")
	if fd == nil || ft == nil {
		t.Fatal("no dependents factor")
	}
	if !(ft.Value > fd.Value && fd.Value > 0) {
		t.Errorf("dependents value direct-only %v, transitive %v: want 0 < direct < transitive (inputs %q, %q)",
			fd.Value, ft.Value, fd.Input, ft.Input)
	}
	if !strings.Contains(ft.Input, "2") || !strings.Contains(fd.Input, "1") {
		t.Errorf("dependents inputs %q (want 1) and %q (want 2)", fd.Input, ft.Input)
	}
	if transitive.Risk.Total < direct.Risk.Total {
		t.Errorf("risk %.1f with a transitive dependent is lower than %.1f without", transitive.Risk.Total, direct.Risk.Total)
	}
}
