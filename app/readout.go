package app

import (
	"context"
	"slices"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/dora"
	"github.com/upfactory/upfactory/economics"
	"github.com/upfactory/upfactory/readout"
)

// ReadoutRequest says what a readout covers: a period, or one upgrade
// from the moment it entered the line.
type ReadoutRequest struct {
	From, To time.Time
	// Upgrade, when set, keeps to it, its rollout and its incidents; the
	// period then runs from its entry on the line to To.
	Upgrade string
}

// Readout writes the executive readout from the record, priced with the
// config's cost model.
func (a *App) Readout(ctx context.Context, req ReadoutRequest) (*readout.Readout, error) {
	if err := a.SyncLine(ctx); err != nil {
		return nil, err
	}
	ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true})
	if err != nil {
		return nil, err
	}
	service := ""
	var one *upfactory.Upgrade
	if req.Upgrade != "" {
		for _, u := range ups {
			if u.ID == req.Upgrade {
				one = u
			}
		}
		if one == nil {
			return nil, upfactory.Errorf(upfactory.ENOTFOUND, "no upgrade %s (upfactory board --all lists them)", req.Upgrade)
		}
		service, req.From = one.Service, one.CreatedAt
	}
	if !req.From.Before(req.To) {
		return nil, upfactory.Errorf(upfactory.EINVALID, "the period must end after it starts")
	}
	h, err := a.history(ctx, service)
	if err != nil {
		return nil, err
	}
	entries, ups, ins, cands := h.entries, h.upgrades, h.incidents, h.candidates
	acts, err := a.Store.Actions(ctx, upfactory.ActionFilter{Service: service})
	if err != nil {
		return nil, err
	}
	if one != nil {
		ups, entries, ins = onlyUpgrade(one, ups, entries, ins)
		acts = slices.DeleteFunc(acts, func(x *upfactory.ReviewAction) bool { return x.Upgrade != one.ID })
	}
	cfg := a.Config()
	k := dora.Compute(dora.Inputs{From: req.From, To: req.To, Service: service, Entries: entries, Upgrades: ups, Incidents: ins, Candidates: cands})
	ec := economics.Compute(economics.Inputs{Model: cfg.Economics, From: req.From, To: req.To, Services: cfg.Services,
		Entries: entries, Upgrades: ups, Incidents: ins, Candidates: cands})
	return readout.Build(readout.Inputs{From: req.From, To: req.To, Upgrades: ups, Candidates: cands, Incidents: ins, Keys: k, Economics: &ec, Actions: acts}), nil
}

// onlyUpgrade keeps what belongs to u: the upgrades its rollout
// delivered with it, the rollout's entries, and the incidents linked to
// those upgrades or opened by the rollout's entries.
func onlyUpgrade(u *upfactory.Upgrade, ups []*upfactory.Upgrade, entries []upfactory.LogEntry, ins []*upfactory.Incident) ([]*upfactory.Upgrade, []upfactory.LogEntry, []*upfactory.Incident) {
	mine := map[string]bool{u.ID: true}
	var keptUps []*upfactory.Upgrade
	for _, o := range ups {
		if o.ID == u.ID || u.RolloutID != "" && o.RolloutID == u.RolloutID {
			mine[o.ID] = true
			keptUps = append(keptUps, o)
		}
	}
	var keptEntries []upfactory.LogEntry
	seqs := map[int64]bool{}
	for _, e := range entries {
		rid, _ := e.Values["rollout"].(string)
		id, _ := e.Values["upgrade"].(string)
		if u.RolloutID != "" && rid == u.RolloutID || mine[id] {
			keptEntries = append(keptEntries, e)
			seqs[e.Seq] = true
		}
	}
	var keptIns []*upfactory.Incident
	for _, in := range ins {
		if mine[in.Upgrade] || seqs[in.Seq] {
			keptIns = append(keptIns, in)
		}
	}
	return keptUps, keptEntries, keptIns
}
