// Package review writes the skeleton of a blameless review of one
// upgrade from what the factory recorded: the timeline of decisions with
// their actors and measured values, what the gates and the checks saw,
// the incidents it caused, the actions already written down, and the
// questions a review answers. People fill in the rest; the actions they
// agree on are stored (upfactory review action add) and shown in the
// next readouts until done. Build is pure: the caller reads the store.
package review

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

// Inputs are the records of the upgrade's service.
type Inputs struct {
	Upgrade *upfactory.Upgrade
	// Entries is the service's log; Build keeps what concerns the upgrade.
	Entries   []upfactory.LogEntry
	Incidents []*upfactory.Incident
	Actions   []*upfactory.ReviewAction
}

// Event is one decision on record.
type Event struct {
	Seq    int64     `json:"seq"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	What   string    `json:"what"`
	// Measured lists the values the decision was taken on, as "name value".
	Measured []string `json:"measured,omitempty"`
}

// Review is the skeleton.
type Review struct {
	Upgrade   string `json:"upgrade"`
	Service   string `json:"service"`
	Component string `json:"component"`
	From      string `json:"from"`
	To        string `json:"to"`
	Version   string `json:"version,omitempty"`
	Stage     string `json:"stage"`
	Summary   string `json:"summary"`
	// Timeline is every decision, in order.
	Timeline []Event `json:"timeline"`
	// Gates is what the gates before the rollout saw: overrides,
	// preflights, confirmations, drills.
	Gates []Event `json:"gates"`
	// Checks is what the rollout's checks and verification saw.
	Checks    []Event                   `json:"checks"`
	Incidents []*upfactory.Incident     `json:"incidents"`
	Actions   []*upfactory.ReviewAction `json:"actions"`
	Questions []string                  `json:"questions"`
}

// Questions are the blameless review's: about the system, not a person.
var Questions = []string{
	"What did we expect to happen, and what happened?",
	"Which signal showed the problem first, and how long after it began?",
	"What made the change safe, or unsafe, to ship: which gate or check held, which did not see it?",
	"What would have caught it earlier, or made it smaller?",
	"What will we automate or change next time? (upfactory review action add)",
}

func str(v any) string { s, _ := v.(string); return s }

// gateActions are the entries about a version before its rollout.
var gateActions = map[string]bool{"preflight": true, "preflight.confirm": true, "drill": true}

// checkActions are the entries in which checks judged the rollout.
var checkActions = map[string]bool{
	"analysis.passed": true, "analysis.inconclusive": true, "analysis.errors": true, "mirror.passed": true, "mirror.inconclusive": true,
	upfactory.ActionRollbackAutomatic: true, upfactory.ActionVerificationPassed: true, upfactory.ActionVerificationFailed: true,
	upfactory.ActionRollbackVerification: true,
}

// concerns reports whether e is about u: its own moves, its rollout's
// entries, the gates of its version, the incidents linked to it.
func concerns(u *upfactory.Upgrade, e upfactory.LogEntry) bool {
	if e.Service != "" && e.Service != u.Service {
		return false
	}
	switch {
	case str(e.Values["upgrade"]) == u.ID:
		return true
	case u.RolloutID != "" && str(e.Values["rollout"]) == u.RolloutID:
		return true
	case u.Version != "" && gateActions[e.Action] && e.Subject == u.Version:
		return true
	case e.Action == "policy.override":
		return e.Subject == "notes:"+u.CandidateID || u.Version != "" && strings.HasSuffix(e.Subject, ":"+u.Service+":"+u.Version)
	case e.Action == "candidate.ack":
		return e.Subject == u.CandidateID
	}
	return false
}

// Build writes the skeleton.
func Build(x Inputs) *Review {
	u := x.Upgrade
	r := &Review{Upgrade: u.ID, Service: u.Service, Component: u.Component, From: u.From, To: u.To, Version: u.Version, Stage: string(u.Stage),
		Timeline: []Event{}, Gates: []Event{}, Checks: []Event{}, Incidents: []*upfactory.Incident{}, Actions: []*upfactory.ReviewAction{}, Questions: Questions}
	for _, e := range x.Entries {
		if !concerns(u, e) {
			continue
		}
		ev := Event{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, What: e.Reason, Measured: measured(e.Values)}
		switch {
		case ev.What == "":
			ev.What = e.Subject
		case e.Action == "policy.override" || e.Action == "candidate.ack":
			ev.What = e.Subject + ": " + ev.What // which gate, which candidate
		}
		r.Timeline = append(r.Timeline, ev)
		switch {
		case gateActions[e.Action] || e.Action == "policy.override" || e.Action == "candidate.ack":
			r.Gates = append(r.Gates, ev)
		case checkActions[e.Action]:
			r.Checks = append(r.Checks, ev)
		}
	}
	for _, in := range x.Incidents {
		if in.Upgrade == u.ID {
			r.Incidents = append(r.Incidents, in)
		}
	}
	for _, a := range x.Actions {
		if a.Upgrade == u.ID {
			r.Actions = append(r.Actions, a)
		}
	}
	r.Summary = summary(u, r)
	return r
}

func summary(u *upfactory.Upgrade, r *Review) string {
	s := fmt.Sprintf("%s %s → %s on %s", u.Component, u.From, u.To, u.Service)
	if u.Version != "" && u.Version != u.To {
		s += " (release " + u.Version + ")"
	}
	s += ": " + string(u.Stage)
	if cur := u.Current(); cur != nil && cur.Reason != "" {
		s += " — " + cur.Reason
	}
	if len(u.Stages) > 0 {
		s += fmt.Sprintf(". On the line from %s to %s", u.Stages[0].EnteredAt.UTC().Format(time.RFC3339), u.Stages[len(u.Stages)-1].EnteredAt.UTC().Format(time.RFC3339))
	}
	if n := len(r.Incidents); n > 0 {
		s += fmt.Sprintf("; %d incident(s)", n)
	}
	return s + "."
}

// measuredKeys are the values worth reading in a review, in this order.
var measuredKeys = []string{
	"check", "rule", "canary_text", "stable_text", "canary_count", "stable_count", "window",
	"compared", "mismatches", "worse",
	"baseline_requests", "baseline_error_rate", "baseline_p95_seconds", "after_requests", "after_error_rate", "after_p95_seconds",
	"verdict", "passed", "rollback_seconds", "failed_requests", "from", "to", "time_to_restore_seconds",
}

// measured picks the values a decision was taken on, nested check
// values (an analysis's) included.
func measured(v map[string]any) []string {
	var out []string
	for _, k := range measuredKeys {
		if x, ok := v[k]; ok && x != nil && x != "" {
			out = append(out, fmt.Sprintf("%s %v", k, format(k, x)))
		}
	}
	var nested []string
	for k, x := range v {
		if m, ok := x.(map[string]any); ok {
			if inner := measured(m); len(inner) > 0 {
				nested = append(nested, k+": "+strings.Join(inner, ", "))
			}
		}
	}
	slices.Sort(nested)
	return append(out, nested...)
}

func format(k string, x any) any {
	f, ok := x.(float64)
	if !ok {
		return x
	}
	switch {
	case strings.HasSuffix(k, "_error_rate"):
		return fmt.Sprintf("%.2f%%", 100*f)
	case strings.HasSuffix(k, "_seconds"):
		return upfactory.Duration(time.Duration(f * float64(time.Second))).Human()
	}
	return fmt.Sprintf("%g", f)
}

// Markdown renders the skeleton for people to fill in.
func Markdown(r *Review) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Blameless review: %s\n\n%s\n", r.Upgrade, r.Summary)
	events := func(title string, evs []Event, none string) {
		fmt.Fprintf(&b, "\n## %s\n\n", title)
		if len(evs) == 0 {
			fmt.Fprintf(&b, "%s\n", none)
			return
		}
		b.WriteString("| # | time (UTC) | actor | decision | what | measured |\n|---|---|---|---|---|---|\n")
		for _, e := range evs {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", e.Seq, e.Time.UTC().Format("2006-01-02 15:04:05"), cell(e.Actor), e.Action, cell(e.What), cell(strings.Join(e.Measured, "; ")))
		}
	}
	events("Timeline", r.Timeline, "Nothing on record.")
	events("What the gates saw", r.Gates, "No gate decision on record: no override, preflight or drill of this version.")
	events("What the checks saw", r.Checks, "No check judged it: it did not reach a canary.")
	b.WriteString("\n## Incidents\n\n")
	if len(r.Incidents) == 0 {
		b.WriteString("None linked to this upgrade.\n")
	}
	for _, in := range r.Incidents {
		state := "open"
		if !in.Open() {
			state = "restored in " + upfactory.Duration(in.TimeToRestore()).Human()
		}
		fmt.Fprintf(&b, "- #%d %s, %s, from %s: %s\n", in.ID, in.Severity, state, in.StartedAt.UTC().Format(time.RFC3339), in.Title)
	}
	b.WriteString("\n## Questions\n\n")
	for _, q := range r.Questions {
		fmt.Fprintf(&b, "- %s\n  - \n", q)
	}
	b.WriteString("\n## Actions to automate next time\n\n")
	if len(r.Actions) == 0 {
		fmt.Fprintf(&b, "None yet. Add one: `upfactory review action add %s --text \"...\" --owner TEAM --as NAME`\n", r.Upgrade)
	}
	for _, a := range r.Actions {
		box := " "
		if !a.Open() {
			box = "x"
		}
		fmt.Fprintf(&b, "- [%s] #%d %s (owner %s, by %s, log #%d)\n", box, a.ID, a.Text, cmp.Or(a.Owner, "unassigned"), a.CreatedBy, a.Seq)
	}
	return b.String()
}

// cell keeps a Markdown table cell on one line.
func cell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ", "\r", " ").Replace(s)
}
