package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
)

func newPreflightCmd(g *globals) *cobra.Command {
	var cfgPath, version, as string
	cmd := &cobra.Command{
		Use:   "preflight SERVICE --version V",
		Short: "Run the go/no-go checklist of a service before a rollout; exit 0 on GO, 1 on NO-GO",
		Long: `Preflight checks that someone is on call (on_call), a comms channel
(comms), a rollback plan (the previous version kept warm), the config
against the snapshot taken when the stable version was rolled out, backups
verified by a restore and the release tagged (commands under preflight:, or
a person's confirmation), the staging dry-run (compat and a rollback drill
passed), a tier-1 service's top three failure_modes, and the service's own
items (a command, or confirm: true for a person). It ends in one line: GO,
or NO-GO and every reason. The result is stored and logged; rollout start
needs a GO younger than preflight.max_age.`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			if version == "" {
				return usageErr("--version is required: a preflight is for one version")
			}
			r, err := a.Preflight(ctx, args[0], version, as)
			if err != nil {
				return err
			}
			if g.json() {
				g.printJSON(r)
			} else {
				writePreflight(g.stdout, r)
			}
			if r.Verdict != upfactory.PreflightGo {
				return &exitError{code: exitRefused, err: fmt.Errorf("preflight of %s %s: NO-GO", r.Service, r.Version), reported: true}
			}
			return nil
		}),
	}
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&version, "version", "", "the version about to be rolled out (required)")
	cmd.Flags().StringVar(&as, "as", currentUser(), "who runs it, for the log")

	var cVersion, cAs, note string
	confirm := &cobra.Command{
		Use:   "confirm SERVICE ITEM --version V --as NAME [--note TEXT]",
		Short: "Confirm a checklist item as a named person (logged)",
		Args:  cobra.ExactArgs(2),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			if err := a.Confirm(ctx, args[0], args[1], cVersion, cAs, note); err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(map[string]string{"service": args[0], "item": args[1], "version": cVersion, "by": cAs})
			}
			fmt.Fprintf(g.stdout, "%s of %s %s confirmed by %s\n", args[1], args[0], cVersion, cAs)
			return nil
		}),
	}
	confirm.Flags().StringVar(&cVersion, "version", "", "the version it is confirmed for (required)")
	confirm.Flags().StringVar(&cAs, "as", "", "who confirms (required)")
	confirm.Flags().StringVar(&note, "note", "", "what was checked, for the log")
	confirm.MarkFlagRequired("version")
	confirm.MarkFlagRequired("as")
	cmd.AddCommand(confirm)
	return cmd
}

// writePreflight prints the items as a table, a failing command's output
// under it, and the one line.
func writePreflight(w io.Writer, r *upfactory.PreflightResult) {
	fmt.Fprintf(w, "preflight of %s %s\n", r.Service, r.Version)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mark := map[string]string{upfactory.ItemPass: "ok", upfactory.ItemFail: "FAIL", upfactory.ItemInfo: "info"}
	for _, it := range r.Items {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", mark[it.Status], it.Name, it.Reason)
	}
	tw.Flush()
	for _, it := range r.Items {
		if it.Status == upfactory.ItemFail && strings.TrimSpace(it.Output) != "" {
			fmt.Fprintf(w, "\n  output of %s:\n", it.Name)
			for _, l := range strings.Split(strings.TrimRight(it.Output, "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	fmt.Fprintln(w, r.Line)
}
