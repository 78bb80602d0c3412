package preflight_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/gate"
	"github.com/upfactory/upfactory/preflight"
)

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// ready is a service and inputs on which every standard item passes.
func ready() preflight.Inputs {
	svc := &upfactory.Service{Name: "shop", Owner: "team", OnCall: "dana", Comms: "#shop", Tier: 1,
		FailureModes: []string{"a", "b", "c"},
		Strategy:     upfactory.Strategy{Canary: &upfactory.CanaryStrategy{RollbackWindow: upfactory.Duration(10 * time.Minute)}},
		Preflight: upfactory.PreflightSpec{Backups: &upfactory.PreflightCommand{Command: []string{"true"}}, Tagged: &upfactory.PreflightCommand{Command: []string{"true"}},
			Items: []upfactory.PreflightItemSpec{{Name: "cs-briefed", Confirm: true}, {Name: "capacity", Command: []string{"true"}}}},
	}
	return preflight.Inputs{Service: svc, Version: "1.2.0", Stable: "1.0.0", Now: now, By: "alice",
		Confirmations: []upfactory.PreflightConfirmation{{Service: "shop", Version: "1.2.0", Item: "cs-briefed", By: "carol", At: now}},
		Compat:        gate.Result{Gate: gate.Compat, Open: true, Reason: "compat run 3 passed"},
		Drill:         gate.Result{Gate: gate.Drill, Open: true, Reason: "drill passed"},
		Commands: map[string]preflight.Outcome{"backups": {OK: true, Reason: "exit 0"}, "release_tagged": {OK: true, Reason: "exit 0"},
			"capacity": {OK: true, Reason: "exit 0"}},
		Current: `{"name":"shop","tier":1}`, Snapshot: &upfactory.ConfigSnapshot{Version: "1.0.0", SHA256: "abcdef0123456789", Config: `{"name":"shop","tier":1}`}}
}

func item(r upfactory.PreflightResult, name string) upfactory.PreflightItem {
	for _, it := range r.Items {
		if it.Name == name {
			return it
		}
	}
	return upfactory.PreflightItem{}
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*preflight.Inputs)
		item   string
		status string
		reason string
	}{
		{"all good", func(*preflight.Inputs) {}, "on_call", upfactory.ItemPass, "dana is on call"},
		{"no one on call", func(in *preflight.Inputs) { in.Service.OnCall = "" }, "on_call", upfactory.ItemFail, "services[shop].on_call"},
		{"no comms", func(in *preflight.Inputs) { in.Service.Comms = "" }, "comms", upfactory.ItemFail, "services[shop].comms"},
		{"previous not kept warm", func(in *preflight.Inputs) { in.Service.Strategy.Canary.RollbackWindow = 0 }, "rollback_plan", upfactory.ItemFail, "not kept warm"},
		{"config unchanged", func(*preflight.Inputs) {}, "config_snapshot", upfactory.ItemInfo, "no change since 1.0.0"},
		{"config changed is listed, never blocks", func(in *preflight.Inputs) { in.Current = `{"name":"shop","tier":2,"comms":"#x"}` }, "config_snapshot", upfactory.ItemInfo, "changed since 1.0.0 was rolled out: comms, tier"},
		{"no snapshot yet", func(in *preflight.Inputs) { in.Snapshot = nil }, "config_snapshot", upfactory.ItemInfo, "no snapshot"},
		{"backup restore failed", func(in *preflight.Inputs) {
			in.Commands["backups"] = preflight.Outcome{Reason: "exit code 3: restore failed", Output: "restore failed\n"}
		}, "backups", upfactory.ItemFail, "command failed: exit code 3"},
		{"backups neither checked nor confirmed", func(in *preflight.Inputs) {
			in.Service.Preflight.Backups = nil
			delete(in.Commands, "backups")
		}, "backups", upfactory.ItemFail, "preflight confirm shop backups"},
		{"backups confirmed by a person", func(in *preflight.Inputs) {
			in.Service.Preflight.Backups = nil
			delete(in.Commands, "backups")
			in.Confirmations = append(in.Confirmations, upfactory.PreflightConfirmation{Version: "1.2.0", Item: "backups", By: "dba", At: now})
		}, "backups", upfactory.ItemPass, "confirmed by dba"},
		{"release not tagged", func(in *preflight.Inputs) {
			in.Commands["release_tagged"] = preflight.Outcome{Reason: "timed out after 1s"}
		}, "release_tagged", upfactory.ItemFail, "timed out"},
		{"compat did not pass", func(in *preflight.Inputs) {
			in.Compat = gate.Result{Gate: gate.Compat, Reason: "compat run 4 failed"}
		}, "staging_dry_run", upfactory.ItemFail, "compat: compat run 4 failed"},
		{"no drill", func(in *preflight.Inputs) {
			in.Drill = gate.Result{Gate: gate.Drill, Reason: "no rollback drill of shop yet"}
		}, "staging_dry_run", upfactory.ItemFail, "drill: no rollback drill"},
		{"tier 1 with two failure modes", func(in *preflight.Inputs) { in.Service.FailureModes = []string{"a", "b"} }, "failure_modes", upfactory.ItemFail, "tier 1 needs its top three failure modes in services[shop].failure_modes (has 2)"},
		{"tier 2 without failure modes", func(in *preflight.Inputs) { in.Service.Tier, in.Service.FailureModes = 2, nil }, "failure_modes", upfactory.ItemInfo, "none named"},
		{"a person's item not confirmed", func(in *preflight.Inputs) { in.Confirmations = nil }, "cs-briefed", upfactory.ItemFail, "preflight confirm shop cs-briefed --version 1.2.0"},
		{"confirmed for another version", func(in *preflight.Inputs) { in.Confirmations[0].Version = "1.1.0" }, "cs-briefed", upfactory.ItemFail, "needs a confirmation"},
		{"the service's command failed", func(in *preflight.Inputs) {
			in.Commands["capacity"] = preflight.Outcome{Reason: "exit code 1", Output: "only 40% headroom"}
		}, "capacity", upfactory.ItemFail, "command failed"},
	} {
		in := ready()
		tc.change(&in)
		r := preflight.Evaluate(in)
		it := item(r, tc.item)
		if it.Status != tc.status || !strings.Contains(it.Reason, tc.reason) {
			t.Errorf("%s: %s is %s %q; want %s with %q", tc.name, tc.item, it.Status, it.Reason, tc.status, tc.reason)
		}
		wantGo := tc.status != upfactory.ItemFail
		if (r.Verdict == upfactory.PreflightGo) != wantGo {
			t.Errorf("%s: verdict %s (%s)", tc.name, r.Verdict, r.Line)
		}
		if !wantGo && (!strings.HasPrefix(r.Line, "NO-GO: ") || !strings.Contains(r.Line, tc.item+": ")) {
			t.Errorf("%s: line %q does not give the reason", tc.name, r.Line)
		}
		if wantGo && r.Line != "GO" {
			t.Errorf("%s: line %q, want GO", tc.name, r.Line)
		}
	}
	in := ready()
	in.Commands["backups"] = preflight.Outcome{Reason: "exit code 2", Output: "pg_restore: error"}
	if it := item(preflight.Evaluate(in), "backups"); it.Output != "pg_restore: error" {
		t.Errorf("a failing command's output is not kept: %+v", it)
	}
	in = ready()
	in.Service.OnCall, in.Confirmations = "", nil
	if r := preflight.Evaluate(in); strings.Count(r.Line, ";") != 1 {
		t.Errorf("two failing items, line %q: want both reasons", r.Line)
	}
}

func TestRunCommands(t *testing.T) {
	svc := &upfactory.Service{Name: "shop", Preflight: upfactory.PreflightSpec{
		Backups: &upfactory.PreflightCommand{Command: []string{"sh", "-c", `echo "restoring $UPFACTORY_SERVICE $UPFACTORY_VERSION"; exit 3`}, Timeout: upfactory.Duration(10 * time.Second)},
		Tagged:  &upfactory.PreflightCommand{Command: []string{"sleep", "30"}, Timeout: upfactory.Duration(200 * time.Millisecond)},
		Items: []upfactory.PreflightItemSpec{{Name: "ok", Command: []string{"true"}, Timeout: upfactory.Duration(10 * time.Second)},
			{Name: "missing", Command: []string{"/nonexistent/upfactory-check"}, Timeout: upfactory.Duration(10 * time.Second)},
			{Name: "person", Confirm: true}},
	}}
	out := preflight.RunCommands(context.Background(), svc, "1.2.0")
	if o := out["backups"]; o.OK || !strings.Contains(o.Reason, "exit code 3") || !strings.Contains(o.Output, "restoring shop 1.2.0") {
		t.Errorf("backups: %+v", o)
	}
	if o := out["release_tagged"]; o.OK || !strings.Contains(o.Reason, "timed out") {
		t.Errorf("a command past its timeout: %+v", o)
	}
	if o := out["ok"]; !o.OK {
		t.Errorf("true: %+v", o)
	}
	if o := out["missing"]; o.OK || o.Reason == "" {
		t.Errorf("a command that cannot start: %+v", o)
	}
	if _, ran := out["person"]; ran {
		t.Error("a person's item ran as a command")
	}
}
