package main

import (
	"context"
	"fmt"
	"github.com/upfactory/upfactory/app"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/policy"
	"github.com/upfactory/upfactory/sqlstore"
)

// reportPolicies checks the windows' plans now and prints the report.
func reportPolicies(ctx context.Context, g *globals, a *app.App, window string) (*app.PolicyReport, error) {
	rep, err := a.CheckPolicies(ctx, window, time.Now())
	if err != nil {
		return nil, err
	}
	if g.json() {
		return rep, g.printJSON(rep)
	}
	writePolicyReport(g.stdout, rep)
	return rep, nil
}

func writePolicyReport(w io.Writer, rep *app.PolicyReport) {
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
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			rep, err := reportPolicies(ctx, g, a, window)
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
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			o, err := a.Override(ctx, args[0], as, reason)
			if err != nil {
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
		RunE: withStore(&cfgPath, func(ctx context.Context, cfg *upfactory.Config, db *sqlstore.DB, args []string) error {
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
			_, err := reportPolicies(ctx, g, &app.App{Config: func() *upfactory.Config { return cfg }, Store: db}, window)
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
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			_, err := reportPolicies(ctx, g, a, window)
			return err
		}),
	}
	show.Flags().StringVar(&window, "window", "", "only this window")
	cmd.AddCommand(set, show)
	return cmd
}
