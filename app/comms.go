package app

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/comms"
	"github.com/upfactory/upfactory/rollout"
)

// StatusFeed lists the change windows ahead (scheduled, or in progress)
// with the services their upgrades touch, and each service's last
// rollout: in progress, verifying after 100%, or completed (rolled back
// ones say so).
func (a *App) StatusFeed(ctx context.Context) (*comms.Feed, error) {
	cfg, now := a.Config(), a.now()
	f := &comms.Feed{UpdatedAt: now.UTC(), ScheduledMaintenances: []comms.Maintenance{}}
	for _, svc := range cfg.Services {
		if !svc.Delivered() {
			continue
		}
		st, err := a.Store.State(ctx, svc.Name)
		if upfactory.ErrorCode(err) == upfactory.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		r := st.Rollout
		if r == nil {
			continue
		}
		m := comms.Maintenance{ID: r.ID, Name: fmt.Sprintf("%s: %s → %s", svc.Name, r.StableVersion, r.CanaryVersion),
			ScheduledFor: r.StartedAt.UTC(), Components: []string{svc.Name}, Body: r.Message, UpdatedAt: r.UpdatedAt.UTC()}
		switch {
		case rollout.Active(st):
			m.Status = comms.InProgress
		case rollout.Verifying(st):
			m.Status, m.ScheduledUntil = comms.Verifying, r.Verification.Until.UTC()
			m.Body = fmt.Sprintf("%s takes all traffic and is being verified against %s's figures until %s", r.CanaryVersion, r.StableVersion, r.Verification.Until.UTC().Format(time.RFC3339))
		default:
			m.Status, m.ScheduledUntil = comms.Completed, r.FinishedAt.UTC()
		}
		f.ScheduledMaintenances = append(f.ScheduledMaintenances, m)
	}
	if len(cfg.Policies.Windows) > 0 {
		rep, err := a.CheckPolicies(ctx, "", now)
		if err != nil {
			return nil, err
		}
		cands, err := a.Store.Candidates(ctx, upfactory.CandidateFilter{})
		if err != nil {
			return nil, err
		}
		for _, w := range rep.Windows {
			if len(w.Candidates) == 0 || !now.Before(w.Closes) {
				continue
			}
			var services []string
			for _, c := range cands {
				if slices.Contains(w.Candidates, c.ID) {
					services = append(services, c.Services...)
				}
			}
			slices.Sort(services)
			m := comms.Maintenance{ID: fmt.Sprintf("window-%s-%d", w.Window, w.Opens.Unix()), Name: "change window " + w.Window,
				Status: comms.Scheduled, ScheduledFor: w.Opens.UTC(), ScheduledUntil: w.Closes.UTC(), Components: slices.Compact(services),
				Body: fmt.Sprintf("%d upgrade(s) planned", len(w.Candidates)), UpdatedAt: now.UTC()}
			if !now.Before(w.Opens) {
				m.Status = comms.InProgress
			}
			f.ScheduledMaintenances = append(f.ScheduledMaintenances, m)
		}
	}
	f.Sort()
	return f, nil
}

// MaintenanceNote gathers what the customer-facing note of service's
// upgrade to version says: the versions, the window (start and end, or
// the next change window its release is planned into), what changes for
// users (the breaking and deprecation items of its release notes), and
// where to ask (the service's comms).
func (a *App) MaintenanceNote(ctx context.Context, service, version string, start, end time.Time) (*comms.Note, error) {
	svc, err := a.delivered(service)
	if err != nil {
		return nil, err
	}
	stable, err := a.stable(ctx, svc)
	if err != nil {
		return nil, err
	}
	n := &comms.Note{Service: svc.Name, From: stable, Version: version, Start: start, End: end, Impact: comms.DefaultImpact, Contact: svc.Comms}
	c, err := a.appCandidate(ctx, svc, version)
	if err != nil {
		return nil, err
	}
	if c != nil {
		for _, h := range c.Highlights {
			if h.Kind == "breaking" || h.Kind == "deprecation" {
				n.Changes = append(n.Changes, h.Text)
			}
		}
		if start.IsZero() && len(a.Config().Policies.Windows) > 0 {
			rep, err := a.CheckPolicies(ctx, "", a.now())
			if err != nil {
				return nil, err
			}
			for _, w := range rep.Windows {
				if slices.Contains(w.Candidates, c.ID) {
					n.Start, n.End = w.Opens, w.Closes
					break
				}
			}
		}
	}
	return n, nil
}
