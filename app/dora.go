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
	entries, err := a.Store.Log(ctx, upfactory.LogFilter{Service: service})
	if err != nil {
		return nil, err
	}
	ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Service: service, Closed: true})
	if err != nil {
		return nil, err
	}
	ins, err := a.Store.Incidents(ctx, upfactory.IncidentFilter{Service: service})
	if err != nil {
		return nil, err
	}
	cands, err := a.Store.Candidates(ctx, upfactory.CandidateFilter{Resolved: true, Service: service})
	if err != nil {
		return nil, err
	}
	k := dora.Compute(dora.Inputs{From: from, To: to, Service: service, Entries: entries, Upgrades: ups, Incidents: ins, Candidates: cands})
	return &k, nil
}
