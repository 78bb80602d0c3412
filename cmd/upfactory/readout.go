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
	var cfgPath, period, format string
	cmd := &cobra.Command{
		Use:   "readout [--period 30d] [--format md|json]",
		Short: "The executive readout: what changed, why now, what risk reduced, what business metric improved — every figure with its log entries",
		Args:  cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			p, err := parsePeriod(period)
			if err != nil {
				return usageErr("%v", err)
			}
			to := time.Now()
			r, err := a.Readout(ctx, to.Add(-p), to)
			if err != nil {
				return err
			}
			switch {
			case g.json() || format == "json":
				return g.printJSON(r)
			case format == "md" || format == "":
				fmt.Fprint(g.stdout, readout.Markdown(r))
				return nil
			}
			return usageErr("--format %q: want md or json", format)
		}),
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&period, "period", "30d", "how far back from now: days (30d) or a duration (12h)")
	cmd.Flags().StringVar(&format, "format", "md", "md or json")
	return cmd
}
