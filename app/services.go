package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/analysis"
)

// ServiceMap is the service map in one page: who owns what, what it
// promises, what runs, what depends on what, and how it fails.
type ServiceMap struct {
	Services []ServiceEntry `json:"services"`
}

// Versions are the versions a delivered service runs.
type Versions struct {
	Stable   string `json:"stable,omitempty"`
	Canary   string `json:"canary,omitempty"`
	Previous string `json:"previous,omitempty"`
}

// ServiceEntry is one service of the map.
type ServiceEntry struct {
	Name          string   `json:"name"`
	Owner         string   `json:"owner"`
	OnCall        string   `json:"on_call"`
	Comms         string   `json:"comms"`
	Tier          int      `json:"tier"`
	SLOs          []string `json:"slos"`
	Delivered     bool     `json:"delivered"`
	Versions      Versions `json:"versions"`
	CriticalPaths []string `json:"critical_paths"`
	DependsOn     []string `json:"depends_on"`
	Dependents    []string `json:"dependents"`
	Stateful      []string `json:"stateful"`
	FailureModes  []string `json:"failure_modes"`
	// Problems are gaps a preflight or the map's readers will trip on.
	Problems []string `json:"problems"`
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ServiceMap builds the map from the config and the stored versions.
func (a *App) ServiceMap(ctx context.Context) (*ServiceMap, error) {
	cfg := a.Config()
	m := &ServiceMap{Services: []ServiceEntry{}}
	for _, svc := range cfg.Services {
		e := ServiceEntry{Name: svc.Name, Owner: svc.Owner, OnCall: svc.OnCall, Comms: svc.Comms, Tier: svc.Tier, Delivered: svc.Delivered(),
			SLOs: []string{}, CriticalPaths: orEmpty(svc.CriticalPaths), DependsOn: orEmpty(svc.DependsOn), Dependents: []string{},
			Stateful: orEmpty(svc.Stateful), FailureModes: orEmpty(svc.FailureModes[:min(3, len(svc.FailureModes))]), Problems: []string{}}
		for _, c := range svc.Analysis.Checks {
			e.SLOs = append(e.SLOs, analysis.Rule(c))
		}
		for _, other := range cfg.Services {
			if slices.Contains(other.DependsOn, svc.Name) {
				e.Dependents = append(e.Dependents, other.Name)
			}
		}
		for _, d := range svc.DependsOn {
			if cfg.Service(d) == nil {
				e.Problems = append(e.Problems, fmt.Sprintf("depends_on names %s, which is not in the config", d))
			}
		}
		if e.Delivered {
			st, err := a.Store.State(ctx, svc.Name)
			switch {
			case upfactory.ErrorCode(err) == upfactory.ENOTFOUND:
				e.Versions.Stable = svc.StableVersion
			case err != nil:
				return nil, err
			default:
				e.Versions = Versions{Stable: st.StableVersion, Previous: st.PreviousVersion}
				if st.Rollout != nil && !st.Rollout.Phase.Done() {
					e.Versions.Canary = st.Rollout.CanaryVersion
				}
			}
		}
		if svc.Owner == "" {
			e.Problems = append(e.Problems, "no owner")
		}
		if svc.OnCall == "" {
			e.Problems = append(e.Problems, "no one on call (on_call)")
		}
		if svc.Tier == 1 && len(svc.FailureModes) < 3 {
			e.Problems = append(e.Problems, fmt.Sprintf("tier 1 needs its top three failure modes (has %d): preflight is NO-GO until it names them", len(svc.FailureModes)))
		}
		m.Services = append(m.Services, e)
	}
	return m, nil
}
