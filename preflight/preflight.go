// Package preflight is the go/no-go checklist a service passes before a
// rollout (the brief's "Preflight checklist"): someone on call, a comms
// channel, a rollback plan, the config compared with the one the stable
// version was rolled out with, backups verified by a restore, the release
// tagged, the staging dry-run (compat and a rollback drill) passed, and
// for a tier-1 service its top three failure modes named; then the
// service's own items, each checked by a command or confirmed by a named
// person. It ends in one line: GO, or NO-GO and every reason.
//
// A GO is evidence about a moment: the gate before canary accepts it only
// for preflight.max_age (24h by default), since on-call rotations, backups
// and config drift do not stand still.
//
// Evaluate is pure; RunCommands runs the items' commands (argv, never a
// shell) with probe's runner, so that checks and preflight share one way
// of running a user's command with a timeout and a kept output.
package preflight

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/gate"
	"github.com/upfactory/upfactory/probe"
)

// Outcome is what one item's command gave.
type Outcome struct {
	OK     bool
	Reason string
	Output string
}

// Inputs are the facts a checklist is evaluated on.
type Inputs struct {
	Service *upfactory.Service
	Version string
	// Stable is the version serving now; Snapshot the service's config as
	// it was when Stable was rolled out (nil: none taken yet).
	Stable   string
	Snapshot *upfactory.ConfigSnapshot
	// Current is the service's config now, as snapshots are written.
	Current       string
	Confirmations []upfactory.PreflightConfirmation
	// Compat and Drill are the gates' decisions for Version: the staging dry-run.
	Compat, Drill gate.Result
	// Commands are the outcomes of the items' commands, by item name.
	Commands map[string]Outcome
	Now      time.Time
	By       string
}

// command is one item checked by a command.
type command struct {
	item  string
	check probe.Check
}

// commands lists the items of svc checked by a command.
func commands(svc *upfactory.Service) []command {
	var out []command
	for name, c := range map[string]*upfactory.PreflightCommand{"backups": svc.Preflight.Backups, "release_tagged": svc.Preflight.Tagged} {
		if c != nil {
			out = append(out, command{item: name, check: probe.Check{Name: name, Command: c.Command, Dir: c.Dir, Timeout: c.Timeout}})
		}
	}
	for _, it := range svc.Preflight.Items {
		if len(it.Command) > 0 {
			out = append(out, command{item: it.Name, check: probe.Check{Name: it.Name, Command: it.Command, Dir: it.Dir, Timeout: it.Timeout}})
		}
	}
	slices.SortFunc(out, func(a, b command) int { return strings.Compare(a.item, b.item) })
	return out
}

// RunCommands runs the command of every item of svc that has one, with
// UPFACTORY_SERVICE and UPFACTORY_VERSION in its environment. A command
// that exits non-zero, cannot start or times out is not OK.
func RunCommands(ctx context.Context, svc *upfactory.Service, version string) map[string]Outcome {
	out := map[string]Outcome{}
	for _, c := range commands(svc) {
		c.check.Env = map[string]string{"UPFACTORY_SERVICE": svc.Name, "UPFACTORY_VERSION": version}
		r := probe.RunCheck(ctx, c.check, "")
		o := Outcome{OK: r.Outcome == probe.Pass, Output: r.Output, Reason: r.Reason}
		if o.OK {
			o.Reason = "exit 0"
		}
		out[c.item] = o
	}
	return out
}

// Evaluate decides the checklist.
func Evaluate(in Inputs) upfactory.PreflightResult {
	svc := in.Service
	key := func(k string) string { return fmt.Sprintf("services[%s].%s", svc.Name, k) }
	res := upfactory.PreflightResult{Service: svc.Name, Version: in.Version, At: in.Now, By: in.By, Items: []upfactory.PreflightItem{}}
	add := func(name, status, reason string) *upfactory.PreflightItem {
		res.Items = append(res.Items, upfactory.PreflightItem{Name: name, Status: status, Reason: reason})
		return &res.Items[len(res.Items)-1]
	}
	confirmed := func(item string) *upfactory.PreflightConfirmation {
		for i := range in.Confirmations {
			if c := &in.Confirmations[i]; c.Item == item && c.Version == in.Version {
				return c
			}
		}
		return nil
	}
	confirmCmd := func(item string) string {
		return fmt.Sprintf("upfactory preflight confirm %s %s --version %s --as NAME", svc.Name, item, in.Version)
	}

	if svc.OnCall != "" {
		add("on_call", upfactory.ItemPass, svc.OnCall+" is on call")
	} else {
		add("on_call", upfactory.ItemFail, "no one on call: set "+key("on_call"))
	}
	if svc.Comms != "" {
		add("comms", upfactory.ItemPass, "announced in "+svc.Comms)
	} else {
		add("comms", upfactory.ItemFail, "no comms channel: set "+key("comms"))
	}
	if w := svc.Strategy.RollbackWindow(); w > 0 {
		add("rollback_plan", upfactory.ItemPass, fmt.Sprintf("the previous version stays warm for %s after 100%%; rollback is one command: upfactory rollout rollback %s", w, svc.Name))
	} else {
		add("rollback_plan", upfactory.ItemFail, "the previous version is not kept warm: set "+key("strategy.canary.rollback_window"))
	}
	add("config_snapshot", upfactory.ItemInfo, configDrift(in))
	for _, item := range []string{"backups", "release_tagged"} {
		what := map[string]string{"backups": "backups are not verified by a restore", "release_tagged": "the current release is not checked to be tagged"}[item]
		switch o, ran := in.Commands[item]; {
		case ran && o.OK:
			it := add(item, upfactory.ItemPass, "command passed ("+o.Reason+")")
			it.Output = o.Output
		case ran:
			it := add(item, upfactory.ItemFail, "command failed: "+o.Reason)
			it.Output = o.Output
		case confirmed(item) != nil:
			c := confirmed(item)
			it := add(item, upfactory.ItemPass, fmt.Sprintf("confirmed by %s at %s%s", c.By, c.At.Format(time.RFC3339), note(c.Note)))
			it.By = c.By
		default:
			add(item, upfactory.ItemFail, fmt.Sprintf("%s: set %s.command, or have a person confirm it: %s", what, key("preflight."+item), confirmCmd(item)))
		}
	}
	if in.Compat.Open && in.Drill.Open {
		add("staging_dry_run", upfactory.ItemPass, "compat: "+in.Compat.Reason+"; drill: "+in.Drill.Reason)
	} else {
		var why []string
		for _, g := range []gate.Result{in.Compat, in.Drill} {
			if !g.Open {
				why = append(why, g.Gate+": "+g.Reason)
			}
		}
		add("staging_dry_run", upfactory.ItemFail, strings.Join(why, "; "))
	}
	switch n := len(svc.FailureModes); {
	case svc.Tier == 1 && n < 3:
		add("failure_modes", upfactory.ItemFail, fmt.Sprintf("tier 1 needs its top three failure modes in %s (has %d)", key("failure_modes"), n))
	case n == 0:
		add("failure_modes", upfactory.ItemInfo, "none named")
	default:
		add("failure_modes", upfactory.ItemPass, strings.Join(svc.FailureModes[:min(n, 3)], "; "))
	}
	for _, spec := range svc.Preflight.Items {
		if spec.Confirm {
			if c := confirmed(spec.Name); c != nil {
				it := add(spec.Name, upfactory.ItemPass, fmt.Sprintf("confirmed by %s at %s%s", c.By, c.At.Format(time.RFC3339), note(c.Note)))
				it.By = c.By
			} else {
				add(spec.Name, upfactory.ItemFail, "needs a confirmation: "+confirmCmd(spec.Name))
			}
			continue
		}
		o, ran := in.Commands[spec.Name]
		switch {
		case !ran:
			add(spec.Name, upfactory.ItemFail, "its command did not run")
		case o.OK:
			add(spec.Name, upfactory.ItemPass, "command passed").Output = o.Output
		default:
			add(spec.Name, upfactory.ItemFail, "command failed: "+o.Reason).Output = o.Output
		}
	}

	var failed []string
	for _, it := range res.Items {
		if it.Status == upfactory.ItemFail {
			failed = append(failed, it.Name+": "+it.Reason)
		}
	}
	if len(failed) == 0 {
		res.Verdict, res.Line = upfactory.PreflightGo, upfactory.PreflightGo
	} else {
		res.Verdict, res.Line = upfactory.PreflightNoGo, upfactory.PreflightNoGo+": "+strings.Join(failed, "; ")
	}
	return res
}

func note(n string) string {
	if n == "" {
		return ""
	}
	return " (" + n + ")"
}

// configDrift says how the service's config differs from the one its
// stable version was rolled out with: the top-level keys that changed.
func configDrift(in Inputs) string {
	if in.Snapshot == nil {
		return fmt.Sprintf("no snapshot of %s's config yet: every rollout takes one", in.Service.Name)
	}
	var was, now map[string]any
	if json.Unmarshal([]byte(in.Snapshot.Config), &was) != nil || json.Unmarshal([]byte(in.Current), &now) != nil {
		return "the snapshot cannot be compared: " + in.Snapshot.SHA256
	}
	var changed []string
	for k := range was {
		if !reflect.DeepEqual(was[k], now[k]) {
			changed = append(changed, k)
		}
	}
	for k := range now {
		if _, ok := was[k]; !ok {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	if len(changed) == 0 {
		return fmt.Sprintf("no change since %s was rolled out (snapshot %s)", in.Snapshot.Version, in.Snapshot.SHA256[:min(12, len(in.Snapshot.SHA256))])
	}
	return fmt.Sprintf("changed since %s was rolled out: %s", in.Snapshot.Version, strings.Join(changed, ", "))
}
