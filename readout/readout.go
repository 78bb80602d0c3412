// Package readout writes the executive readout of a period from what the
// factory recorded, under the brief's four headings: what changed, why
// now, what risk reduced, what business metric improved. Every figure
// cites its sources, the operation-log entries it was computed from; a
// figure with no record behind it is not written. A period with nothing
// on record says so. Build is pure; the caller gathers the records.
package readout

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/dora"
)

// Inputs are the records of the period.
type Inputs struct {
	From, To   time.Time
	Upgrades   []*upfactory.Upgrade
	Candidates []*upfactory.Candidate // resolved ones included
	Incidents  []*upfactory.Incident
	Keys       dora.Keys
}

// Figure is one number of the readout with its sources.
type Figure struct {
	Name    string  `json:"name"`
	Value   float64 `json:"value"`
	Unit    string  `json:"unit"`
	Sources []int64 `json:"sources"`
}

// Section is one heading of the readout.
type Section struct {
	Heading string   `json:"heading"`
	Text    string   `json:"text"`
	Figures []Figure `json:"figures"`
	// Charts compare before with after; the HTML readout draws them.
	Charts []Chart `json:"charts,omitempty"`
}

// Chart compares figures before and after upgrades: one pair of bars per
// Bar, in one unit.
type Chart struct {
	Title string `json:"title"`
	// Unit is the figures' unit as Figure.Unit writes it ("ratio",
	// "seconds", or a free word such as "USD").
	Unit string `json:"unit"`
	Bars []Bar  `json:"bars"`
}

// Bar is one before/after pair of a chart, with the sources of both.
type Bar struct {
	Label   string  `json:"label"`
	Before  float64 `json:"before"`
	After   float64 `json:"after"`
	Sources []int64 `json:"sources"`
}

// DORA is the readout's summary of the four keys.
type DORA struct {
	Deployments       int     `json:"deployments"`
	LeadTimeSeconds   float64 `json:"lead_time_seconds"`
	ChangeFailureRate float64 `json:"change_failure_rate"`
	TimeToRestore     float64 `json:"time_to_restore_seconds"`
}

// Readout is the whole readout.
type Readout struct {
	Period struct {
		From time.Time `json:"from"`
		To   time.Time `json:"to"`
	} `json:"period"`
	HasData           bool      `json:"has_data"`
	Sections          []Section `json:"sections"`
	DORA              DORA      `json:"dora"`
	RegressionsCaught int       `json:"regressions_caught"`
}

// Headings of the brief's executive readout template.
const (
	WhatChanged    = "What changed"
	WhyNow         = "Why now"
	RiskReduced    = "What risk reduced"
	MetricImproved = "What business metric improved"
)

func in(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

// entered returns the record of u entering stage s within the period.
func entered(u *upfactory.Upgrade, s upfactory.Stage, from, to time.Time) *upfactory.StageRecord {
	for i := range u.Stages {
		if u.Stages[i].Stage == s && in(u.Stages[i].EnteredAt, from, to) {
			return &u.Stages[i]
		}
	}
	return nil
}

func seqs(recs ...int64) []int64 {
	out := []int64{}
	for _, s := range recs {
		if s > 0 {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Build writes the readout.
func Build(x Inputs) *Readout {
	r := &Readout{Sections: []Section{}}
	r.Period.From, r.Period.To = x.From, x.To
	byCand := map[string]*upfactory.Candidate{}
	for _, c := range x.Candidates {
		byCand[c.ID] = c
	}

	// Delivered upgrades and the regressions the canary caught.
	var delivered, caught []*upfactory.Upgrade
	var deliveredSeqs, caughtSeqs []int64
	for _, u := range x.Upgrades {
		if rec := entered(u, upfactory.StageVerification, x.From, x.To); rec != nil {
			delivered = append(delivered, u)
			deliveredSeqs = append(deliveredSeqs, rec.Seq)
		}
		if rec := entered(u, upfactory.StageRolledBack, x.From, x.To); rec != nil && len(u.Stages) >= 2 &&
			u.Stages[len(u.Stages)-2].Outcome == "rollback.automatic" {
			caught = append(caught, u)
			caughtSeqs = append(caughtSeqs, rec.Seq)
		}
	}
	r.RegressionsCaught = countRollouts(caught)
	k := x.Keys
	r.DORA = DORA{Deployments: int(k.Deployments.Value), LeadTimeSeconds: k.LeadTime.Value, ChangeFailureRate: k.ChangeFailureRate.Value, TimeToRestore: k.TimeToRestore.Value}
	r.HasData = k.HasData || len(delivered) > 0 || len(caught) > 0
	if !r.HasData {
		for _, h := range []string{WhatChanged, WhyNow, RiskReduced, MetricImproved} {
			r.Sections = append(r.Sections, Section{Heading: h, Text: "Nothing is on record for this period: no upgrade was delivered or caught, and no incident ended.", Figures: []Figure{}})
		}
		return r
	}

	// What changed.
	var lines []string
	services := map[string]bool{}
	for _, u := range delivered {
		services[u.Service] = true
		lines = append(lines, fmt.Sprintf("%s %s → %s on %s", u.Component, u.From, u.To, u.Service))
	}
	changed := Section{Heading: WhatChanged, Figures: []Figure{
		{Name: "upgrades delivered", Value: float64(len(delivered)), Unit: "upgrades", Sources: seqs(deliveredSeqs...)},
		{Name: "deployments", Value: k.Deployments.Value, Unit: "deployments", Sources: seqs(k.Deployments.Sources...)},
	}}
	if len(delivered) == 0 {
		changed.Text = "No upgrade reached production in this period."
	} else {
		changed.Text = fmt.Sprintf("%d upgrade(s) reached 100%% of traffic on %d service(s): %s.", len(delivered), len(services), strings.Join(lines, "; "))
	}
	r.Sections = append(r.Sections, changed)

	// Why now: the advisories the delivered upgrades fixed.
	var advisories, kev int
	var maxRisk float64
	var why []string
	for _, u := range delivered {
		c := byCand[u.CandidateID]
		if c == nil {
			continue
		}
		maxRisk = max(maxRisk, c.Risk.Total)
		for _, a := range c.Advisories {
			advisories++
			s := a.ID
			if a.KEV {
				kev++
				s += " (in CISA KEV: exploited in the wild)"
			}
			why = append(why, s)
		}
		if len(c.Advisories) == 0 && c.Layer == upfactory.LayerApp {
			why = append(why, fmt.Sprintf("%s %s, the service's own release", c.Component, c.Recommended))
		}
	}
	whyNow := Section{Heading: WhyNow, Figures: []Figure{
		{Name: "advisories fixed", Value: float64(advisories), Unit: "advisories", Sources: seqs(deliveredSeqs...)},
		{Name: "KEV-listed advisories fixed", Value: float64(kev), Unit: "advisories", Sources: seqs(deliveredSeqs...)},
		{Name: "highest risk score delivered", Value: maxRisk, Unit: "score (0-100)", Sources: seqs(deliveredSeqs...)},
	}}
	if len(why) == 0 {
		whyNow.Text = "No delivered upgrade fixed an advisory."
	} else {
		whyNow.Text = "Delivered because of: " + strings.Join(why, "; ") + "."
	}
	r.Sections = append(r.Sections, whyNow)

	// What risk reduced.
	risk := Section{Heading: RiskReduced, Figures: []Figure{
		{Name: "regressions caught before reaching all users", Value: float64(r.RegressionsCaught), Unit: "rollouts", Sources: seqs(caughtSeqs...)},
	}}
	var caughtLines []string
	for _, u := range caught {
		caughtLines = append(caughtLines, fmt.Sprintf("%s %s on %s", u.Service, u.Version, u.Stages[len(u.Stages)-1].EnteredAt.Format(time.RFC3339)))
	}
	var open, closedDays float64
	var closedN int
	for _, e := range k.Exposure {
		if e.Open {
			open++
		} else {
			closedDays += e.Days
			closedN++
		}
	}
	parts := []string{}
	if len(caughtLines) > 0 {
		parts = append(parts, "The canary rolled back "+strings.Join(caughtLines, "; ")+" automatically")
	}
	if closedN > 0 {
		parts = append(parts, fmt.Sprintf("%d KEV-listed or high-risk advisory(ies) closed after %.1f days open on average", closedN, closedDays/float64(closedN)))
	}
	if open > 0 {
		parts = append(parts, fmt.Sprintf("%.0f stay open", open))
	}
	if len(parts) == 0 {
		risk.Text = "No regression was caught and no high-risk advisory was closed in this period."
	} else {
		risk.Text = strings.Join(parts, ". ") + "."
	}
	r.Sections = append(r.Sections, risk)

	// What business metric improved: delivery performance.
	metric := Section{Heading: MetricImproved, Figures: []Figure{
		{Name: "change failure rate", Value: k.ChangeFailureRate.Value, Unit: "ratio", Sources: seqs(k.ChangeFailureRate.Sources...)},
		{Name: "lead time (median)", Value: k.LeadTime.Value, Unit: "seconds", Sources: seqs(k.LeadTime.Sources...)},
	}}
	if k.TimeToRestore.Count > 0 {
		metric.Figures = append(metric.Figures, Figure{Name: "time to restore (median)", Value: k.TimeToRestore.Value, Unit: "seconds", Sources: seqs(k.TimeToRestore.Sources...)})
	}
	metric.Text = fmt.Sprintf("%d deployment(s), %.0f%% followed by a rollback or an incident; a median of %s from intake to 100%%.",
		int(k.Deployments.Value), k.ChangeFailureRate.Value*100, upfactory.Duration(time.Duration(k.LeadTime.Value*float64(time.Second))).Human())
	if k.TimeToRestore.Count > 0 {
		metric.Text += fmt.Sprintf(" Incidents were restored in %s (median of %d).", upfactory.Duration(time.Duration(k.TimeToRestore.Value*float64(time.Second))).Human(), k.TimeToRestore.Count)
	}
	r.Sections = append(r.Sections, metric)
	return r
}

// countRollouts counts the distinct rollouts of ups (several upgrades
// ride one rollout).
func countRollouts(ups []*upfactory.Upgrade) int {
	seen := map[string]bool{}
	for _, u := range ups {
		seen[u.Service+"/"+u.RolloutID] = true
	}
	return len(seen)
}

// Markdown renders the readout for people.
func Markdown(r *Readout) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Executive readout, %s – %s\n", r.Period.From.UTC().Format("2006-01-02 15:04"), r.Period.To.UTC().Format("2006-01-02 15:04 MST"))
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", s.Heading, s.Text)
		if len(s.Figures) > 0 {
			b.WriteString("\n| figure | value | sources (log entries) |\n|---|---|---|\n")
			for _, f := range s.Figures {
				var src []string
				for _, q := range f.Sources {
					src = append(src, fmt.Sprintf("#%d", q))
				}
				fmt.Fprintf(&b, "| %s | %s | %s |\n", f.Name, value(f), strings.Join(src, ", "))
			}
		}
	}
	return b.String()
}

func value(f Figure) string {
	switch f.Unit {
	case "seconds":
		return upfactory.Duration(time.Duration(f.Value * float64(time.Second))).Human()
	case "ratio":
		return fmt.Sprintf("%.0f%%", f.Value*100)
	}
	if f.Value == float64(int64(f.Value)) {
		return fmt.Sprintf("%d %s", int64(f.Value), f.Unit)
	}
	return fmt.Sprintf("%.1f %s", f.Value, f.Unit)
}
