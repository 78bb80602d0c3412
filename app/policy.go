package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/policy"
)

// WindowCheck is the outcome of checking one window's plan.
type WindowCheck struct {
	Window     string             `json:"window"`
	Opens      time.Time          `json:"opens"`
	Closes     time.Time          `json:"closes"`
	Manual     bool               `json:"manual"`
	Candidates []string           `json:"candidates"`
	Missing    []string           `json:"missing,omitempty"`
	Violations []policy.Violation `json:"violations"`
}

// PolicyReport is the outcome of `policy check`.
type PolicyReport struct {
	OK      bool               `json:"ok"`
	Windows []WindowCheck      `json:"windows"`
	Frozen  []upfactory.Freeze `json:"frozen_now"`
	Blocked []policy.Violation `json:"blocking"`
}

// CheckPolicies evaluates the plans of the windows (all, or the one named).
func (a *App) CheckPolicies(ctx context.Context, only string, now time.Time) (*PolicyReport, error) {
	cfg, db := a.Config(), a.Store
	if only != "" && policy.FindWindow(cfg.Policies, only) == nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "no change window %q in the config", only)
	}
	open, err := db.Candidates(ctx, upfactory.CandidateFilter{})
	if err != nil {
		return nil, err
	}
	plans, err := db.Plans(ctx)
	if err != nil {
		return nil, err
	}
	overrides, err := db.Overrides(ctx)
	if err != nil {
		return nil, err
	}
	rep := &PolicyReport{Windows: []WindowCheck{}, Frozen: policy.FrozenAt(cfg.Policies, now), Blocked: []policy.Violation{}}
	for _, w := range cfg.Policies.Windows {
		if only != "" && w.Name != only {
			continue
		}
		var stored *upfactory.WindowPlan
		for i := range plans {
			if plans[i].Window == w.Name {
				stored = &plans[i]
			}
		}
		p, missing, err := policy.BuildPlan(cfg.Policies, w.Name, stored, open, now)
		if err != nil {
			return nil, err
		}
		wc := WindowCheck{Window: w.Name, Opens: p.Opens, Closes: p.Closes, Manual: p.Manual, Candidates: []string{}, Missing: missing,
			Violations: policy.CheckPlan(cfg.Policies, p, overrides)}
		if wc.Violations == nil {
			wc.Violations = []policy.Violation{}
		}
		for _, c := range p.Candidates {
			wc.Candidates = append(wc.Candidates, c.ID)
		}
		rep.Blocked = append(rep.Blocked, policy.Blocking(wc.Violations)...)
		rep.Windows = append(rep.Windows, wc)
	}
	rep.OK = len(rep.Blocked) == 0
	return rep, nil
}

// overridable refuses an override of an ID that names no violation found
// now nor a freeze of the config, listing those that do: a typo must not
// be logged as an approval. It returns the service the ID is about, if any.
func (a *App) overridable(ctx context.Context, id string, now time.Time) (service string, err error) {
	if service, isGate, err := a.gateOverridable(ctx, id); isGate || err != nil {
		return service, err
	}
	cfg := a.Config()
	rep, err := a.CheckPolicies(ctx, "", now)
	if err != nil {
		return "", err
	}
	var current []policy.Violation
	for _, w := range rep.Windows {
		current = append(current, w.Violations...)
	}
	var services []string
	for _, svc := range cfg.Services {
		if svc.Delivered() {
			services = append(services, svc.Name)
		}
	}
	ids := policy.OverridableIDs(cfg.Policies, services, current)
	if !slices.Contains(ids, id) {
		if len(ids) == 0 {
			return "", upfactory.Errorf(upfactory.EINVALID, "no gate or violation %q: policy check finds no violation now and the config has no freeze; %s", id, describeIDs(a.closedGateIDs(ctx)))
		}
		return "", upfactory.Errorf(upfactory.EINVALID, "no gate or violation %q; the policy IDs that can be overridden now are:\n  %s\n%s", id, strings.Join(ids, "\n  "), describeIDs(a.closedGateIDs(ctx)))
	}
	for _, svc := range services {
		for _, f := range cfg.Policies.Freezes {
			if id == policy.RolloutFreezeID(svc, f.Name) {
				return svc, nil
			}
		}
	}
	return "", nil
}

// Override lets the violation id pass, as approver by with reason; it
// refuses an ID that names nothing that can be overridden now.
func (a *App) Override(ctx context.Context, id, by, reason string) (*upfactory.PolicyOverride, error) {
	by, err := a.Authorize(ctx, upfactory.RoleAdmin, "policy override", "", by)
	if err != nil {
		return nil, err
	}
	now := a.now()
	service, err := a.overridable(ctx, id, now)
	if err != nil {
		return nil, err
	}
	o := upfactory.PolicyOverride{ID: id, By: by, Reason: reason, At: now}
	entry := upfactory.LogEntry{Time: o.At, Actor: by, Action: "policy.override", Service: service, Subject: o.ID, Reason: reason}
	if err := a.Store.AddOverride(ctx, o, entry); err != nil {
		return nil, err
	}
	return &o, nil
}
