package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/policy"
	"github.com/upfactory/upfactory/sqlite"
)

// windowCheck is the outcome of checking one window's plan.
type windowCheck struct {
	Window     string             `json:"window"`
	Opens      time.Time          `json:"opens"`
	Closes     time.Time          `json:"closes"`
	Manual     bool               `json:"manual"`
	Candidates []string           `json:"candidates"`
	Missing    []string           `json:"missing,omitempty"`
	Violations []policy.Violation `json:"violations"`
}

// policyReport is the outcome of `policy check`.
type policyReport struct {
	OK      bool               `json:"ok"`
	Windows []windowCheck      `json:"windows"`
	Frozen  []upfactory.Freeze `json:"frozen_now"`
	Blocked []policy.Violation `json:"blocking"`
}

// checkPolicies evaluates the plans of the windows (all, or the one named).
func checkPolicies(ctx context.Context, cfg *upfactory.Config, db *sqlite.DB, only string, now time.Time) (*policyReport, error) {
	if only != "" && policy.FindWindow(cfg.Policies, only) == nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "no change window %q in the config", only)
	}
	open, err := db.Candidates(ctx, upfactory.CandidateFilter{})
	if err != nil {
		return nil, err
	}
	plans, err := db.Plans(ctx)
	if err != nil {
		return nil, err
	}
	overrides, err := db.Overrides(ctx)
	if err != nil {
		return nil, err
	}
	rep := &policyReport{Windows: []windowCheck{}, Frozen: policy.FrozenAt(cfg.Policies, now), Blocked: []policy.Violation{}}
	for _, w := range cfg.Policies.Windows {
		if only != "" && w.Name != only {
			continue
		}
		var stored *upfactory.WindowPlan
		for i := range plans {
			if plans[i].Window == w.Name {
				stored = &plans[i]
			}
		}
		p, missing, err := policy.BuildPlan(cfg.Policies, w.Name, stored, open, now)
		if err != nil {
			return nil, err
		}
		wc := windowCheck{Window: w.Name, Opens: p.Opens, Closes: p.Closes, Manual: p.Manual, Candidates: []string{}, Missing: missing,
			Violations: policy.CheckPlan(cfg.Policies, p, overrides)}
		if wc.Violations == nil {
			wc.Violations = []policy.Violation{}
		}
		for _, c := range p.Candidates {
			wc.Candidates = append(wc.Candidates, c.ID)
		}
		rep.Blocked = append(rep.Blocked, policy.Blocking(wc.Violations)...)
		rep.Windows = append(rep.Windows, wc)
	}
	rep.OK = len(rep.Blocked) == 0
	return rep, nil
}

// overridable refuses an override of an ID that names no violation found
// now nor a freeze of the config, listing those that do: a typo must not
// be logged as an approval. It returns the service the ID is about, if any.
func overridable(ctx context.Context, cfg *upfactory.Config, db *sqlite.DB, id string, now time.Time) (service string, err error) {
	rep, err := checkPolicies(ctx, cfg, db, "", now)
	if err != nil {
		return "", err
	}
	var current []policy.Violation
	for _, w := range rep.Windows {
		current = append(current, w.Violations...)
	}
	var services []string
	for _, svc := range cfg.Services {
		if svc.Delivered() {
			services = append(services, svc.Name)
		}
	}
	ids := policy.OverridableIDs(cfg.Policies, services, current)
	if !slices.Contains(ids, id) {
		if len(ids) == 0 {
			return "", upfactory.Errorf(upfactory.EINVALID, "no violation %q: policy check finds no violation now and the config has no freeze, so there is nothing to override", id)
		}
		return "", upfactory.Errorf(upfactory.EINVALID, "no violation %q; the IDs that can be overridden now are:\n  %s", id, strings.Join(ids, "\n  "))
	}
	for _, svc := range services {
		for _, f := range cfg.Policies.Freezes {
			if id == policy.RolloutFreezeID(svc, f.Name) {
				return svc, nil
			}
		}
	}
	return "", nil
}

// reportPolicies checks the windows' plans now and prints the report.
func reportPolicies(ctx context.Context, g *globals, cfg *upfactory.Config, db *sqlite.DB, window string) (*policyReport, error) {
	rep, err := checkPolicies(ctx, cfg, db, window, time.Now())
	if err != nil {
		return nil, err
	}
	if g.json() {
		return rep, g.printJSON(rep)
	}
	writePolicyReport(g.stdout, rep)
	return rep, nil
}

func writePolicyReport(w io.Writer, rep *policyReport) {
	if len(rep.Windows) == 0 {
		fmt.Fprintln(w, "no change windows in the config (policies.windows)")
	}
	for _, wc := range rep.Windows {
		order := "patch order"
		if wc.Manual {
			order = "manual order"
		}
		fmt.Fprintf(w, "window %s: next %s – %s; %d planned (%s)\n", wc.Window, wc.Opens.Format(time.RFC3339), wc.Closes.Format(time.RFC3339), len(wc.Candidates), order)
		if len(wc.Candidates) > 0 {
			fmt.Fprintf(w, "  plan: %s\n", strings.Join(wc.Candidates, " → "))
		}
		if len(wc.Missing) > 0 {
			fmt.Fprintf(w, "  no longer open (left out): %s\n", strings.Join(wc.Missing, ", "))
		}
		for _, v := range wc.Violations {
			if v.Override != nil {
				fmt.Fprintf(w, "  OVERRIDDEN %s by %s: %s\n", v.ID, v.Override.By, v.Override.Reason)
				continue
			}
			fmt.Fprintf(w, "  VIOLATION  %s: %s\n", v.ID, v.Message)
		}
	}
	for _, f := range rep.Frozen {
		fmt.Fprintf(w, "freeze in force now: %s%s\n", f.Name, map[bool]string{true: " (" + f.Reason + ")", false: ""}[f.Reason != ""])
	}
	if rep.OK {
		fmt.Fprintln(w, "policies: OK")
	} else {
		fmt.Fprintf(w, "policies: %d violation(s); fix them, or have an approver run: upfactory policy override ID --as NAME --reason TEXT\n", len(rep.Blocked))
	}
}

func newPolicyCmd(g *globals) *cobra.Command {
	var cfgPath, window, as, reason string
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check upgrade policies (bundles, patch order, acknowledgements, windows and freezes) and override violations",
	}
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	check := &cobra.Command{
		Use:   "check [--window NAME]",
		Short: "Check the plans of the change windows; exit 1 on any violation not overridden (for CI)",
		Args:  cobra.NoArgs,
		RunE: withStore(&cfgPath, func(ctx context.Context, cfg *upfactory.Config, db *sqlite.DB, args []string) error {
			rep, err := reportPolicies(ctx, g, cfg, db, window)
			if err != nil {
				return err
			}
			if !rep.OK {
				return &exitError{code: exitRefused, err: fmt.Errorf("%d policy violation(s)", len(rep.Blocked)), reported: true}
			}
			return nil
		}),
	}
	check.Flags().StringVar(&window, "window", "", "check only this window")
	override := &cobra.Command{
		Use:   "override VIOLATION-ID --as NAME --reason TEXT",
		Short: "Let one violation pass, as a named approver with a reason (logged)",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(&cfgPath, func(ctx context.Context, cfg *upfactory.Config, db *sqlite.DB, args []string) error {
			now := time.Now()
			service, err := overridable(ctx, cfg, db, args[0], now)
			if err != nil {
				return err
			}
			o := upfactory.PolicyOverride{ID: args[0], By: as, Reason: reason, At: now}
			entry := upfactory.LogEntry{Time: o.At, Actor: as, Action: "policy.override", Service: service, Subject: o.ID, Reason: reason}
			if err := db.AddOverride(ctx, o, entry); err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(o)
			}
			fmt.Fprintf(g.stdout, "%s overridden by %s: %s\n", o.ID, o.By, o.Reason)
			return nil
		}),
	}
	override.Flags().StringVar(&as, "as", "", "the approver's name (required)")
	override.Flags().StringVar(&reason, "reason", "", "why the violation may pass (required)")
	override.MarkFlagRequired("as")
	override.MarkFlagRequired("reason")
	cmd.AddCommand(check, override)
	return cmd
}

func newPlanCmd(g *globals) *cobra.Command {
	var cfgPath, window, as string
	var manual bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Plan candidates into change windows",
	}
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	set := &cobra.Command{
		Use:   "set --window NAME ID... [--manual] --as NAME",
		Short: "Set the candidates of a window: in patch order, or as given with --manual (checked by policy check)",
		Args:  cobra.ArbitraryArgs,
		RunE: withStore(&cfgPath, func(ctx context.Context, cfg *upfactory.Config, db *sqlite.DB, args []string) error {
			if policy.FindWindow(cfg.Policies, window) == nil {
				return usageErr("no change window %q in the config", window)
			}
			for _, id := range args {
				if _, err := db.Candidate(ctx, id); err != nil {
					return err
				}
			}
			p := upfactory.WindowPlan{Window: window, Manual: manual, CandidateIDs: append([]string{}, args...), UpdatedBy: as, UpdatedAt: time.Now()}
			entry := upfactory.LogEntry{Time: p.UpdatedAt, Actor: as, Action: "plan.set", Subject: window,
				Reason: fmt.Sprintf("%d candidate(s), %s order", len(args), map[bool]string{true: "manual", false: "patch"}[manual]),
				Values: map[string]any{"candidates": strings.Join(args, ",")}}
			if err := db.SavePlan(ctx, p, entry); err != nil {
				return err
			}
			_, err := reportPolicies(ctx, g, cfg, db, window)
			return err
		}),
	}
	set.Flags().StringVar(&window, "window", "", "the change window (required)")
	set.Flags().BoolVar(&manual, "manual", false, "keep the order given instead of the patch order")
	set.Flags().StringVar(&as, "as", "", "who plans (required)")
	set.MarkFlagRequired("window")
	set.MarkFlagRequired("as")
	show := &cobra.Command{
		Use:   "show [--window NAME]",
		Short: "Show the plans with their policy check",
		Args:  cobra.NoArgs,
		RunE: withStore(&cfgPath, func(ctx context.Context, cfg *upfactory.Config, db *sqlite.DB, args []string) error {
			_, err := reportPolicies(ctx, g, cfg, db, window)
			return err
		}),
	}
	show.Flags().StringVar(&window, "window", "", "only this window")
	cmd.AddCommand(set, show)
	return cmd
}

// admit refuses a rollout that would start in a freeze, unless overridden.
func admit(current func() *upfactory.Config, db *sqlite.DB) func(ctx context.Context, service, version string, now time.Time) error {
	return func(ctx context.Context, service, version string, now time.Time) error {
		cfg := current()
		if len(cfg.Policies.Freezes) == 0 {
			return nil
		}
		overrides, err := db.Overrides(ctx)
		if err != nil {
			return err
		}
		blocking := policy.Blocking(policy.CheckRolloutStart(cfg.Policies, service, now, overrides))
		if len(blocking) == 0 {
			return nil
		}
		var msgs []string
		for _, v := range blocking {
			msgs = append(msgs, v.Message)
		}
		return upfactory.Errorf(upfactory.ECONFLICT, "rollout of %s %s refused: %s", service, version, strings.Join(msgs, "; "))
	}
}
