package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/review"
)

// upgrade returns the upgrade id, on the line or off it.
func (a *App) upgrade(ctx context.Context, id string) (*upfactory.Upgrade, error) {
	if err := a.SyncLine(ctx); err != nil {
		return nil, err
	}
	ups, err := a.Store.Upgrades(ctx, upfactory.UpgradeFilter{Closed: true})
	if err != nil {
		return nil, err
	}
	for _, u := range ups {
		if u.ID == id {
			return u, nil
		}
	}
	return nil, upfactory.Errorf(upfactory.ENOTFOUND, "no upgrade %s (upfactory board --all lists them)", id)
}

// Review writes the skeleton of the blameless review of upgrade id.
func (a *App) Review(ctx context.Context, id string) (*review.Review, error) {
	u, err := a.upgrade(ctx, id)
	if err != nil {
		return nil, err
	}
	entries, err := a.Store.Log(ctx, upfactory.LogFilter{Service: u.Service})
	if err != nil {
		return nil, err
	}
	ins, err := a.Store.Incidents(ctx, upfactory.IncidentFilter{Service: u.Service})
	if err != nil {
		return nil, err
	}
	acts, err := a.Store.Actions(ctx, upfactory.ActionFilter{Upgrade: u.ID})
	if err != nil {
		return nil, err
	}
	return review.Build(review.Inputs{Upgrade: u, Entries: entries, Incidents: ins, Actions: acts}), nil
}

// AddAction writes down an action of upgrade id's review, logged.
func (a *App) AddAction(ctx context.Context, id, text, owner, by string) (*upfactory.ReviewAction, error) {
	var problems []string
	if strings.TrimSpace(text) == "" {
		problems = append(problems, "the action's text is required (--text)")
	}
	if by == "" {
		problems = append(problems, "a name is required (--as)")
	}
	if len(problems) > 0 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "%s", strings.Join(problems, "; "))
	}
	u, err := a.upgrade(ctx, id)
	if err != nil {
		return nil, err
	}
	now := a.now()
	act := &upfactory.ReviewAction{Upgrade: u.ID, Service: u.Service, Text: strings.TrimSpace(text), Owner: owner, CreatedAt: now, CreatedBy: by}
	entry := upfactory.LogEntry{Time: now, Actor: by, Action: "review.action", Service: u.Service, Subject: u.ID, Reason: act.Text,
		Values: map[string]any{"upgrade": u.ID, "owner": owner}}
	if err := a.Store.AddAction(ctx, act, entry); err != nil {
		return nil, err
	}
	return act, nil
}

// DoneAction marks review action id done, logged.
func (a *App) DoneAction(ctx context.Context, id int64, by string) (*upfactory.ReviewAction, error) {
	if by == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "a name is required (--as)")
	}
	now := a.now()
	entry := upfactory.LogEntry{Time: now, Actor: by, Action: "review.action.done", Subject: fmt.Sprint(id), Values: map[string]any{"action": id}}
	acts, err := a.Store.Actions(ctx, upfactory.ActionFilter{})
	if err != nil {
		return nil, err
	}
	for _, act := range acts {
		if act.ID == id {
			entry.Service, entry.Reason = act.Service, act.Text
			entry.Values["upgrade"] = act.Upgrade
		}
	}
	return a.Store.CloseAction(ctx, id, now, by, entry)
}

// Actions lists review actions, oldest first.
func (a *App) Actions(ctx context.Context, f upfactory.ActionFilter) ([]*upfactory.ReviewAction, error) {
	return a.Store.Actions(ctx, f)
}
