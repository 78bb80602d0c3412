package app

import (
	"context"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/gate"
)

// Hold says why a running rollout of service must not take more traffic
// now: a freeze in force that no override lets through. "" when nothing
// holds it. A freeze that starts while a rollout runs holds it at its next
// expansion; rolling back is never held.
func (a *App) Hold(ctx context.Context, service string, now time.Time) string {
	cfg := a.Config()
	svc := cfg.Service(service)
	if svc == nil {
		return ""
	}
	overrides, err := a.Store.Overrides(ctx)
	if err != nil {
		return "the freezes' overrides could not be read: " + upfactory.ErrorMessage(err)
	}
	for _, r := range gate.FreezeGates(svc, cfg.Policies, now, overrides) {
		if !r.Open {
			return r.Reason
		}
	}
	return ""
}
