// Package policy evaluates upgrade policies: how many unrelated upgrades a
// change window may bundle, the patch order inside a window (OS → runtime
// → dependencies → app), release notes acknowledged before a candidate
// moves on, and change windows and freezes. It is pure: the caller passes
// the plan, the candidates, the overrides and the time.
//
// Every violation has a stable ID (so that an override names it), the
// policy it breaks, and a message that says what to do. An override by a
// named approver with a reason turns a violation into an overridden one;
// the caller logs it.
package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/upfactory/upfactory"
)

// Policy names, as violations and overrides give them.
const (
	Bundle = "bundle" // too many unrelated upgrades in one window
	Order  = "order"  // patch order OS → runtime → dependencies → app broken
	Ack    = "ack"    // breaking items not acknowledged
	Freeze = "freeze" // a window, or a rollout, in a freeze
)

// Window, FreezeSpec, Config and Override are the root package's types.
type (
	Window     = upfactory.ChangeWindow
	FreezeSpec = upfactory.Freeze
	Config     = upfactory.PolicyConfig
	Override   = upfactory.PolicyOverride
)

// DefaultMaxUpgrades is a window's bundle limit when none is set: a
// handful of unrelated changes is what one on-call person can untangle
// when something breaks.
const DefaultMaxUpgrades = 3

// Violation is one broken policy.
type Violation struct {
	// ID is stable for the same violation across checks: policy, window
	// and subject, such as "order:weekly:c-1a2b3c4d".
	ID      string `json:"id"`
	Policy  string `json:"policy"`
	Window  string `json:"window,omitempty"`
	Subject string `json:"subject,omitempty"`
	// Message says what is wrong and what to do.
	Message string `json:"message"`
	// Override is set when a named approver let it pass.
	Override *Override `json:"override,omitempty"`
}

// Plan is the candidates to roll out in one window, in order.
type Plan struct {
	Window string `json:"window"`
	// Opens and Closes are the window's next occurrence.
	Opens  time.Time `json:"opens"`
	Closes time.Time `json:"closes"`
	// Manual is true when someone set the order by hand.
	Manual     bool                   `json:"manual"`
	Candidates []*upfactory.Candidate `json:"candidates"`
}

// LayerRank orders layers for patching: OS first, the app last. Unknown
// layers count as dependencies.
func LayerRank(layer string) int {
	switch layer {
	case upfactory.LayerOS:
		return 0
	case upfactory.LayerRuntime:
		return 1
	case upfactory.LayerApp:
		return 3
	}
	return 2
}

// AutoOrder sorts candidates in patch order: by layer (OS → runtime →
// dependencies → app), then by descending risk, then ID.
func AutoOrder(cands []*upfactory.Candidate) {
	slices.SortStableFunc(cands, func(a, b *upfactory.Candidate) int {
		if c := cmp.Compare(LayerRank(a.Layer), LayerRank(b.Layer)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Risk.Total, a.Risk.Total); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Location loads a time zone, "" being UTC.
func Location(name string) (*time.Location, error) {
	if name == "" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

// parseSchedule parses a cron expression in the given zone.
func parseSchedule(spec string, loc *time.Location) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, err
	}
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = loc
	}
	return s, nil
}

// Next returns the window's next occurrence that has not closed at now:
// the one open at now, or the next to open.
func Next(w Window, now time.Time) (opens, closes time.Time, err error) {
	loc, err := Location(w.TimeZone)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	sched, err := parseSchedule(w.Cron, loc)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	d := w.Duration.D()
	// An occurrence that opened less than d ago is still open.
	opens = sched.Next(now.Add(-d).Add(-time.Second))
	return opens, opens.Add(d), nil
}

// Validate checks a policies section; each problem names its key.
func Validate(c Config) []error {
	var errs []error
	seen := map[string]bool{}
	for i, w := range c.Windows {
		p := fmt.Sprintf("policies.windows[%d]", i)
		if w.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", p))
		} else if seen[w.Name] {
			errs = append(errs, fmt.Errorf("%s.name: window %q is declared twice", p, w.Name))
		}
		seen[w.Name] = true
		loc, err := Location(w.TimeZone)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.timezone: %v", p, err))
			loc = time.UTC
		}
		if _, err := parseSchedule(w.Cron, loc); err != nil {
			errs = append(errs, fmt.Errorf("%s.cron: %v: want five cron fields, such as \"0 22 * * TUE\"", p, err))
		}
		if w.Duration <= 0 {
			errs = append(errs, fmt.Errorf("%s.duration: must be more than 0, such as 4h", p))
		}
		if w.MaxUpgrades < 0 {
			errs = append(errs, fmt.Errorf("%s.max_upgrades: must be 1 or more", p))
		}
	}
	for i, f := range c.Freezes {
		p := fmt.Sprintf("policies.freezes[%d]", i)
		if f.Name == "" {
			errs = append(errs, fmt.Errorf("%s.name: required", p))
		}
		if _, err := Location(f.TimeZone); err != nil {
			errs = append(errs, fmt.Errorf("%s.timezone: %v", p, err))
		}
		ranged, recurring := f.From != "" || f.To != "", f.Cron != ""
		switch {
		case ranged && recurring:
			errs = append(errs, fmt.Errorf("%s: give from/to or cron/duration, not both", p))
		case !ranged && !recurring:
			errs = append(errs, fmt.Errorf("%s: give from and to (dates), or cron and duration", p))
		case ranged:
			if _, _, err := span(f, time.UTC); err != nil {
				errs = append(errs, fmt.Errorf("%s: %v", p, err))
			}
		default:
			if _, err := parseSchedule(f.Cron, time.UTC); err != nil {
				errs = append(errs, fmt.Errorf("%s.cron: %v", p, err))
			}
			if f.Duration <= 0 {
				errs = append(errs, fmt.Errorf("%s.duration: must be more than 0", p))
			}
		}
	}
	return errs
}

var timeLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04", "2006-01-02"}

func parseTime(s string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, l == "2006-01-02", nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date (2006-01-02) or date-time (2006-01-02T15:04)", s)
}

// span is a ranged freeze's [from, to).
func span(f FreezeSpec, loc *time.Location) (from, to time.Time, err error) {
	if f.From == "" || f.To == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("a date range needs both from and to")
	}
	from, _, err = parseTime(f.From, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("from: %v", err)
	}
	to, dateOnly, err := parseTime(f.To, loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("to: %v", err)
	}
	if dateOnly {
		to = to.AddDate(0, 0, 1)
	}
	if !to.After(from) {
		return time.Time{}, time.Time{}, fmt.Errorf("to (%s) is not after from (%s)", f.To, f.From)
	}
	return from, to, nil
}

// Overlaps reports whether the freeze covers any instant of [start, end);
// with start == end, whether it covers start. It returns the covered
// period it found.
func Overlaps(f FreezeSpec, start, end time.Time) (bool, time.Time, time.Time) {
	loc, err := Location(f.TimeZone)
	if err != nil {
		return false, time.Time{}, time.Time{}
	}
	if end.Before(start) {
		end = start
	}
	in := func(from, to time.Time) bool {
		if start.Equal(end) {
			return !start.Before(from) && start.Before(to)
		}
		return start.Before(to) && end.After(from)
	}
	if f.Cron == "" {
		from, to, err := span(f, loc)
		if err != nil {
			return false, time.Time{}, time.Time{}
		}
		return in(from, to), from, to
	}
	sched, err := parseSchedule(f.Cron, loc)
	if err != nil {
		return false, time.Time{}, time.Time{}
	}
	d := f.Duration.D()
	for from := sched.Next(start.Add(-d).Add(-time.Second)); !from.After(end) && !from.IsZero(); from = sched.Next(from) {
		if in(from, from.Add(d)) {
			return true, from, from.Add(d)
		}
	}
	return false, time.Time{}, time.Time{}
}

// FrozenAt returns the freezes in force at t.
func FrozenAt(c Config, t time.Time) []FreezeSpec {
	var out []FreezeSpec
	for _, f := range c.Freezes {
		if ok, _, _ := Overlaps(f, t, t); ok {
			out = append(out, f)
		}
	}
	return out
}

// Window returns the window named name, or nil.
func FindWindow(c Config, name string) *Window {
	for i := range c.Windows {
		if c.Windows[i].Name == name {
			return &c.Windows[i]
		}
	}
	return nil
}

// CheckPlan evaluates a window's plan: bundle size, patch order, release
// notes acknowledged, and freezes over the window. Overrides are applied
// by violation ID.
func CheckPlan(c Config, p Plan, overrides []Override) []Violation {
	var vs []Violation
	w := FindWindow(c, p.Window)
	max := DefaultMaxUpgrades
	if w != nil && w.MaxUpgrades > 0 {
		max = w.MaxUpgrades
	}
	if groups := Related(p.Candidates); len(groups) > max {
		var names []string
		for _, g := range groups {
			names = append(names, g[0].Component)
		}
		vs = append(vs, Violation{ID: Bundle + ":" + p.Window, Policy: Bundle, Window: p.Window,
			Message: fmt.Sprintf("window %s bundles %d unrelated upgrades (%s); at most %d: move %d of them to another window",
				p.Window, len(groups), strings.Join(names, ", "), max, len(groups)-max)})
	}
	for i := 1; i < len(p.Candidates); i++ {
		prev, cur := p.Candidates[i-1], p.Candidates[i]
		if LayerRank(cur.Layer) < LayerRank(prev.Layer) {
			vs = append(vs, Violation{ID: Order + ":" + p.Window + ":" + cur.ID, Policy: Order, Window: p.Window, Subject: cur.ID,
				Message: fmt.Sprintf("%s (%s layer) comes after %s (%s layer): patch OS, then runtime, then dependencies, then the app; move it before %s",
					cur.Component, layerName(cur.Layer), prev.Component, layerName(prev.Layer), prev.ID)})
		}
	}
	for _, cand := range p.Candidates {
		if cand.ComputeStatus() == upfactory.CandidateNeedsAck {
			vs = append(vs, Violation{ID: Ack + ":" + cand.ID, Policy: Ack, Window: p.Window, Subject: cand.ID,
				Message: fmt.Sprintf("%s %s → %s has breaking items nobody acknowledged: read them (upfactory candidates show %s) and run upfactory candidates ack %s --as NAME",
					cand.Component, cand.Current, cand.Recommended, cand.ID, cand.ID)})
		}
	}
	if !p.Opens.IsZero() {
		for _, f := range c.Freezes {
			if ok, from, to := Overlaps(f, p.Opens, p.Closes); ok {
				vs = append(vs, Violation{ID: Freeze + ":" + p.Window + ":" + f.Name, Policy: Freeze, Window: p.Window, Subject: f.Name,
					Message: fmt.Sprintf("window %s (%s – %s) falls in freeze %s (%s – %s)%s: no rollout may start then; plan the next window",
						p.Window, p.Opens.Format(time.RFC3339), p.Closes.Format(time.RFC3339), f.Name,
						from.Format(time.RFC3339), to.Format(time.RFC3339), reasonSuffix(f.Reason))})
			}
		}
	}
	return applyOverrides(vs, overrides)
}

// RolloutFreezeID is the ID of the violation a rollout of service started
// in freeze is.
func RolloutFreezeID(service, freeze string) string {
	return Freeze + ":rollout:" + service + ":" + freeze
}

// OverridableIDs lists the violation IDs an override may name, sorted:
// the violations found now, and a freeze of the config for a rollout of
// any of services, which may be let pass before it is in force.
func OverridableIDs(c Config, services []string, current []Violation) []string {
	ids := map[string]bool{}
	for _, v := range current {
		ids[v.ID] = true
	}
	for _, svc := range services {
		for _, f := range c.Freezes {
			ids[RolloutFreezeID(svc, f.Name)] = true
		}
	}
	out := make([]string, 0, len(ids))
	for id := range ids {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// CheckRolloutStart evaluates starting a rollout of service at now:
// refused in a freeze.
func CheckRolloutStart(c Config, service string, now time.Time, overrides []Override) []Violation {
	var vs []Violation
	for _, f := range FrozenAt(c, now) {
		_, from, to := Overlaps(f, now, now)
		vs = append(vs, Violation{ID: RolloutFreezeID(service, f.Name), Policy: Freeze, Subject: service,
			Message: fmt.Sprintf("freeze %s is in force (%s – %s)%s: no rollout may start; wait until it ends, or have an approver override %s",
				f.Name, from.Format(time.RFC3339), to.Format(time.RFC3339), reasonSuffix(f.Reason), RolloutFreezeID(service, f.Name))})
	}
	return applyOverrides(vs, overrides)
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

func layerName(l string) string {
	if l == "" {
		return upfactory.LayerDependency
	}
	return l
}

func applyOverrides(vs []Violation, overrides []Override) []Violation {
	for i := range vs {
		for j := len(overrides) - 1; j >= 0; j-- {
			if overrides[j].ID == vs[i].ID {
				o := overrides[j]
				vs[i].Override = &o
				break
			}
		}
	}
	return vs
}

// Blocking returns the violations without an override.
func Blocking(vs []Violation) []Violation {
	var out []Violation
	for _, v := range vs {
		if v.Override == nil {
			out = append(out, v)
		}
	}
	return out
}

// Related groups candidates that count as one upgrade: the same component,
// or fixing the same advisory (by any of its IDs). Groups keep plan order.
func Related(cands []*upfactory.Candidate) [][]*upfactory.Candidate {
	parent := make([]int, len(cands))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	union := func(a, b int) {
		ra, rb := find(a), find(b)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	byKey := map[string]int{}
	for i, c := range cands {
		keys := []string{"component:" + c.Ecosystem + "/" + strings.ToLower(c.Component)}
		for _, a := range c.Advisories {
			keys = append(keys, "advisory:"+a.ID)
			for _, al := range a.Aliases {
				keys = append(keys, "advisory:"+al)
			}
		}
		for _, k := range keys {
			if j, ok := byKey[k]; ok {
				union(i, j)
			} else {
				byKey[k] = i
			}
		}
	}
	groups := map[int][]*upfactory.Candidate{}
	var order []int
	for i, c := range cands {
		r := find(i)
		if _, ok := groups[r]; !ok {
			order = append(order, r)
		}
		groups[r] = append(groups[r], c)
	}
	out := make([][]*upfactory.Candidate, len(order))
	for i, r := range order {
		out[i] = groups[r]
	}
	return out
}

// BuildPlan turns a stored plan into the plan to check: its candidates
// that are still open, in patch order unless the order is manual, and the
// window's next occurrence after now. missing lists planned IDs that are
// no longer open candidates.
func BuildPlan(c Config, window string, stored *upfactory.WindowPlan, open []*upfactory.Candidate, now time.Time) (p Plan, missing []string, err error) {
	p.Window = window
	if w := FindWindow(c, window); w != nil {
		if p.Opens, p.Closes, err = Next(*w, now); err != nil {
			return p, nil, err
		}
	}
	if stored == nil {
		return p, nil, nil
	}
	byID := map[string]*upfactory.Candidate{}
	for _, cand := range open {
		byID[cand.ID] = cand
	}
	p.Manual = stored.Manual
	for _, id := range stored.CandidateIDs {
		if cand, ok := byID[id]; ok {
			p.Candidates = append(p.Candidates, cand)
		} else {
			missing = append(missing, id)
		}
	}
	if !p.Manual {
		AutoOrder(p.Candidates)
	}
	return p, missing, nil
}
