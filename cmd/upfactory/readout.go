package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/readout"
)

// parsePeriod reads "30d", "12h" or any Go duration.
func parsePeriod(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("--period %q: want a number of days such as 30d, or a duration such as 12h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	p, err := time.ParseDuration(s)
	if err != nil || p <= 0 {
		return 0, fmt.Errorf("--period %q: want a number of days such as 30d, or a duration such as 12h", s)
	}
	return p, nil
}

func newReadoutCmd(g *globals) *cobra.Command {
	var cfgPath, period, format, upgrade, fromS, toS string
	cmd := &cobra.Command{
		Use:   "readout [--period 30d | --from T] [--to T] [--upgrade ID] [--format md|html|json]",
		Short: "The executive readout: what changed, why now, what risk reduced, what business metric improved — every figure with its log entries",
		Long: `The executive readout of a period (default the last 30 days) or of one
upgrade (--upgrade, from the board), under the brief's four headings, each
figure with the operation-log entries it was computed from. Money comes
from the config's economics section; without one, documented defaults
are used and the readout says they are assumptions. --format html writes
one self-contained page with before/after charts.`,
		Args: cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			if format != "md" && format != "html" && format != "json" {
				return usageErr("--format %q: want md, html or json", format)
			}
			p, err := parsePeriod(period)
			if err != nil {
				return usageErr("%v", err)
			}
			to := time.Now()
			if toS != "" {
				if to, err = time.Parse(time.RFC3339, toS); err != nil {
					return usageErr("--to %q: want a time such as 2026-12-05T09:00:00Z", toS)
				}
			}
			from := to.Add(-p)
			if fromS != "" {
				if from, err = time.Parse(time.RFC3339, fromS); err != nil {
					return usageErr("--from %q: want a time such as 2026-12-05T08:00:00Z", fromS)
				}
			}
			r, err := a.Readout(ctx, app.ReadoutRequest{From: from, To: to, Upgrade: upgrade})
			if err != nil {
				return err
			}
			switch {
			case g.json() || format == "json":
				return g.printJSON(r)
			case format == "html":
				fmt.Fprint(g.stdout, readout.HTML(r))
				return nil
			}
			fmt.Fprint(g.stdout, readout.Markdown(r))
			return nil
		}),
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&period, "period", "30d", "how far back from now: days (30d) or a duration (12h)")
	cmd.Flags().StringVar(&upgrade, "upgrade", "", "one upgrade (an ID from upfactory board --all) instead of a period")
	cmd.Flags().StringVar(&format, "format", "md", "md, html or json")
	cmd.Flags().StringVar(&fromS, "from", "", "start of the period (RFC 3339); default --period before --to")
	cmd.Flags().StringVar(&toS, "to", "", "end of the period (RFC 3339); default now")
	cmd.MarkFlagsMutuallyExclusive("period", "upgrade", "from")
	return cmd
}
