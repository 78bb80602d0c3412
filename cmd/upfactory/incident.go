package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
)

func newIncidentCmd(g *globals) *cobra.Command {
	var cfgPath string
	cmd := group(&cobra.Command{Use: "incident", Short: "Open, close and list incidents (a canary rolled back on its checks opens one by itself)"})
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")

	var req app.OpenRequest
	var started string
	open := &cobra.Command{
		Use:   "open SERVICE --severity sev1..sev4 --title TEXT --as NAME [--upgrade ID] [--started RFC3339]",
		Short: "Open an incident (logged)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			req.Service = args[0]
			if started != "" {
				t, err := time.Parse(time.RFC3339, started)
				if err != nil {
					return usageErr("--started %q: want a time such as 2026-12-05T09:30:00Z", started)
				}
				req.StartedAt = t
			}
			in, err := a.OpenIncident(ctx, req)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(in)
			}
			fmt.Fprintf(g.stdout, "incident %d opened on %s (%s): %s\n", in.ID, in.Service, in.Severity, in.Title)
			return nil
		}),
	}
	open.Flags().StringVar(&req.Severity, "severity", "", "sev1 (worst) to sev4 (required)")
	open.Flags().StringVar(&req.Title, "title", "", "what users see (required)")
	open.Flags().StringVar(&req.Upgrade, "upgrade", "", "the upgrade that caused it (upfactory board --all)")
	open.Flags().StringVar(&req.By, "as", "", "who opens it (required)")
	open.Flags().StringVar(&started, "started", "", "when it started (RFC 3339; default now)")

	var as, resolution, ended string
	closeCmd := &cobra.Command{
		Use:   "close ID --as NAME [--resolution TEXT] [--ended RFC3339]",
		Short: "End an incident; its time to restore is recorded (logged)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErr("incident ID %q: want a number (upfactory incident list)", args[0])
			}
			var at time.Time
			if ended != "" {
				if at, err = time.Parse(time.RFC3339, ended); err != nil {
					return usageErr("--ended %q: want a time such as 2026-12-05T10:15:00Z", ended)
				}
			}
			in, err := a.CloseIncident(ctx, id, at, as, resolution)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(in)
			}
			fmt.Fprintf(g.stdout, "incident %d closed by %s: restored after %s\n", in.ID, in.ClosedBy, upfactory.Duration(in.TimeToRestore()).Human())
			return nil
		}),
	}
	closeCmd.Flags().StringVar(&as, "as", "", "who closes it (required)")
	closeCmd.Flags().StringVar(&resolution, "resolution", "", "how it ended")
	closeCmd.Flags().StringVar(&ended, "ended", "", "when users were whole again (RFC 3339; default now)")
	closeCmd.MarkFlagRequired("as")

	var service string
	var openOnly bool
	list := &cobra.Command{
		Use:   "list [--service S] [--open]",
		Short: "List incidents, newest first",
		Args:  cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			if err := a.SyncLine(ctx); err != nil {
				return err
			}
			ins, err := a.Incidents(ctx, upfactory.IncidentFilter{Service: service, OpenOnly: openOnly})
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(map[string]any{"incidents": ins})
			}
			writeIncidents(g.stdout, ins)
			return nil
		}),
	}
	list.Flags().StringVar(&service, "service", "", "only this service's")
	list.Flags().BoolVar(&openOnly, "open", false, "only those not ended")
	cmd.AddCommand(open, closeCmd, list)
	return cmd
}

func writeIncidents(w io.Writer, ins []*upfactory.Incident) {
	if len(ins) == 0 {
		fmt.Fprintln(w, "no incidents")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSERVICE\tSEV\tSTARTED\tRESTORED IN\tUPGRADE\tTITLE")
	for _, in := range ins {
		ttr := "open"
		if !in.Open() {
			ttr = upfactory.Duration(in.TimeToRestore()).Human()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", in.ID, in.Service, in.Severity, in.StartedAt.Local().Format(time.DateTime), ttr, orDash(in.Upgrade), oneLine(in.Title, 80))
	}
	tw.Flush()
}
