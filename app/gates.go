package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/gate"
	"github.com/upfactory/upfactory/intake"
)

// facts is what the gates before a rollout of one version read.
type facts struct {
	svc     *upfactory.Service
	version string
	// app is the service's own release candidate for version; nil when
	// no candidate names it yet.
	app *upfactory.Candidate
	// delivered are the candidates the rollout delivers, app first.
	delivered []*upfactory.Candidate
	runs      map[string]*upfactory.CompatRun
	overrides []upfactory.PolicyOverride
	preflight *upfactory.PreflightResult
	drills    []*upfactory.DrillResult
	planned   []gate.Planned
}

// delivered looks up service svc in the config in force and refuses one
// upfactory does not deliver.
func (a *App) delivered(name string) (*upfactory.Service, error) {
	svc := a.Config().Service(name)
	if svc == nil {
		var names []string
		for _, s := range a.Config().Services {
			names = append(names, s.Name)
		}
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "unknown service %q (known: %s)", name, strings.Join(names, ", "))
	}
	if !svc.Delivered() {
		return nil, upfactory.Errorf(upfactory.EINVALID, "service %s has no target: upfactory takes in its inventory but does not deliver it", name)
	}
	return svc, nil
}

// names reports whether candidate c is svc's own release of version.
func names(c *upfactory.Candidate, svc *upfactory.Service, version string) bool {
	return c.Layer == upfactory.LayerApp && c.Component == svc.Name && c.ResolvedAt == nil &&
		slices.Contains(c.Services, svc.Name) && c.Recommended == version
}

// appCandidate returns the open candidate naming version as svc's own
// release, or nil.
func (a *App) appCandidate(ctx context.Context, svc *upfactory.Service, version string) (*upfactory.Candidate, error) {
	open, err := a.Store.Candidates(ctx, upfactory.CandidateFilter{Service: svc.Name})
	if err != nil {
		return nil, err
	}
	for _, c := range open {
		if names(c, svc, version) {
			return c, nil
		}
	}
	return nil, nil
}

// stable is the service's stable version as stored, else as configured.
func (a *App) stable(ctx context.Context, svc *upfactory.Service) (string, error) {
	st, err := a.Store.State(ctx, svc.Name)
	switch {
	case err == nil && st.StableVersion != "":
		return st.StableVersion, nil
	case err != nil && upfactory.ErrorCode(err) != upfactory.ENOTFOUND:
		return "", err
	}
	return svc.StableVersion, nil
}

// newAppCandidate makes the app-release candidate of version for svc that
// a rollout names and intake had not found. Its ID is the one intake
// gives the service's own component at its stable version, unless that is
// taken by a candidate for another version.
func (a *App) newAppCandidate(ctx context.Context, svc *upfactory.Service, version string, now time.Time) (*upfactory.Candidate, error) {
	stable, err := a.stable(ctx, svc)
	if err != nil {
		return nil, err
	}
	eco := "SemVer"
	for _, rn := range a.Config().Feeds.ReleaseNotes {
		if rn.Component == svc.Name && rn.Ecosystem != "" {
			eco = rn.Ecosystem
		}
	}
	id := intake.CandidateID(eco, svc.Name, stable)
	if _, err := a.Store.Candidate(ctx, id); err == nil {
		id = intake.CandidateID(eco, svc.Name, stable+"\x00"+version)
	} else if upfactory.ErrorCode(err) != upfactory.ENOTFOUND {
		return nil, err
	}
	return &upfactory.Candidate{ID: id, Component: svc.Name, Ecosystem: eco, Layer: upfactory.LayerApp, Current: stable,
		Recommended: version, Latest: version, Services: []string{svc.Name},
		Sources: []string{"rollout start " + svc.Name + " --version " + version}, SourcesTotal: 1,
		Advisories: []upfactory.Advisory{}, Highlights: []upfactory.Highlight{}, FirstSeen: now, LastSeen: now}, nil
}

// candidatesFor resolves the IDs a rollout names: each must exist, be
// open and affect svc.
func (a *App) candidatesFor(ctx context.Context, svc *upfactory.Service, ids []string) ([]*upfactory.Candidate, error) {
	var out []*upfactory.Candidate
	var problems []string
	for _, id := range ids {
		c, err := a.Store.Candidate(ctx, id)
		switch {
		case upfactory.ErrorCode(err) == upfactory.ENOTFOUND:
			problems = append(problems, fmt.Sprintf("no candidate %s (upfactory candidates -c CONFIG lists them)", id))
			continue
		case err != nil:
			return nil, err
		case c.Status == upfactory.CandidateResolved:
			problems = append(problems, fmt.Sprintf("candidate %s (%s %s) is resolved: nothing to deliver", id, c.Component, c.Current))
		case !slices.Contains(c.Services, svc.Name):
			problems = append(problems, fmt.Sprintf("candidate %s (%s %s → %s) does not affect %s; it affects %s", id, c.Component, c.Current, c.Recommended, svc.Name, strings.Join(c.Services, ", ")))
		default:
			out = append(out, c)
		}
	}
	if len(problems) > 0 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "%s", strings.Join(problems, "; "))
	}
	return out, nil
}

// gather reads the facts the gates before a rollout of version of svc
// need; app is its own release candidate (nil if none yet) and delivered
// the other candidates it names.
func (a *App) gather(ctx context.Context, svc *upfactory.Service, version string, app *upfactory.Candidate, delivered []*upfactory.Candidate, now time.Time) (*facts, error) {
	f := &facts{svc: svc, version: version, app: app, runs: map[string]*upfactory.CompatRun{}}
	if app != nil {
		f.delivered = append(f.delivered, app)
	}
	for _, c := range delivered {
		if app == nil || c.ID != app.ID {
			f.delivered = append(f.delivered, c)
		}
	}
	for _, c := range f.delivered {
		runs, err := a.Store.CompatRuns(ctx, c.ID, 1)
		if err != nil {
			return nil, err
		}
		if len(runs) > 0 {
			f.runs[c.ID] = runs[0]
		}
	}
	var err error
	if f.overrides, err = a.Store.Overrides(ctx); err != nil {
		return nil, err
	}
	pre, err := a.Store.Preflights(ctx, svc.Name, version, 1)
	if err != nil {
		return nil, err
	}
	if len(pre) > 0 {
		f.preflight = pre[0]
	}
	if f.drills, err = a.Store.Drills(ctx, svc.Name, 20); err != nil {
		return nil, err
	}
	if len(a.Config().Policies.Windows) > 0 {
		rep, err := a.CheckPolicies(ctx, "", now)
		if err != nil {
			return nil, err
		}
		for _, w := range rep.Windows {
			for _, c := range f.delivered {
				if slices.Contains(w.Candidates, c.ID) {
					f.planned = append(f.planned, gate.Planned{Candidate: c.ID, Window: w.Window, Opens: w.Opens, Closes: w.Closes, Violations: w.Violations})
				}
			}
		}
	}
	return f, nil
}

// canaryGates decides every gate on the way into canary: each delivered
// candidate's notes, then compat, freeze, window, preflight and drill.
func canaryGates(f *facts, pc upfactory.PolicyConfig, now time.Time) []gate.Result {
	var out []gate.Result
	for _, c := range f.delivered {
		out = append(out, gate.NotesGate(f.svc, c, f.overrides))
	}
	out = append(out, gate.CompatGate(f.svc, f.version, f.app, f.delivered, f.runs, f.overrides))
	out = append(out, gate.FreezeGates(f.svc, pc, now, f.overrides)...)
	out = append(out, gate.WindowGates(f.svc, f.version, f.planned, now, f.overrides)...)
	out = append(out, gate.PreflightGate(f.svc, f.version, f.preflight, now, f.overrides))
	out = append(out, gate.DrillGate(f.svc, f.version, f.drills, now, f.overrides))
	return out
}

// refused is the error of a rollout start that gates hold: ECONFLICT,
// listing every closed gate with its reason and the command that opens
// it; Details holds them for programs.
func refused(service, version string, closed []gate.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "rollout of %s %s refused: %d gate(s) closed", service, version, len(closed))
	for _, g := range closed {
		fmt.Fprintf(&b, "\n  %s (%s): %s\n    → %s", g.Gate, g.ID, g.Reason, g.Command)
	}
	return &upfactory.Error{Code: upfactory.ECONFLICT, Message: b.String(), Details: map[string]any{"closed_gates": closed}}
}
