package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/drill"
)

// Drill runs a rollback drill of version on a copy of service and stores
// and logs its result. A failed drill is a result, not an error.
func (a *App) Drill(ctx context.Context, service, version, actor string, progress func(string)) (*upfactory.DrillResult, error) {
	svc, err := a.delivered(service)
	if err != nil {
		return nil, err
	}
	if version == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "a drill rolls out one version: --version V")
	}
	if err := drill.Check(svc); err != nil {
		return nil, err
	}
	stable, err := a.stable(ctx, svc)
	if err != nil {
		return nil, err
	}
	if version == stable {
		return nil, upfactory.Errorf(upfactory.EINVALID, "%s is the stable version of %s: drill the version you are about to roll out", version, svc.Name)
	}
	if actor == "" {
		actor = "anonymous"
	}
	res, err := drill.Run(ctx, drill.Options{Service: svc, Version: version, Stable: stable, DataDir: a.Config().Server.DataDir,
		Logger: slog.New(slog.DiscardHandler), Progress: progress})
	if err != nil {
		return nil, err
	}
	res.By = actor
	entry := upfactory.LogEntry{Time: res.At, Actor: actor, Action: "drill", Service: svc.Name, Subject: version,
		Reason: fmt.Sprintf("rollback drill of %s %s: %s — %s", svc.Name, version, map[bool]string{true: "passed", false: "failed"}[res.Passed], res.Reason),
		Values: map[string]any{"passed": res.Passed, "rollback_seconds": res.RollbackSeconds, "failed_requests": res.FailedRequests, "requests": res.Requests}}
	if err := a.Store.SaveDrill(ctx, res, entry); err != nil {
		return nil, err
	}
	return res, nil
}
