// Package economics prices what the factory recorded with the cost model
// of the config (upfactory.Economics), over a period:
//
//   - downtime avoided by canaries: a regression the canary rolled back at
//     weight w spared the other 1 − w of the service's traffic for the time
//     it would have hurt every user without a canary (the model's
//     detection_without_canary, T), priced per minute (C), scaled by the
//     service's traffic share (s) and by the share of requests the
//     regression hurt (h: the failing check's error rate, or the mirror's
//     mismatch rate; 1, said so, when it was not a rate):
//     avoided = (1 − w) × T × C × s × h. The formula is written beside
//     each figure with its numbers.
//   - infrastructure efficiency before and after each verified rollout:
//     CPU-seconds and MiB-seconds per 1,000 requests, from the baseline
//     and the verification figures on record, and the cost per million
//     requests they make: (cpu_s/1k × 1000 / 3600) × cpu_hour +
//     (MiB_s/1k × 1000 / 1024 / 3600) × gib_hour.
//   - conversion before and after, for each conversion check the
//     router counts;
//   - error budget burn before and after: the error rate over the budget
//     (100 − slo_percent)%; 1 burns the budget exactly as fast as allowed.
//   - incident rate before and after each delivered rollout: the
//     service's incidents in equal spans on either side of 100% (30 days,
//     or up to the end of the period when it ends sooner: a short span is
//     not scaled up to a month).
//   - expected loss avoided by patching: for each delivered upgrade that
//     fixed advisories, the chance that one of them is exploited in the
//     next 30 days, 1 − Π(1 − EPSS), times breach_cost. Advisories without
//     an EPSS score count for nothing and are listed.
//
// Every figure carries the log entries it was computed from. Compute is
// pure: the caller reads the store.
package economics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/upfactory/upfactory"
)

// Inputs are the records and the model.
type Inputs struct {
	Model    upfactory.Economics
	From, To time.Time
	Services []*upfactory.Service
	// Entries is the log, from before From (to find the weights before a
	// rollback and incidents before an upgrade) to To.
	Entries    []upfactory.LogEntry
	Upgrades   []*upfactory.Upgrade
	Incidents  []*upfactory.Incident
	Candidates []*upfactory.Candidate // resolved ones included
}

// Avoided is the downtime cost one caught regression spared.
type Avoided struct {
	Service string  `json:"service"`
	Version string  `json:"version"`
	Rollout string  `json:"rollout"`
	Weight  float64 `json:"weight"` // the canary's share of traffic when it was rolled back, 0–1
	Hurt    float64 `json:"hurt"`   // the share of requests the regression hurt, 0–1
	// HurtAssumed says Hurt was not measured as a rate and counts as 1.
	HurtAssumed bool    `json:"hurt_assumed,omitempty"`
	Share       float64 `json:"traffic_share"`
	Minutes     float64 `json:"minutes"`
	Value       float64 `json:"value"`
	Formula     string  `json:"formula"`
	Sources     []int64 `json:"sources"`
}

// Change is one figure before and after a rollout.
type Change struct {
	Service string `json:"service"`
	// Metric names the check, for conversions.
	Metric  string  `json:"metric,omitempty"`
	Version string  `json:"version"`
	Rollout string  `json:"rollout"`
	Before  float64 `json:"before"`
	After   float64 `json:"after"`
	Unit    string  `json:"unit"`
	Sources []int64 `json:"sources"`
}

// Loss is the expected loss one delivered upgrade took away.
type Loss struct {
	Upgrade     string   `json:"upgrade"`
	Component   string   `json:"component"`
	Advisories  []string `json:"advisories"`
	KEV         int      `json:"kev"`
	Risk        float64  `json:"risk"`
	Probability float64  `json:"probability"` // of exploitation within 30 days
	Value       float64  `json:"value"`
	// Unscored are the advisories without an EPSS score.
	Unscored []string `json:"unscored,omitempty"`
	Sources  []int64  `json:"sources"`
}

// Report is the priced period.
type Report struct {
	Currency string   `json:"currency"`
	Assumed  []string `json:"assumed,omitempty"`
	// DowntimeAvoided sums Avoided.
	DowntimeAvoided float64   `json:"downtime_avoided"`
	Avoided         []Avoided `json:"avoided"`
	// CostPerMillion, CPU and Memory are per verified rollout.
	CostPerMillion []Change `json:"cost_per_million_requests"`
	CPU            []Change `json:"cpu_seconds_per_1k"`
	Memory         []Change `json:"mib_seconds_per_1k"`
	ErrorBudget    []Change `json:"error_budget_burn"`
	IncidentRate   []Change `json:"incidents_before_after"`
	// Conversion is each conversion check's rate before and after.
	Conversion []Change `json:"conversion"`
	// ExpectedLoss sums Losses.
	ExpectedLoss float64 `json:"expected_loss_avoided"`
	Losses       []Loss  `json:"losses"`
}

func in(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

func str(v any) string { s, _ := v.(string); return s }

// number reads a JSON number, or a number written as a string.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

// Compute prices the period.
func Compute(x Inputs) Report {
	m := x.Model
	rep := Report{Currency: m.Currency, Assumed: m.Assumed, Avoided: []Avoided{}, CostPerMillion: []Change{}, CPU: []Change{}, Memory: []Change{},
		ErrorBudget: []Change{}, IncidentRate: []Change{}, Conversion: []Change{}, Losses: []Loss{}}
	share := func(service string) float64 {
		for _, s := range x.Services {
			if s.Name == service && s.TrafficShare > 0 {
				return s.TrafficShare
			}
		}
		return 1
	}
	weight := map[string]float64{} // rollout → the canary's latest weight
	minutes := m.DetectionWithoutCanary.D().Minutes()
	for _, e := range x.Entries {
		rid := str(e.Values["rollout"])
		switch e.Action {
		case "step.weight":
			if to, ok := number(e.Values["to"]); ok {
				weight[rid] = to / 100
			}
		case upfactory.ActionRollbackAutomatic:
			if !in(e.Time, x.From, x.To) {
				continue
			}
			a := Avoided{Service: e.Service, Version: e.Subject, Rollout: rid, Weight: weight[rid], Share: share(e.Service), Minutes: minutes, Sources: []int64{e.Seq}}
			a.Hurt, a.HurtAssumed = hurt(e.Values)
			a.Value = (1 - a.Weight) * minutes * m.DowntimePerMinute * a.Share * a.Hurt
			note := ""
			if a.HurtAssumed {
				note = " (the regression was not a rate: counted as hurting every request)"
			}
			a.Formula = fmt.Sprintf("(1 − %.2f) × %s min × %s/min × %.2f traffic share × %.2f%% hurt%s = %s",
				a.Weight, trim(minutes), money(m.DowntimePerMinute, m.Currency), a.Share, 100*a.Hurt, note, money(a.Value, m.Currency))
			rep.Avoided = append(rep.Avoided, a)
			rep.DowntimeAvoided += a.Value
		case upfactory.ActionVerificationPassed, upfactory.ActionVerificationFailed:
			if !in(e.Time, x.From, x.To) {
				continue
			}
			change := func(before, after float64, unit string) Change {
				return Change{Service: e.Service, Version: e.Subject, Rollout: rid, Before: before, After: after, Unit: unit, Sources: []int64{e.Seq}}
			}
			v := e.Values
			bErr, ok1 := number(v["baseline_error_rate"])
			aErr, ok2 := number(v["after_error_rate"])
			if budget := 1 - m.SLOPercent/100; ok1 && ok2 && budget > 0 {
				rep.ErrorBudget = append(rep.ErrorBudget, change(bErr/budget, aErr/budget, "burn rate"))
			}
			var convs []string
			for k := range v {
				if id, ok := strings.CutPrefix(k, "baseline_conversion_"); ok && !strings.HasSuffix(id, "_n") {
					convs = append(convs, id)
				}
			}
			slices.Sort(convs)
			for _, id := range convs {
				b, ok1 := number(v["baseline_conversion_"+id])
				a, ok2 := number(v["after_conversion_"+id])
				if ok1 && ok2 {
					c := change(b, a, "ratio")
					c.Metric = id
					rep.Conversion = append(rep.Conversion, c)
				}
			}
			bCPU, ok1 := number(v["baseline_cpu_seconds_per_1k"])
			aCPU, ok2 := number(v["after_cpu_seconds_per_1k"])
			bMem, ok3 := number(v["baseline_mib_seconds_per_1k"])
			aMem, ok4 := number(v["after_mib_seconds_per_1k"])
			if ok1 && ok2 && ok3 && ok4 {
				rep.CPU = append(rep.CPU, change(bCPU, aCPU, "CPU-seconds per 1,000 requests"))
				rep.Memory = append(rep.Memory, change(bMem, aMem, "MiB-seconds per 1,000 requests"))
				rep.CostPerMillion = append(rep.CostPerMillion, change(PerMillion(m, bCPU, bMem), PerMillion(m, aCPU, aMem), m.Currency+" per million requests"))
			}
		}
	}
	rep.IncidentRate = incidentRates(x)
	rep.Losses = losses(x)
	for _, l := range rep.Losses {
		rep.ExpectedLoss += l.Value
	}
	return rep
}

// PerMillion is the cost of a million requests at cpu CPU-seconds and mib
// MiB-seconds per 1,000.
func PerMillion(m upfactory.Economics, cpu, mib float64) float64 {
	return cpu*1000/3600*m.CPUHour + mib*1000/1024/3600*m.GiBHour
}

// hurt is the share of requests a caught regression hurt, from its
// rollback entry: the failing check's rate, or the mirror's mismatch rate.
func hurt(v map[string]any) (float64, bool) {
	switch str(v["metric"]) {
	case upfactory.MetricErrorRate, upfactory.MetricErrorRate4xx, upfactory.MetricEndpointErrors, upfactory.MetricProbeFailures:
		if c, ok := number(v["canary"]); ok && c >= 0 && c <= 1 {
			return c, false
		}
	}
	compared, ok1 := number(v["compared"])
	mismatches, ok2 := number(v["mismatches"])
	if ok1 && ok2 && compared > 0 {
		return math.Min(mismatches/compared, 1), false
	}
	return 1, true
}

// incidentRates compares, for each rollout that reached 100% in the
// period, the service's incidents in equal spans before and after.
func incidentRates(x Inputs) []Change {
	out := []Change{}
	const month = 30 * 24 * time.Hour
	for _, e := range x.Entries {
		if e.Action != upfactory.ActionCompleted || !in(e.Time, x.From, x.To) {
			continue
		}
		span := min(month, x.To.Sub(e.Time))
		if span <= 0 {
			continue
		}
		c := Change{Service: e.Service, Version: e.Subject, Rollout: str(e.Values["rollout"]), Sources: []int64{e.Seq}}
		var before, after int
		for _, inc := range x.Incidents {
			if inc.Service != e.Service {
				continue
			}
			switch {
			case in(inc.StartedAt, e.Time.Add(-span), e.Time):
				before++
				c.Sources = append(c.Sources, inc.Seq)
			case in(inc.StartedAt, e.Time, e.Time.Add(span)):
				after++
				c.Sources = append(c.Sources, inc.Seq)
			}
		}
		c.Before, c.After = float64(before), float64(after)
		c.Unit = "incidents in " + spanText(span)
		slices.Sort(c.Sources)
		c.Sources = slices.Compact(c.Sources)
		out = append(out, c)
	}
	return out
}

// losses prices the advisories each upgrade delivered in the period fixed.
func losses(x Inputs) []Loss {
	out := []Loss{}
	byID := map[string]*upfactory.Candidate{}
	for _, c := range x.Candidates {
		byID[c.ID] = c
	}
	for _, u := range x.Upgrades {
		c := byID[u.CandidateID]
		if c == nil || len(c.Advisories) == 0 {
			continue
		}
		var seq int64
		for _, s := range u.Stages {
			if s.Stage == upfactory.StageVerification && in(s.EnteredAt, x.From, x.To) {
				seq = s.Seq
			}
		}
		if seq == 0 {
			continue
		}
		l := Loss{Upgrade: u.ID, Component: c.Component, Risk: c.Risk.Total, Sources: []int64{seq}}
		spared := 1.0
		for _, a := range c.Advisories {
			l.Advisories = append(l.Advisories, a.ID)
			if a.KEV {
				l.KEV++
			}
			if a.EPSS == nil {
				l.Unscored = append(l.Unscored, a.ID)
				continue
			}
			spared *= 1 - math.Min(math.Max(*a.EPSS, 0), 1)
		}
		l.Probability = 1 - spared
		l.Value = l.Probability * x.Model.BreachCost
		out = append(out, l)
	}
	return out
}

func trim(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// money writes an amount with its currency: "12,345 USD", "0.42 USD".
func money(v float64, currency string) string {
	return Money(v) + " " + currency
}

// Money writes an amount: three significant digits below 1, cents below
// 100, whole with thousands separators from 100 on.
func Money(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case v == 0:
		return "0"
	case math.Abs(v) < 1:
		return strconv.FormatFloat(v, 'g', 3, 64) // 0.00418: a fraction of a cent still compares
	case math.Abs(v) < 100:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return humanize.Comma(int64(math.Round(v)))
}

// spanText writes a span in days when it is whole days, else as a duration.
func spanText(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return upfactory.Duration(d).Human()
}
