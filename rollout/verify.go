package rollout

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/analysis"
)

// DefaultVerificationChecks are what post-release verification judges
// when the service has no limit check of a traffic metric: the error rate
// may not double and p95 may not grow by half against the baseline.
var DefaultVerificationChecks = []upfactory.Check{
	{Metric: upfactory.MetricErrorRate, Provider: upfactory.ProviderBuiltin, MaxVsBaseline: 2},
	{Metric: upfactory.MetricP95Latency, Provider: upfactory.ProviderBuiltin, MaxVsBaseline: 1.5},
}

// VerificationChecks are the checks post-release verification judges:
// the service's limit checks of the router's traffic metrics (error
// rates, latency percentiles, request rate), which can be compared with
// the baseline's figures; the defaults when it has none. Judged checks,
// and checks of other providers, judge the canary only.
func VerificationChecks(svc *upfactory.Service) []upfactory.Check {
	var out []upfactory.Check
	for _, c := range svc.Analysis.Checks {
		if c.Verifiable() && (len(svc.Verification.Checks) == 0 || slices.Contains(svc.Verification.Checks, c.ID())) {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return DefaultVerificationChecks
	}
	return out
}

// beginVerification starts post-release verification of a rollout that
// just completed, unless the service turned it off.
func beginVerification(svc *upfactory.Service, r *upfactory.Rollout, now time.Time) {
	if svc.Verification.Off {
		return
	}
	window := svc.Verification.Window.D()
	if window <= 0 {
		window = upfactory.DefaultVerificationWindow
	}
	v := &upfactory.Verification{Until: now.Add(window), Verdict: upfactory.VerdictPending}
	for _, c := range VerificationChecks(svc) {
		v.Checks = append(v.Checks, upfactory.CheckStatus{Name: c.ID(), Metric: c.Metric, Provider: c.Provider, Rule: analysis.Rule(c), Status: upfactory.VerdictPending})
	}
	r.Verification = v
}

// Verifying reports whether st's last rollout completed and its new
// version is still being compared with the baseline.
func Verifying(st *upfactory.ServiceState) bool {
	r := st.Rollout
	return r != nil && r.Phase == upfactory.PhaseCompleted && r.Verification != nil && r.Verification.Verdict == upfactory.VerdictPending
}

// verify judges what the new version served since 100% (obs.Verified)
// against the rollout's baseline. A failed check is a regression: it is
// logged, and with on_regression rollback and the previous version still
// warm, all traffic goes back to it at once. The window closing with no
// failure is a pass.
func verify(svc *upfactory.Service, st *upfactory.ServiceState, obs Observation) []upfactory.LogEntry {
	r, v, now := st.Rollout, st.Rollout.Verification, obs.Now
	var entries []upfactory.LogEntry
	log := func(action, reason string, values map[string]any) {
		entries = append(entries, entry(now, upfactory.ActorSystem, action, r, r.CanaryVersion, reason, values))
	}
	checks := VerificationChecks(svc)
	if f := obs.Verified; f != nil {
		latest := *f
		v.Latest, v.At = &latest, now
		base := upfactory.Figures{Version: r.StableVersion}
		if r.Baseline != nil {
			base = *r.Baseline
		}
		for i, c := range checks {
			if i < len(v.Checks) {
				analysis.Update(&v.Checks[i], c, judgeFigures(svc, c, latest, base, now), svc.Analysis.Interval.D())
			}
		}
		for i, cs := range v.Checks {
			if cs.Status != upfactory.VerdictFail {
				continue
			}
			v.Verdict = upfactory.VerdictFail
			v.Reason = fmt.Sprintf("%s after 100%%: %s", cs.Rule, regressionText(checks[i], cs, base))
			values := verificationValues(r)
			values["check"] = cs.Name
			if cs.BreachSince.IsZero() {
				values["regression_since"] = now.Format(time.RFC3339Nano)
			} else {
				values["regression_since"] = cs.BreachSince.Format(time.RFC3339Nano)
			}
			warm := st.PreviousVersion == r.StableVersion && now.Before(st.PreviousUntil)
			switch {
			case svc.Verification.OnRegression == upfactory.OnRegressionIncident:
				log(upfactory.ActionVerificationFailed, v.Reason+"; on_regression is incident: "+r.CanaryVersion+" keeps the traffic", values)
			case !warm:
				log(upfactory.ActionVerificationFailed, v.Reason+"; the rollback window has closed: roll forward with a fixed version", values)
			default:
				log(upfactory.ActionVerificationFailed, v.Reason, values)
				st.StableVersion, st.PreviousVersion, st.PreviousUntil = r.StableVersion, "", time.Time{}
				v.RolledBack = true
				rollBack(svc, r, now, fmt.Sprintf("verification rolled back %s: all traffic back on %s: %s", r.CanaryVersion, r.StableVersion, v.Reason))
				log(upfactory.ActionRollbackVerification, r.Message, verificationValues(r))
			}
			return entries
		}
	}
	if !now.Before(v.Until) {
		v.Verdict = upfactory.VerdictPass
		v.Reason = fmt.Sprintf("%s held against the baseline for the verification window", r.CanaryVersion)
		log(upfactory.ActionVerificationPassed, v.Reason, verificationValues(r))
	}
	return entries
}

// regressionText says what regressed, in numbers.
func regressionText(c upfactory.Check, cs upfactory.CheckStatus, base upfactory.Figures) string {
	m := cs.Last
	if m == nil {
		return cs.Reason
	}
	return fmt.Sprintf("%s %s on %d requests since 100%% against %s on %d requests before the rollout",
		c.ID(), analysis.Format(c.Metric, m.Canary), m.CanaryCount, analysis.Format(c.Metric, m.Baseline), base.Requests)
}

// verificationValues records the baseline and the latest figures.
func verificationValues(r *upfactory.Rollout) map[string]any {
	values := map[string]any{"stable_version": r.StableVersion}
	put := func(prefix string, f *upfactory.Figures) {
		if f == nil {
			return
		}
		values[prefix+"_requests"] = f.Requests
		values[prefix+"_error_rate"] = f.ErrorRate()
		values[prefix+"_p95_seconds"] = f.P95
		values[prefix+"_p99_seconds"] = f.P99
		values[prefix+"_rate"] = f.Rate
		if f.Usage {
			values[prefix+"_cpu_seconds_per_1k"] = f.CPUSecondsPer1k
			values[prefix+"_mib_seconds_per_1k"] = f.MiBSecondsPer1k
		}
		for id, fn := range f.Conversion {
			values[prefix+"_conversion_"+id] = fn.Rate()
			values[prefix+"_conversion_"+id+"_n"] = fn.N
		}
	}
	put("baseline", r.Baseline)
	if v := r.Verification; v != nil {
		put("after", v.Latest)
	}
	return values
}

// RecordBaseline adds the baseline's figures to the rollout.start entry
// among entries, so the record holds what verification compares with.
func RecordBaseline(entries []upfactory.LogEntry, f *upfactory.Figures) {
	for i := range entries {
		if entries[i].Action == "rollout.start" && f != nil {
			r := &upfactory.Rollout{Baseline: f}
			for k, v := range verificationValues(r) {
				if k != "stable_version" {
					entries[i].Values[k] = v
				}
			}
			entries[i].Values["baseline_from"] = f.From.Format(time.RFC3339Nano)
		}
	}
}

// judgeFigures measures check c on what the new version served since 100%
// against the baseline.
func judgeFigures(svc *upfactory.Service, c upfactory.Check, latest, base upfactory.Figures, now time.Time) upfactory.Measurement {
	if c.Metric != upfactory.MetricConversion {
		return analysis.Measure(c, latest.Stats(), base.Stats(), svc.Analysis.MinSamples, now)
	}
	after, ok1 := latest.Conversion[c.ID()]
	before, ok2 := base.Conversion[c.ID()]
	if !ok1 || !ok2 {
		return upfactory.Measurement{At: now, Verdict: upfactory.VerdictNoData, Reason: "the router counted no routes for the conversion"}
	}
	rate := func(f upfactory.Funnel) float64 {
		if f.N == 0 {
			return math.NaN()
		}
		return f.Rate()
	}
	r := analysis.Reading{Canary: rate(after), Baseline: rate(before), CanaryCount: after.N, BaselineCount: before.N,
		Window: latest.To.Sub(latest.From), Unit: c.Denominator + " requests"}
	return analysis.Compare(c, r, svc.Analysis.MinSamples, now)
}
