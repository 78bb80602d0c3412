package app

import (
	"context"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/readout"
)

// Readout writes the executive readout of [from, to) from the record.
func (a *App) Readout(ctx context.Context, from, to time.Time) (*readout.Readout, error) {
	k, err := a.Dora(ctx, from, to, "")
	if err != nil {
		return nil, err
	}
	ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true})
	if err != nil {
		return nil, err
	}
	cands, err := a.Store.Candidates(ctx, upfactory.CandidateFilter{Resolved: true})
	if err != nil {
		return nil, err
	}
	ins, err := a.Store.Incidents(ctx, upfactory.IncidentFilter{})
	if err != nil {
		return nil, err
	}
	return readout.Build(readout.Inputs{From: from, To: to, Upgrades: ups, Candidates: cands, Incidents: ins, Keys: *k}), nil
}
