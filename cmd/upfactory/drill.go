package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
)

func newDrillCmd(g *globals) *cobra.Command {
	var cfgPath, version, as string
	cmd := &cobra.Command{
		Use:   "drill SERVICE --version V",
		Short: "Rehearse a rollback on a copy of a service: roll V out to 100% under load, roll back, count failed requests",
		Long: `A drill starts a copy of the service (its stable version, on ports of its
own, behind a router of its own), drives it at the compat load rate
(compat.load.rate), rolls V out with the service's strategy (pauses and
analysis divided by drill.speed; the drill gives approvals itself), then rolls
back, and measures the time from the rollback decision to no traffic on V and
every failed request. It passes with 0 failed requests and a rollback within
drill.max_rollback (5s). Stored and logged; rollout start needs a passing drill
younger than drill.max_age (30 days). Exit 1 when it fails.`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			if version == "" {
				return usageErr("--version is required: the drill rolls out that version")
			}
			start := time.Now()
			progress := func(msg string) { fmt.Fprintf(g.stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), msg) }
			r, err := a.Drill(ctx, args[0], version, as, progress)
			if err != nil {
				return err
			}
			if g.json() {
				g.printJSON(r)
			} else {
				fmt.Fprintf(g.stdout, "drill of %s %s: %s — %s\n", r.Service, r.Version, map[bool]string{true: "PASSED", false: "FAILED"}[r.Passed], r.Reason)
				fmt.Fprintf(g.stdout, "  rollback to %s: %s from the decision to weight 0; %d of %d requests failed\n", r.Stable,
					upfactory.Duration(time.Duration(r.RollbackSeconds*float64(time.Second))).Human(), r.FailedRequests, r.Requests)
			}
			if !r.Passed {
				return &exitError{code: exitRefused, err: fmt.Errorf("drill of %s %s failed", r.Service, r.Version), reported: true}
			}
			return nil
		}),
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&version, "version", "", "the version to drill (required)")
	cmd.Flags().StringVar(&as, "as", currentUser(), "who runs it, for the log")
	return cmd
}
