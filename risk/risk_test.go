package risk_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/upfactory/upfactory/risk"
)

func ptr(v float64) *float64 { return &v }

// The expected numbers are worked by hand from the formula in the package
// comment with DefaultWeights (axes 0.40/0.35/0.25).
func TestCompute(t *testing.T) {
	const ex = 0.45 + 0.35 + 0.20 + 0.10 // the exploitability factors' weights
	type want struct {
		Total, Exploitability, BlastRadius, Reversibility float64
		// Points of the factors that contribute; all others must be 0.
		Points map[string]float64
	}
	tests := []struct {
		name string
		in   risk.Inputs
		want want
	}{
		{
			name: "zero value: unset tier counts as most critical, no drill on record",
			in:   risk.Inputs{},
			// blast = 100 × 0.25 (tier 1/1); reversibility = 100 × 0.10;
			// total = 0.35 × 25 + 0.25 × 10 = 11.25.
			want: want{Total: 11.3, BlastRadius: 25, Reversibility: 10,
				Points: map[string]float64{"tier": 8.75, "no_rollback_drill": 2.5}},
		},
		{
			name: "quiet upgrade in a tier-3 service",
			in:   risk.Inputs{Tier: 3, RollbackDrilled: true},
			// blast = 100 × 0.25 / 3 = 8.33; total = 0.35 × 8.33 = 2.92.
			want: want{Total: 2.9, BlastRadius: 8.3,
				Points: map[string]float64{"tier": 2.9167}},
		},
		{
			name: "KEV floor lifts a low CVSS with unknown EPSS",
			in:   risk.Inputs{Advisories: 1, CVSS: ptr(3.1), KEV: true, Tier: 2, RollbackDrilled: true},
			// The exploitability factors' weights add up to ex = 1.10.
			// exploitability = 100 × (0.45 × 0.31 + 0.35 × epss(1%) 0.3470 + 0.20
			// + 0.10 × 1/4) / 1.10 = 44.18, lifted to 90; blast = 100 × 0.25 × 0.5
			// = 12.5; total = 0.40 × 90 + 0.35 × 12.5 = 40.375.
			want: want{Total: 40.4, Exploitability: 90, BlastRadius: 12.5,
				Points: map[string]float64{
					"cvss": 0.40 * 45 / ex * 0.31, "epss": 0.40 * 35 / ex * 0.34700, "kev": 0.40 * 20 / ex,
					"advisories": 0.40 * 10 / ex * 0.25,
					"kev_floor":  0.40 * (90 - 44.177), "tier": 4.375,
				}},
		},
		{
			name: "critical CVSS, likely exploited, payment path, migration",
			in: risk.Inputs{
				Advisories: 2, CVSS: ptr(9.8), EPSS: ptr(0.5),
				ServicesAffected: 2, TransitiveDependents: 5, Tier: 1, TrafficShare: 0.3,
				CriticalPaths: []string{"payment", "auth", " Auth "},
				Migrations:    true, MajorBump: true, BreakingItems: 2, RollbackDrilled: true,
			},
			// exploitability = 100 × (0.45 × 0.98 + 0.35 × epss(50%) 0.8998
			// + 0.10 × 2/5) / 1.10 = 72.36;
			// blast = 100 × (0.15 × 2/5 + 0.15 × 5/10 + 0.25 + 0.25 × 0.3 + 0.20 × 2/3) = 59.33;
			// reversibility = 100 × (0.30 + 0.15 + 0.10 × 2/4) = 50;
			// total = 0.40 × 72.36 + 0.35 × 59.33 + 0.25 × 50 = 62.21.
			want: want{Total: 62.2, Exploitability: 72.4, BlastRadius: 59.3, Reversibility: 50,
				Points: map[string]float64{
					"cvss": 0.40 * 45 / ex * 0.98, "epss": 0.40 * 35 / ex * 0.89980, "advisories": 0.40 * 10 / ex * 0.4,
					"services": 0.35 * 15 * 0.4, "dependents": 0.35 * 15 * 0.5, "tier": 8.75,
					"traffic": 0.35 * 25 * 0.3, "critical_paths": 0.35 * 20 * 2 / 3,
					"migrations": 7.5, "major_bump": 3.75, "breaking_items": 0.25 * 10 * 0.5,
				}},
		},
		{
			name: "worst case",
			in: risk.Inputs{
				Advisories: 9, CVSS: ptr(10), EPSS: ptr(1), KEV: true,
				ServicesAffected: 1000, TransitiveDependents: 1000, Tier: 1, TrafficShare: 1,
				CriticalPaths: []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"},
				Migrations:    true, MajorBump: true, Stateful: true, BreakingItems: 1000, FailedRollouts: 1000,
			},
			// exploitability = 100 × (0.45 + 0.35 + 0.20 + 0.10 × 9/12) / 1.10 = 97.73
			// (nine advisories are not yet all there is); blast = 100 × (0.15 ×
			// 1000/1003 + 0.15 × 1000/1005 + 0.25 + 0.25 + 0.20 × 10/11) = 98.06;
			// reversibility = 100 × (0.30 + 0.15 + 0.15 + 0.10 × 1000/1002 + 0.20 ×
			// 1000/1001 + 0.10) = 99.96; total = 39.09 + 34.32 + 24.99 = 98.40.
			want: want{Total: 98.4, Exploitability: 97.7, BlastRadius: 98.1, Reversibility: 100,
				Points: map[string]float64{
					"cvss": 0.40 * 45 / ex, "epss": 0.40 * 35 / ex, "kev": 0.40 * 20 / ex, "advisories": 0.40 * 10 / ex * 0.75,
					"services": 0.35 * 15 * 1000 / 1003, "dependents": 0.35 * 15 * 1000 / 1005,
					"tier": 8.75, "traffic": 8.75, "critical_paths": 0.35 * 20 * 10 / 11,
					"migrations": 7.5, "major_bump": 3.75, "stateful": 3.75,
					"breaking_items": 2.5 * 1000 / 1002, "failed_rollouts": 5.0 * 1000 / 1001,
					"no_rollback_drill": 2.5,
				}},
		},
	}
	approx := cmpopts.EquateApprox(0, 0.01)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := risk.Compute(tt.in, risk.DefaultWeights())
			got := want{Total: s.Total, Exploitability: s.Exploitability, BlastRadius: s.BlastRadius,
				Reversibility: s.Reversibility, Points: map[string]float64{}}
			for _, f := range s.Factors {
				if f.Points != 0 {
					got.Points[f.Name] = f.Points
				}
			}
			if diff := cmp.Diff(tt.want, got, approx); diff != "" {
				t.Errorf("Compute (-want +got):\n%s\n%s", diff, risk.Explain(s))
			}
			var sum float64
			for _, f := range s.Factors {
				sum += f.Points
			}
			if math.Abs(sum-s.Total) > 0.051 {
				t.Errorf("factor points add up to %v, total is %v", sum, s.Total)
			}
		})
	}
}

// Every factor is listed, in a fixed order, whether it contributed or not.
func TestComputeFactorOrder(t *testing.T) {
	s := risk.Compute(risk.Inputs{}, risk.DefaultWeights())
	var got []string
	for _, f := range s.Factors {
		got = append(got, f.Axis+"/"+f.Name)
	}
	want := []string{
		"exploitability/cvss", "exploitability/epss", "exploitability/kev", "exploitability/advisories", "exploitability/kev_floor",
		"blast radius/services", "blast radius/dependents", "blast radius/tier", "blast radius/traffic", "blast radius/critical_paths",
		"reversibility/migrations", "reversibility/major_bump", "reversibility/stateful",
		"reversibility/breaking_items", "reversibility/failed_rollouts", "reversibility/no_rollback_drill",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("factors (-want +got):\n%s", diff)
	}
}

func TestComputeUnknowns(t *testing.T) {
	w := risk.DefaultWeights()
	input := func(s risk.Score, name string) string {
		for _, f := range s.Factors {
			if f.Name == name {
				return f.Input
			}
		}
		return ""
	}
	tests := []struct {
		name           string
		in             risk.Inputs
		cvss, epss     string
		exploitability float64
	}{
		// No advisory: nothing exploitable.
		{"no advisory", risk.Inputs{}, "no advisory", "no advisory", 0},
		// An unscored advisory counts as CVSS 5 and EPSS 1%:
		// 100 × (0.45 × 0.5 + 0.35 × 0.3470 + 0.10 × 1/4) / 1.10 = 33.8.
		{"unscored advisory", risk.Inputs{Advisories: 1}, "CVSS unknown, counted as 5", "EPSS unknown, counted as 1%", 33.8},
		{"NaN scores are unknown", risk.Inputs{Advisories: 1, CVSS: ptr(math.NaN()), EPSS: ptr(math.NaN())}, "CVSS unknown, counted as 5", "EPSS unknown, counted as 1%", 33.8},
		// The database's band stands in for a missing vector: HIGH is 8.0,
		// 100 × (0.45 × 0.8 + 0.35 × 0.3470 + 0.10 × 1/4) / 1.10 = 46.0.
		{"database severity", risk.Inputs{Advisories: 1, Severity: "HIGH"}, "CVSS unknown; the database says HIGH, counted as 8", "EPSS unknown, counted as 1%", 46},
		// A scored advisory implies an advisory even when Advisories is 0.
		{"CVSS without count", risk.Inputs{CVSS: ptr(7.5)}, "CVSS 7.5", "EPSS unknown, counted as 1%", 41.7},
		{"CVSS clamped", risk.Inputs{CVSS: ptr(42), EPSS: ptr(-1)}, "CVSS 10", "EPSS 0%", 40.9},
		// 100 × 0.35 × log(1 + 999 × 0.00043) / log(1000) / 1.10 = 1.64.
		{"EPSS small", risk.Inputs{CVSS: ptr(0), EPSS: ptr(0.00043)}, "CVSS 0", "EPSS 0.043%", 1.6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := risk.Compute(tt.in, w)
			got := []any{input(s, "cvss"), input(s, "epss"), s.Exploitability}
			want := []any{tt.cvss, tt.epss, tt.exploitability}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	in := risk.Inputs{
		Advisories: 1, CVSS: ptr(9.8), EPSS: ptr(0.12), KEV: true,
		ServicesAffected: 3, TransitiveDependents: 7, Tier: 2, TrafficShare: 0.4,
		CriticalPaths: []string{"payment"}, Migrations: true, FailedRollouts: 1,
	}
	w := risk.DefaultWeights()
	s := risk.Compute(in, w)
	out := risk.Explain(s)
	want := []string{
		fmt.Sprintf("risk %.1f / 100", s.Total),
		s.Formula,
		"axis weights (normalised): exploitability 0.40, blast radius 0.35, reversibility 0.25",
		"CVSS 9.8", "EPSS 12%", "listed in KEV", "floor 90",
		"3 services affected", "7 transitive dependents", "tier 2", "traffic share 40%",
		"critical paths: payment", "migrations in the notes", "same major version",
		"stateless component", "0 breaking items", "1 past failed rollout", "no rollback drill on record",
	}
	for _, f := range s.Factors {
		want = append(want, f.Name, f.Input, f.Reason)
		if f.Name != "kev_floor" {
			want = append(want, fmt.Sprintf("weight %g", f.Weight))
		}
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("Explain() does not contain %q:\n%s", w, out)
		}
	}
	// Formula: the sub-scores and shares with the total.
	wantFormula := fmt.Sprintf("total = 0.40 × %.1f + 0.35 × %.1f + 0.25 × %.1f = %.1f",
		s.Exploitability, s.BlastRadius, s.Reversibility, s.Total)
	if s.Formula != wantFormula {
		t.Errorf("Formula = %q, want %q", s.Formula, wantFormula)
	}
}

func TestDeterministic(t *testing.T) {
	in := risk.Inputs{
		Advisories: 3, CVSS: ptr(8.1), EPSS: ptr(0.02), ServicesAffected: 4,
		TransitiveDependents: 9, Tier: 2, TrafficShare: 0.25,
		CriticalPaths: []string{"payment", "auth", "integration"}, MajorBump: true, BreakingItems: 3,
	}
	w := risk.DefaultWeights()
	first := risk.Compute(in, w)
	for range 100 {
		if diff := cmp.Diff(first, risk.Compute(in, w)); diff != "" {
			t.Fatalf("Compute differs between calls (-first +now):\n%s", diff)
		}
	}
	// The order in which critical paths are listed does not matter.
	in.CriticalPaths = []string{"integration", "AUTH", "payment", "auth"}
	if diff := cmp.Diff(first, risk.Compute(in, w)); diff != "" {
		t.Errorf("Compute depends on the order of critical paths (-sorted +shuffled):\n%s", diff)
	}
}

func TestWeightsAreRelative(t *testing.T) {
	in := risk.Inputs{Advisories: 1, CVSS: ptr(6.5), Tier: 2, TrafficShare: 0.5, Stateful: true}
	w := risk.DefaultWeights()
	doubled := w
	for _, p := range []*float64{&doubled.Exploitability, &doubled.BlastRadius, &doubled.Reversibility,
		&doubled.CVSS, &doubled.EPSS, &doubled.KEV, &doubled.Services, &doubled.Dependents,
		&doubled.Tier, &doubled.Traffic, &doubled.CriticalPaths, &doubled.Migrations,
		&doubled.MajorBump, &doubled.Stateful, &doubled.BreakingItems, &doubled.FailedRollouts,
		&doubled.NoRollbackDrill, &doubled.Advisories} {
		*p *= 2
	}
	a, b := risk.Compute(in, w), risk.Compute(in, doubled)
	if a.Total != b.Total || a.Exploitability != b.Exploitability || a.BlastRadius != b.BlastRadius || a.Reversibility != b.Reversibility {
		t.Errorf("doubling every weight changed the score: %v → %v", a.Formula, b.Formula)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*risk.Weights)
		want   []string
	}{
		{"defaults", func(*risk.Weights) {}, nil},
		{"negative factor weight", func(w *risk.Weights) { w.CVSS = -1 },
			[]string{"risk cvss: must be a finite number, 0 or more, got -1"}},
		{"negative axis weight", func(w *risk.Weights) { w.Reversibility = -0.5 },
			[]string{"risk reversibility: must be a finite number, 0 or more, got -0.5"}},
		{"NaN and Inf", func(w *risk.Weights) { w.Traffic = math.NaN(); w.KEV = math.Inf(1) },
			[]string{
				"risk kev: must be a finite number, 0 or more, got +Inf",
				"risk traffic: must be a finite number, 0 or more, got NaN",
			}},
		{"all axes off", func(w *risk.Weights) { w.Exploitability, w.BlastRadius, w.Reversibility = 0, 0, 0 },
			[]string{"risk exploitability, blast_radius, reversibility: at least one axis weight must be more than 0"}},
		{"axis without factors", func(w *risk.Weights) { w.CVSS, w.EPSS, w.KEV = 0, 0, 0 },
			[]string{"risk exploitability: has weight 0.4 but all its factor weights are 0"}},
		{"axis off without factors is fine", func(w *risk.Weights) { w.Exploitability, w.CVSS, w.EPSS, w.KEV = 0, 0, 0, 0 }, nil},
		{"parameters out of range", func(w *risk.Weights) {
			w.KEVFloor, w.UnknownCVSS, w.UnknownEPSS, w.ServicesHalf, w.FailedRolloutsHalf = 101, -1, 2, 0, math.Inf(1)
		}, []string{
			"risk kev_floor: must be between 0 and 100, got 101",
			"risk unknown_cvss: must be between 0 and 10, got -1",
			"risk unknown_epss: must be between 0 and 1, got 2",
			"risk services_half: must be a finite number more than 0, got 0",
			"risk failed_rollouts_half: must be a finite number more than 0, got +Inf",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := risk.DefaultWeights()
			tt.modify(&w)
			var got []string
			for _, err := range w.Validate() {
				got = append(got, err.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate (-want +got):\n%s", diff)
			}
		})
	}
}

// Weights are read from config: every field has the same snake_case key in
// YAML and JSON, and the defaults survive a strict JSON round trip.
func TestWeightsTags(t *testing.T) {
	typ := reflect.TypeFor[risk.Weights]()
	seen := map[string]bool{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		y, j := f.Tag.Get("yaml"), f.Tag.Get("json")
		if y == "" || y != j || strings.ToLower(y) != y || seen[y] {
			t.Errorf("field %s: yaml tag %q, json tag %q: want one unique snake_case key in both", f.Name, y, j)
		}
		seen[y] = true
	}
	data, err := json.Marshal(risk.DefaultWeights())
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var got risk.Weights
	if err := dec.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(risk.DefaultWeights(), got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
