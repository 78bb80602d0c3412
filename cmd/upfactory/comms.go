package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/comms"
)

func newCommsCmd(g *globals) *cobra.Command {
	var cfgPath string
	cmd := group(&cobra.Command{Use: "comms", Short: "What the people around a rollout read: maintenance notes and the status feed"})
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")

	var version, start, end, format, tmplPath string
	note := &cobra.Command{
		Use:   "note SERVICE --version V [--start T --end T] [--format md|html] [--template FILE]",
		Short: "The customer-facing maintenance note of an upgrade: when, what to expect, what changes, where to ask",
		Long: `Writes the maintenance note of SERVICE's upgrade to V: the window (--start
and --end, or the change window its release is planned into), what users
should expect, the breaking and deprecation items of its release notes,
and the service's comms as the contact. --template replaces the default
(text/template for md, html/template for html; the fields are .Service,
.From, .Version, .Start, .End, .Changes, .Impact and .Contact).`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			if version == "" {
				return usageErr("--version is required")
			}
			if format != "md" && format != "html" {
				return usageErr("--format %q: want md or html", format)
			}
			var from, to time.Time
			var err error
			if start != "" {
				if from, err = time.Parse(time.RFC3339, start); err != nil {
					return usageErr("--start %q: want a time such as 2026-12-06T22:00:00Z", start)
				}
			}
			if end != "" {
				if to, err = time.Parse(time.RFC3339, end); err != nil {
					return usageErr("--end %q: want a time such as 2026-12-06T23:00:00Z", end)
				}
			}
			tmpl := ""
			if tmplPath != "" {
				b, err := os.ReadFile(tmplPath)
				if err != nil {
					return usageErr("--template: %v", err)
				}
				tmpl = string(b)
			}
			n, err := a.MaintenanceNote(ctx, args[0], version, from, to)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(n)
			}
			var out string
			if format == "html" {
				out, err = comms.HTML(*n, tmpl)
			} else {
				out, err = comms.Markdown(*n, tmpl)
			}
			if err != nil {
				return usageErr("%v", err)
			}
			fmt.Fprint(g.stdout, out)
			return nil
		}),
	}
	note.Flags().StringVar(&version, "version", "", "the version users get (required)")
	note.Flags().StringVar(&start, "start", "", "when the maintenance starts (RFC 3339)")
	note.Flags().StringVar(&end, "end", "", "when it ends (RFC 3339)")
	note.Flags().StringVar(&format, "format", "md", "md or html")
	note.Flags().StringVar(&tmplPath, "template", "", "a template file replacing the default")

	status := &cobra.Command{
		Use:   "status",
		Short: "The status feed: change windows ahead and each service's last rollout (serve offers it at /api/v1/status and /api/v1/status/feed.atom)",
		Args:  cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			f, err := a.StatusFeed(ctx)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(f)
			}
			if len(f.ScheduledMaintenances) == 0 {
				fmt.Fprintln(g.stdout, "nothing scheduled, nothing in progress")
			}
			for _, m := range f.ScheduledMaintenances {
				fmt.Fprintf(g.stdout, "%-12s %s  %s: %s\n", m.Status, m.ScheduledFor.Format("2006-01-02 15:04"), m.Name, m.Body)
			}
			return nil
		}),
	}
	cmd.AddCommand(note, status)
	return cmd
}
