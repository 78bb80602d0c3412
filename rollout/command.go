package rollout

import (
	"fmt"
	"time"

	"github.com/upfactory/upfactory"
)

// Command is something a person asks of a rollout.
type Command struct {
	Action  string // promote, approve, pause, resume, abort, rollback, cleanup
	Actor   string
	Comment string
}

// Commands lists the actions Apply understands.
var Commands = []string{"promote", "approve", "pause", "resume", "abort", "rollback", "cleanup"}

// Apply carries out cmd on st at time now. It changes nothing and returns
// ECONFLICT when the rollout is not in a state where cmd makes sense, with
// a message that says what would.
func Apply(svc *upfactory.Service, st *upfactory.ServiceState, cmd Command, now time.Time) ([]upfactory.LogEntry, error) {
	r := st.Rollout
	if cmd.Actor == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "%s needs the name of the person asking (--as NAME)", cmd.Action)
	}
	if r == nil {
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "service %s has no rollout; start one with: upfactory rollout start %s --version V", svc.Name, svc.Name)
	}
	values := map[string]any{}
	if cmd.Comment != "" {
		values["comment"] = cmd.Comment
	}
	logged := func(action, reason string) []upfactory.LogEntry {
		r.UpdatedAt = now
		return []upfactory.LogEntry{entry(now, cmd.Actor, action, r, r.CanaryVersion, reason, values)}
	}
	steps := svc.Strategy.Steps()
	step := func() string {
		if r.StepIndex < len(steps) {
			return fmt.Sprintf("step %d (%s)", r.StepIndex, steps[r.StepIndex].Kind())
		}
		return "the last step"
	}
	notActive := func() error {
		return upfactory.Errorf(upfactory.ECONFLICT, "the rollout of %s %s is %s; %s applies only to a rollout in progress", svc.Name, r.CanaryVersion, r.Phase, cmd.Action)
	}

	switch cmd.Action {
	case "approve":
		if r.Phase != upfactory.PhaseAwaitingApproval {
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "no approval gate is waiting: the rollout of %s is %s at %s", svc.Name, r.Phase, step())
		}
		role := steps[r.StepIndex].Approval.Role
		r.Approvals = append(r.Approvals, upfactory.Approval{Step: r.StepIndex, Role: role, By: cmd.Actor, Comment: cmd.Comment, At: now})
		values["role"] = role
		r.Phase = upfactory.PhaseProgressing
		r.Message = fmt.Sprintf("approved by %s (%s)", cmd.Actor, role)
		entries := logged("approval.granted", r.Message)
		advance(r, now)
		return entries, nil

	case "promote":
		switch {
		case !Active(st):
			return nil, notActive()
		case r.Phase == upfactory.PhaseAwaitingApproval:
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "%s awaits approval by role %s: use upfactory rollout approve %s --as NAME", step(), steps[r.StepIndex].Approval.Role, svc.Name)
		case !r.CanaryReady:
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "canary %s is not ready yet; promote once it is", r.CanaryVersion)
		}
		skipped := step()
		r.Phase, r.PausedFrom = upfactory.PhaseProgressing, ""
		r.Message = fmt.Sprintf("%s skipped by %s", skipped, cmd.Actor)
		entries := logged("step.promote", r.Message)
		if r.StepIndex < len(steps) && steps[r.StepIndex].Weight != nil {
			// A weight step takes no time: promoting it means applying it.
			r.CanaryWeight = *steps[r.StepIndex].Weight
		}
		advance(r, now)
		return entries, nil

	case "pause":
		switch {
		case !Active(st):
			return nil, notActive()
		case r.Phase == upfactory.PhasePaused:
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "the rollout of %s is already paused", svc.Name)
		}
		r.PausedFrom, r.Phase = r.Phase, upfactory.PhasePaused
		r.Message = fmt.Sprintf("paused by %s at %s", cmd.Actor, step())
		return logged("rollout.pause", r.Message), nil

	case "resume":
		if r.Phase != upfactory.PhasePaused {
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "the rollout of %s is %s, not Paused", svc.Name, r.Phase)
		}
		r.Phase, r.PausedFrom = r.PausedFrom, ""
		if r.Phase == "" {
			r.Phase = upfactory.PhaseProgressing
		}
		for i := range r.Checks {
			r.Checks[i].Errors = 0 // measure afresh: a provider fixed since the pause gets its chance
		}
		r.Message = fmt.Sprintf("resumed by %s at %s", cmd.Actor, step())
		entries := logged("rollout.resume", r.Message)
		if r.Phase == upfactory.PhaseProgressing && r.StepIndex < len(steps) && steps[r.StepIndex].Pause != nil && steps[r.StepIndex].Pause.Duration == 0 {
			advance(r, now) // resuming an open-ended pause step ends it
		} else {
			r.StepStartedAt = now // a step interrupted by a pause runs again in full
		}
		return entries, nil

	case "abort":
		if !Active(st) {
			return nil, notActive()
		}
		r.Phase, r.CanaryWeight = upfactory.PhaseAborted, 0
		for name := range r.Flags {
			r.Flags[name] = 0
		}
		r.FinishedAt = now
		r.KeepCanaryUntil = now.Add(keepFor(svc))
		r.Message = fmt.Sprintf("aborted by %s at %s: all traffic back on %s", cmd.Actor, step(), r.StableVersion)
		return logged("rollout.abort", r.Message), nil

	case "rollback":
		if Active(st) {
			rollBack(svc, r, now, fmt.Sprintf("rolled back by %s at %s: all traffic back on %s", cmd.Actor, step(), r.StableVersion))
			return logged("rollback.manual", r.Message), nil
		}
		if r.Phase != upfactory.PhaseCompleted || st.PreviousVersion != r.StableVersion {
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "nothing to roll back: the last rollout of %s is %s and no previous version is kept warm", svc.Name, r.Phase)
		}
		if !now.Before(st.PreviousUntil) {
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "the rollback window of %s closed at %s; roll forward with a new rollout of %s instead", svc.Name, st.PreviousUntil.Format(time.RFC3339), st.PreviousVersion)
		}
		st.StableVersion, st.PreviousVersion, st.PreviousUntil = r.StableVersion, "", time.Time{}
		rollBack(svc, r, now, fmt.Sprintf("rolled back by %s after completion: all traffic back on %s", cmd.Actor, r.StableVersion))
		return logged("rollback.manual", r.Message), nil

	case "cleanup":
		if Active(st) {
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "the rollout of %s is in progress; abort or roll back before cleanup", svc.Name)
		}
		if r.KeepCanaryUntil.IsZero() || !now.Before(r.KeepCanaryUntil) {
			return nil, upfactory.Errorf(upfactory.ECONFLICT, "no canary instances of %s are kept for inspection", svc.Name)
		}
		r.KeepCanaryUntil = time.Time{}
		r.UpdatedAt = now
		return []upfactory.LogEntry{entry(now, cmd.Actor, "canary.cleanup", r, r.CanaryVersion,
			fmt.Sprintf("instances of %s kept for inspection are stopped", r.CanaryVersion), values)}, nil
	}
	return nil, upfactory.Errorf(upfactory.EINVALID, "unknown rollout action %q", cmd.Action)
}
