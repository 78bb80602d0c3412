package risk_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/upfactory/upfactory/risk"
)

var pathNames = []string{"auth", "payment", "integration", "checkout", "search", "Auth", " payment ", ""}

// randomInputs draws inputs over their whole range, with some odd values
// (negative counts, out-of-range scores) mixed in.
func randomInputs(r *rand.Rand) risk.Inputs {
	in := risk.Inputs{
		Advisories:           r.IntN(4) - 1,
		KEV:                  r.IntN(4) == 0,
		ServicesAffected:     r.IntN(30) - 2,
		TransitiveDependents: r.IntN(100) - 2,
		Tier:                 r.IntN(7) - 1,
		TrafficShare:         r.Float64()*1.2 - 0.1,
		Migrations:           r.IntN(3) == 0,
		MajorBump:            r.IntN(3) == 0,
		Stateful:             r.IntN(3) == 0,
		BreakingItems:        r.IntN(12) - 1,
		FailedRollouts:       r.IntN(6) - 1,
		RollbackDrilled:      r.IntN(2) == 0,
	}
	if r.IntN(5) != 0 {
		in.CVSS = ptr(r.Float64()*11 - 0.5)
	}
	if r.IntN(4) != 0 {
		// EPSS is skewed towards 0, as in the real data.
		in.EPSS = ptr(math.Pow(r.Float64(), 4))
	}
	for range r.IntN(4) {
		in.CriticalPaths = append(in.CriticalPaths, pathNames[r.IntN(len(pathNames))])
	}
	return in
}

// randomWeights draws valid weights, so that monotonicity is checked for
// any tuning, not only the defaults.
func randomWeights(r *rand.Rand) risk.Weights {
	w := risk.DefaultWeights()
	for _, p := range []*float64{&w.Exploitability, &w.BlastRadius, &w.Reversibility,
		&w.CVSS, &w.EPSS, &w.KEV, &w.Services, &w.Dependents, &w.Tier, &w.Traffic,
		&w.CriticalPaths, &w.Migrations, &w.MajorBump, &w.Stateful, &w.BreakingItems,
		&w.FailedRollouts, &w.NoRollbackDrill} {
		if r.IntN(6) == 0 {
			*p = 0
		} else {
			*p = r.Float64() * 3
		}
	}
	w.KEVFloor = r.Float64() * 100
	w.UnknownCVSS = r.Float64() * 10
	w.UnknownEPSS = r.Float64()
	for _, p := range []*float64{&w.ServicesHalf, &w.DependentsHalf, &w.CriticalPathsHalf,
		&w.BreakingItemsHalf, &w.FailedRolloutsHalf} {
		*p = 0.1 + r.Float64()*20
	}
	return w
}

// An increase is one way to make a candidate riskier on one input.
type increase struct {
	name string
	// apply returns a copy of in with that input increased, and false when
	// the input cannot be increased from where it is.
	apply func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool)
}

var increases = []increase{
	{"CVSS up", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		if in.CVSS == nil {
			return in, false
		}
		in.CVSS = ptr(*in.CVSS + r.Float64()*(10.5-*in.CVSS))
		return in, true
	}},
	{"EPSS up", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		if in.EPSS == nil {
			return in, false
		}
		in.EPSS = ptr(*in.EPSS + r.Float64()*(1-*in.EPSS))
		return in, true
	}},
	{"KEV listed", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		ok := !in.KEV
		in.KEV = true
		return in, ok
	}},
	{"more advisories", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		in.Advisories += 1 + r.IntN(3)
		return in, true
	}},
	{"more services", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		in.ServicesAffected += 1 + r.IntN(5)
		return in, true
	}},
	{"more dependents", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		in.TransitiveDependents += 1 + r.IntN(20)
		return in, true
	}},
	{"more critical tier", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		in.Tier -= 1 + r.IntN(2)
		return in, true
	}},
	{"more traffic", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		in.TrafficShare += r.Float64() * (1.1 - in.TrafficShare)
		return in, true
	}},
	{"another critical path", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		paths := append([]string(nil), in.CriticalPaths...)
		in.CriticalPaths = append(paths, pathNames[r.IntN(len(pathNames))])
		return in, true
	}},
	{"migrations", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		ok := !in.Migrations
		in.Migrations = true
		return in, ok
	}},
	{"major bump", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		ok := !in.MajorBump
		in.MajorBump = true
		return in, ok
	}},
	{"stateful", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		ok := !in.Stateful
		in.Stateful = true
		return in, ok
	}},
	{"more breaking items", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		in.BreakingItems += 1 + r.IntN(5)
		return in, true
	}},
	{"more failed rollouts", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		in.FailedRollouts += 1 + r.IntN(3)
		return in, true
	}},
	{"rollback no longer drilled", func(r *rand.Rand, in risk.Inputs) (risk.Inputs, bool) {
		ok := in.RollbackDrilled
		in.RollbackDrilled = false
		return in, ok
	}},
}

// A KEV listing, a higher CVSS or EPSS, more dependents, a more critical
// tier — any increase of any input — never lowers the total or an axis.
func TestMonotone(t *testing.T) {
	r := rand.New(rand.NewPCG(2026, 11))
	const cases = 5000
	for i := range cases {
		in := randomInputs(r)
		w := risk.DefaultWeights()
		if i%2 == 1 {
			w = randomWeights(r)
		}
		base := risk.Compute(in, w)
		for _, inc := range increases {
			up, ok := inc.apply(r, in)
			if !ok {
				continue
			}
			got := risk.Compute(up, w)
			if got.Total < base.Total || got.Exploitability < base.Exploitability ||
				got.BlastRadius < base.BlastRadius || got.Reversibility < base.Reversibility {
				t.Fatalf("case %d, %s lowered the score\nweights %+v\nbefore %+v\n%s\nafter %+v\n%s",
					i, inc.name, w, in, risk.Explain(base), up, risk.Explain(got))
			}
		}
	}
}

// Any sequence of increases, too: the score of the riskier candidate is
// never below the other, however many inputs changed at once.
func TestMonotoneCombined(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 2000 {
		in := randomInputs(r)
		w := randomWeights(r)
		base := risk.Compute(in, w)
		up := in
		for range 1 + r.IntN(6) {
			up, _ = increases[r.IntN(len(increases))].apply(r, up)
		}
		if got := risk.Compute(up, w); got.Total < base.Total {
			t.Fatalf("case %d: %+v scored %v, riskier %+v scored %v", i, in, base.Total, up, got.Total)
		}
	}
}

// Whatever the inputs and weights, the score is a number between 0 and 100
// and every factor is finite.
func TestBounds(t *testing.T) {
	odd := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, 0, 1e308, -1e308, 5e-324, 0.5}
	ints := []int{math.MinInt, -1, 0, 1, math.MaxInt}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		in := randomInputs(r)
		in.CVSS = ptr(odd[r.IntN(len(odd))])
		in.EPSS = ptr(odd[r.IntN(len(odd))])
		in.TrafficShare = odd[r.IntN(len(odd))]
		in.ServicesAffected = ints[r.IntN(len(ints))]
		in.TransitiveDependents = ints[r.IntN(len(ints))]
		in.Tier = ints[r.IntN(len(ints))]
		in.BreakingItems = ints[r.IntN(len(ints))]
		in.FailedRollouts = ints[r.IntN(len(ints))]
		in.Advisories = ints[r.IntN(len(ints))]
		w := randomWeights(r)
		if i%3 == 0 {
			for _, p := range []*float64{&w.Exploitability, &w.BlastRadius, &w.Reversibility,
				&w.CVSS, &w.EPSS, &w.KEV, &w.Tier, &w.Traffic, &w.KEVFloor, &w.UnknownCVSS,
				&w.UnknownEPSS, &w.ServicesHalf, &w.CriticalPathsHalf, &w.NoRollbackDrill} {
				if r.IntN(3) == 0 {
					*p = odd[r.IntN(len(odd))]
				}
			}
		}
		checkBounds(t, in, w)
	}
	checkBounds(t, risk.Inputs{}, risk.Weights{})
}

func checkBounds(t *testing.T, in risk.Inputs, w risk.Weights) {
	t.Helper()
	s := risk.Compute(in, w)
	for _, v := range []float64{s.Total, s.Exploitability, s.BlastRadius, s.Reversibility} {
		if !(v >= 0 && v <= 100) {
			t.Fatalf("score out of [0, 100]: %+v\ninputs %+v\nweights %+v", s, in, w)
		}
	}
	for _, f := range s.Factors {
		if math.IsNaN(f.Value) || math.IsNaN(f.Points) || math.IsInf(f.Points, 0) || f.Points < 0 || f.Value < 0 || f.Value > 1 {
			t.Fatalf("factor %+v out of range\ninputs %+v\nweights %+v", f, in, w)
		}
	}
}

func FuzzCompute(f *testing.F) {
	f.Add(9.8, true, 0.5, true, true, 1, 3, 10, 1, 0.4, "auth,payment", true, true, true, 2, 1, false, 0.4)
	f.Add(0.0, false, 0.0, false, false, 0, 0, 0, 0, 0.0, "", false, false, false, 0, 0, true, 0.0)
	f.Add(math.NaN(), true, math.Inf(1), true, false, -1, -5, math.MaxInt, -3, math.NaN(), ",,", false, true, false, math.MinInt, 7, false, -1.0)
	f.Fuzz(func(t *testing.T, cvss float64, hasCVSS bool, epss float64, hasEPSS bool, kev bool,
		advisories, services, dependents, tier int, traffic float64, paths string,
		migrations, major, stateful bool, breaking, failed int, drilled bool, axisWeight float64) {
		in := risk.Inputs{
			Advisories: advisories, KEV: kev, ServicesAffected: services,
			TransitiveDependents: dependents, Tier: tier, TrafficShare: traffic,
			Migrations: migrations, MajorBump: major, Stateful: stateful,
			BreakingItems: breaking, FailedRollouts: failed, RollbackDrilled: drilled,
		}
		if hasCVSS {
			in.CVSS = &cvss
		}
		if hasEPSS {
			in.EPSS = &epss
		}
		in.CriticalPaths = strings.Split(paths, ",")
		w := risk.DefaultWeights()
		checkBounds(t, in, w)
		w.Exploitability = axisWeight
		checkBounds(t, in, w)
		_ = risk.Explain(risk.Compute(in, w))
	})
}
