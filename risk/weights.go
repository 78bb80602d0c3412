package risk

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// Weights tunes the formula. Axis weights and the factor weights inside
// each axis are relative: Compute divides each by the sum of its group, so
// they need not add up to 1. A weight of 0 switches a factor (or a whole
// axis) off. The zero value is not useful: start from DefaultWeights and
// override what you disagree with.
type Weights struct {
	// Axis weights.

	// Exploitability weighs how likely the vulnerabilities the upgrade
	// fixes are to be used against us.
	Exploitability float64 `yaml:"exploitability" json:"exploitability"`
	// BlastRadius weighs how many customers and systems feel it when the
	// affected services break.
	BlastRadius float64 `yaml:"blast_radius" json:"blast_radius"`
	// Reversibility weighs how hard the change is to take back.
	Reversibility float64 `yaml:"reversibility" json:"reversibility"`

	// Exploitability factors.

	// CVSS weighs the highest CVSS base score of the fixed advisories.
	CVSS float64 `yaml:"cvss" json:"cvss"`
	// EPSS weighs the highest EPSS probability of the fixed advisories.
	EPSS float64 `yaml:"epss" json:"epss"`
	// KEV weighs a listing in CISA's Known Exploited Vulnerabilities.
	KEV float64 `yaml:"kev" json:"kev"`
	// Advisories weighs the number of advisories the upgrade fixes: each
	// is another way in.
	Advisories float64 `yaml:"advisories" json:"advisories"`
	// KEVFloor (0–100) is the lowest exploitability sub-score a KEV-listed
	// candidate can have, whatever its CVSS and EPSS say.
	KEVFloor float64 `yaml:"kev_floor" json:"kev_floor"`
	// UnknownCVSS (0–10) is the base score counted for a candidate that
	// fixes an advisory with no CVSS score.
	UnknownCVSS float64 `yaml:"unknown_cvss" json:"unknown_cvss"`
	// UnknownEPSS (0–1) is the probability counted for a candidate that
	// fixes an advisory with no EPSS score.
	UnknownEPSS float64 `yaml:"unknown_epss" json:"unknown_epss"`

	// Blast-radius factors.

	// Services weighs the number of services running the component.
	Services float64 `yaml:"services" json:"services"`
	// Dependents weighs the number of services that depend, directly or
	// not, on the affected ones.
	Dependents float64 `yaml:"dependents" json:"dependents"`
	// Tier weighs the criticality of the most critical affected service.
	Tier float64 `yaml:"tier" json:"tier"`
	// Traffic weighs the share of user traffic through the affected services.
	Traffic float64 `yaml:"traffic" json:"traffic"`
	// CriticalPaths weighs the critical paths (auth, payment, …) crossed.
	CriticalPaths float64 `yaml:"critical_paths" json:"critical_paths"`

	// Reversibility factors.

	// Migrations weighs schema or data-format changes in the release notes.
	Migrations float64 `yaml:"migrations" json:"migrations"`
	// MajorBump weighs a new major version.
	MajorBump float64 `yaml:"major_bump" json:"major_bump"`
	// Stateful weighs a component that keeps state (database, queue, cache).
	Stateful float64 `yaml:"stateful" json:"stateful"`
	// BreakingItems weighs the breaking items in the release notes.
	BreakingItems float64 `yaml:"breaking_items" json:"breaking_items"`
	// FailedRollouts weighs past failed rollouts of this component.
	FailedRollouts float64 `yaml:"failed_rollouts" json:"failed_rollouts"`
	// NoRollbackDrill weighs the absence of a successful rollback drill.
	NoRollbackDrill float64 `yaml:"no_rollback_drill" json:"no_rollback_drill"`

	// Half-saturation counts: a count equal to its half scores 0.5, twice
	// it 0.67, ten times it 0.91 (n / (n + half)). Must be > 0.

	// ServicesHalf is the number of affected services that scores 0.5.
	ServicesHalf float64 `yaml:"services_half" json:"services_half"`
	// DependentsHalf is the number of transitive dependents that scores 0.5.
	DependentsHalf float64 `yaml:"dependents_half" json:"dependents_half"`
	// CriticalPathsHalf is the number of critical paths that scores 0.5.
	CriticalPathsHalf float64 `yaml:"critical_paths_half" json:"critical_paths_half"`
	// BreakingItemsHalf is the number of breaking items that scores 0.5.
	BreakingItemsHalf float64 `yaml:"breaking_items_half" json:"breaking_items_half"`
	// FailedRolloutsHalf is the number of failed rollouts that scores 0.5.
	FailedRolloutsHalf float64 `yaml:"failed_rollouts_half" json:"failed_rollouts_half"`
	// AdvisoriesHalf is the number of fixed advisories that scores 0.5.
	AdvisoriesHalf float64 `yaml:"advisories_half" json:"advisories_half"`
}

// DefaultWeights returns the weights upfactory ships with. Each value is
// a judgement; the comment next to it is the reason, so that a team that
// disagrees knows what it is overriding.
func DefaultWeights() Weights {
	return Weights{
		// Exploitability leads: it is why a patch is urgent at all, and its
		// inputs (CVSS, EPSS, KEV) are the best-measured ones we have.
		Exploitability: 0.40,
		// Blast radius is how many customers feel a mistake; it comes next.
		BlastRadius: 0.35,
		// Reversibility weighs least because the factory itself shrinks
		// it: canaries catch regressions early and rollback is a switch.
		// It still matters for what a rollback cannot undo (data).
		Reversibility: 0.25,

		// Severity is the most widely available signal, but it describes
		// impact if exploited, not likelihood: a bit under half the axis.
		CVSS: 0.45,
		// EPSS is the measured likelihood of exploitation in 30 days; it
		// is less often available than CVSS, so it weighs a bit less.
		EPSS: 0.35,
		// KEV is proof of exploitation in the wild. Its weight inside the
		// axis is modest because the floor below does the heavy lifting.
		KEV: 0.20,
		// The number of advisories tells apart what CVSS and EPSS often
		// cannot (the Go database scores none): fifteen holes are more
		// ways in than one. It says nothing of any one hole's severity, so
		// it weighs least.
		Advisories: 0.10,
		// A KEV listing means attackers use it now (CISA sets remediation
		// deadlines in days): no CVSS/EPSS combination may make it look
		// moderate, so exploitability is at least 90 out of 100.
		KEVFloor: 90,
		// An advisory without a score is not harmless: it counts as the
		// middle of the scale (CVSS "medium" 4.0–6.9) rather than 0, and
		// not as critical either, which would drown scored findings.
		UnknownCVSS: 5.0,
		// Most CVEs have an EPSS well under 1%; 1% is above the typical
		// CVE, so a missing EPSS never looks safer than a scored one.
		UnknownEPSS: 0.01,

		// Tier and traffic measure customer impact directly: most weight.
		Tier:    0.25,
		Traffic: 0.25,
		// Auth, payment and integrations fail loudly and expensively.
		CriticalPaths: 0.20,
		// Counts of services and dependents measure spread, which the
		// canary limits: less weight than direct customer impact.
		Services:   0.15,
		Dependents: 0.15,

		// Rolling back a binary does not roll back a migrated schema or a
		// rewritten file format: the classic one-way door, most weight.
		Migrations: 0.30,
		// A component's history of failed rollouts is the best predictor
		// of the next one.
		FailedRollouts: 0.20,
		// Semantic versioning promises breaking changes in a major bump.
		MajorBump: 0.15,
		// State outlives the version that wrote it.
		Stateful: 0.15,
		// Breaking items are already partly counted by MajorBump; less.
		BreakingItems: 0.10,
		// An undrilled rollback is an untested rollback; the policy layer
		// blocks production rollouts without a drill, so this weighs less.
		NoRollbackDrill: 0.10,

		// Most upgrades touch one service (0.25); three shared services
		// already triple the ways to fail.
		ServicesHalf: 3,
		// Dependents are many and indirect: five score half.
		DependentsHalf: 5,
		// One critical path crossed is already half the worry.
		CriticalPathsHalf: 1,
		// Two breaking items score half: each needs someone's attention.
		BreakingItemsHalf: 2,
		// One past failure scores half: it happened before.
		FailedRolloutsHalf: 1,
		// Three advisories score half; fifteen, 0.83.
		AdvisoriesHalf: 3,
	}
}

// Validate reports every problem with w at once, each naming the config
// key: weights must be finite and non-negative, the axis weights must not
// all be 0, an axis that counts must have a factor that counts, and the
// parameters must be in range. Compute never fails on invalid weights (it
// counts non-finite or negative ones as 0) but its scores then mean little.
func (w Weights) Validate() []error {
	var errs []error
	report := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("risk %s: "+format, append([]any{key}, args...)...))
	}
	nonNegative := func(key string, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			report(key, "must be a finite number, 0 or more, got %v", v)
		}
	}
	for _, f := range w.weightFields() {
		nonNegative(f.key, f.v)
	}
	axes := []struct {
		key     string
		weight  float64
		factors []float64
	}{
		{"exploitability", w.Exploitability, []float64{w.CVSS, w.EPSS, w.KEV}},
		{"blast_radius", w.BlastRadius, []float64{w.Services, w.Dependents, w.Tier, w.Traffic, w.CriticalPaths}},
		{"reversibility", w.Reversibility, []float64{w.Migrations, w.MajorBump, w.Stateful, w.BreakingItems, w.FailedRollouts, w.NoRollbackDrill}},
	}
	var axisSum float64
	for _, a := range axes {
		axisSum += weight(a.weight)
		var sum float64
		for _, f := range a.factors {
			sum += weight(f)
		}
		if weight(a.weight) > 0 && sum == 0 {
			report(a.key, "has weight %v but all its factor weights are 0", a.weight)
		}
	}
	if axisSum == 0 {
		report("exploitability, blast_radius, reversibility", "at least one axis weight must be more than 0")
	}
	inRange := func(key string, v, lo, hi float64) {
		if !(v >= lo && v <= hi) {
			report(key, "must be between %v and %v, got %v", lo, hi, v)
		}
	}
	inRange("kev_floor", w.KEVFloor, 0, 100)
	inRange("unknown_cvss", w.UnknownCVSS, 0, 10)
	inRange("unknown_epss", w.UnknownEPSS, 0, 1)
	for _, h := range []struct {
		key string
		v   float64
	}{
		{"services_half", w.ServicesHalf},
		{"dependents_half", w.DependentsHalf},
		{"critical_paths_half", w.CriticalPathsHalf},
		{"breaking_items_half", w.BreakingItemsHalf},
		{"failed_rollouts_half", w.FailedRolloutsHalf},
		{"advisories_half", w.AdvisoriesHalf},
	} {
		if !(h.v > 0) || math.IsInf(h.v, 0) {
			report(h.key, "must be a finite number more than 0, got %v", h.v)
		}
	}
	return errs
}

type weightField struct {
	key string
	v   float64
}

func (w Weights) weightFields() []weightField {
	return []weightField{
		{"exploitability", w.Exploitability},
		{"blast_radius", w.BlastRadius},
		{"reversibility", w.Reversibility},
		{"cvss", w.CVSS},
		{"epss", w.EPSS},
		{"kev", w.KEV},
		{"advisories", w.Advisories},
		{"services", w.Services},
		{"dependents", w.Dependents},
		{"tier", w.Tier},
		{"traffic", w.Traffic},
		{"critical_paths", w.CriticalPaths},
		{"migrations", w.Migrations},
		{"major_bump", w.MajorBump},
		{"stateful", w.Stateful},
		{"breaking_items", w.BreakingItems},
		{"failed_rollouts", w.FailedRollouts},
		{"no_rollback_drill", w.NoRollbackDrill},
	}
}

// maxWeight bounds a weight so that sums of weights stay finite.
const maxWeight = 1e12

// weight is how Compute reads a weight: non-finite and negative count as 0,
// and anything above 1e12 as 1e12 (weights are relative; only ratios matter).
func weight(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return min(v, maxWeight)
}

// WeightKeys lists the config keys of every field of Weights, in field
// order: the names risk.weights in upfactory.yaml accepts.
func WeightKeys() []string {
	t := reflect.TypeFor[Weights]()
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("yaml")
	}
	return keys
}

// Set sets the field whose config key is key. The error names the keys
// there are when key is not one of them; the value is checked by Validate.
func (w *Weights) Set(key string, v float64) error {
	rv := reflect.ValueOf(w).Elem()
	for i := range rv.NumField() {
		if rv.Type().Field(i).Tag.Get("yaml") == key {
			rv.Field(i).SetFloat(v)
			return nil
		}
	}
	return fmt.Errorf("unknown risk weight %q; expected one of: %s", key, strings.Join(WeightKeys(), ", "))
}

// WithOverrides returns the defaults with overrides applied, and every
// problem with them: unknown keys and what Validate finds.
func WithOverrides(overrides map[string]float64) (Weights, []error) {
	w := DefaultWeights()
	var errs []error
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := w.Set(k, overrides[k]); err != nil {
			errs = append(errs, err)
		}
	}
	return w, append(errs, w.Validate()...)
}

// Get returns the field whose config key is key, and whether there is one.
func (w Weights) Get(key string) (float64, bool) {
	rv := reflect.ValueOf(w)
	for i := range rv.NumField() {
		if rv.Type().Field(i).Tag.Get("yaml") == key {
			return rv.Field(i).Float(), true
		}
	}
	return 0, false
}
