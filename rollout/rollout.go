// Package rollout is the pure state machine of a progressive rollout: given
// a service's state, what was observed and the time, it decides the next
// state and the log entries that record why. The engine does all the I/O.
package rollout

import (
	"fmt"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/analysis"
)

// Observation is what the engine saw since the last tick.
type Observation struct {
	Now time.Time
	// CanaryReady: every canary instance passed readiness.
	CanaryReady bool
	// CanaryFailed, when not empty, says why a canary instance will never be ready.
	CanaryFailed string
	// Measurements holds a new measurement per check index, if one was taken.
	Measurements map[int]upfactory.Measurement
}

// InitialState is the state of a service upfactory has never seen.
func InitialState(svc *upfactory.Service) *upfactory.ServiceState {
	return &upfactory.ServiceState{Service: svc.Name, StableVersion: svc.StableVersion}
}

// Active reports whether st has a rollout that is not finished.
func Active(st *upfactory.ServiceState) bool {
	return st.Rollout != nil && !st.Rollout.Phase.Done()
}

func entry(now time.Time, actor, action string, r *upfactory.Rollout, subject, reason string, values map[string]any) upfactory.LogEntry {
	e := upfactory.LogEntry{Time: now, Actor: actor, Action: action, Subject: subject, Reason: reason, Values: values}
	if r != nil {
		e.Service = r.Service
		if e.Values == nil {
			e.Values = map[string]any{}
		}
		e.Values["rollout"] = r.ID
		e.Values["step_index"] = r.StepIndex
		e.Values["canary_weight"] = r.CanaryWeight
	}
	return e
}

// Start begins a rollout of version. It refuses a second rollout while one
// runs and a version that is already stable.
func Start(svc *upfactory.Service, st *upfactory.ServiceState, version, actor string, now time.Time) ([]upfactory.LogEntry, error) {
	switch {
	case Active(st):
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "a rollout of %s %s is already in progress (phase %s, step %d); abort it or wait for it to finish",
			svc.Name, st.Rollout.CanaryVersion, st.Rollout.Phase, st.Rollout.StepIndex)
	case version == st.StableVersion:
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "version %s is already the stable version of %s", version, svc.Name)
	case svc.Strategy.Canary == nil || len(svc.Strategy.Canary.Steps) == 0:
		return nil, upfactory.Errorf(upfactory.EINVALID, "service %s has no canary steps", svc.Name)
	}
	if actor == "" {
		actor = "anonymous"
	}
	var entries []upfactory.LogEntry
	if st.PreviousVersion != "" {
		entries = append(entries, entry(now, upfactory.ActorSystem, "previous.release", nil, st.PreviousVersion,
			"a new rollout starts: the previous version no longer stays warm for rollback", nil))
		entries[0].Service = svc.Name
		st.PreviousVersion, st.PreviousUntil = "", time.Time{}
	}
	timeout := svc.Target.Readiness.Timeout.D()
	if timeout <= 0 {
		timeout = upfactory.DefaultReadyTimeout
	}
	r := &upfactory.Rollout{
		ID:            fmt.Sprintf("%s-%s-%d", svc.Name, version, now.Unix()),
		Service:       svc.Name,
		StableVersion: st.StableVersion,
		CanaryVersion: version,
		Phase:         upfactory.PhaseProgressing,
		StartedBy:     actor,
		StartedAt:     now,
		StepStartedAt: now,
		UpdatedAt:     now,
		ReadyDeadline: now.Add(timeout),
		Message:       fmt.Sprintf("starting %s instances; waiting for readiness until %s", version, now.Add(timeout).Format(time.TimeOnly)),
	}
	for _, c := range svc.Analysis.Checks {
		r.Checks = append(r.Checks, upfactory.CheckStatus{Metric: c.Metric, Rule: analysis.Rule(c), Status: upfactory.VerdictPending})
	}
	st.Rollout = r
	entries = append(entries, entry(now, actor, "rollout.start", r, version,
		fmt.Sprintf("rollout of %s from %s to %s started", svc.Name, r.StableVersion, version),
		map[string]any{"stable_version": r.StableVersion, "canary_version": version}))
	return entries, nil
}

// Tick advances the rollout of st by what obs says and by the passing of time.
func Tick(svc *upfactory.Service, st *upfactory.ServiceState, obs Observation) []upfactory.LogEntry {
	r, now := st.Rollout, obs.Now
	if r == nil || r.Phase.Done() {
		return nil
	}
	var entries []upfactory.LogEntry
	log := func(actor, action, subject, reason string, values map[string]any) {
		entries = append(entries, entry(now, actor, action, r, subject, reason, values))
	}

	if !r.CanaryReady {
		switch {
		case obs.CanaryFailed != "":
			fail(r, now, "canary "+r.CanaryVersion+" cannot become ready: "+obs.CanaryFailed)
			log(upfactory.ActorSystem, "rollout.failed", r.CanaryVersion, r.Message, nil)
			return entries
		case !now.Before(r.ReadyDeadline):
			fail(r, now, fmt.Sprintf("canary %s did not become ready by the readiness deadline %s", r.CanaryVersion, r.ReadyDeadline.Format(time.RFC3339)))
			log(upfactory.ActorSystem, "rollout.failed", r.CanaryVersion, r.Message, nil)
			return entries
		case !obs.CanaryReady:
			return entries
		}
		r.CanaryReady = true
		r.StepStartedAt = now
		r.Message = "canary " + r.CanaryVersion + " is ready"
		log(upfactory.ActorSystem, "canary.ready", r.CanaryVersion, r.Message, nil)
	}

	// Judge every check on its new measurement; a failure rolls back at once,
	// whatever the step.
	interval := svc.Analysis.Interval.D()
	for i, m := range obs.Measurements {
		if i < len(r.Checks) && i < len(svc.Analysis.Checks) {
			analysis.Update(&r.Checks[i], svc.Analysis.Checks[i], m, interval)
		}
	}
	if i, failed := firstFailed(r); failed {
		c := r.Checks[i]
		values := measurementValues(c)
		rollBack(svc, r, now, fmt.Sprintf("check %s failed: %s", c.Rule, c.Reason))
		log(upfactory.ActorSystem, "rollback.automatic", r.CanaryVersion, r.Message, values)
		return entries
	}

	if r.Phase != upfactory.PhaseProgressing {
		return entries
	}
	steps := svc.Strategy.Canary.Steps
	for guard := 0; guard <= len(steps); guard++ {
		if r.StepIndex >= len(steps) {
			complete(svc, st, now)
			log(upfactory.ActorSystem, "rollout.completed", r.CanaryVersion, r.Message,
				map[string]any{"previous_version": st.PreviousVersion, "rollback_until": st.PreviousUntil.Format(time.RFC3339)})
			return entries
		}
		s := steps[r.StepIndex]
		switch {
		case s.Weight != nil:
			if *s.Weight > r.CanaryWeight {
				if i, blocked := firstBreaching(r); blocked {
					r.Message = fmt.Sprintf("expansion to %d%% blocked: check %s is breaching: %s", *s.Weight, r.Checks[i].Rule, r.Checks[i].Reason)
					return entries
				}
			}
			from := r.CanaryWeight
			r.CanaryWeight = *s.Weight
			r.Message = fmt.Sprintf("canary weight %d%% -> %d%%", from, r.CanaryWeight)
			log(upfactory.ActorSystem, "step.weight", r.CanaryVersion, r.Message, map[string]any{"from": from, "to": r.CanaryWeight})
			advance(r, now)
		case s.Analysis != nil:
			if now.Sub(r.StepStartedAt) < s.Analysis.Duration.D() {
				r.Message = fmt.Sprintf("analysis at %d%%: %s left", r.CanaryWeight, (s.Analysis.Duration.D() - now.Sub(r.StepStartedAt)).Round(time.Second))
				return entries
			}
			if i, ok := firstUnproven(r); !ok {
				c := r.Checks[i]
				reason := c.Reason
				if reason == "" {
					reason = "no measurement passed during the analysis"
				}
				if c.Status == upfactory.VerdictInconclusive {
					// Still breaching but not for long enough: hold the step
					// until the check either recovers or fails.
					r.Message = fmt.Sprintf("analysis held: check %s is breaching: %s", c.Rule, reason)
					return entries
				}
				if now.Sub(r.StepStartedAt) < 2*s.Analysis.Duration.D() {
					// Thin traffic: give the check up to one more duration
					// to gather enough requests before calling it inconclusive.
					r.Message = fmt.Sprintf("analysis at %d%% waiting for data: check %s: %s", r.CanaryWeight, c.Rule, reason)
					return entries
				}
				r.PausedFrom, r.Phase = upfactory.PhaseProgressing, upfactory.PhasePaused
				r.Message = fmt.Sprintf("analysis inconclusive: check %s: %s; resume to analyse again, or promote", c.Rule, reason)
				log(upfactory.ActorSystem, "analysis.inconclusive", r.CanaryVersion, r.Message, measurementValues(c))
				return entries
			}
			r.Message = fmt.Sprintf("analysis at %d%% passed", r.CanaryWeight)
			log(upfactory.ActorSystem, "analysis.passed", r.CanaryVersion, r.Message, checkValues(r))
			advance(r, now)
		case s.Approval != nil:
			r.Phase = upfactory.PhaseAwaitingApproval
			r.Message = fmt.Sprintf("waiting for approval by role %s (upfactory rollout approve %s --as NAME)", s.Approval.Role, svc.Name)
			log(upfactory.ActorSystem, "approval.requested", r.CanaryVersion, r.Message, map[string]any{"role": s.Approval.Role})
			return entries
		case s.Pause != nil:
			if s.Pause.Duration == 0 {
				r.PausedFrom, r.Phase = upfactory.PhaseProgressing, upfactory.PhasePaused
				r.Message = "paused by step: resume or promote to continue"
				log(upfactory.ActorSystem, "step.pause", r.CanaryVersion, r.Message, nil)
				return entries
			}
			if left := s.Pause.Duration.D() - now.Sub(r.StepStartedAt); left > 0 {
				r.Message = fmt.Sprintf("pause at %d%%: %s left", r.CanaryWeight, left.Round(time.Second))
				return entries
			}
			advance(r, now)
		}
	}
	return entries
}

func advance(r *upfactory.Rollout, now time.Time) {
	r.StepIndex++
	r.StepStartedAt = now
	r.UpdatedAt = now
}

func fail(r *upfactory.Rollout, now time.Time, msg string) {
	r.Phase, r.CanaryWeight, r.Message = upfactory.PhaseFailed, 0, msg
	r.FinishedAt, r.UpdatedAt = now, now
}

func keepFor(svc *upfactory.Service) time.Duration {
	if d := svc.Strategy.Canary.KeepFailedFor.D(); d > 0 {
		return d
	}
	return upfactory.DefaultKeepFailedFor
}

func rollBack(svc *upfactory.Service, r *upfactory.Rollout, now time.Time, msg string) {
	r.Phase, r.CanaryWeight, r.Message = upfactory.PhaseRolledBack, 0, msg
	r.FinishedAt, r.UpdatedAt = now, now
	r.KeepCanaryUntil = now.Add(keepFor(svc))
}

func complete(svc *upfactory.Service, st *upfactory.ServiceState, now time.Time) {
	r := st.Rollout
	window := svc.Strategy.Canary.RollbackWindow.D()
	if window <= 0 {
		window = upfactory.DefaultRollbackWindow
	}
	r.Phase, r.CanaryWeight = upfactory.PhaseCompleted, 100
	r.FinishedAt, r.UpdatedAt = now, now
	st.PreviousVersion, st.PreviousUntil = r.StableVersion, now.Add(window)
	st.StableVersion = r.CanaryVersion
	r.Message = fmt.Sprintf("%s is stable; %s stays warm for rollback until %s", r.CanaryVersion, r.StableVersion, st.PreviousUntil.Format(time.TimeOnly))
}

func firstFailed(r *upfactory.Rollout) (int, bool) {
	for i, c := range r.Checks {
		if c.Status == upfactory.VerdictFail {
			return i, true
		}
	}
	return 0, false
}

func firstBreaching(r *upfactory.Rollout) (int, bool) {
	for i, c := range r.Checks {
		if c.Status == upfactory.VerdictInconclusive || c.Status == upfactory.VerdictFail {
			return i, true
		}
	}
	return 0, false
}

// firstUnproven returns the first check that has not passed a measurement
// taken during the current step, or whose latest measurement did not pass.
func firstUnproven(r *upfactory.Rollout) (int, bool) {
	for i, c := range r.Checks {
		if c.Status != upfactory.VerdictPass || c.Last == nil || c.Last.At.Before(r.StepStartedAt) {
			return i, false
		}
	}
	return 0, true
}

func measurementValues(c upfactory.CheckStatus) map[string]any {
	v := map[string]any{"metric": c.Metric, "rule": c.Rule, "status": string(c.Status)}
	if m := c.Last; m != nil {
		v["canary"] = m.Canary
		v["stable"] = m.Baseline
		v["canary_requests"] = m.CanaryCount
		v["stable_requests"] = m.BaselineCount
		v["window"] = m.Window.String()
		v["canary_text"] = analysis.Format(c.Metric, m.Canary)
		v["stable_text"] = analysis.Format(c.Metric, m.Baseline)
	}
	return v
}

func checkValues(r *upfactory.Rollout) map[string]any {
	v := map[string]any{}
	for _, c := range r.Checks {
		if c.Last != nil {
			v[c.Rule] = map[string]any{"canary": c.Last.Canary, "stable": c.Last.Baseline, "status": string(c.Status)}
		}
	}
	return v
}
