// Package risk scores an upgrade candidate from 0 to 100 on three axes,
// exploitability, blast radius and reversibility, with a formula a person can
// follow line by line. It is pure: no I/O, no clock, the same input always
// gives the same Score.
//
// # The formula
//
// Each factor turns one input into a value v in [0, 1] with a non-decreasing
// function; each axis is a weighted mean of its factors; the total is a
// weighted mean of the axes:
//
//	axis  = 100 × Σ (w_f / Σ w_axis) × v_f          (0–100)
//	exploitability = max(exploitability, kev_floor)  if KEV-listed
//	total = Σ (W_axis / Σ W) × axis                  (0–100, one decimal)
//
// A factor's Points are its contribution to the total, 100 × share × v,
// where share = (W_axis / Σ W) × (w_f / Σ w_axis); the KEV floor appears as
// a factor of its own whose Points are the lift it gave. The Points add up
// to the total, up to rounding.
//
// The factors and their value functions (half-saturation constants h are
// in Weights; sat(n, h) = n / (n + h), which is 0 at 0, 0.5 at h and tends
// to 1):
//
//	exploitability  cvss             base score / 10
//	                epss             log(1 + 999 p) / log(1000): 0.1% → 0.10, 1% → 0.35, 10% → 0.67, 100% → 1
//	                kev              1 if listed in CISA KEV
//	blast radius    services         sat(services affected, services_half)
//	                dependents       sat(transitive dependents, dependents_half)
//	                tier             1 / max(tier, 1): tier 0 or 1 → 1, tier 2 → 0.5, tier 3 → 0.33
//	                traffic          traffic share
//	                critical_paths   sat(distinct critical paths, critical_paths_half)
//	reversibility   migrations       1 if the notes announce schema or data-format changes
//	                major_bump       1 if the major version changes
//	                stateful         1 if the component keeps state
//	                breaking_items   sat(breaking items, breaking_items_half)
//	                failed_rollouts  sat(past failed rollouts, failed_rollouts_half)
//	                no_rollback_drill 1 unless a rollback of the component has been drilled
//
// EPSS goes through a logarithm because its distribution is heavily skewed:
// most CVEs score well under 1%, and a linear map would make EPSS irrelevant
// everywhere except for the few already-notorious ones.
//
// # Unknowns and odd inputs
//
// A candidate "has an advisory" when Advisories > 0, KEV is set or a CVSS or
// EPSS is given. A candidate with an advisory and no CVSS (nil or NaN) counts
// as CVSS unknown_cvss (default 5.0), and without EPSS as unknown_epss
// (default 1%): an unscored advisory is not harmless. A candidate without
// any advisory fixes nothing exploitable, so its CVSS and EPSS count as 0.
//
// Tier follows the service map: 1 is the most critical tier and each higher
// number is less critical. Tier 0, which is also what an unset tier decodes
// to, counts as most critical, like tier 1: an unclassified service is
// assumed critical until someone says otherwise, because underrating a blast
// radius costs more than overrating it. Negative tiers count as 0.
//
// Inputs are clamped, never rejected: CVSS to [0, 10] (±Inf to the bound),
// EPSS and TrafficShare to [0, 1], counts below 0 to 0; a NaN CVSS or EPSS
// is unknown, a NaN traffic share is 0. Critical paths are counted once per
// distinct name, ignoring case and surrounding space; empty names do not
// count. So 0 ≤ Total ≤ 100 and no NaN for any input.
//
// # Monotonicity
//
// Every value function is non-decreasing in its input and every weight is
// non-negative, so a KEV listing, a higher CVSS or EPSS, more advisories,
// services, dependents, critical paths, breaking items or failed rollouts, a
// more critical (lower-numbered) tier, a larger traffic share, a migration,
// a major bump, a stateful component or a missing rollback drill never
// lowers the total. The tests check it on random inputs.
package risk

import (
	"fmt"
	"github.com/upfactory/upfactory"
	"math"
	"slices"
	"strings"
)

// Axis names, as they appear in Factor.Axis.
const (
	AxisExploitability = "exploitability"
	AxisBlastRadius    = "blast radius"
	AxisReversibility  = "reversibility"
)

// Inputs are the facts about one upgrade candidate that the score depends on.
// The zero value is a candidate that fixes no advisory, touches nothing
// known, in a service of unset tier, with no rollback drill on record.
type Inputs struct {
	// Exploitability.

	// Advisories is the number of advisories the upgrade fixes. It only
	// tells "no advisory" (CVSS and EPSS count as 0) from "unscored
	// advisory" (they count as Weights.UnknownCVSS and UnknownEPSS).
	Advisories int
	// CVSS is the highest base score (0–10) among the fixed advisories,
	// computed from their vectors (v4.0, v3.x or v2); nil if none has one.
	CVSS *float64
	// EPSS is the highest exploitation probability (0–1) among the fixed
	// advisories; nil if none has one.
	EPSS *float64
	// KEV says whether one of the fixed advisories is in CISA's Known
	// Exploited Vulnerabilities catalog.
	KEV bool
	// Severity is the most severe band (LOW, MEDIUM, HIGH, CRITICAL) that
	// the databases give the fixed advisories, used when none has a CVSS
	// vector; empty when they give none.
	Severity string

	// Blast radius.

	// ServicesAffected is the number of services running the component.
	ServicesAffected int
	// TransitiveDependents is the number of other services that depend,
	// directly or not, on the affected ones (service map edges).
	TransitiveDependents int
	// Tier is the tier of the most critical affected service: 1 is the
	// most critical, higher numbers less; 0 (unset) counts as 1.
	Tier int
	// TrafficShare is the share (0–1) of user traffic that passes through
	// the affected services.
	TrafficShare float64
	// CriticalPaths names the critical paths (auth, payment, integration,
	// …) that pass through the affected services.
	CriticalPaths []string

	// Reversibility.

	// Migrations says the release notes announce schema or data-format
	// changes.
	Migrations bool
	// MajorBump says the upgrade changes the major version.
	MajorBump bool
	// Stateful says the component keeps state (a database, queue, cache).
	Stateful bool
	// BreakingItems is the number of breaking items in the release notes.
	BreakingItems int
	// FailedRollouts is the number of past failed rollouts of this
	// component.
	FailedRollouts int
	// RollbackDrilled says a rollback of this component has been drilled
	// successfully. The zero value, false, is the cautious one.
	RollbackDrilled bool
}

// Factor is one line of the explanation: what went in, how it was scored,
// and how much of the total it accounts for. Axis is AxisExploitability,
// AxisBlastRadius or AxisReversibility; Name is the factor's config key
// ("cvss", "kev_floor"); Input is the input as a person reads it ("CVSS
// 9.8"); Value is the input normalised to 0–1 (for kev_floor: the lift it
// gave the exploitability sub-score, divided by 100); Weight is the
// configured weight (for kev_floor: the floor); Share is the fraction of
// the total the factor can account for at most, (axis weight / Σ axis
// weights) × (weight / Σ weights in axis); Points is its contribution to
// the total, 100 × Share × Value; Reason says why it counts.
type Factor = upfactory.RiskFactor

// Score is a risk score with its explanation. Total and the axis
// sub-scores are 0–100, rounded to one decimal; the axis shares are
// normalised to sum to 1; Factors lists every factor in a fixed order
// (exploitability, blast radius, reversibility; within an axis as in the
// package comment), including those that contributed nothing; Formula is
// the total with the numbers filled in: "total = 0.40 × 90.0 + 0.35 × 48.8
// + 0.25 × 50.0 = 65.6".
type Score = upfactory.RiskScore

// factor is a factor before shares are known.
type factor struct {
	name, input, reason string
	value, weight       float64
}

// Compute scores in with w. It never fails: odd inputs are clamped as the
// package comment says, and invalid weights count as 0 (see
// Weights.Validate).
func Compute(in Inputs, w Weights) Score {
	axes := []struct {
		name    string
		weight  float64
		factors []factor
	}{
		{AxisExploitability, w.Exploitability, exploitability(in, w)},
		{AxisBlastRadius, w.BlastRadius, blastRadius(in, w)},
		{AxisReversibility, w.Reversibility, reversibility(in, w)},
	}
	var axisSum float64
	for _, a := range axes {
		axisSum += weight(a.weight)
	}
	var s Score
	var subs [3]float64
	var shares [3]float64
	for i, a := range axes {
		share := ratio(weight(a.weight), axisSum)
		shares[i] = share
		var sum float64
		for _, f := range a.factors {
			sum += weight(f.weight)
		}
		var sub float64
		for _, f := range a.factors {
			fs := ratio(weight(f.weight), sum)
			sub += 100 * fs * f.value
			s.Factors = append(s.Factors, Factor{
				Axis:   a.name,
				Name:   f.name,
				Input:  f.input,
				Value:  f.value,
				Weight: f.weight,
				Share:  share * fs,
				Points: 100 * share * fs * f.value,
				Reason: f.reason,
			})
		}
		sub = clamp(sub, 0, 100)
		if a.name == AxisExploitability {
			floor := clamp(w.KEVFloor, 0, 100)
			var lift float64
			reason := "not listed in KEV: no floor"
			if in.KEV {
				reason = fmt.Sprintf("listed in KEV: exploitability is at least %s", num(floor))
				if floor > sub {
					lift = floor - sub
					sub = floor
				}
			}
			s.Factors = append(s.Factors, Factor{
				Axis:   a.name,
				Name:   "kev_floor",
				Input:  kevInput(in.KEV),
				Value:  lift / 100,
				Weight: w.KEVFloor,
				Share:  share,
				Points: share * lift,
				Reason: reason,
			})
		}
		subs[i] = sub
	}
	var total float64
	for i := range subs {
		total += shares[i] * subs[i]
	}
	s.Total = round1(clamp(total, 0, 100))
	s.Exploitability, s.BlastRadius, s.Reversibility = round1(subs[0]), round1(subs[1]), round1(subs[2])
	s.ExploitabilityShare, s.BlastRadiusShare, s.ReversibilityShare = shares[0], shares[1], shares[2]
	s.Formula = fmt.Sprintf("total = %.2f × %.1f + %.2f × %.1f + %.2f × %.1f = %.1f",
		shares[0], s.Exploitability, shares[1], s.BlastRadius, shares[2], s.Reversibility, s.Total)
	return s
}

func exploitability(in Inputs, w Weights) []factor {
	hasAdvisory := in.Advisories > 0 || in.KEV || in.CVSS != nil || in.EPSS != nil

	cvss := factor{name: "cvss", weight: w.CVSS, reason: "severity if exploited: base score / 10"}
	switch {
	case in.CVSS != nil && !math.IsNaN(*in.CVSS):
		c := clamp(*in.CVSS, 0, 10)
		cvss.value = c / 10
		cvss.input = "CVSS " + num(c)
	case bandScore(in.Severity) > 0:
		c := bandScore(in.Severity)
		cvss.value = c / 10
		cvss.input = "CVSS unknown; the database says " + strings.ToUpper(in.Severity) + ", counted as " + num(c)
		cvss.reason = "without a vector, the database's severity band counts as the middle of its CVSS range"
	case hasAdvisory:
		c := clamp(nanTo(w.UnknownCVSS, 0), 0, 10)
		cvss.value = c / 10
		cvss.input = "CVSS unknown, counted as " + num(c)
		cvss.reason = "an unscored advisory is not harmless: counted as unknown_cvss"
	default:
		cvss.input = "no advisory"
		cvss.reason = "the upgrade fixes no known vulnerability"
	}

	epss := factor{name: "epss", weight: w.EPSS, reason: "probability of exploitation in 30 days: log(1 + 999 p) / log(1000)"}
	switch {
	case in.EPSS != nil && !math.IsNaN(*in.EPSS):
		p := clamp(*in.EPSS, 0, 1)
		epss.value = epssValue(p)
		epss.input = "EPSS " + pct(p)
	case hasAdvisory:
		p := clamp(nanTo(w.UnknownEPSS, 0), 0, 1)
		epss.value = epssValue(p)
		epss.input = "EPSS unknown, counted as " + pct(p)
		epss.reason = "an advisory without EPSS is not harmless: counted as unknown_epss"
	default:
		epss.input = "no advisory"
		epss.reason = "the upgrade fixes no known vulnerability"
	}

	kev := factor{name: "kev", weight: w.KEV, input: kevInput(in.KEV), reason: "exploited in the wild, per CISA"}
	if in.KEV {
		kev.value = 1
	}
	n := max(in.Advisories, 0)
	advisories := factor{name: "advisories", weight: w.Advisories, value: sat(n, w.AdvisoriesHalf),
		input:  plural(n, "advisory fixed", "advisories fixed"),
		reason: "each fixed advisory is another way in; n / (n + " + num(w.AdvisoriesHalf) + ")"}
	return []factor{cvss, epss, kev, advisories}
}

// bandScore is the middle of a severity band's CVSS v3 range, 0 for none:
// LOW 0.1–3.9, MEDIUM 4.0–6.9, HIGH 7.0–8.9, CRITICAL 9.0–10.0.
func bandScore(severity string) float64 {
	switch strings.ToUpper(severity) {
	case "LOW":
		return 2.0
	case "MEDIUM", "MODERATE":
		return 5.5
	case "HIGH":
		return 8.0
	case "CRITICAL":
		return 9.5
	}
	return 0
}

func blastRadius(in Inputs, w Weights) []factor {
	services := max(in.ServicesAffected, 0)
	dependents := max(in.TransitiveDependents, 0)
	tier := max(in.Tier, 0)
	traffic := clamp(nanTo(in.TrafficShare, 0), 0, 1)
	paths := distinct(in.CriticalPaths)

	tierInput := fmt.Sprintf("tier %d", tier)
	if tier == 0 {
		tierInput = "tier 0 or unset, counted as most critical"
	}
	pathsInput := "no critical path"
	if len(paths) > 0 {
		pathsInput = "critical paths: " + strings.Join(paths, ", ")
	}
	return []factor{
		{name: "services", weight: w.Services, value: sat(services, w.ServicesHalf),
			input:  plural(services, "service affected", "services affected"),
			reason: "each service running the component is another way to fail; n / (n + " + num(w.ServicesHalf) + ")"},
		{name: "dependents", weight: w.Dependents, value: sat(dependents, w.DependentsHalf),
			input:  plural(dependents, "transitive dependent", "transitive dependents"),
			reason: "failures propagate along the service map; n / (n + " + num(w.DependentsHalf) + ")"},
		{name: "tier", weight: w.Tier, value: 1 / float64(max(tier, 1)),
			input:  tierInput,
			reason: "criticality of the most critical affected service: 1 / tier"},
		{name: "traffic", weight: w.Traffic, value: traffic,
			input:  "traffic share " + pct(traffic),
			reason: "share of user traffic through the affected services"},
		{name: "critical_paths", weight: w.CriticalPaths, value: sat(len(paths), w.CriticalPathsHalf),
			input:  pathsInput,
			reason: "auth, payment and integrations fail loudly and expensively; n / (n + " + num(w.CriticalPathsHalf) + ")"},
	}
}

func reversibility(in Inputs, w Weights) []factor {
	breaking := max(in.BreakingItems, 0)
	failed := max(in.FailedRollouts, 0)
	return []factor{
		{name: "migrations", weight: w.Migrations, value: boolValue(in.Migrations),
			input:  yesNo(in.Migrations, "migrations in the notes", "no migrations in the notes"),
			reason: "rolling back the binary does not roll back the data"},
		{name: "major_bump", weight: w.MajorBump, value: boolValue(in.MajorBump),
			input:  yesNo(in.MajorBump, "major version bump", "same major version"),
			reason: "a major version may break its API"},
		{name: "stateful", weight: w.Stateful, value: boolValue(in.Stateful),
			input:  yesNo(in.Stateful, "stateful component", "stateless component"),
			reason: "state outlives the version that wrote it"},
		{name: "breaking_items", weight: w.BreakingItems, value: sat(breaking, w.BreakingItemsHalf),
			input:  plural(breaking, "breaking item", "breaking items"),
			reason: "each breaking item in the notes needs a change on our side; n / (n + " + num(w.BreakingItemsHalf) + ")"},
		{name: "failed_rollouts", weight: w.FailedRollouts, value: sat(failed, w.FailedRolloutsHalf),
			input:  plural(failed, "past failed rollout", "past failed rollouts"),
			reason: "past failures predict the next one; n / (n + " + num(w.FailedRolloutsHalf) + ")"},
		{name: "no_rollback_drill", weight: w.NoRollbackDrill, value: boolValue(!in.RollbackDrilled),
			input:  yesNo(in.RollbackDrilled, "rollback drilled", "no rollback drill on record"),
			reason: "an undrilled rollback is an untested one"},
	}
}

// epssValue maps a probability to [0, 1] on a log scale.
func epssValue(p float64) float64 {
	return clamp(math.Log1p(999*p)/math.Log(1000), 0, 1)
}

// sat is n / (n + half), written as 1 − half/(n + half) so that it is
// non-decreasing in n in floating point too. A half that is not a positive
// finite number makes it a step: 0 at 0, 1 above.
func sat(n int, half float64) float64 {
	if n <= 0 {
		return 0
	}
	if !(half > 0) || math.IsInf(half, 0) {
		if math.IsInf(half, 1) {
			return 0
		}
		return 1
	}
	x := float64(n)
	return clamp(1-half/(x+half), 0, 1)
}

// distinct returns the non-empty names, trimmed, lower-cased, sorted and
// without duplicates.
func distinct(names []string) []string {
	var out []string
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return min(max(v, lo), hi)
}

func nanTo(v, alt float64) float64 {
	if math.IsNaN(v) {
		return alt
	}
	return v
}

func round1(v float64) float64 {
	return math.Round(v*10) / 10
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func kevInput(kev bool) string {
	return yesNo(kev, "listed in KEV", "not in KEV")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// num formats a number with at most two decimals and no trailing zeros.
func num(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// pct formats a share or probability as a percentage with three
// significant digits: EPSS values are often well under 1%.
func pct(p float64) string {
	return fmt.Sprintf("%.3g%%", p*100)
}
