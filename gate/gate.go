// Package gate decides the gates between the stages of the line. Each gate
// is a pure function of stored facts — the candidate and its notes, the
// compatibility runs, the policies and the time, the latest preflight and
// drill, the rollout — that returns a Result: open or closed, why, and the
// command that opens it. Every gate has a stable ID per subject, which a
// named approver may override with a reason (policy.override); a gate a
// service switched off (gates: in its config) is open and says so.
//
// The application layer gathers the facts and asks here; nothing here
// reads a store or a clock.
package gate

import (
	"fmt"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/policy"
)

// Gate names, as results and override IDs give them.
const (
	Notes     = "notes"     // leaving intake: release notes read, breaking items acknowledged
	Compat    = "compat"    // entering canary: the compat run passed
	Freeze    = "freeze"    // entering canary: no freeze in force
	Window    = "window"    // entering canary: inside the window it was planned into, and that plan's rules
	Preflight = "preflight" // entering canary: preflight says GO, recently
	Drill     = "drill"     // entering canary: a recent passing rollback drill
	Analysis  = "analysis"  // entering progressive: the canary's analysis passed
	Approval  = "approval"  // entering progressive: the approval its step names was given
)

// Names are the gates that can be overridden, in the order of the line.
var Names = []string{Notes, Compat, Freeze, Window, Preflight, Drill}

// Result is one gate's decision.
type Result struct {
	Gate string `json:"gate"`
	// ID names the gate for one subject, for an override: "compat:checkout:1.2.0".
	ID string `json:"id"`
	// Stage is the stage the gate guards the way into.
	Stage  upfactory.Stage `json:"stage"`
	Open   bool            `json:"open"`
	Reason string          `json:"reason"`
	// Command opens the gate (or overrides it).
	Command  string                    `json:"command,omitempty"`
	Override *upfactory.PolicyOverride `json:"override,omitempty"`
}

// IDs of the gates for one subject.
func NotesID(candidate string) string            { return Notes + ":" + candidate }
func CompatID(service, version string) string    { return Compat + ":" + service + ":" + version }
func PreflightID(service, version string) string { return Preflight + ":" + service + ":" + version }
func DrillID(service, version string) string     { return Drill + ":" + service + ":" + version }
func WindowID(window, service, version string) string {
	return Window + ":" + window + ":" + service + ":" + version
}

// ParseID splits an override ID into its gate and parts, and says whether
// it has the shape of a gate's ID.
func ParseID(id string) (gate string, parts []string, ok bool) {
	f := strings.Split(id, ":")
	want := map[string]int{Notes: 2, Compat: 3, Preflight: 3, Drill: 3, Window: 4}
	n, known := want[f[0]]
	if !known || len(f) != n {
		return "", nil, false
	}
	for _, p := range f[1:] {
		if p == "" {
			return "", nil, false
		}
	}
	return f[0], f[1:], true
}

// IDForms describes the shapes of gate IDs, for error messages.
const IDForms = "notes:CANDIDATE, compat:SERVICE:VERSION, window:WINDOW:SERVICE:VERSION, preflight:SERVICE:VERSION, drill:SERVICE:VERSION, freeze:rollout:SERVICE:FREEZE, or the ID of a policy violation (upfactory policy check)"

// Closed returns the results that hold the way.
func Closed(rs []Result) []Result {
	var out []Result
	for _, r := range rs {
		if !r.Open {
			out = append(out, r)
		}
	}
	return out
}

func overrideCmd(id string) string {
	return "upfactory policy override " + id + " --as NAME --reason TEXT"
}

// finish applies the latest override of r.ID and the service's switch.
func finish(r Result, svc *upfactory.Service, overrides []upfactory.PolicyOverride) Result {
	if svc != nil && !svc.Gates.On(r.Gate) {
		return Result{Gate: r.Gate, ID: r.ID, Stage: r.Stage, Open: true, Reason: fmt.Sprintf("off for %s (gates.%s: false)", svc.Name, r.Gate)}
	}
	if r.Open {
		return r
	}
	for i := len(overrides) - 1; i >= 0; i-- {
		if overrides[i].ID == r.ID {
			o := overrides[i]
			r.Open, r.Override = true, &o
			r.Reason = fmt.Sprintf("overridden by %s (%s); was: %s", o.By, o.Reason, r.Reason)
			r.Command = ""
			return r
		}
	}
	if r.Command == "" {
		r.Command = overrideCmd(r.ID)
	} else {
		r.Command += "; or override: " + overrideCmd(r.ID)
	}
	return r
}

// NotesGate decides whether candidate c may leave intake for svc: its
// release notes were read (or a person recorded that none exist, as an
// override of the gate) and its breaking items were acknowledged.
func NotesGate(svc *upfactory.Service, c *upfactory.Candidate, overrides []upfactory.PolicyOverride) Result {
	r := Result{Gate: Notes, ID: NotesID(c.ID), Stage: upfactory.StageRisk}
	switch {
	case c.NotesFile == "":
		r.Reason = fmt.Sprintf("no release notes were read for %s %s → %s", c.Component, c.Current, c.Recommended)
		r.Command = fmt.Sprintf("add %s to feeds.release_notes and run upfactory intake, or record that none exist: upfactory candidates no-notes %s --as NAME --reason TEXT", c.Component, c.ID)
	case c.ComputeStatus() == upfactory.CandidateNeedsAck:
		n := 0
		for _, h := range c.Highlights {
			if h.Kind == "breaking" {
				n++
			}
		}
		r.Reason = fmt.Sprintf("%s %s → %s has %d breaking item(s) nobody acknowledged", c.Component, c.Current, c.Recommended, n)
		r.Command = fmt.Sprintf("read them (upfactory candidates show %s), then upfactory candidates ack %s --as NAME", c.ID, c.ID)
	default:
		r.Open = true
		r.Reason = "release notes read (" + c.NotesFile + ")"
		if c.Ack != nil {
			r.Reason += fmt.Sprintf("; breaking items acknowledged by %s", c.Ack.By)
		}
	}
	return finish(r, svc, overrides)
}

// CompatGate decides whether version of svc may enter canary on its
// compatibility runs: the run of the service's own release (app, the
// candidate whose twin was tested) must have passed for svc — no cell
// failed or erred, and at least one passed — and the run of every other
// candidate delivered must show no failure or error for svc (their
// runtime cells run on the release that carries them). runs holds the
// latest run of each candidate, nil when there is none.
func CompatGate(svc *upfactory.Service, version string, app *upfactory.Candidate, delivered []*upfactory.Candidate, runs map[string]*upfactory.CompatRun, overrides []upfactory.PolicyOverride) Result {
	r := Result{Gate: Compat, ID: CompatID(svc.Name, version), Stage: upfactory.StageCanary}
	var problems []string
	var cmds []string
	check := func(c *upfactory.Candidate, own bool) {
		run := runs[c.ID]
		if run == nil {
			problems = append(problems, fmt.Sprintf("%s %s → %s has no compat run", c.Component, c.Current, c.Recommended))
			cmds = append(cmds, "upfactory compat run "+c.ID)
			return
		}
		out, n := run.ServiceOutcome(svc.Name)
		switch {
		case out == upfactory.CompatFail || out == upfactory.CompatError:
			problems = append(problems, fmt.Sprintf("compat run %d of %s %s: %s for %s (%d fail, %d error)", run.ID, c.Component, c.Recommended, out, svc.Name, n[upfactory.CompatFail], n[upfactory.CompatError]))
			cmds = append(cmds, "upfactory compat show "+c.ID)
		case own && out == upfactory.CompatSkipped:
			problems = append(problems, fmt.Sprintf("compat run %d of %s %s tested nothing for %s (every cell skipped: %d)", run.ID, c.Component, c.Recommended, svc.Name, n[upfactory.CompatSkipped]))
			cmds = append(cmds, "give "+svc.Name+" compat checks, journeys or a load comparison, then upfactory compat run "+c.ID+" --force")
		}
	}
	if app != nil {
		check(app, true)
	}
	for _, c := range delivered {
		if app == nil || c.ID != app.ID {
			check(c, false)
		}
	}
	if len(problems) == 0 {
		r.Open, r.Reason = true, "compat passed"
		if app != nil && runs[app.ID] != nil {
			r.Reason = fmt.Sprintf("compat run %d passed for %s", runs[app.ID].ID, svc.Name)
		}
	} else {
		r.Reason, r.Command = strings.Join(problems, "; "), strings.Join(cmds, "; ")
	}
	return finish(r, svc, overrides)
}

// FreezeGates decides whether a rollout of svc may start at now: none
// while a freeze is in force. One result per freeze in force, or one open
// result.
func FreezeGates(svc *upfactory.Service, pc upfactory.PolicyConfig, now time.Time, overrides []upfactory.PolicyOverride) []Result {
	vs := policy.CheckRolloutStart(pc, svc.Name, now, nil)
	if len(vs) == 0 {
		return []Result{finish(Result{Gate: Freeze, ID: "freeze:rollout:" + svc.Name, Stage: upfactory.StageCanary, Open: true, Reason: "no freeze in force"}, svc, overrides)}
	}
	var out []Result
	for _, v := range vs {
		out = append(out, finish(Result{Gate: Freeze, ID: v.ID, Stage: upfactory.StageCanary, Reason: v.Message, Command: "wait until the freeze ends"}, svc, overrides))
	}
	return out
}

// Planned is a candidate delivered by the rollout that a change window's
// plan holds, with that plan's violations (bundle, order, acknowledgements,
// freezes: policy.CheckPlan) and the window's next occurrence.
type Planned struct {
	Candidate  string
	Window     string
	Opens      time.Time
	Closes     time.Time
	Violations []policy.Violation // with overrides applied
}

// WindowGates decides whether version of svc may start at now given the
// windows its candidates were planned into: inside the window, and with
// none of the plan's violations standing. Open with a reason when nothing
// delivered is planned.
func WindowGates(svc *upfactory.Service, version string, planned []Planned, now time.Time, overrides []upfactory.PolicyOverride) []Result {
	if len(planned) == 0 {
		return []Result{finish(Result{Gate: Window, ID: WindowID("none", svc.Name, version), Stage: upfactory.StageCanary, Open: true,
			Reason: "planned into no change window"}, svc, overrides)}
	}
	var out []Result
	seen := map[string]bool{}
	for _, p := range planned {
		if seen[p.Window] {
			continue
		}
		seen[p.Window] = true
		r := Result{Gate: Window, ID: WindowID(p.Window, svc.Name, version), Stage: upfactory.StageCanary}
		if !now.Before(p.Opens) && now.Before(p.Closes) {
			r.Open, r.Reason = true, fmt.Sprintf("inside window %s (until %s)", p.Window, p.Closes.Format(time.RFC3339))
		} else {
			r.Reason = fmt.Sprintf("%s is planned into window %s, which next opens %s", p.Candidate, p.Window, p.Opens.Format(time.RFC3339))
			r.Command = "wait for the window, or move it: upfactory plan set --window NAME ..."
		}
		out = append(out, finish(r, svc, overrides))
		for _, v := range p.Violations {
			vr := Result{Gate: Window, ID: v.ID, Stage: upfactory.StageCanary, Reason: v.Message}
			if v.Override != nil {
				vr.Open, vr.Override = true, v.Override
				vr.Reason = fmt.Sprintf("overridden by %s (%s); was: %s", v.Override.By, v.Override.Reason, v.Message)
			}
			out = append(out, finish(vr, svc, overrides))
		}
	}
	return out
}

// PreflightGate decides on the latest preflight of version of svc (nil:
// none): GO, and younger than preflight.max_age.
func PreflightGate(svc *upfactory.Service, version string, latest *upfactory.PreflightResult, now time.Time, overrides []upfactory.PolicyOverride) Result {
	r := Result{Gate: Preflight, ID: PreflightID(svc.Name, version), Stage: upfactory.StageCanary,
		Command: fmt.Sprintf("upfactory preflight %s --version %s", svc.Name, version)}
	maxAge := svc.Preflight.MaxAge.D()
	if maxAge <= 0 {
		maxAge = upfactory.DefaultPreflightMaxAge
	}
	switch {
	case latest == nil:
		r.Reason = fmt.Sprintf("no preflight of %s %s yet", svc.Name, version)
	case latest.Verdict != upfactory.PreflightGo:
		r.Reason = fmt.Sprintf("the latest preflight (%s) said %s", latest.At.Format(time.RFC3339), latest.Line)
	case now.Sub(latest.At) > maxAge:
		r.Reason = fmt.Sprintf("the latest GO is %s old, older than preflight.max_age %s", upfactory.Duration(now.Sub(latest.At)).Human(), upfactory.Duration(maxAge))
	default:
		r.Open, r.Command = true, ""
		r.Reason = fmt.Sprintf("GO at %s by %s", latest.At.Format(time.RFC3339), latest.By)
	}
	return finish(r, svc, overrides)
}

// DrillGate decides on the service's drills, newest first: the latest
// passing one must be younger than drill.max_age.
func DrillGate(svc *upfactory.Service, version string, drills []*upfactory.DrillResult, now time.Time, overrides []upfactory.PolicyOverride) Result {
	r := Result{Gate: Drill, ID: DrillID(svc.Name, version), Stage: upfactory.StageCanary,
		Command: fmt.Sprintf("upfactory drill %s --version %s", svc.Name, version)}
	maxAge := svc.Drill.MaxAge.D()
	if maxAge <= 0 {
		maxAge = upfactory.DefaultDrillMaxAge
	}
	var pass *upfactory.DrillResult
	for _, d := range drills {
		if d.Passed {
			pass = d
			break
		}
	}
	switch {
	case pass == nil && len(drills) > 0:
		r.Reason = fmt.Sprintf("no passing rollback drill of %s; the latest failed: %s", svc.Name, drills[0].Reason)
	case pass == nil:
		r.Reason = fmt.Sprintf("no rollback drill of %s yet", svc.Name)
	case now.Sub(pass.At) > maxAge:
		r.Reason = fmt.Sprintf("the latest passing drill is %s old, older than drill.max_age %s", upfactory.Duration(now.Sub(pass.At)).Human(), upfactory.Duration(maxAge))
	default:
		r.Open, r.Command = true, ""
		r.Reason = fmt.Sprintf("drill passed at %s: rollback in %.3fs, %d of %d requests failed", pass.At.Format(time.RFC3339), pass.RollbackSeconds, pass.FailedRequests, pass.Requests)
	}
	return finish(r, svc, overrides)
}

// ProgressiveGates say what holds a rollout in its canary stage (or a
// later step): the analysis of the current step, or the approval it names.
// They are enforced by the rollout itself; here they are described for the
// board. None when r is nil or done.
func ProgressiveGates(svc *upfactory.Service, r *upfactory.Rollout) []Result {
	if r == nil || r.Phase.Done() || r.StepIndex >= len(svc.Strategy.Steps()) {
		return nil
	}
	step := svc.Strategy.Steps()[r.StepIndex]
	res := Result{Stage: upfactory.StageProgressive}
	switch {
	case step.Approval != nil:
		res.Gate, res.ID = Approval, fmt.Sprintf("approval:%s:%s:%d", svc.Name, r.CanaryVersion, r.StepIndex)
		res.Open = r.Phase != upfactory.PhaseAwaitingApproval
		res.Reason = fmt.Sprintf("waits for the approval of a %s", step.Approval.Role)
		res.Command = fmt.Sprintf("upfactory rollout approve %s --as NAME --comment TEXT", svc.Name)
	case step.Analysis != nil || r.Phase == upfactory.PhasePaused:
		res.Gate, res.ID = Analysis, fmt.Sprintf("analysis:%s:%s:%d", svc.Name, r.CanaryVersion, r.StepIndex)
		res.Reason = "analysis running: " + r.Message
		if r.Phase == upfactory.PhasePaused {
			res.Reason = "paused: " + r.Message
			res.Command = fmt.Sprintf("upfactory rollout status %s; then resume or abort", svc.Name)
		}
	default:
		return nil
	}
	return []Result{res}
}
