package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/rollout"
)

// StartRollout begins a rollout of version on service, on behalf of
// actor, delivering candidates.
func (e *Engine) StartRollout(ctx context.Context, name, version, actor string, candidates ...string) (*Status, error) {
	s, err := e.service(name)
	if err != nil {
		return nil, err
	}
	if e.opts.ValidVersion != nil {
		if err := e.opts.ValidVersion(version); err != nil {
			return nil, upfactory.Errorf(upfactory.EINVALID, "version %q: %v", version, err)
		}
	}
	if vc, ok := s.Target.(upfactory.VersionChecker); ok {
		if err := vc.CheckVersion(ctx, version); err != nil {
			return nil, err
		}
	}
	if err := e.flush(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := clone(s.st)
	now := e.opts.Now()
	entries, err := rollout.Start(s.Service, next, version, actor, now, candidates...)
	if err != nil {
		return nil, err
	}
	// The baseline: what the stable version served before the rollout,
	// over as much of the verification window as the router keeps.
	window := s.Service.Verification.Window.D()
	if window <= 0 {
		window = upfactory.DefaultVerificationWindow
	}
	next.Rollout.Baseline = e.figures(s, next.StableVersion, now.Add(-window), now)
	rollout.RecordBaseline(entries, next.Rollout.Baseline)
	delete(s.startErr, version)
	if err := e.commit(ctx, s, next, entries); err != nil {
		return nil, err
	}
	if err := e.reconcile(ctx, s); err != nil {
		return nil, err
	}
	return e.status(ctx, s), nil
}

// Do carries out a person's command on the rollout of service.
func (e *Engine) Do(ctx context.Context, name string, cmd rollout.Command) (*Status, error) {
	s, err := e.service(name)
	if err != nil {
		return nil, err
	}
	if err := e.flush(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := clone(s.st)
	entries, err := rollout.Apply(s.Service, next, cmd, e.opts.Now())
	if err != nil {
		return nil, err
	}
	if err := e.commit(ctx, s, next, entries); err != nil {
		return nil, err
	}
	// Weights change now, not at the next tick: a rollback takes effect
	// within the call.
	if err := e.reconcile(ctx, s); err != nil {
		return nil, err
	}
	return e.status(ctx, s), nil
}

// Status describes the service's rollout and versions as they are now.
func (e *Engine) Status(ctx context.Context, name string) (*Status, error) {
	s, err := e.service(name)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return e.status(ctx, s), nil
}

// Status is what `rollout status` shows. The first fields are the JSON
// contract for scripts.
type Status struct {
	Service         string                  `json:"service"`
	Phase           upfactory.Phase         `json:"phase"`
	StepIndex       int                     `json:"step_index"`
	CanaryWeight    int                     `json:"canary_weight"`
	StableVersion   string                  `json:"stable_version"`
	CanaryVersion   string                  `json:"canary_version"`
	Message         string                  `json:"message"`
	Health          upfactory.Health        `json:"health"`
	RolloutID       string                  `json:"rollout_id,omitempty"`
	StartedBy       string                  `json:"started_by,omitempty"`
	Candidates      []string                `json:"candidates,omitempty"`
	Steps           []string                `json:"steps"`
	StartedAt       time.Time               `json:"started_at,omitzero"`
	UpdatedAt       time.Time               `json:"updated_at,omitzero"`
	PreviousVersion string                  `json:"previous_version,omitempty"`
	RollbackUntil   time.Time               `json:"rollback_until,omitzero"`
	Gate            *Gate                   `json:"gate,omitempty"`
	Checks          []upfactory.CheckStatus `json:"checks,omitempty"`
	Score           *upfactory.ScoreStatus  `json:"score,omitempty"`
	Mirror          *upfactory.MirrorReport `json:"mirror,omitempty"`
	Approvals       []upfactory.Approval    `json:"approvals,omitempty"`
	Versions        []VersionStatus         `json:"versions"`
	// Baseline is what the stable version served before the rollout;
	// Verification compares the new version with it after 100%.
	Baseline     *upfactory.Figures      `json:"baseline,omitempty"`
	Verification *upfactory.Verification `json:"verification,omitempty"`
}

// Gate is what the rollout waits for from a person.
type Gate struct {
	Kind string `json:"kind"` // approval or pause
	Role string `json:"role,omitempty"`
}

// VersionStatus is one running version with its live traffic.
type VersionStatus struct {
	Version   string               `json:"version"`
	Role      string               `json:"role"` // stable, canary, previous
	Weight    int                  `json:"weight"`
	Traffic   TrafficView          `json:"traffic"`
	Instances []upfactory.Instance `json:"instances"`
}

// TrafficView is a version's traffic over the last StatusWindow.
type TrafficView struct {
	Window       string  `json:"window"`
	Requests     int64   `json:"requests"`
	RequestRate  float64 `json:"request_rate"`
	ErrorRate    float64 `json:"error_rate"`     // 5xx share
	ErrorRate4xx float64 `json:"error_rate_4xx"` // 4xx share
	P95Ms        float64 `json:"p95_ms"`
	P99Ms        float64 `json:"p99_ms"`
}

// StatusWindow is the span the live traffic figures cover.
const StatusWindow = 10 * time.Second

func (e *Engine) status(ctx context.Context, s *service) *Status {
	st, now := s.st, e.opts.Now()
	out := &Status{Service: s.Service.Name, StableVersion: st.StableVersion, Phase: upfactory.PhaseCompleted,
		Message: "no rollout yet: " + st.StableVersion + " takes all traffic"}
	for _, step := range s.Service.Strategy.Steps() {
		out.Steps = append(out.Steps, describeStep(step))
	}
	if st.PreviousVersion != "" {
		out.PreviousVersion, out.RollbackUntil = st.PreviousVersion, st.PreviousUntil
	}
	if r := st.Rollout; r != nil {
		out.Phase, out.StepIndex, out.CanaryWeight = r.Phase, r.StepIndex, r.CanaryWeight
		out.CanaryVersion, out.Message, out.RolloutID = r.CanaryVersion, r.Message, r.ID
		out.Candidates = r.Candidates
		out.StartedAt, out.UpdatedAt, out.StartedBy = r.StartedAt, r.UpdatedAt, r.StartedBy
		out.Checks, out.Approvals, out.Score, out.Mirror = r.Checks, r.Approvals, r.Score, r.Mirror
		out.Baseline, out.Verification = r.Baseline, r.Verification
		if rollout.Verifying(st) {
			out.Message += fmt.Sprintf("; post-release verification against the baseline until %s", r.Verification.Until.Format(time.TimeOnly))
		}
		steps := s.Service.Strategy.Steps()
		if r.StepIndex < len(steps) {
			switch step := steps[r.StepIndex]; {
			case r.Phase == upfactory.PhaseAwaitingApproval && step.Approval != nil:
				out.Gate = &Gate{Kind: "approval", Role: step.Approval.Role}
			case r.Phase == upfactory.PhasePaused:
				out.Gate = &Gate{Kind: "pause"}
			}
		}
	}
	insts, err := s.Target.Instances(ctx)
	if err != nil {
		e.logger.Warn("listing instances for status", "service", s.Service.Name, "err", err)
	}
	d := rollout.DesiredFor(s.Service, st, now)
	out.Health = e.health(s, d, insts)
	if out.Health.State == upfactory.HealthDegraded && (st.Rollout == nil || st.Rollout.Phase.Done()) {
		out.Message = "degraded: " + out.Health.Reason
	}
	weights := map[string]int{}
	for _, p := range s.lastPools {
		weights[p.Version] = p.Weight
	}
	seen := map[string]bool{}
	for _, v := range append(append([]string{}, d.Run...), d.Keep...) {
		if seen[v] {
			continue
		}
		seen[v] = true
		role := "stable"
		switch {
		case st.Rollout != nil && v == st.Rollout.CanaryVersion && v != st.StableVersion:
			role = "canary"
		case v == st.PreviousVersion:
			role = "previous"
		}
		vs := VersionStatus{Version: v, Role: role, Weight: weights[v], Instances: []upfactory.Instance{}}
		for _, in := range insts {
			if in.Version == v && in.State != upfactory.InstanceStopped {
				vs.Instances = append(vs.Instances, in)
			}
		}
		if s.Metrics != nil {
			t := s.Metrics.Stats(v, StatusWindow, now)
			vs.Traffic = TrafficView{Window: StatusWindow.String(), Requests: t.Requests, RequestRate: t.Rate,
				P95Ms: float64(t.P95) / 1e6, P99Ms: float64(t.P99) / 1e6}
			if t.Requests > 0 {
				vs.Traffic.ErrorRate = float64(t.Errors5xx) / float64(t.Requests)
				vs.Traffic.ErrorRate4xx = float64(t.Errors4xx) / float64(t.Requests)
			}
		}
		out.Versions = append(out.Versions, vs)
	}
	return out
}

func describeStep(s upfactory.Step) string {
	switch {
	case s.Weight != nil:
		return fmt.Sprintf("weight %d%%", *s.Weight)
	case s.Analysis != nil:
		return "analysis " + s.Analysis.Duration.String()
	case s.Approval != nil:
		return "approval by " + s.Approval.Role
	case s.Pause != nil && s.Pause.Duration > 0:
		return "pause " + s.Pause.Duration.String()
	case s.Pause != nil:
		return "pause until resumed"
	case s.Mirror != nil:
		return fmt.Sprintf("mirror %s of requests for %s", s.Mirror.Sample, s.Mirror.Duration)
	case s.Flag != nil:
		return fmt.Sprintf("flag %s %d%%", s.Flag.Name, s.Flag.Percent)
	}
	return "?"
}
