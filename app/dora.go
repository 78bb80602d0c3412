package app

import (
	"context"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/dora"
)

// Dora computes DORA's four keys over [from, to), for one service or
// ("" ) the fleet, from the line, the log and the incidents on record.
func (a *App) Dora(ctx context.Context, from, to time.Time, service string) (*dora.Keys, error) {
	if service != "" && a.Config().Service(service) == nil {
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "unknown service %q", service)
	}
	if !from.Before(to) {
		return nil, upfactory.Errorf(upfactory.EINVALID, "the period must end after it starts")
	}
	if err := a.SyncLine(ctx); err != nil {
		return nil, err
	}
	h, err := a.history(ctx, service)
	if err != nil {
		return nil, err
	}
	k := dora.Compute(dora.Inputs{From: from, To: to, Service: service, Entries: h.entries, Upgrades: h.upgrades, Incidents: h.incidents, Candidates: h.candidates})
	return &k, nil
}

// history is what the factory recorded of a service ("" the fleet): the
// log, the upgrades on and off the line, the incidents and the
// candidates, resolved ones included.
type history struct {
	entries    []upfactory.LogEntry
	upgrades   []*upfactory.Upgrade
	incidents  []*upfactory.Incident
	candidates []*upfactory.Candidate
}

func (a *App) history(ctx context.Context, service string) (*history, error) {
	var h history
	var err error
	if h.entries, err = a.Store.Log(ctx, upfactory.LogFilter{Service: service}); err != nil {
		return nil, err
	}
	if h.upgrades, err = a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Service: service, Closed: true}); err != nil {
		return nil, err
	}
	if h.incidents, err = a.Store.Incidents(ctx, upfactory.IncidentFilter{Service: service}); err != nil {
		return nil, err
	}
	if h.candidates, err = a.Store.Candidates(ctx, upfactory.CandidateFilter{Resolved: true, Service: service}); err != nil {
		return nil, err
	}
	return &h, nil
}
