package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/gate"
	"github.com/upfactory/upfactory/line"
)

// SyncLine derives the line from the log entries after its cursor and the
// candidates as they stand, and writes what moved with the cursor in one
// transaction. Any process may call it: a save from a stale cursor is
// refused by the store and derived again.
func (a *App) SyncLine(ctx context.Context) error {
	var err error
	for range 3 {
		if err = a.syncLine(ctx); upfactory.ErrorCode(err) != upfactory.ECONFLICT {
			return err
		}
	}
	return err
}

func (a *App) syncLine(ctx context.Context) error {
	cfg := a.Config()
	from, err := a.Store.LineCursor(ctx)
	if err != nil {
		return err
	}
	entries, err := a.Store.Log(ctx, upfactory.LogFilter{AfterSeq: from})
	if err != nil {
		return err
	}
	ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true})
	if err != nil {
		return err
	}
	now := a.now()
	if len(entries) == 0 && !dueByTime(ups, now) {
		return nil // nothing happened since the last sync
	}
	open, err := a.Store.Candidates(ctx, upfactory.CandidateFilter{})
	if err != nil {
		return err
	}
	overrides, err := a.Store.Overrides(ctx)
	if err != nil {
		return err
	}
	var runErr error
	runs := func(id string) int64 { // only asked for upgrades in risk
		rs, err := a.Store.CompatRuns(ctx, id, 1)
		if err != nil {
			runErr = err
			return 0
		}
		if len(rs) == 0 {
			return 0
		}
		return rs[0].ID
	}
	l := line.New(ups)
	l.Derive(entries, line.Facts{Services: cfg.Services, Candidates: open, Now: now,
		NotesOpen: func(c *upfactory.Candidate, service string) bool {
			return gate.NotesGate(cfg.Service(service), c, overrides).Open
		},
		CompatRun: runs})
	if runErr != nil {
		return runErr
	}
	changed, out := l.Changed()
	to := from
	if len(entries) > 0 {
		to = entries[len(entries)-1].Seq
	}
	if len(changed) == 0 && to == from {
		return nil
	}
	if err := a.Store.SaveLine(ctx, from, to, changed, out); err != nil {
		return err
	}
	return a.openCaught(ctx, l.Upgrades(), entries)
}

// dueByTime reports whether an upgrade may move with no new log entry: a
// confirmed delivery in verification that passed it, or whose rollback
// window has closed (anything else that moves one comes with an entry).
func dueByTime(ups []*upfactory.Upgrade, now time.Time) bool {
	for _, u := range ups {
		closed := !u.RollbackUntil.IsZero() && !now.Before(u.RollbackUntil)
		if u.Stage == upfactory.StageVerification && u.Confirmed && (u.Verification == "passed" || closed && (u.VerifyUntil.IsZero() || u.Verification != "")) {
			return true
		}
	}
	return false
}

// Block is what holds an upgrade where it stands.
type Block struct {
	Gate   string `json:"gate"`
	Reason string `json:"reason"`
}

// StageSpan is one stage of an upgrade on the board.
type StageSpan struct {
	Stage     upfactory.Stage `json:"stage"`
	EnteredAt time.Time       `json:"entered_at"`
	LeftAt    time.Time       `json:"left_at,omitzero"`
	Outcome   string          `json:"outcome,omitempty"`
	Actor     string          `json:"actor"`
	Seq       int64           `json:"seq,omitempty"`
}

// BoardItem is one open upgrade on the board.
type BoardItem struct {
	ID        string          `json:"id"`
	Candidate string          `json:"candidate"`
	Service   string          `json:"service"`
	Component string          `json:"component"`
	From      string          `json:"from"`
	To        string          `json:"to"`
	Version   string          `json:"version,omitempty"`
	Stage     upfactory.Stage `json:"stage"`
	// Owner is who must act next: the owner of the stage it is in.
	Owner string  `json:"owner"`
	Risk  float64 `json:"risk"`
	// InStageSeconds is how long it has been in its stage.
	InStageSeconds float64     `json:"in_stage_seconds"`
	BlockedBy      []Block     `json:"blocked_by"`
	Next           string      `json:"next,omitempty"`
	Stages         []StageSpan `json:"stages"`
}

// Board is every upgrade on the line.
type Board struct {
	At       time.Time   `json:"at"`
	Upgrades []BoardItem `json:"upgrades"`
}

// BoardFilter selects the board's upgrades.
type BoardFilter struct {
	Service string
	// All includes upgrades that left the line.
	All bool
}

// Board brings the line up to date and lists its upgrades with their
// owner, what blocks each and the command that moves it on.
func (a *App) Board(ctx context.Context, f BoardFilter) (*Board, error) {
	if f.Service != "" && a.Config().Service(f.Service) == nil {
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "unknown service %q", f.Service)
	}
	if err := a.SyncLine(ctx); err != nil {
		return nil, err
	}
	ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Service: f.Service, Closed: f.All})
	if err != nil {
		return nil, err
	}
	now := a.now()
	b := &Board{At: now, Upgrades: []BoardItem{}}
	for _, u := range ups {
		it := BoardItem{ID: u.ID, Candidate: u.CandidateID, Service: u.Service, Component: u.Component, From: u.From, To: u.To,
			Version: u.Version, Stage: u.Stage, Risk: u.Risk, BlockedBy: []Block{}, Stages: []StageSpan{}}
		if svc := a.Config().Service(u.Service); svc != nil && !u.Stage.Final() {
			it.Owner = svc.StageOwner(u.Stage)
		}
		if cur := u.Current(); cur != nil && !u.Stage.Final() {
			it.InStageSeconds = now.Sub(cur.EnteredAt).Seconds()
		}
		for _, s := range u.Stages {
			it.Stages = append(it.Stages, StageSpan{Stage: s.Stage, EnteredAt: s.EnteredAt, LeftAt: s.LeftAt, Outcome: s.Outcome, Actor: s.Actor, Seq: s.Seq})
		}
		if !u.Stage.Final() {
			if err := a.blocks(ctx, u, &it, now); err != nil {
				return nil, err
			}
		}
		b.Upgrades = append(b.Upgrades, it)
	}
	return b, nil
}

// blocks fills in what holds u and the next command.
func (a *App) blocks(ctx context.Context, u *upfactory.Upgrade, it *BoardItem, now time.Time) error {
	svc := a.Config().Service(u.Service)
	if svc == nil {
		it.BlockedBy = append(it.BlockedBy, Block{Gate: "config", Reason: "service " + u.Service + " is no longer in the config"})
		return nil
	}
	c, err := a.Store.Candidate(ctx, u.CandidateID)
	if upfactory.ErrorCode(err) == upfactory.ENOTFOUND {
		c = nil
	} else if err != nil {
		return err
	}
	add := func(r gate.Result) {
		it.BlockedBy = append(it.BlockedBy, Block{Gate: r.Gate, Reason: r.Reason})
		if it.Next == "" {
			it.Next = r.Command
		}
	}
	own := u.Layer == upfactory.LayerApp && u.Component == u.Service
	switch u.Stage {
	case upfactory.StageIntake:
		if c != nil {
			if r := gate.NotesGate(svc, c, nil); !r.Open {
				overrides, err := a.Store.Overrides(ctx)
				if err != nil {
					return err
				}
				add(gate.NotesGate(svc, c, overrides))
			}
		}
	case upfactory.StageRisk:
		it.BlockedBy = append(it.BlockedBy, Block{Gate: gate.Compat, Reason: fmt.Sprintf("scored %.0f; no compatibility run yet", u.Risk)})
		it.Next = "upfactory compat run " + u.CandidateID
	case upfactory.StageCompat:
		if !svc.Delivered() {
			it.BlockedBy = append(it.BlockedBy, Block{Gate: "delivery", Reason: svc.Name + " has no target: it is delivered outside upfactory"})
			return nil
		}
		if c == nil {
			return nil
		}
		version := u.To
		var appc *upfactory.Candidate
		var delivered []*upfactory.Candidate
		if own {
			appc = c
		} else {
			delivered = []*upfactory.Candidate{c}
			version = "RELEASE"
		}
		f, err := a.gather(ctx, svc, version, appc, delivered, now)
		if err != nil {
			return err
		}
		for _, r := range gate.Closed(canaryGates(f, a.Config().Policies, now)) {
			if !own && (r.Gate == gate.Preflight || r.Gate == gate.Drill) {
				continue // decided for the release that will carry it
			}
			add(r)
		}
		if !own {
			it.BlockedBy = append(it.BlockedBy, Block{Gate: "release", Reason: fmt.Sprintf("needs a release of %s that carries %s %s", svc.Name, u.Component, u.To)})
			if it.Next == "" {
				it.Next = fmt.Sprintf("upfactory rollout start %s --version VERSION --candidate %s", svc.Name, u.CandidateID)
			}
		} else if it.Next == "" {
			it.Next = fmt.Sprintf("upfactory rollout start %s --version %s", svc.Name, u.To)
		}
	case upfactory.StageCanary, upfactory.StageProgressive:
		st, err := a.Store.State(ctx, svc.Name)
		if err != nil {
			return err
		}
		if st.Rollout != nil && st.Rollout.ID == u.RolloutID {
			for _, r := range gate.ProgressiveGates(svc, st.Rollout) {
				if !r.Open {
					add(r)
				}
			}
		}
		if it.Next == "" {
			it.Next = "upfactory rollout status " + svc.Name + " --watch"
		}
	case upfactory.StageVerification:
		if now.Before(u.RollbackUntil) {
			it.BlockedBy = append(it.BlockedBy, Block{Gate: "verification", Reason: "previous version warm for rollback until " + u.RollbackUntil.Format(time.RFC3339)})
			it.Next = "upfactory rollout rollback " + svc.Name + " (if anything regresses)"
		}
		if !u.Confirmed {
			it.BlockedBy = append(it.BlockedBy, Block{Gate: "verification", Reason: "intake has not confirmed the delivery yet"})
			if it.Next == "" {
				it.Next = "upfactory intake -c CONFIG"
			}
		}
	}
	return nil
}

// Dismiss takes an upgrade off the line: a named person with a reason.
func (a *App) Dismiss(ctx context.Context, id, by, reason string) (*upfactory.Upgrade, error) {
	if err := a.SyncLine(ctx); err != nil {
		return nil, err
	}
	for range 3 {
		cursor, err := a.Store.LineCursor(ctx)
		if err != nil {
			return nil, err
		}
		ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true})
		if err != nil {
			return nil, err
		}
		l := line.New(ups)
		u, err := l.Dismiss(id, by, reason, a.now())
		if err != nil {
			return nil, err
		}
		_, entries := l.Changed()
		err = a.Store.SaveLine(ctx, cursor, cursor, []*upfactory.Upgrade{u}, entries)
		if upfactory.ErrorCode(err) == upfactory.ECONFLICT {
			continue
		}
		return u, err
	}
	return nil, upfactory.Errorf(upfactory.ECONFLICT, "the line kept moving; try again")
}

// NoNotes records, as a named person, that a candidate has no release
// notes: it opens the notes gate, logged like any override.
func (a *App) NoNotes(ctx context.Context, candidate, by, reason string) (*upfactory.PolicyOverride, error) {
	c, err := a.Store.Candidate(ctx, candidate)
	if err != nil {
		return nil, err
	}
	if by == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "recording that no release notes exist needs a name (--as)")
	}
	why := "no release notes exist"
	if reason != "" {
		why += ": " + reason
	}
	now := a.now()
	o := upfactory.PolicyOverride{ID: gate.NotesID(c.ID), By: by, Reason: why, At: now}
	entry := upfactory.LogEntry{Time: now, Actor: by, Action: "candidate.no-notes", Subject: c.ID,
		Reason: fmt.Sprintf("%s %s → %s: %s", c.Component, c.Current, c.Recommended, why), Values: map[string]any{"gate": o.ID}}
	if len(c.Services) == 1 {
		entry.Service = c.Services[0]
	}
	if err := a.Store.AddOverride(ctx, o, entry); err != nil {
		return nil, err
	}
	return &o, nil
}

// gateOverridable checks an override of a gate's ID: the gate is known,
// and the service or candidate it names exists.
func (a *App) gateOverridable(ctx context.Context, id string) (service string, ok bool, err error) {
	g, parts, ok := gate.ParseID(id)
	if !ok {
		return "", false, nil
	}
	switch g {
	case gate.Notes:
		c, err := a.Store.Candidate(ctx, parts[0])
		if err != nil {
			return "", true, upfactory.Errorf(upfactory.EINVALID, "override %s: no candidate %s", id, parts[0])
		}
		if len(c.Services) == 1 {
			service = c.Services[0]
		}
		return service, true, nil
	case gate.Window:
		service = parts[1]
	default:
		service = parts[0]
	}
	if a.Config().Service(service) == nil {
		return "", true, upfactory.Errorf(upfactory.EINVALID, "override %s: no service %s in the config", id, service)
	}
	return service, true, nil
}

// closedGateIDs lists the IDs of the gates that hold upgrades on the
// board now, for an error message.
func (a *App) closedGateIDs(ctx context.Context) []string {
	var ids []string
	cfg := a.Config()
	now := a.now()
	ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{})
	if err != nil {
		return nil
	}
	for _, u := range ups {
		svc := cfg.Service(u.Service)
		if svc == nil || !svc.Delivered() || !(u.Stage == upfactory.StageIntake || u.Stage == upfactory.StageCompat || u.Stage == upfactory.StageRisk) {
			continue
		}
		c, err := a.Store.Candidate(ctx, u.CandidateID)
		if err != nil || c.Layer != upfactory.LayerApp || c.Component != svc.Name {
			continue
		}
		f, err := a.gather(ctx, svc, c.Recommended, c, nil, now)
		if err != nil {
			continue
		}
		for _, r := range gate.Closed(canaryGates(f, cfg.Policies, now)) {
			if !slices.Contains(ids, r.ID) {
				ids = append(ids, r.ID)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// describeIDs is the tail of an unknown-ID error: the closed gates now,
// and the forms IDs take.
func describeIDs(ids []string) string {
	s := "gate IDs have the forms " + gate.IDForms
	if len(ids) > 0 {
		s = "gates closed now:\n  " + strings.Join(ids, "\n  ") + "\n" + s
	}
	return s
}
