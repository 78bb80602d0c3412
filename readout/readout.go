// Package readout writes the executive readout of a period from what the
// factory recorded, under the brief's four headings: what changed, why
// now, what risk reduced, what business metric improved. Every figure
// cites its sources, the operation-log entries it was computed from; a
// figure with no record behind it is not written. A period with nothing
// on record says so. Build is pure; the caller gathers the records.
package readout

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/dora"
	"github.com/upfactory/upfactory/economics"
)

// Inputs are the records of the period.
type Inputs struct {
	From, To   time.Time
	Upgrades   []*upfactory.Upgrade
	Candidates []*upfactory.Candidate // resolved ones included
	Incidents  []*upfactory.Incident
	Keys       dora.Keys
	// Economics prices the period; nil leaves money out.
	Economics *economics.Report
	// Actions are the blameless reviews' actions: the open ones, and
	// those done in the period, are shown.
	Actions []*upfactory.ReviewAction
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
	// Economics is the priced period, with its formulas and assumptions.
	Economics *economics.Report `json:"economics,omitempty"`
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
	var delivered, caught, verified []*upfactory.Upgrade
	var deliveredSeqs, caughtSeqs, verifiedSeqs []int64
	for _, u := range x.Upgrades {
		if rec := entered(u, upfactory.StageVerification, x.From, x.To); rec != nil {
			delivered = append(delivered, u)
			deliveredSeqs = append(deliveredSeqs, rec.Seq)
		}
		rec := entered(u, upfactory.StageRolledBack, x.From, x.To)
		if rec == nil || len(u.Stages) < 2 {
			continue
		}
		switch u.Stages[len(u.Stages)-2].Outcome {
		case upfactory.ActionRollbackAutomatic:
			caught = append(caught, u)
			caughtSeqs = append(caughtSeqs, rec.Seq)
		case upfactory.ActionRollbackVerification:
			verified = append(verified, u)
			verifiedSeqs = append(verifiedSeqs, rec.Seq)
		}
	}
	r.RegressionsCaught = countRollouts(caught) + countRollouts(verified)
	k := x.Keys
	r.DORA = DORA{Deployments: int(k.Deployments.Value), LeadTimeSeconds: k.LeadTime.Value, ChangeFailureRate: k.ChangeFailureRate.Value, TimeToRestore: k.TimeToRestore.Value}
	r.HasData = k.HasData || len(delivered) > 0 || len(caught) > 0 || len(verified) > 0
	if !r.HasData {
		for _, h := range []string{WhatChanged, WhyNow, RiskReduced, MetricImproved} {
			r.Sections = append(r.Sections, Section{Heading: h, Text: "Nothing is on record for this period: no upgrade was delivered or caught, and no incident ended.", Figures: []Figure{}})
		}
		reviewActions(&r.Sections[2], x) // the actions still open stay in view
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
		{Name: "regressions caught before reaching all users", Value: float64(countRollouts(caught)), Unit: "rollouts", Sources: seqs(caughtSeqs...)},
	}}
	if len(verified) > 0 {
		risk.Figures = append(risk.Figures, Figure{Name: "regressions rolled back by post-release verification", Value: float64(countRollouts(verified)), Unit: "rollouts", Sources: seqs(verifiedSeqs...)})
	}
	describe := func(ups []*upfactory.Upgrade) []string {
		var out []string
		seen := map[string]bool{}
		for _, u := range ups {
			if !seen[u.RolloutID] {
				seen[u.RolloutID] = true
				out = append(out, fmt.Sprintf("%s %s on %s", u.Service, u.Version, u.Stages[len(u.Stages)-1].EnteredAt.UTC().Format(time.RFC3339)))
			}
		}
		return out
	}
	caughtLines, verifiedLines := describe(caught), describe(verified)
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
	if len(verifiedLines) > 0 {
		parts = append(parts, "After 100%, post-release verification saw a regression against the baseline and gave the traffic back to the previous version: "+strings.Join(verifiedLines, "; "))
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
	reviewActions(&risk, x)
	said := false
	if ec := x.Economics; ec != nil {
		r.Economics = ec
		priceRisk(&risk, ec, &said)
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
	if ec := x.Economics; ec != nil {
		priceMetrics(&metric, ec, &said)
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
	if currency(f.Unit) {
		return economics.Money(f.Value) + " " + f.Unit
	}
	if f.Value == float64(int64(f.Value)) {
		return fmt.Sprintf("%d %s", int64(f.Value), f.Unit)
	}
	if math.Abs(f.Value) < 10 {
		return fmt.Sprintf("%.3g %s", f.Value, f.Unit) // 0.418 and 0.378 stay apart
	}
	return fmt.Sprintf("%.1f %s", f.Value, f.Unit)
}

// assumption says which prices are assumptions: in full the first time
// (said false), briefly after.
func assumption(ec *economics.Report, said *bool) string {
	switch {
	case len(ec.Assumed) == 0:
		return ""
	case *said:
		return " (assumed prices)"
	}
	*said = true
	return " (assumed: the config's economics section does not set " + strings.Join(ec.Assumed, ", ") + "; the defaults are documented estimates)"
}

// priceRisk adds the downtime the canaries spared and the expected loss
// the patches took away.
func priceRisk(s *Section, ec *economics.Report, said *bool) {
	if len(ec.Avoided) > 0 {
		var src []int64
		var lines []string
		for _, a := range ec.Avoided {
			src = append(src, a.Sources...)
			lines = append(lines, fmt.Sprintf("%s %s: %s", a.Service, a.Version, a.Formula))
		}
		s.Figures = append(s.Figures, Figure{Name: "downtime cost avoided by canaries", Value: ec.DowntimeAvoided, Unit: ec.Currency, Sources: seqs(src...)})
		s.Text += fmt.Sprintf(" Canaries spared an estimated %s %s of downtime%s: %s.", economics.Money(ec.DowntimeAvoided), ec.Currency, assumption(ec, said), strings.Join(lines, "; "))
	}
	if len(ec.Losses) > 0 {
		var src []int64
		var unscored []string
		scored := false
		for _, l := range ec.Losses {
			src = append(src, l.Sources...)
			unscored = append(unscored, l.Unscored...)
			scored = scored || len(l.Unscored) < len(l.Advisories)
		}
		if scored {
			s.Figures = append(s.Figures, Figure{Name: "expected loss avoided by patching (30 days)", Value: ec.ExpectedLoss, Unit: ec.Currency, Sources: seqs(src...)})
			s.Text += fmt.Sprintf(" Patching took away an expected loss of %s %s over the next 30 days (chance of exploitation from EPSS × the cost of a breach%s).",
				economics.Money(ec.ExpectedLoss), ec.Currency, assumption(ec, said))
		}
		if len(unscored) > 0 {
			s.Text += " No EPSS score is on record for " + strings.Join(unscored, ", ") + ": their expected loss is not counted."
		}
	}
}

// priceMetrics adds the before/after figures of the verified rollouts as
// charts, and the latest of each as a figure.
func priceMetrics(s *Section, ec *economics.Report, said *bool) {
	for _, c := range []struct {
		title, name string
		unit        string
		rows        []economics.Change
	}{
		{"Conversion", "conversion", "ratio", ec.Conversion},
		{"Cost per million requests", "cost per million requests", ec.Currency, ec.CostPerMillion},
		{"CPU-seconds per 1,000 requests", "CPU-seconds per 1,000 requests", "CPU-seconds", ec.CPU},
		{"Error budget burn (1 = the whole budget)", "error budget burn", "× budget", ec.ErrorBudget},
		{"Incidents before and after 100%", "incidents", "", ec.IncidentRate},
	} {
		if len(c.rows) == 0 {
			continue
		}
		if c.unit == "" {
			c.unit = c.rows[len(c.rows)-1].Unit // the span compared
		}
		ch := Chart{Title: c.title, Unit: c.unit}
		for _, row := range c.rows {
			label := row.Service + " " + row.Version
			if row.Metric != "" {
				label += " (" + row.Metric + ")"
			}
			ch.Bars = append(ch.Bars, Bar{Label: label, Before: row.Before, After: row.After, Sources: seqs(row.Sources...)})
		}
		s.Charts = append(s.Charts, ch)
		last := c.rows[len(c.rows)-1]
		s.Figures = append(s.Figures,
			Figure{Name: c.name + " before " + last.Service + " " + last.Version, Value: last.Before, Unit: c.unit, Sources: seqs(last.Sources...)},
			Figure{Name: c.name + " after", Value: last.After, Unit: c.unit, Sources: seqs(last.Sources...)})
	}
	if n := len(ec.CostPerMillion); n > 0 {
		last := ec.CostPerMillion[n-1]
		s.Text += fmt.Sprintf(" %s %s costs %s %s per million requests, against %s before%s.", last.Service, last.Version,
			economics.Money(last.After), ec.Currency, economics.Money(last.Before), assumption(ec, said))
	}
	if n := len(ec.ErrorBudget); n > 0 {
		last := ec.ErrorBudget[n-1]
		s.Text += fmt.Sprintf(" Error budget burn went from %.2f to %.2f of the budget.", last.Before, last.After)
	}
}

// currency reports whether unit is an ISO 4217 code: three capitals.
func currency(unit string) bool {
	if len(unit) != 3 {
		return false
	}
	for _, c := range unit {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

// reviewActions adds what the reviews decided to automate: the actions
// open at the end of the period, and those done within it.
func reviewActions(s *Section, x Inputs) {
	var open, done []string
	var openSeqs, doneSeqs []int64
	for _, a := range x.Actions {
		switch {
		case a.CreatedAt.After(x.To) || a.CreatedAt.Equal(x.To):
		case a.Open() || a.DoneAt.After(x.To) || a.DoneAt.Equal(x.To):
			open = append(open, fmt.Sprintf("%s (%s, owner %s)", a.Text, a.Upgrade, cmp.Or(a.Owner, "unassigned")))
			openSeqs = append(openSeqs, a.Seq)
		case in(a.DoneAt, x.From, x.To):
			done = append(done, a.Text)
			doneSeqs = append(doneSeqs, a.Seq)
		}
	}
	if len(open) > 0 {
		s.Figures = append(s.Figures, Figure{Name: "review actions open", Value: float64(len(open)), Unit: "actions", Sources: seqs(openSeqs...)})
		s.Text += " Reviews left these actions to automate next time: " + strings.Join(open, "; ") + "."
	}
	if len(done) > 0 {
		s.Figures = append(s.Figures, Figure{Name: "review actions done", Value: float64(len(done)), Unit: "actions", Sources: seqs(doneSeqs...)})
		s.Text += " Done in the period: " + strings.Join(done, "; ") + "."
	}
}
