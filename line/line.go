// Package line derives the factory line from the operation log: which
// upgrade (a candidate delivered to one service) is in which stage since
// when, moved by whom and why. It is pure: Derive takes the upgrades as
// they stand, the log entries after the line's cursor and the facts about
// candidates, and returns the upgrades that moved with one "upgrade.stage"
// entry per move; the caller writes both, and the cursor, in one
// transaction. Rebuild folds those entries back into the upgrades, so a
// follower holding a cursor, or a reader of the log alone, gets the same
// line.
package line

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

// ActionStage is the log action of a stage change.
const ActionStage = "upgrade.stage"

// Facts are what Derive reads besides the log.
type Facts struct {
	Services []*upfactory.Service
	// Candidates are the candidates open now.
	Candidates []*upfactory.Candidate
	// Resolved reports whether candidate id is resolved (or gone).
	Resolved func(id string) bool
	// NotesOpen reports whether candidate c may leave intake for service
	// (gate.NotesGate).
	NotesOpen func(c *upfactory.Candidate, service string) bool
	// CompatRun is the ID of the latest compat run of candidate id, 0 for none.
	CompatRun func(id string) int64
	Now       time.Time
}

// Line is the upgrades by ID, with what changed since it was loaded.
type Line struct {
	byID    map[string]*upfactory.Upgrade
	order   []string
	changed map[string]bool
	entries []upfactory.LogEntry
}

// New holds upgrades (every one, closed included) for derivation.
func New(upgrades []*upfactory.Upgrade) *Line {
	l := &Line{byID: map[string]*upfactory.Upgrade{}, changed: map[string]bool{}}
	for _, u := range upgrades {
		l.byID[u.ID] = u
		l.order = append(l.order, u.ID)
	}
	return l
}

// Changed returns the upgrades that moved, and their log entries, in order.
func (l *Line) Changed() ([]*upfactory.Upgrade, []upfactory.LogEntry) {
	var out []*upfactory.Upgrade
	for _, id := range l.order {
		if l.changed[id] {
			out = append(out, l.byID[id])
		}
	}
	return out, l.entries
}

// Upgrades returns every upgrade in creation order.
func (l *Line) Upgrades() []*upfactory.Upgrade {
	out := make([]*upfactory.Upgrade, 0, len(l.order))
	for _, id := range l.order {
		out = append(out, l.byID[id])
	}
	return out
}

// current returns the upgrade of candidate to service still on the line, or nil.
func (l *Line) current(service, candidate string) *upfactory.Upgrade {
	for i := len(l.order) - 1; i >= 0; i-- {
		u := l.byID[l.order[i]]
		if u.Service == service && u.CandidateID == candidate && !u.Stage.Final() {
			return u
		}
	}
	return nil
}

// latest returns the newest upgrade of candidate to service, or nil.
func (l *Line) latest(service, candidate string) *upfactory.Upgrade {
	for i := len(l.order) - 1; i >= 0; i-- {
		if u := l.byID[l.order[i]]; u.Service == service && u.CandidateID == candidate {
			return u
		}
	}
	return nil
}

// create puts a new upgrade of c to service on the line, in stage intake.
func (l *Line) create(service string, c *upfactory.Candidate, at time.Time, actor, reason string, seq int64) *upfactory.Upgrade {
	id := service + "/" + c.ID
	for n := 2; l.byID[id] != nil; n++ {
		id = service + "/" + c.ID + "#" + strconv.Itoa(n)
	}
	u := &upfactory.Upgrade{ID: id, CandidateID: c.ID, Service: service, Component: c.Component, Layer: c.Layer,
		From: c.Current, To: c.Recommended, Risk: c.Risk.Total, CreatedAt: at, UpdatedAt: at, Stages: []upfactory.StageRecord{}}
	l.byID[id] = u
	l.order = append(l.order, id)
	l.move(u, upfactory.StageIntake, at, actor, reason, "", seq)
	return u
}

// move puts u into stage to, closing the stage it was in with outcome.
func (l *Line) move(u *upfactory.Upgrade, to upfactory.Stage, at time.Time, actor, reason, outcome string, seq int64) {
	from := u.Stage
	if cur := u.Current(); cur != nil {
		cur.LeftAt, cur.Outcome = at, outcome
	}
	u.Stages = append(u.Stages, upfactory.StageRecord{Stage: to, EnteredAt: at, Actor: actor, Reason: reason, Seq: seq})
	u.Stage, u.UpdatedAt = to, at
	l.changed[u.ID] = true
	l.entries = append(l.entries, Entry(u, from, outcome, seq))
}

// Entry is the log entry of u's move into its current stage from stage
// from: it carries the whole upgrade's identity so that Rebuild needs
// nothing else.
func Entry(u *upfactory.Upgrade, from upfactory.Stage, outcome string, sourceSeq int64) upfactory.LogEntry {
	cur := u.Current()
	v := map[string]any{"upgrade": u.ID, "candidate": u.CandidateID, "component": u.Component, "layer": u.Layer,
		"from_version": u.From, "to_version": u.To, "from_stage": string(from), "to_stage": string(u.Stage),
		"risk": u.Risk, "created_at": u.CreatedAt.UTC().Format(time.RFC3339Nano)}
	if outcome != "" {
		v["outcome"] = outcome
	}
	if u.Version != "" {
		v["version"] = u.Version
	}
	if u.RolloutID != "" {
		v["rollout"] = u.RolloutID
	}
	if sourceSeq > 0 {
		v["source_seq"] = sourceSeq
	}
	if !u.RollbackUntil.IsZero() {
		v["rollback_until"] = u.RollbackUntil.UTC().Format(time.RFC3339Nano)
	}
	if u.Confirmed {
		v["confirmed"] = true
	}
	if !u.VerifyUntil.IsZero() {
		v["verify_until"] = u.VerifyUntil.UTC().Format(time.RFC3339Nano)
	}
	if u.Verification != "" {
		v["verification"] = u.Verification
	}
	subject := u.ID
	return upfactory.LogEntry{Time: cur.EnteredAt, Actor: cur.Actor, Action: ActionStage, Service: u.Service, Subject: subject,
		Reason: fmt.Sprintf("%s %s → %s: %s → %s: %s", u.Component, u.From, u.To, from, u.Stage, cur.Reason), Values: v}
}

// firstWeight is the weight of the first weight step of svc: the canary's.
func firstWeight(svc *upfactory.Service) int {
	if svc == nil {
		return 0
	}
	for _, s := range svc.Strategy.Steps() {
		if s.Weight != nil {
			return *s.Weight
		}
	}
	return 0
}

func findService(services []*upfactory.Service, name string) *upfactory.Service {
	for _, s := range services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func str(v any) string { s, _ := v.(string); return s }

// Derive moves the line by entries (read after the cursor, in order) and
// then by the facts: new candidates enter intake; notes read lets one
// leave it; a compat run moves it into compat; rollouts move it through
// canary, progressive and verification or end it rolled back; a closed
// rollback window with the delivery confirmed ends it done.
func (l *Line) Derive(entries []upfactory.LogEntry, f Facts) {
	byCand := map[string]*upfactory.Candidate{}
	for _, c := range f.Candidates {
		byCand[c.ID] = c
	}
	for _, e := range entries {
		if e.Action == ActionStage {
			continue
		}
		rid := str(e.Values["rollout"])
		onRollout := func(stages ...upfactory.Stage) []*upfactory.Upgrade {
			var out []*upfactory.Upgrade
			for _, id := range l.order {
				u := l.byID[id]
				if rid != "" && u.RolloutID == rid && slices.Contains(stages, u.Stage) {
					out = append(out, u)
				}
			}
			return out
		}
		switch e.Action {
		case "rollout.start":
			for _, cid := range strings.Split(str(e.Values["candidates"]), ",") {
				if cid == "" {
					continue
				}
				u := l.current(e.Service, cid)
				if u == nil {
					c := byCand[cid]
					if c == nil {
						c = &upfactory.Candidate{ID: cid, Component: e.Service, Current: str(e.Values["stable_version"]), Recommended: e.Subject}
					}
					u = l.create(e.Service, c, e.Time, e.Actor, "named by rollout "+rid, e.Seq)
				}
				u.Version, u.RolloutID = e.Subject, rid
				l.move(u, upfactory.StageCanary, e.Time, e.Actor, fmt.Sprintf("rollout %s of %s %s started", rid, e.Service, e.Subject), "gates open", e.Seq)
			}
		case "step.weight":
			to, _ := number(e.Values["to"])
			if int(to) > firstWeight(findService(f.Services, e.Service)) {
				for _, u := range onRollout(upfactory.StageCanary) {
					l.move(u, upfactory.StageProgressive, e.Time, e.Actor, fmt.Sprintf("canary passed; weight %d%%", int(to)), "canary passed", e.Seq)
				}
			}
		case upfactory.ActionCompleted:
			until, _ := time.Parse(time.RFC3339, str(e.Values["rollback_until"]))
			verifyUntil, _ := time.Parse(time.RFC3339, str(e.Values["verify_until"]))
			for _, u := range onRollout(upfactory.StageCanary, upfactory.StageProgressive) {
				u.RollbackUntil, u.VerifyUntil = until, verifyUntil
				if u.Layer == upfactory.LayerApp && u.Component == e.Service {
					u.Confirmed = true // the service's stable version is its own release now
				}
				l.move(u, upfactory.StageVerification, e.Time, e.Actor, fmt.Sprintf("%s takes all traffic; previous version warm until %s", e.Subject, until.Format(time.RFC3339)), "100%", e.Seq)
			}
		case upfactory.ActionVerificationPassed, upfactory.ActionVerificationFailed:
			outcome := "passed"
			if e.Action == upfactory.ActionVerificationFailed {
				outcome = "regression"
			}
			for _, u := range onRollout(upfactory.StageVerification) {
				u.Verification = outcome
				l.changed[u.ID] = true
			}
		}
		if upfactory.EndsRollout(e.Action) {
			for _, u := range onRollout(upfactory.StageCanary, upfactory.StageProgressive, upfactory.StageVerification) {
				l.move(u, upfactory.StageRolledBack, e.Time, e.Actor, e.Reason, e.Action, e.Seq)
			}
		}
	}
	l.settle(f)
}

// settle applies the facts that hold now, whatever entry brought them.
func (l *Line) settle(f Facts) {
	now := f.Now
	for _, c := range f.Candidates {
		for _, svc := range c.Services {
			if findService(f.Services, svc) == nil {
				continue
			}
			if l.current(svc, c.ID) != nil {
				continue
			}
			last := l.latest(svc, c.ID)
			if last != nil && (last.Stage == upfactory.StageDone || last.Stage == upfactory.StageVerification || last.To == c.Recommended) {
				continue // ended; a new target version starts a new upgrade
			}
			reason := "intake found it"
			if last != nil {
				reason = fmt.Sprintf("intake now recommends %s (the last attempt, %s, ended %s)", c.Recommended, last.ID, last.Stage)
			}
			l.create(svc, c, now, upfactory.ActorSystem, reason, 0)
		}
	}
	byCand := map[string]*upfactory.Candidate{}
	for _, c := range f.Candidates {
		byCand[c.ID] = c
	}
	for _, id := range slices.Clone(l.order) {
		u := l.byID[id]
		c := byCand[u.CandidateID]
		gone := c == nil || !slices.Contains(c.Services, u.Service)
		if f.Resolved != nil && f.Resolved(u.CandidateID) {
			gone = true
		}
		switch u.Stage {
		case upfactory.StageIntake:
			if gone {
				l.move(u, upfactory.StageDone, now, upfactory.ActorSystem, "intake no longer finds it: resolved without a rollout", "resolved", 0)
				continue
			}
			if f.NotesOpen != nil && f.NotesOpen(c, u.Service) {
				u.Risk = c.Risk.Total
				l.move(u, upfactory.StageRisk, now, upfactory.ActorSystem, fmt.Sprintf("release notes read and acknowledged; risk %.0f", c.Risk.Total), "notes gate open", 0)
			}
			fallthrough
		case upfactory.StageRisk:
			if u.Stage != upfactory.StageRisk {
				continue
			}
			if gone {
				l.move(u, upfactory.StageDone, now, upfactory.ActorSystem, "intake no longer finds it: resolved without a rollout", "resolved", 0)
				continue
			}
			if f.CompatRun != nil {
				if run := f.CompatRun(u.CandidateID); run > 0 {
					l.move(u, upfactory.StageCompat, now, upfactory.ActorSystem, fmt.Sprintf("compat run %d", run), "scored", 0)
				}
			}
		case upfactory.StageCompat:
			if gone {
				l.move(u, upfactory.StageDone, now, upfactory.ActorSystem, "intake no longer finds it: resolved without a rollout", "resolved", 0)
			}
		case upfactory.StageVerification:
			if gone && !u.Confirmed {
				u.Confirmed = true
				l.changed[u.ID] = true
			}
			if !u.Confirmed {
				continue
			}
			closed := !u.RollbackUntil.IsZero() && !now.Before(u.RollbackUntil)
			switch {
			case u.Verification == "passed":
				l.move(u, upfactory.StageDone, now, upfactory.ActorSystem, "delivery confirmed and post-release verification passed", "verified", 0)
			case u.Verification == "regression" && closed:
				l.move(u, upfactory.StageDone, now, upfactory.ActorSystem, "delivered, but post-release verification saw a regression (see its incident)", "regression", 0)
			case u.VerifyUntil.IsZero() && closed:
				l.move(u, upfactory.StageDone, now, upfactory.ActorSystem, "delivery confirmed and the rollback window closed", "verified", 0)
			}
		}
	}
}

// Dismiss takes u off the line, by a named person with a reason.
func (l *Line) Dismiss(id, by, reason string, at time.Time) (*upfactory.Upgrade, error) {
	u := l.byID[id]
	switch {
	case u == nil:
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "no upgrade %s (upfactory board lists them)", id)
	case u.Stage.Final():
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "upgrade %s has left the line already (%s)", id, u.Stage)
	case u.Stage == upfactory.StageCanary || u.Stage == upfactory.StageProgressive:
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "upgrade %s is being rolled out (%s): abort or roll back the rollout of %s instead", id, u.Stage, u.Service)
	case by == "" || reason == "":
		return nil, upfactory.Errorf(upfactory.EINVALID, "dismissing an upgrade needs a name (--as) and a reason (--reason)")
	}
	l.move(u, upfactory.StageDismissed, at, by, reason, "dismissed", 0)
	return u, nil
}

// Rebuild folds the "upgrade.stage" entries of a log, in order, into the
// upgrades they describe.
func Rebuild(entries []upfactory.LogEntry) []*upfactory.Upgrade {
	l := New(nil)
	for _, e := range entries {
		if e.Action != ActionStage {
			continue
		}
		v := e.Values
		id := str(v["upgrade"])
		u := l.byID[id]
		if u == nil {
			created, _ := time.Parse(time.RFC3339Nano, str(v["created_at"]))
			u = &upfactory.Upgrade{ID: id, Service: e.Service, CreatedAt: created, Stages: []upfactory.StageRecord{}}
			l.byID[id] = u
			l.order = append(l.order, id)
		}
		u.CandidateID, u.Component, u.Layer = str(v["candidate"]), str(v["component"]), str(v["layer"])
		u.From, u.To, u.Version, u.RolloutID = str(v["from_version"]), str(v["to_version"]), str(v["version"]), str(v["rollout"])
		u.Risk, _ = number(v["risk"])
		u.Confirmed, _ = v["confirmed"].(bool)
		u.RollbackUntil, _ = time.Parse(time.RFC3339Nano, str(v["rollback_until"]))
		u.VerifyUntil, _ = time.Parse(time.RFC3339Nano, str(v["verify_until"]))
		u.Verification = str(v["verification"])
		if cur := u.Current(); cur != nil {
			cur.LeftAt, cur.Outcome = e.Time, str(v["outcome"])
		}
		seq, _ := number(v["source_seq"])
		_, reason, _ := strings.Cut(e.Reason, ": "+str(v["from_stage"])+" → "+str(v["to_stage"])+": ")
		u.Stages = append(u.Stages, upfactory.StageRecord{Stage: upfactory.Stage(str(v["to_stage"])), EnteredAt: e.Time, Actor: e.Actor, Reason: reason, Seq: int64(seq)})
		u.Stage, u.UpdatedAt = upfactory.Stage(str(v["to_stage"])), e.Time
	}
	return l.Upgrades()
}
