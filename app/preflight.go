package app

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/gate"
	"github.com/upfactory/upfactory/preflight"
)

// Preflight evaluates the checklist of a service for version, runs its
// commands, and stores and logs the result.
func (a *App) Preflight(ctx context.Context, service, version, actor string) (*upfactory.PreflightResult, error) {
	svc, err := a.delivered(service)
	if err != nil {
		return nil, err
	}
	if version == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "a preflight is for one version: --version V")
	}
	if actor == "" {
		actor = "anonymous"
	}
	now := a.now()
	stable, err := a.stable(ctx, svc)
	if err != nil {
		return nil, err
	}
	in := preflight.Inputs{Service: svc, Version: version, Stable: stable, Now: now, By: actor}
	snaps, err := a.Store.Snapshots(ctx, svc.Name, 0)
	if err != nil {
		return nil, err
	}
	for i := range snaps {
		if snaps[i].Version == stable {
			in.Snapshot = &snaps[i]
			break
		}
	}
	cur, err := json.Marshal(svc)
	if err != nil {
		return nil, err
	}
	in.Current = string(cur)
	if in.Confirmations, err = a.Store.Confirmations(ctx, svc.Name, version); err != nil {
		return nil, err
	}
	appc, err := a.appCandidate(ctx, svc, version)
	if err != nil {
		return nil, err
	}
	f, err := a.gather(ctx, svc, version, appc, nil, now)
	if err != nil {
		return nil, err
	}
	in.Compat = gate.CompatGate(svc, version, appc, f.delivered, f.runs, f.overrides)
	if appc == nil {
		in.Compat.Open, in.Compat.Reason = false, fmt.Sprintf("no candidate names %s %s yet: intake finds it, or rollout start makes it", svc.Name, version)
	}
	in.Drill = gate.DrillGate(svc, version, f.drills, now, f.overrides)
	in.Commands = preflight.RunCommands(ctx, svc, version)
	res := preflight.Evaluate(in)
	failed := 0
	for _, it := range res.Items {
		if it.Status == upfactory.ItemFail {
			failed++
		}
	}
	entry := upfactory.LogEntry{Time: now, Actor: actor, Action: "preflight", Service: svc.Name, Subject: version, Reason: res.Line,
		Values: map[string]any{"verdict": res.Verdict, "failed": failed}}
	if err := a.Store.SavePreflight(ctx, &res, entry); err != nil {
		return nil, err
	}
	return &res, nil
}

// Confirm records a named person's confirmation of a preflight item for
// version: an item the service marks confirm: true, or backups and
// release_tagged when no command checks them.
func (a *App) Confirm(ctx context.Context, service, item, version, by, note string) error {
	svc, err := a.delivered(service)
	if err != nil {
		return err
	}
	var can []string
	if svc.Preflight.Backups == nil {
		can = append(can, "backups")
	}
	if svc.Preflight.Tagged == nil {
		can = append(can, "release_tagged")
	}
	for _, it := range svc.Preflight.Items {
		if it.Confirm {
			can = append(can, it.Name)
		}
	}
	switch {
	case !slices.Contains(can, item):
		return upfactory.Errorf(upfactory.EINVALID, "%s is not an item of %s's checklist that a person confirms; those are: %s", item, svc.Name, strings.Join(can, ", "))
	case version == "":
		return upfactory.Errorf(upfactory.EINVALID, "a confirmation is for one version: --version V")
	case by == "":
		return upfactory.Errorf(upfactory.EINVALID, "a confirmation needs a name: --as NAME")
	}
	now := a.now()
	c := upfactory.PreflightConfirmation{Service: svc.Name, Version: version, Item: item, By: by, Note: note, At: now}
	entry := upfactory.LogEntry{Time: now, Actor: by, Action: "preflight.confirm", Service: svc.Name, Subject: version,
		Reason: fmt.Sprintf("%s confirmed for %s %s%s", item, svc.Name, version, map[bool]string{true: ": " + note, false: ""}[note != ""]),
		Values: map[string]any{"item": item}}
	return a.Store.AddConfirmation(ctx, c, entry)
}
