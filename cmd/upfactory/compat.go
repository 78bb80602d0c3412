package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/compat"
	"github.com/upfactory/upfactory/schema"
	"github.com/upfactory/upfactory/sqlstore"
)

func newCompatCmd(g *globals) *cobra.Command {
	var cfgPath, as string
	var force bool
	cmd := &cobra.Command{
		Use:   "compat",
		Short: "Test a candidate's compatibility: declared constraints, checks and probes in a staging twin, schema drift",
	}
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	run := &cobra.Command{
		Use:   "run ID",
		Short: "Run the compatibility matrix of a candidate; exit 1 when a cell fails or errs",
		Long: `Run checks a candidate against every service it affects: each constraint a
dependent component declares on it (composer.json, package.json, Gemfile,
gemspec, WordPress plugin and theme headers, go.mod), and for a service's own
release, its check commands, user-journey probes and load comparison in a
staging twin (critical paths first; a critical failure skips the rest), and a
schema-drift check. Every cell is pass, fail, skipped or error, with its reason.
The run is stored; while neither the candidate nor the services change, the
stored run is shown again (--force runs anew).`,
		Args: cobra.ExactArgs(1),
		RunE: withStore(&cfgPath, func(ctx context.Context, cfg *upfactory.Config, db *sqlstore.DB, args []string) error {
			opts := compat.Options{Config: cfg, Store: db, Force: force, Actor: as,
				Twin: compat.TargetTwin(cfg.Server.DataDir, nil), Schema: schemaCheck}
			if !g.json() {
				start := time.Now()
				opts.Progress = func(msg string) { fmt.Fprintf(g.stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), msg) }
			}
			r, err := compat.Run(ctx, opts, args[0])
			if err != nil {
				return err
			}
			if g.json() {
				g.printJSON(r)
			} else {
				writeCompatRun(g.stdout, r)
			}
			if r.Outcome != upfactory.CompatPass {
				return &exitError{code: exitRefused, err: fmt.Errorf("compatibility of %s: %s", r.CandidateID, r.Outcome), reported: true}
			}
			return nil
		}),
	}
	run.Flags().BoolVar(&force, "force", false, "run again even if nothing changed")
	run.Flags().StringVar(&as, "as", "", "who runs it, for the log")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show the latest compatibility runs of a candidate",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(&cfgPath, func(ctx context.Context, _ *upfactory.Config, db *sqlstore.DB, args []string) error {
			runs, err := db.CompatRuns(ctx, args[0], 1)
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				return upfactory.Errorf(upfactory.ENOTFOUND, "no compatibility run of %s yet: upfactory compat run %s", args[0], args[0])
			}
			if g.json() {
				return g.printJSON(runs[0])
			}
			writeCompatRun(g.stdout, runs[0])
			return nil
		}),
	}
	cmd.AddCommand(run, show)
	return cmd
}

func writeCompatRun(w io.Writer, r *upfactory.CompatRun) {
	reused := ""
	if r.Reused {
		reused = " (stored run reused: nothing changed since; --force runs again)"
	}
	fmt.Fprintf(w, "compatibility of %s: %s — %d pass, %d fail, %d skipped, %d error; run %d at %s%s\n\n", r.CandidateID, strings.ToUpper(r.Outcome),
		r.Counts[upfactory.CompatPass], r.Counts[upfactory.CompatFail], r.Counts[upfactory.CompatSkipped], r.Counts[upfactory.CompatError],
		r.ID, r.Started.Local().Format(time.DateTime), reused)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tKIND\tCOMPONENT\tOUTCOME\tWHERE\tREASON")
	for _, c := range r.Cells {
		where := ""
		if c.File != "" {
			where = c.File
			if c.Line > 0 {
				where = fmt.Sprintf("%s:%d", c.File, c.Line)
			}
		}
		name := c.Component
		if len(c.Tags) > 0 {
			name += " [" + strings.Join(c.Tags, ",") + "]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Service, c.Kind, name, c.Outcome, where, oneLine(c.Reason, 110))
	}
	tw.Flush()
}

// schemaCheck compares the live schema of spec.DSN (or, with Pending, a
// throw-away copy of it migrated with the pending migrations) with the one
// its migrations produce on a throw-away database (or its expected file).
// A DSN written ${NAME} is read from the environment, so that passwords
// stay out of the config.
func schemaCheck(ctx context.Context, spec upfactory.SchemaSpec) ([]string, error) {
	dsn := os.Expand(spec.DSN, func(name string) string { return os.Getenv(name) })
	if strings.TrimSpace(dsn) == "" {
		return nil, fmt.Errorf("the schema DSN %q is empty (an unset environment variable?)", spec.DSN)
	}
	var want *schema.Schema
	var err error
	if spec.Migrations != "" {
		want, err = schema.FromMigrations(ctx, dsn, spec.Migrations)
	} else {
		want, err = schema.LoadExpected(ctx, spec.Expected, dsn)
	}
	if err != nil {
		return nil, err
	}
	var got *schema.Schema
	if spec.Pending != "" {
		got, err = schema.MigrateCopy(ctx, dsn, spec.Pending)
	} else {
		got, err = schema.Inspect(ctx, dsn)
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range schema.Diff(want, got) {
		out = append(out, d.String())
	}
	return out, nil
}
