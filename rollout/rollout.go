// Package rollout is the pure state machine of a progressive rollout: given
// a service's state, what was observed and the time, it decides the next
// state and the log entries that record why. The engine does all the I/O.
package rollout

import (
	"fmt"
	"slices"
	"strings"
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
	// Mirror is what mirroring to the canary measured during the current
	// mirror step; nil outside one.
	Mirror *upfactory.MirrorReport
	// Verified is what the new version served since 100%, while
	// post-release verification runs; nil when not measured this tick.
	Verified *upfactory.Figures
	// Hold, when set, says why the canary must not take more traffic now
	// (a freeze began): expansions wait; rollbacks do not.
	Hold string
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
func Start(svc *upfactory.Service, st *upfactory.ServiceState, version, actor string, now time.Time, candidates ...string) ([]upfactory.LogEntry, error) {
	switch {
	case Active(st):
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "a rollout of %s %s is already in progress (phase %s, step %d); abort it or wait for it to finish",
			svc.Name, st.Rollout.CanaryVersion, st.Rollout.Phase, st.Rollout.StepIndex)
	case version == st.StableVersion:
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "version %s is already the stable version of %s", version, svc.Name)
	case len(svc.Strategy.Steps()) == 0:
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
		Candidates:    slices.Clone(candidates),
		Message:       fmt.Sprintf("starting %s instances; waiting for readiness until %s", version, now.Add(timeout).Format(time.TimeOnly)),
	}
	for _, c := range svc.Analysis.Checks {
		r.Checks = append(r.Checks, upfactory.CheckStatus{Name: c.ID(), Metric: c.Metric, Provider: c.Provider, Rule: analysis.Rule(c), Status: upfactory.VerdictPending})
	}
	st.Rollout = r
	values := map[string]any{"stable_version": r.StableVersion, "canary_version": version}
	if len(candidates) > 0 {
		values["candidates"] = strings.Join(candidates, ",")
	}
	entries = append(entries, entry(now, actor, "rollout.start", r, version,
		fmt.Sprintf("rollout of %s from %s to %s started", svc.Name, r.StableVersion, version), values))
	return entries, nil
}

// Tick advances the rollout of st by what obs says and by the passing of time.
func Tick(svc *upfactory.Service, st *upfactory.ServiceState, obs Observation) []upfactory.LogEntry {
	if Verifying(st) {
		return verify(svc, st, obs)
	}
	r := st.Rollout
	if r == nil || r.Phase.Done() {
		return nil
	}
	m := &machine{svc: svc, st: st, r: r, obs: obs, now: obs.Now}
	if m.awaitReady() && m.judge() && r.Phase == upfactory.PhaseProgressing {
		m.walk()
	}
	return m.entries
}

// machine is one tick of one rollout: what it decides, and the entries
// that record why.
type machine struct {
	svc     *upfactory.Service
	st      *upfactory.ServiceState
	r       *upfactory.Rollout
	obs     Observation
	now     time.Time
	entries []upfactory.LogEntry
}

func (m *machine) log(actor, action, subject, reason string, values map[string]any) {
	m.entries = append(m.entries, entry(m.now, actor, action, m.r, subject, reason, values))
}

// awaitReady fails the rollout whose canary cannot become ready, and
// reports whether the canary is ready.
func (m *machine) awaitReady() bool {
	r, obs, now := m.r, m.obs, m.now
	if r.CanaryReady {
		return true
	}
	switch {
	case obs.CanaryFailed != "":
		fail(r, now, "canary "+r.CanaryVersion+" cannot become ready: "+obs.CanaryFailed)
		m.log(upfactory.ActorSystem, upfactory.ActionFailed, r.CanaryVersion, r.Message, nil)
		return false
	case !now.Before(r.ReadyDeadline):
		fail(r, now, fmt.Sprintf("canary %s did not become ready by the readiness deadline %s", r.CanaryVersion, r.ReadyDeadline.Format(time.RFC3339)))
		m.log(upfactory.ActorSystem, upfactory.ActionFailed, r.CanaryVersion, r.Message, nil)
		return false
	case !obs.CanaryReady:
		return false
	}
	r.CanaryReady = true
	r.StepStartedAt = now
	r.Message = "canary " + r.CanaryVersion + " is ready"
	m.log(upfactory.ActorSystem, "canary.ready", r.CanaryVersion, r.Message, nil)
	return true
}

// judge folds the new measurements into the checks: a failed check, or a
// failed score at an analysis step, rolls back at once whatever the step;
// checks that cannot be measured too often pause. It reports whether the
// rollout goes on.
func (m *machine) judge() bool {
	svc, r, now := m.svc, m.r, m.now
	interval := svc.Analysis.Interval.D()
	for i, ms := range m.obs.Measurements {
		if i < len(r.Checks) && i < len(svc.Analysis.Checks) && ms.Verdict != upfactory.VerdictPending {
			analysis.Update(&r.Checks[i], svc.Analysis.Checks[i], ms, interval)
		}
	}
	if i, failed := firstFailed(svc, r); failed {
		c := r.Checks[i]
		values := measurementValues(svc, i, c)
		rollBack(svc, r, now, fmt.Sprintf("check %s failed: %s", c.Rule, c.Reason))
		m.log(upfactory.ActorSystem, upfactory.ActionRollbackAutomatic, r.CanaryVersion, r.Message, values)
		return false
	}
	if step := currentStep(svc, r); step != nil && step.Analysis != nil && r.Phase == upfactory.PhaseProgressing {
		if sc, ok := analysis.Score(svc, r.Checks, r.StepStartedAt, now); ok && len(m.obs.Measurements) > 0 {
			r.Score = &sc
			if sc.Verdict == upfactory.VerdictFail {
				rollBack(svc, r, now, fmt.Sprintf("analysis at %d%% failed: %s%s", r.CanaryWeight, sc.Reason, failedNames(svc, r)))
				m.log(upfactory.ActorSystem, upfactory.ActionRollbackAutomatic, r.CanaryVersion, r.Message, checkValues(svc, r))
				return false
			}
		}
	}
	if i, ok := tooManyErrors(svc, r); ok && (r.Phase == upfactory.PhaseProgressing || r.Phase == upfactory.PhaseAwaitingApproval) {
		c := r.Checks[i]
		r.PausedFrom, r.Phase = r.Phase, upfactory.PhasePaused
		r.Message = fmt.Sprintf("paused, not rolled back: check %s could not be measured %d times in a row: %s; resume once it can", c.Name, c.Errors, c.Reason)
		m.log(upfactory.ActorSystem, "analysis.errors", r.CanaryVersion, r.Message, measurementValues(svc, i, c))
		return false
	}
	return true
}

// stepKinds carries out one kind of step: it reports whether the step is
// done (the rollout moves to the next one this tick) or holds it.
var stepKinds = map[string]func(m *machine, s upfactory.Step) bool{
	"weight":   (*machine).weight,
	"analysis": (*machine).analysis,
	"mirror":   (*machine).mirror,
	"approval": (*machine).approval,
	"pause":    (*machine).pause,
	"flag":     (*machine).flag,
}

// flag sets a feature flag's percent, unless a breaching check or a hold
// blocks a rise, as for a weight.
func (m *machine) flag(s upfactory.Step) bool {
	r, f := m.r, s.Flag
	from := r.Flags[f.Name]
	if f.Percent > from {
		if m.obs.Hold != "" {
			r.Message = fmt.Sprintf("flag %s held at %d%%: %s", f.Name, from, m.obs.Hold)
			return false
		}
		if i, blocked := firstBreaching(m.svc, r); blocked {
			r.Message = fmt.Sprintf("flag %s to %d%% blocked: check %s is breaching: %s", f.Name, f.Percent, r.Checks[i].Rule, r.Checks[i].Reason)
			return false
		}
	}
	if r.Flags == nil {
		r.Flags = map[string]int{}
	}
	r.Flags[f.Name] = f.Percent
	r.Message = fmt.Sprintf("flag %s %d%% -> %d%%", f.Name, from, f.Percent)
	m.log(upfactory.ActorSystem, "step.flag", r.CanaryVersion, r.Message, map[string]any{"flag": f.Name, "from": from, "to": f.Percent})
	return true
}

// walk carries out the steps from the current one until one holds, or
// completes the rollout after the last.
func (m *machine) walk() {
	r := m.r
	steps := m.svc.Strategy.Steps()
	for guard := 0; guard <= len(steps); guard++ {
		if r.StepIndex >= len(steps) {
			m.complete()
			return
		}
		do := stepKinds[steps[r.StepIndex].Kind()]
		if do == nil || !do(m, steps[r.StepIndex]) {
			return
		}
		advance(r, m.now)
	}
}

// complete makes the canary the stable version, keeps the previous one
// warm for the rollback window, and begins verification.
func (m *machine) complete() {
	r, st := m.r, m.st
	complete(m.svc, st, m.now)
	values := map[string]any{"previous_version": st.PreviousVersion, "rollback_until": st.PreviousUntil.Format(time.RFC3339)}
	if v := r.Verification; v != nil {
		values["verify_until"] = v.Until.Format(time.RFC3339)
	}
	m.log(upfactory.ActorSystem, upfactory.ActionCompleted, r.CanaryVersion, r.Message, values)
}

// weight moves the canary's share, unless a check that breaches blocks
// an expansion.
func (m *machine) weight(s upfactory.Step) bool {
	r := m.r
	if *s.Weight > r.CanaryWeight && m.obs.Hold != "" {
		r.Message = fmt.Sprintf("held at %d%%: %s", r.CanaryWeight, m.obs.Hold)
		if r.HeldBy != m.obs.Hold {
			r.HeldBy = m.obs.Hold
			m.log(upfactory.ActorSystem, "rollout.held", r.CanaryVersion, r.Message, map[string]any{"next_weight": *s.Weight})
		}
		return false
	}
	if m.svc.Strategy.Rolling != nil && r.CanaryWeight > 0 && !m.obs.CanaryReady {
		r.Message = fmt.Sprintf("batch at %d%%: waiting for the new instances to be ready before the next", r.CanaryWeight)
		return false
	}
	if *s.Weight == 100 && r.CanaryWeight < 100 && m.svc.Strategy.BlueGreen != nil && !m.obs.CanaryReady {
		r.Message = "promotion waits: not every instance of " + r.CanaryVersion + " is ready; all traffic moves at once, so all of them must be"
		return false
	}
	if r.HeldBy != "" {
		m.log(upfactory.ActorSystem, "rollout.unheld", r.CanaryVersion, fmt.Sprintf("no longer held (%s): the rollout goes on", r.HeldBy), nil)
		r.HeldBy = ""
	}
	if *s.Weight > r.CanaryWeight {
		if i, blocked := firstBreaching(m.svc, r); blocked {
			r.Message = fmt.Sprintf("expansion to %d%% blocked: check %s is breaching: %s", *s.Weight, r.Checks[i].Rule, r.Checks[i].Reason)
			return false
		}
	}
	from := r.CanaryWeight
	r.CanaryWeight = *s.Weight
	r.Message = fmt.Sprintf("canary weight %d%% -> %d%%", from, r.CanaryWeight)
	m.log(upfactory.ActorSystem, "step.weight", r.CanaryVersion, r.Message, map[string]any{"from": from, "to": r.CanaryWeight})
	return true
}

// analysis holds for its duration, then passes when every check proved
// itself and the score passed; thin data waits up to one more duration,
// then pauses as inconclusive; a marginal score pauses.
func (m *machine) analysis(s upfactory.Step) bool {
	svc, r, now := m.svc, m.r, m.now
	d := s.Analysis.Duration.D()
	if now.Sub(r.StepStartedAt) < d {
		r.Message = fmt.Sprintf("analysis at %d%%: %s left", r.CanaryWeight, (d - now.Sub(r.StepStartedAt)).Round(time.Second))
		if r.Score != nil && !r.Score.At.Before(r.StepStartedAt) {
			r.Message += fmt.Sprintf("; score %.0f so far", r.Score.Score)
		}
		return false
	}
	i, ok := firstUnproven(svc, r, d)
	if !ok {
		c := r.Checks[i]
		reason := c.Reason
		if reason == "" {
			reason = "no measurement passed during the analysis"
		}
		if c.Status == upfactory.VerdictInconclusive && !svc.Analysis.Checks[i].Judged() {
			// Still breaching but not for long enough: hold the step
			// until the check either recovers or fails.
			r.Message = fmt.Sprintf("analysis held: check %s is breaching: %s", c.Rule, reason)
			return false
		}
		if now.Sub(r.StepStartedAt) < 2*d {
			// Thin traffic: give the check up to one more duration
			// to gather enough data before calling it inconclusive.
			r.Message = fmt.Sprintf("analysis at %d%% waiting for data: check %s: %s", r.CanaryWeight, c.Rule, reason)
			return false
		}
		r.PausedFrom, r.Phase = upfactory.PhaseProgressing, upfactory.PhasePaused
		r.Message = fmt.Sprintf("analysis inconclusive: check %s: %s; resume to analyse again, or promote", c.Rule, reason)
		m.log(upfactory.ActorSystem, "analysis.inconclusive", r.CanaryVersion, r.Message, measurementValues(svc, i, c))
		return false
	}
	if sc := r.Score; sc != nil && sc.Verdict != upfactory.VerdictPass {
		r.PausedFrom, r.Phase = upfactory.PhaseProgressing, upfactory.PhasePaused
		r.Message = fmt.Sprintf("analysis at %d%% marginal: %s; resume to analyse again, promote, or roll back", r.CanaryWeight, sc.Reason)
		m.log(upfactory.ActorSystem, "analysis.inconclusive", r.CanaryVersion, r.Message, checkValues(svc, r))
		return false
	}
	r.Message = fmt.Sprintf("analysis at %d%% passed", r.CanaryWeight)
	if r.Score != nil {
		r.Message += fmt.Sprintf(": %s", r.Score.Reason)
	}
	m.log(upfactory.ActorSystem, "analysis.passed", r.CanaryVersion, r.Message, checkValues(svc, r))
	return true
}

// mirror compares copies of users' requests answered by the canary with
// the users' answers for its duration: too many mismatches roll back.
func (m *machine) mirror(s upfactory.Step) bool {
	svc, r, now := m.svc, m.r, m.now
	if m.obs.Mirror != nil {
		rep := *m.obs.Mirror
		r.Mirror = &rep
	}
	d := s.Mirror.Duration.D()
	rep := r.Mirror
	compared, rate := int64(0), 0.0
	if rep != nil && rep.Compared > 0 {
		compared, rate = rep.Compared, float64(rep.Mismatches)/float64(rep.Compared)
	}
	enough := compared >= int64(max(s.Mirror.MinCompared, 1))
	summary := fmt.Sprintf("%d copies compared, %.2f%% mismatched (max %s)", compared, 100*rate, s.Mirror.MaxMismatch)
	if enough && rate > s.Mirror.MismatchLimit {
		rollBack(svc, r, now, fmt.Sprintf("mirror: the canary's answers differ from the users': %s%s", summary, mirrorTop(rep)))
		m.log(upfactory.ActorSystem, upfactory.ActionRollbackAutomatic, r.CanaryVersion, r.Message, mirrorValues(rep))
		return false
	}
	if left := d - now.Sub(r.StepStartedAt); left > 0 {
		r.Message = fmt.Sprintf("mirroring %s of requests to %s: %s; %s left", s.Mirror.Sample, r.CanaryVersion, summary, left.Round(time.Second))
		return false
	}
	if !enough {
		if now.Sub(r.StepStartedAt) < 2*d {
			r.Message = fmt.Sprintf("mirror waiting for copies: %s, need %d", summary, s.Mirror.MinCompared)
			return false
		}
		r.PausedFrom, r.Phase = upfactory.PhaseProgressing, upfactory.PhasePaused
		r.Message = fmt.Sprintf("mirror inconclusive: %s, need %d; resume to mirror again, or promote", summary, s.Mirror.MinCompared)
		m.log(upfactory.ActorSystem, "mirror.inconclusive", r.CanaryVersion, r.Message, mirrorValues(rep))
		return false
	}
	r.Message = "mirror passed: " + summary
	m.log(upfactory.ActorSystem, "mirror.passed", r.CanaryVersion, r.Message, mirrorValues(rep))
	return true
}

// approval waits for a person of the step's role.
func (m *machine) approval(s upfactory.Step) bool {
	r := m.r
	r.Phase = upfactory.PhaseAwaitingApproval
	r.Message = fmt.Sprintf("waiting for approval by role %s (upfactory rollout approve %s --as NAME)", s.Approval.Role, m.svc.Name)
	m.log(upfactory.ActorSystem, "approval.requested", r.CanaryVersion, r.Message, map[string]any{"role": s.Approval.Role})
	return false
}

// pause holds for its duration, or until a person resumes when it has none.
func (m *machine) pause(s upfactory.Step) bool {
	r := m.r
	if s.Pause.Duration == 0 {
		r.PausedFrom, r.Phase = upfactory.PhaseProgressing, upfactory.PhasePaused
		r.Message = "paused by step: resume or promote to continue"
		m.log(upfactory.ActorSystem, "step.pause", r.CanaryVersion, r.Message, nil)
		return false
	}
	if left := s.Pause.Duration.D() - m.now.Sub(r.StepStartedAt); left > 0 {
		r.Message = fmt.Sprintf("pause at %d%%: %s left", r.CanaryWeight, left.Round(time.Second))
		return false
	}
	return true
}

func advance(r *upfactory.Rollout, now time.Time) {
	r.StepIndex++
	r.StepStartedAt = now
	r.UpdatedAt = now
}

func fail(r *upfactory.Rollout, now time.Time, msg string) {
	r.Phase, r.CanaryWeight, r.Message = upfactory.PhaseFailed, 0, msg
	for name := range r.Flags {
		r.Flags[name] = 0
	}
	r.FinishedAt, r.UpdatedAt = now, now
}

func keepFor(svc *upfactory.Service) time.Duration {
	if d := svc.Strategy.KeepFailedFor().D(); d > 0 {
		return d
	}
	return upfactory.DefaultKeepFailedFor
}

func rollBack(svc *upfactory.Service, r *upfactory.Rollout, now time.Time, msg string) {
	r.Phase, r.CanaryWeight, r.Message = upfactory.PhaseRolledBack, 0, msg
	for name := range r.Flags {
		r.Flags[name] = 0 // every flag the rollout ramped goes off with it
	}
	r.FinishedAt, r.UpdatedAt = now, now
	r.KeepCanaryUntil = now.Add(keepFor(svc))
}

func complete(svc *upfactory.Service, st *upfactory.ServiceState, now time.Time) {
	r := st.Rollout
	window := svc.Strategy.RollbackWindow().D()
	if window <= 0 {
		window = upfactory.DefaultRollbackWindow
	}
	r.Phase, r.CanaryWeight = upfactory.PhaseCompleted, 100
	r.FinishedAt, r.UpdatedAt = now, now
	st.PreviousVersion, st.PreviousUntil = r.StableVersion, now.Add(window)
	st.StableVersion = r.CanaryVersion
	beginVerification(svc, r, now)
	r.Message = fmt.Sprintf("%s is stable; %s stays warm for rollback until %s", r.CanaryVersion, r.StableVersion, st.PreviousUntil.Format(time.TimeOnly))
	if svc.Strategy.Rolling != nil {
		// A rolling update replaced the old instances: none stays warm.
		st.PreviousVersion, st.PreviousUntil = "", time.Time{}
		r.Message = fmt.Sprintf("%s is stable: every instance of %s was replaced", r.CanaryVersion, r.StableVersion)
	}
}

// currentStep is the step the rollout is at, or nil past the last.
func currentStep(svc *upfactory.Service, r *upfactory.Rollout) *upfactory.Step {
	if steps := svc.Strategy.Steps(); r.StepIndex < len(steps) {
		return &steps[r.StepIndex]
	}
	return nil
}

// MirrorStep reports whether the rollout of st is at a mirror step that
// copies traffic now, and the step's settings.
func MirrorStep(svc *upfactory.Service, st *upfactory.ServiceState) (*upfactory.MirrorSpec, bool) {
	r := st.Rollout
	if !Active(st) || r.Phase != upfactory.PhaseProgressing || !r.CanaryReady {
		return nil, false
	}
	if s := currentStep(svc, r); s != nil && s.Mirror != nil {
		return s.Mirror, true
	}
	return nil, false
}

// JudgedLook reports whether check i, a judged check, should look now, and
// which look of how many it would be: only during an analysis step that is
// progressing, and no more than the step's planned looks.
func JudgedLook(svc *upfactory.Service, r *upfactory.Rollout, i int) (index, planned int, alpha float64, ok bool) {
	s := currentStep(svc, r)
	if s == nil || s.Analysis == nil || r.Phase != upfactory.PhaseProgressing || i >= len(r.Checks) {
		return 0, 0, 0, false
	}
	planned, alpha = analysis.Plan(svc, s.Analysis.Duration.D())
	done := 0
	if c := r.Checks[i]; c.LooksFrom.Equal(r.StepStartedAt) {
		done = c.Looks
	}
	if done >= planned {
		return 0, 0, 0, false
	}
	return done + 1, planned, alpha, true
}

// firstFailed returns the first failed check that fails the rollout alone:
// any limit check, and critical judged ones.
func firstFailed(svc *upfactory.Service, r *upfactory.Rollout) (int, bool) {
	for i, c := range r.Checks {
		if c.Status == upfactory.VerdictFail && (i >= len(svc.Analysis.Checks) || !svc.Analysis.Checks[i].Judged() || svc.Analysis.Checks[i].Critical) {
			return i, true
		}
	}
	return 0, false
}

// firstBreaching returns the first limit check that blocks expansion:
// breaching, failed, or not measurable. Judged checks judge analysis steps.
func firstBreaching(svc *upfactory.Service, r *upfactory.Rollout) (int, bool) {
	for i, c := range r.Checks {
		if i < len(svc.Analysis.Checks) && svc.Analysis.Checks[i].Judged() {
			continue
		}
		switch c.Status {
		case upfactory.VerdictInconclusive, upfactory.VerdictFail, upfactory.VerdictError:
			return i, true
		}
	}
	return 0, false
}

// tooManyErrors returns the first check that could not be measured
// svc.Analysis.MaxErrors times in a row.
func tooManyErrors(svc *upfactory.Service, r *upfactory.Rollout) (int, bool) {
	limit := svc.Analysis.MaxErrors
	if limit <= 0 {
		limit = upfactory.DefaultMaxErrors
	}
	for i, c := range r.Checks {
		if c.Errors >= limit {
			return i, true
		}
	}
	return 0, false
}

// firstUnproven returns the first check that has not proven the analysis
// step of duration d: a limit check without a passing measurement taken
// during the step, or whose latest did not pass; a judged check that has
// not had all the step's planned looks.
func firstUnproven(svc *upfactory.Service, r *upfactory.Rollout, d time.Duration) (int, bool) {
	for i, c := range r.Checks {
		if i < len(svc.Analysis.Checks) && svc.Analysis.Checks[i].Judged() {
			planned, _ := analysis.Plan(svc, d)
			if !c.LooksFrom.Equal(r.StepStartedAt) || c.Looks < planned {
				return i, false
			}
			continue
		}
		if c.Status != upfactory.VerdictPass || c.Last == nil || c.Last.At.Before(r.StepStartedAt) {
			return i, false
		}
	}
	return 0, true
}

func measurementValues(svc *upfactory.Service, i int, c upfactory.CheckStatus) map[string]any {
	v := map[string]any{"check": c.Name, "metric": c.Metric, "provider": c.Provider, "rule": c.Rule, "status": string(c.Status)}
	if c.Errors > 0 {
		v["consecutive_errors"] = c.Errors
	}
	if m := c.Last; m != nil {
		v["canary"] = m.Canary
		v["stable"] = m.Baseline
		v["canary_count"] = m.CanaryCount
		v["stable_count"] = m.BaselineCount
		v["window"] = m.Window.String()
		v["canary_text"] = analysis.Format(c.Metric, m.Canary)
		v["stable_text"] = analysis.Format(c.Metric, m.Baseline)
		if j := m.Judgement; j != nil {
			v["look"] = j.Look
			v["planned_looks"] = j.Planned
			v["p_value"] = j.PValue
			v["alpha"] = j.Alpha
			v["shift"] = j.Shift
			v["shift_low"] = j.ShiftLow
			v["shift_high"] = j.ShiftHigh
			v["allowed"] = j.Allowed
			if i < len(svc.Analysis.Checks) {
				v["judgement"] = analysis.Describe(svc.Analysis.Checks[i], *m)
			}
		}
		if m.Reason != "" {
			v["reason"] = m.Reason
		}
	}
	return v
}

func checkValues(svc *upfactory.Service, r *upfactory.Rollout) map[string]any {
	v := map[string]any{}
	for i, c := range r.Checks {
		if c.Last != nil {
			v[c.Name] = measurementValues(svc, i, c)
		}
	}
	if sc := r.Score; sc != nil {
		v["score"] = map[string]any{"score": sc.Score, "verdict": string(sc.Verdict), "reason": sc.Reason}
	}
	return v
}

// failedNames lists the judged checks that failed, for a score's reason.
func failedNames(svc *upfactory.Service, r *upfactory.Rollout) string {
	var names []string
	for i, c := range r.Checks {
		if i < len(svc.Analysis.Checks) && svc.Analysis.Checks[i].Judged() && c.Status == upfactory.VerdictFail {
			names = append(names, c.Name+": "+c.Reason)
		}
	}
	if len(names) == 0 {
		return ""
	}
	return "; failed: " + strings.Join(names, "; ")
}

func mirrorValues(rep *upfactory.MirrorReport) map[string]any {
	if rep == nil {
		return nil
	}
	return map[string]any{"mirrored": rep.Mirrored, "compared": rep.Compared, "mismatches": rep.Mismatches,
		"worse": rep.Worse, "errors": rep.Errors, "dropped": rep.Dropped,
		"primary_p95": rep.PrimaryP95.Human(), "mirror_p95": rep.MirrorP95.Human(), "top": rep.Top}
}

func mirrorTop(rep *upfactory.MirrorReport) string {
	if rep == nil || len(rep.Top) == 0 {
		return ""
	}
	return " (" + strings.Join(rep.Top, ", ") + ")"
}
