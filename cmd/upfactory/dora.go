package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/dora"
)

func newDoraCmd(g *globals) *cobra.Command {
	var cfgPath, service string
	var period time.Duration
	cmd := &cobra.Command{
		Use:   "dora [--period 720h] [--service S]",
		Short: "DORA's four keys from the record: deployments, lead time, change failure rate, time to restore; and advisory exposure",
		Args:  cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			if period <= 0 {
				return usageErr("--period %s: want a positive duration such as 720h", period)
			}
			to := time.Now()
			k, err := a.Dora(ctx, to.Add(-period), to, service)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(k)
			}
			writeDora(g.stdout, k)
			return nil
		}),
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&service, "service", "", "one service (default the fleet)")
	cmd.Flags().DurationVar(&period, "period", 30*24*time.Hour, "how far back from now")
	return cmd
}

func human(seconds float64) string {
	return upfactory.Duration(time.Duration(seconds * float64(time.Second))).Human()
}

func writeDora(w io.Writer, k *dora.Keys) {
	who := "the fleet"
	if k.Service != "" {
		who = k.Service
	}
	fmt.Fprintf(w, "DORA keys of %s, %s – %s\n", who, k.From.Local().Format(time.DateTime), k.To.Local().Format(time.DateTime))
	if !k.HasData {
		fmt.Fprintln(w, "  nothing was deployed, failed or restored in this period: no figures to give")
	} else {
		fmt.Fprintf(w, "  deployments           %d\n", int(k.Deployments.Value))
		fmt.Fprintf(w, "  lead time (median)    %s over %d upgrade(s)\n", human(k.LeadTime.Value), k.LeadTime.Count)
		var stages []string
		for s := range k.LeadTimeByStage {
			stages = append(stages, s)
		}
		order := map[string]int{}
		for i, s := range upfactory.LineStages {
			order[string(s)] = i
		}
		slices.SortFunc(stages, func(a, b string) int { return order[a] - order[b] })
		for _, s := range stages {
			fmt.Fprintf(w, "    in %-12s %s\n", s, human(k.LeadTimeByStage[s].Value))
		}
		fmt.Fprintf(w, "  change failure rate   %.0f%% of %d deployment(s)\n", k.ChangeFailureRate.Value*100, k.ChangeFailureRate.Count)
		if k.TimeToRestore.Count > 0 {
			fmt.Fprintf(w, "  time to restore       %s (median of %d incident(s))\n", human(k.TimeToRestore.Value), k.TimeToRestore.Count)
		} else {
			fmt.Fprintln(w, "  time to restore       no incident ended in this period")
		}
	}
	if len(k.Exposure) > 0 {
		fmt.Fprintln(w, "  exposure (KEV-listed or risk 70+):")
		for _, e := range k.Exposure {
			state := "closed"
			if e.Open {
				state = "still open"
			}
			fmt.Fprintf(w, "    %-22s %-28s %5.1f days, %s%s\n", e.Advisory, oneLine(e.Component, 28), e.Days, state, map[bool]string{true: " (KEV)", false: ""}[e.KEV])
		}
	}
}
