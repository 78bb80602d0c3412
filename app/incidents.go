package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

// OpenRequest opens an incident by hand.
type OpenRequest struct {
	Service  string
	Severity string
	Title    string
	// Upgrade is the upgrade that caused it, if known.
	Upgrade string
	// StartedAt defaults to now.
	StartedAt time.Time
	By        string
}

// OpenIncident opens an incident by hand, logged.
func (a *App) OpenIncident(ctx context.Context, req OpenRequest) (*upfactory.Incident, error) {
	now := a.now()
	var problems []string
	if a.Config().Service(req.Service) == nil {
		problems = append(problems, fmt.Sprintf("unknown service %q", req.Service))
	}
	if !slices.Contains(upfactory.Severities, req.Severity) {
		problems = append(problems, fmt.Sprintf("severity %q: want one of %s", req.Severity, strings.Join(upfactory.Severities, ", ")))
	}
	if strings.TrimSpace(req.Title) == "" {
		problems = append(problems, "a title is required (--title)")
	}
	if req.By == "" {
		problems = append(problems, "a name is required (--as)")
	}
	if req.StartedAt.IsZero() {
		req.StartedAt = now
	}
	if req.StartedAt.After(now) {
		problems = append(problems, "an incident cannot start in the future")
	}
	in := &upfactory.Incident{Service: req.Service, Severity: req.Severity, Title: req.Title, Source: "manual",
		StartedAt: req.StartedAt.UTC(), OpenedBy: req.By}
	if req.Upgrade != "" {
		ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Service: req.Service, Closed: true})
		if err != nil {
			return nil, err
		}
		found := false
		for _, u := range ups {
			if u.ID == req.Upgrade {
				in.Upgrade, in.Version, found = u.ID, u.Version, true
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("no upgrade %s of %s (upfactory board --all lists them)", req.Upgrade, req.Service))
		}
	}
	if len(problems) > 0 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "%s", strings.Join(problems, "; "))
	}
	entry := upfactory.LogEntry{Time: now, Actor: req.By, Action: "incident.open", Service: in.Service, Subject: in.Severity,
		Reason: in.Title, Values: map[string]any{"upgrade": in.Upgrade, "started_at": in.StartedAt.Format(time.RFC3339Nano)}}
	if err := a.Store.OpenIncident(ctx, in, entry); err != nil {
		return nil, err
	}
	return in, nil
}

// CloseIncident ends an incident at at (zero: now), logged; the time to
// restore is from its start to then.
func (a *App) CloseIncident(ctx context.Context, id int64, at time.Time, by, resolution string) (*upfactory.Incident, error) {
	now := a.now()
	if at.IsZero() {
		at = now
	}
	if at.After(now) {
		return nil, upfactory.Errorf(upfactory.EINVALID, "an incident cannot end in the future")
	}
	entry := upfactory.LogEntry{Time: now, Actor: by, Action: "incident.close", Subject: fmt.Sprint(id), Reason: resolution,
		Values: map[string]any{"incident": id, "ended_at": at.UTC().Format(time.RFC3339Nano)}}
	if ins, err := a.Store.Incidents(ctx, upfactory.IncidentFilter{}); err == nil {
		for _, in := range ins {
			if in.ID == id {
				entry.Service = in.Service
				entry.Values["time_to_restore_seconds"] = at.Sub(in.StartedAt).Seconds()
			}
		}
	}
	return a.Store.CloseIncident(ctx, id, at, by, resolution, entry)
}

// Incidents lists incidents, newest first.
func (a *App) Incidents(ctx context.Context, f upfactory.IncidentFilter) ([]*upfactory.Incident, error) {
	return a.Store.Incidents(ctx, f)
}

// openCaught opens (and closes) an incident for every canary the checks
// rolled back: the regression reached the canary's share of users, or a
// copy of their traffic, from the rollout's start to its rollback. It
// opens one for every regression post-release verification saw among
// entries, closed at once when verification rolled it back. One incident
// per source entry, so it is safe to call again.
func (a *App) openCaught(ctx context.Context, ups []*upfactory.Upgrade, entries []upfactory.LogEntry) error {
	have, err := a.Store.Incidents(ctx, upfactory.IncidentFilter{})
	if err != nil {
		return err
	}
	seen := map[int64]bool{}
	for _, in := range have {
		seen[in.Seq] = true
	}
	for _, u := range ups {
		if u.Stage != upfactory.StageRolledBack || len(u.Stages) < 2 {
			continue
		}
		end, before := u.Stages[len(u.Stages)-1], u.Stages[len(u.Stages)-2]
		if before.Outcome != "rollback.automatic" || end.Seq == 0 || seen[end.Seq] {
			continue
		}
		start := end.EnteredAt
		for _, s := range u.Stages {
			if s.Stage == upfactory.StageCanary {
				start = s.EnteredAt
			}
		}
		in := &upfactory.Incident{Service: u.Service, Severity: "sev3", Title: fmt.Sprintf("canary of %s %s rolled back: %s", u.Service, u.Version, end.Reason),
			Upgrade: u.ID, Version: u.Version, Source: "rollback.automatic", StartedAt: start, EndedAt: end.EnteredAt, OpenedBy: upfactory.ActorSystem,
			ClosedBy: upfactory.ActorSystem, Resolution: "rolled back automatically", Seq: end.Seq}
		entry := upfactory.LogEntry{Time: end.EnteredAt, Actor: upfactory.ActorSystem, Action: "incident.open", Service: u.Service, Subject: in.Severity,
			Reason: in.Title, Values: map[string]any{"upgrade": u.ID, "source_seq": end.Seq, "time_to_restore_seconds": in.TimeToRestore().Seconds()}}
		err := a.Store.OpenIncident(ctx, in, entry)
		if err != nil && upfactory.ErrorCode(err) != upfactory.ECONFLICT {
			return err
		}
		seen[end.Seq] = true
	}
	for i, e := range entries {
		if e.Action != upfactory.ActionVerificationFailed || seen[e.Seq] {
			continue
		}
		rid, _ := e.Values["rollout"].(string)
		since, _ := e.Values["regression_since"].(string)
		start, err := time.Parse(time.RFC3339Nano, since)
		if err != nil || start.After(e.Time) {
			start = e.Time
		}
		in := &upfactory.Incident{Service: e.Service, Severity: "sev2", Title: fmt.Sprintf("%s %s regressed after 100%%: %s", e.Service, e.Subject, e.Reason),
			Version: e.Subject, Source: upfactory.ActionVerificationFailed, StartedAt: start, OpenedBy: upfactory.ActorSystem, Seq: e.Seq}
		for _, u := range ups {
			if rid != "" && u.RolloutID == rid && u.Service == e.Service {
				in.Upgrade = u.ID
				break
			}
		}
		values := map[string]any{"upgrade": in.Upgrade, "source_seq": e.Seq}
		for _, back := range entries[i+1:] {
			if r, _ := back.Values["rollout"].(string); back.Action == upfactory.ActionRollbackVerification && r == rid {
				in.EndedAt, in.ClosedBy, in.Resolution = back.Time, upfactory.ActorSystem, "rolled back by post-release verification: "+back.Reason
				values["time_to_restore_seconds"] = in.TimeToRestore().Seconds()
				break
			}
		}
		entry := upfactory.LogEntry{Time: e.Time, Actor: upfactory.ActorSystem, Action: "incident.open", Service: e.Service, Subject: in.Severity,
			Reason: in.Title, Values: values}
		if err := a.Store.OpenIncident(ctx, in, entry); err != nil && upfactory.ErrorCode(err) != upfactory.ECONFLICT {
			return err
		}
		seen[e.Seq] = true
	}
	return nil
}
