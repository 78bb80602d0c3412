package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory/app"
)

func newServicesCmd(g *globals) *cobra.Command {
	var cfgPath, format string
	cmd := &cobra.Command{
		Use:   "services [--format text|md]",
		Short: "The service map in one page: owners, on-call, tier, SLOs, versions, dependencies, stateful parts, failure modes",
		Args:  cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			m, err := a.ServiceMap(ctx)
			if err != nil {
				return err
			}
			switch {
			case g.json():
				return g.printJSON(m)
			case format == "md":
				writeServiceMapMarkdown(g.stdout, m)
			case format == "text" || format == "":
				writeServiceMap(g.stdout, m)
			default:
				return usageErr("--format %q: want text or md", format)
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&format, "format", "text", "text, or md for a page to paste into a wiki (-o json for JSON)")
	return cmd
}

func list(s []string) string {
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func versionsOf(e app.ServiceEntry) string {
	if !e.Delivered {
		return "not delivered by upfactory"
	}
	v := e.Versions.Stable
	if e.Versions.Canary != "" {
		v += ", canary " + e.Versions.Canary
	}
	if e.Versions.Previous != "" {
		v += ", previous " + e.Versions.Previous + " warm"
	}
	return v
}

func serviceRows(e app.ServiceEntry) [][2]string {
	return [][2]string{
		{"owner", orDash(e.Owner)}, {"on call", orDash(e.OnCall)}, {"comms", orDash(e.Comms)}, {"tier", fmt.Sprint(e.Tier)},
		{"versions", versionsOf(e)}, {"SLOs", list(e.SLOs)}, {"critical paths", list(e.CriticalPaths)},
		{"depends on", list(e.DependsOn)}, {"dependents", list(e.Dependents)}, {"stateful", list(e.Stateful)},
		{"failure modes", list(e.FailureModes)},
	}
}

func writeServiceMap(w io.Writer, m *app.ServiceMap) {
	for i, e := range m.Services {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, e.Name)
		for _, r := range serviceRows(e) {
			fmt.Fprintf(w, "  %-15s %s\n", r[0], r[1])
		}
		for _, p := range e.Problems {
			fmt.Fprintf(w, "  ! %s\n", p)
		}
	}
}

func writeServiceMapMarkdown(w io.Writer, m *app.ServiceMap) {
	fmt.Fprintln(w, "# Service map")
	for _, e := range m.Services {
		fmt.Fprintf(w, "\n## %s\n\n| | |\n|---|---|\n", e.Name)
		for _, r := range serviceRows(e) {
			fmt.Fprintf(w, "| %s | %s |\n", r[0], strings.ReplaceAll(r[1], "|", "\\|"))
		}
		if len(e.Problems) > 0 {
			fmt.Fprintln(w)
			for _, p := range e.Problems {
				fmt.Fprintf(w, "- **%s**\n", p)
			}
		}
	}
}
