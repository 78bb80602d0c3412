// Package dora computes DORA's four keys from what the factory recorded,
// per service and for the fleet, over a period:
//
//   - deployments: rollouts that reached 100% in the period (each a
//     rollout.completed entry of the operation log);
//   - lead time: for each upgrade that reached 100% in the period, from
//     the moment intake first had it on the line (the candidate first
//     seen, or the release named by a rollout) to 100% in production; the
//     median, and the median time spent in each stage;
//   - change failure rate: the share of those deployments followed, within
//     the failure window (default 24h), by a rollback of the same rollout
//     or by an incident linked to one of its upgrades;
//   - time to restore: the median time from start to end of the incidents
//     that ended in the period.
//
// Also the exposure window: how long each advisory listed in CISA KEV, or
// on a candidate scored 70 or more, stayed open (first seen to resolved,
// or to the end of the period).
//
// Every figure carries its sources: the log entries (seq) it was computed
// from. A period with nothing on record says so (HasData false) rather
// than reporting zeros as results. Compute is pure: the caller reads the
// store.
package dora

import (
	"slices"
	"sort"
	"time"

	"github.com/upfactory/upfactory"
)

// DefaultFailureWindow is how long after reaching 100% a rollback or an
// incident counts against a deployment.
const DefaultFailureWindow = 24 * time.Hour

// HighRisk is the risk score from which a candidate's advisories count in
// the exposure window, besides the KEV-listed ones.
const HighRisk = 70

// Inputs are the records the keys are computed from.
type Inputs struct {
	From, To time.Time
	// Service, when set, keeps to one service.
	Service       string
	Entries       []upfactory.LogEntry // the log, at least From-FailureWindow to To
	Upgrades      []*upfactory.Upgrade
	Incidents     []*upfactory.Incident
	Candidates    []*upfactory.Candidate // resolved ones included
	FailureWindow time.Duration
}

// Figure is a number with its unit and sources.
type Figure struct {
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Count   int     `json:"count"` // how many records it summarises
	Sources []int64 `json:"sources"`
}

// Exposure is how long one advisory stayed open.
type Exposure struct {
	Advisory  string  `json:"advisory"`
	Candidate string  `json:"candidate"`
	Component string  `json:"component"`
	KEV       bool    `json:"kev"`
	Risk      float64 `json:"risk"`
	Days      float64 `json:"days"`
	Open      bool    `json:"open"`
}

// Keys are the four keys over one period.
type Keys struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Service string    `json:"service,omitempty"`
	// HasData is false when nothing was deployed, failed or restored in
	// the period: the figures are then not results.
	HasData           bool              `json:"has_data"`
	Deployments       Figure            `json:"deployments"`
	LeadTime          Figure            `json:"lead_time_seconds"`
	LeadTimeByStage   map[string]Figure `json:"lead_time_by_stage_seconds"`
	ChangeFailureRate Figure            `json:"change_failure_rate"`
	TimeToRestore     Figure            `json:"time_to_restore_seconds"`
	Exposure          []Exposure        `json:"exposure"`
	Definitions       map[string]string `json:"definitions"`
}

// Definitions say what each key counts.
var Definitions = map[string]string{
	"deployments":         "rollouts that reached 100% in the period (rollout.completed)",
	"lead_time":           "median time from an upgrade entering the line (candidate first seen, or a release named by a rollout) to 100% in production, over the upgrades that reached 100% in the period",
	"change_failure_rate": "share of the period's deployments followed, within the failure window, by a rollback of that rollout or an incident linked to one of its upgrades",
	"time_to_restore":     "median time from start to end of the incidents that ended in the period",
	"exposure":            "days each KEV-listed advisory, or advisory of a candidate scored 70+, stayed open: candidate first seen to resolved, or to the end of the period",
}

func in(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

func str(v any) string { s, _ := v.(string); return s }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Compute computes the keys.
func Compute(x Inputs) Keys {
	window := x.FailureWindow
	if window <= 0 {
		window = DefaultFailureWindow
	}
	k := Keys{From: x.From, To: x.To, Service: x.Service, Definitions: Definitions, LeadTimeByStage: map[string]Figure{}, Exposure: []Exposure{}}
	mine := func(service string) bool { return x.Service == "" || service == x.Service }

	// Deployments, and the rollouts they were.
	type deploy struct {
		rollout string
		at      time.Time
		seq     int64
		service string
	}
	var deploys []deploy
	for _, e := range x.Entries {
		if e.Action == "rollout.completed" && mine(e.Service) && in(e.Time, x.From, x.To) {
			deploys = append(deploys, deploy{str(e.Values["rollout"]), e.Time, e.Seq, e.Service})
		}
	}
	k.Deployments = Figure{Value: float64(len(deploys)), Unit: "deployments", Count: len(deploys), Sources: []int64{}}
	for _, d := range deploys {
		k.Deployments.Sources = append(k.Deployments.Sources, d.seq)
	}

	// Change failure rate.
	upgradesOf := map[string][]string{} // rollout → upgrade IDs
	for _, u := range x.Upgrades {
		if u.RolloutID != "" {
			upgradesOf[u.RolloutID] = append(upgradesOf[u.RolloutID], u.ID)
		}
	}
	failed, cfrSources := 0, []int64{}
	for _, d := range deploys {
		cfrSources = append(cfrSources, d.seq)
		hit := false
		for _, e := range x.Entries {
			if upfactory.EndsRollout(e.Action) && str(e.Values["rollout"]) == d.rollout &&
				e.Time.After(d.at) && e.Time.Sub(d.at) <= window {
				hit = true
				cfrSources = append(cfrSources, e.Seq)
				break
			}
		}
		for _, inc := range x.Incidents {
			if !hit && inc.Upgrade != "" && slices.Contains(upgradesOf[d.rollout], inc.Upgrade) &&
				!inc.StartedAt.Before(d.at) && inc.StartedAt.Sub(d.at) <= window {
				hit = true
				cfrSources = append(cfrSources, inc.Seq)
			}
		}
		if hit {
			failed++
		}
	}
	k.ChangeFailureRate = Figure{Unit: "ratio", Count: len(deploys), Sources: cfrSources}
	if len(deploys) > 0 {
		k.ChangeFailureRate.Value = float64(failed) / float64(len(deploys))
	}

	// Lead time, whole and per stage.
	var leads []float64
	byStage := map[string][]float64{}
	stageSources := map[string][]int64{}
	leadSources := []int64{}
	for _, u := range x.Upgrades {
		if !mine(u.Service) {
			continue
		}
		var done *upfactory.StageRecord
		for i := range u.Stages {
			if u.Stages[i].Stage == upfactory.StageVerification && in(u.Stages[i].EnteredAt, x.From, x.To) {
				done = &u.Stages[i]
			}
		}
		if done == nil {
			continue
		}
		leads = append(leads, done.EnteredAt.Sub(u.CreatedAt).Seconds())
		leadSources = append(leadSources, done.Seq)
		for _, s := range u.Stages {
			if s.LeftAt.IsZero() || s.Stage == upfactory.StageVerification {
				continue
			}
			byStage[string(s.Stage)] = append(byStage[string(s.Stage)], s.LeftAt.Sub(s.EnteredAt).Seconds())
			if s.Seq > 0 {
				stageSources[string(s.Stage)] = append(stageSources[string(s.Stage)], s.Seq)
			}
		}
	}
	k.LeadTime = Figure{Value: median(leads), Unit: "seconds", Count: len(leads), Sources: leadSources}
	for st, xs := range byStage {
		src := stageSources[st]
		if src == nil {
			src = []int64{}
		}
		k.LeadTimeByStage[st] = Figure{Value: median(xs), Unit: "seconds", Count: len(xs), Sources: src}
	}

	// Time to restore.
	var ttr []float64
	ttrSources := []int64{}
	for _, inc := range x.Incidents {
		if mine(inc.Service) && !inc.Open() && in(inc.EndedAt, x.From, x.To) {
			ttr = append(ttr, inc.TimeToRestore().Seconds())
			ttrSources = append(ttrSources, inc.Seq)
		}
	}
	k.TimeToRestore = Figure{Value: median(ttr), Unit: "seconds", Count: len(ttr), Sources: ttrSources}

	// Exposure of the advisories that mattered most.
	for _, c := range x.Candidates {
		if x.Service != "" && !slices.Contains(c.Services, x.Service) {
			continue
		}
		end := x.To
		open := true
		if c.ResolvedAt != nil && c.ResolvedAt.Before(x.To) {
			end, open = *c.ResolvedAt, false
		}
		if c.FirstSeen.After(x.To) || end.Before(x.From) {
			continue
		}
		for _, a := range c.Advisories {
			if a.KEV || c.Risk.Total >= HighRisk {
				k.Exposure = append(k.Exposure, Exposure{Advisory: a.ID, Candidate: c.ID, Component: c.Component, KEV: a.KEV,
					Risk: c.Risk.Total, Days: end.Sub(c.FirstSeen).Hours() / 24, Open: open})
			}
		}
	}
	slices.SortFunc(k.Exposure, func(a, b Exposure) int {
		switch {
		case a.Days > b.Days:
			return -1
		case a.Days < b.Days:
			return 1
		}
		return 0
	})
	k.HasData = len(deploys) > 0 || len(ttr) > 0 || len(leads) > 0
	for _, f := range []*Figure{&k.Deployments, &k.LeadTime, &k.ChangeFailureRate, &k.TimeToRestore} {
		f.Sources = unique(f.Sources)
	}
	for st, f := range k.LeadTimeByStage {
		f.Sources = unique(f.Sources)
		k.LeadTimeByStage[st] = f
	}
	return k
}

// unique sorts sources and drops repeats: several upgrades of one rollout
// cite the same entry.
func unique(s []int64) []int64 {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
