package main

import (
	"context"
	"fmt"
	"github.com/upfactory/upfactory/app"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/intake"
	"github.com/upfactory/upfactory/postgres"
	"github.com/upfactory/upfactory/risk"
	"github.com/upfactory/upfactory/sqlite"
	"github.com/upfactory/upfactory/sqlstore"
)

// openStore loads the config at cfgPath and opens its store.
func openStore(ctx context.Context, cfgPath string, stderr io.Writer) (*upfactory.Config, *sqlite.DB, error) {
	cfg, err := loadConfig(cfgPath, stderr)
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(cfg.Server.DataDir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating data dir: %w", err)
	}
	db, err := openDB(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return cfg, db, nil
}

// openDB opens the store cfg names: PostgreSQL when store.dsn is set,
// else SQLite in the data directory.
func openDB(ctx context.Context, cfg *upfactory.Config) (*sqlstore.DB, error) {
	if cfg.Store.DSN != "" {
		dsn := cfg.Store.ResolvedDSN()
		if dsn == "" {
			return nil, upfactory.Errorf(upfactory.EINVALID, "store.dsn is %s, and that environment variable is not set", cfg.Store.DSN)
		}
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, filepath.Join(cfg.Server.DataDir, "upfactory.db"))
}

func newIntakeCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "intake",
		Short: "Take in advisories and release notes, match them to the services' inventories",
	}
	var cfgPath string
	var show int
	run := &cobra.Command{
		Use:   "run [-c upfactory.yaml]",
		Short: "Run intake once: read the feeds and inventories, store the upgrade candidates",
		Long: `Run reads the feeds of upfactory.yaml (OSV databases, CISA KEV, FIRST EPSS,
release notes; url feeds are fetched with conditional requests and cached under
the data directory), reads every service's inventory, matches them and stores
the upgrade candidates with their risk scores. Only new and changed advisories
are written; candidates keep their first-seen time and acknowledgements.

Malformed records, SBOMs, lockfiles and notes are listed as problems and
skipped; the run goes on. Exit 0 when the run was stored (even with problems),
1 when it could not be (nothing is changed then), 2 for a bad config.`,
		Args: cobra.NoArgs,
		RunE: withStore(&cfgPath, func(ctx context.Context, cfg *upfactory.Config, db *sqlstore.DB, args []string) error {
			opts := intake.Options{Config: cfg, Store: db, Trigger: "cli"}
			if !g.json() {
				start := time.Now()
				opts.Progress = func(msg string) {
					fmt.Fprintf(g.stderr, "[%5.1fs] %s\n", time.Since(start).Seconds(), msg)
				}
			}
			rep, err := intake.Run(ctx, opts)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(rep)
			}
			writeIntakeReport(g.stdout, rep, show)
			return nil
		}),
	}
	run.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	run.Flags().IntVar(&show, "show", 20, "list at most this many candidates (by risk); -o json lists all")
	cmd.AddCommand(run)
	return cmd
}

func writeIntakeReport(w io.Writer, rep *intake.Report, show int) {
	r := rep.Run
	fmt.Fprintf(w, "intake: %d advisory records (%d new, %d changed, %d removed); %d components; %d problems; %s\n",
		r.Records, r.AdvisoriesNew, r.AdvisoriesChanged, r.AdvisoriesRemoved, r.Components, r.Problems,
		r.Finished.Sub(r.Started).Round(time.Millisecond))
	for _, f := range rep.Feeds {
		fmt.Fprintf(w, "  feed %-5s %-12s %6d  %s\n", f.Kind, f.Status, f.Records, f.Location)
	}
	fmt.Fprintf(w, "candidates: %d open (%d new, %d changed, %d resolved)\n\n", r.Candidates, r.CandidatesNew, r.CandidatesChanged, r.CandidatesResolved)
	writeCandidateTable(w, rep.Candidates, show)
	if len(rep.Problems) > 0 {
		n := min(len(rep.Problems), 10)
		fmt.Fprintf(w, "\nproblems (%d of %d; -o json lists all):\n", n, len(rep.Problems))
		for _, p := range rep.Problems[:n] {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
}

func writeCandidateTable(w io.Writer, cands []*upfactory.Candidate, show int) {
	if len(cands) == 0 {
		fmt.Fprintln(w, "no open candidates")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRISK\tCOMPONENT\tCURRENT\tRECOMMENDED\tADVISORIES\tKEV\tSERVICES\tSTATUS")
	for i, c := range cands {
		if show > 0 && i == show {
			fmt.Fprintf(tw, "… %d more\t\t\t\t\t\t\t\t\n", len(cands)-show)
			break
		}
		kev := ""
		for _, a := range c.Advisories {
			if a.KEV {
				kev = "KEV"
			}
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Risk.Total, truncate(c.Component, 48), c.Current,
			orDash(c.Recommended), advisoryCount(c), kev, servicesCell(c.Services), c.Status)
	}
	tw.Flush()
}

func advisoryCount(c *upfactory.Candidate) string {
	if len(c.Advisories) == 0 {
		return "-"
	}
	var top *float64
	for _, a := range c.Advisories {
		if a.CVSSScore != nil && (top == nil || *a.CVSSScore > *top) {
			top = a.CVSSScore
		}
	}
	if top == nil {
		return fmt.Sprint(len(c.Advisories))
	}
	return fmt.Sprintf("%d (CVSS %.1f)", len(c.Advisories), *top)
}

func servicesCell(s []string) string {
	if len(s) <= 2 {
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("%s,%s +%d", s[0], s[1], len(s)-2)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

func newCandidatesCmd(g *globals) *cobra.Command {
	var cfgPath, service string
	var all bool
	list := withStore(&cfgPath, func(ctx context.Context, _ *upfactory.Config, db *sqlstore.DB, args []string) error {
		cands, err := db.Candidates(ctx, upfactory.CandidateFilter{Resolved: all, Service: service})
		if err != nil {
			return err
		}
		if g.json() {
			return g.printJSON(map[string]any{"candidates": cands})
		}
		writeCandidateTable(g.stdout, cands, 0)
		return nil
	})
	cmd := &cobra.Command{
		Use:   "candidates [list|show ID|ack ID --as NAME]",
		Short: "List, show and acknowledge the upgrade candidates intake found",
		Long: `Candidates are the upgrades intake proposes: one per component at one
version, wherever it runs. A candidate whose release notes have breaking items
is "needs_ack" and cannot leave intake until someone acknowledges them with
"candidates ack ID --as NAME"; new breaking items need a new acknowledgement.`,
		Args: cobra.NoArgs,
		RunE: list,
	}
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	listCmd := &cobra.Command{Use: "list", Short: "List open candidates by risk", Args: cobra.NoArgs, RunE: list}
	for _, c := range []*cobra.Command{cmd, listCmd} {
		c.Flags().BoolVar(&all, "all", false, "include resolved candidates")
		c.Flags().StringVar(&service, "service", "", "only candidates of this service")
	}
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a candidate: versions, services, advisories, release-note highlights, risk",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(&cfgPath, func(ctx context.Context, _ *upfactory.Config, db *sqlstore.DB, args []string) error {
			c, err := db.Candidate(ctx, args[0])
			if err != nil {
				return err
			}
			runs, err := db.CompatRuns(ctx, c.ID, 1)
			if err != nil {
				return err
			}
			if g.json() {
				out := struct {
					*upfactory.Candidate
					Compat *upfactory.CompatRun `json:"compat,omitempty"`
				}{Candidate: c}
				if len(runs) > 0 {
					out.Compat = runs[0]
				}
				return g.printJSON(out)
			}
			writeCandidate(g.stdout, c)
			if len(runs) > 0 {
				r := runs[0]
				fmt.Fprintf(g.stdout, "\ncompatibility: %s (%d pass, %d fail, %d skipped, %d error) at %s; upfactory compat show %s\n", r.Outcome,
					r.Counts[upfactory.CompatPass], r.Counts[upfactory.CompatFail], r.Counts[upfactory.CompatSkipped], r.Counts[upfactory.CompatError],
					r.Started.Local().Format(time.DateTime), c.ID)
			} else {
				fmt.Fprintf(g.stdout, "\ncompatibility: not tested yet; upfactory compat run %s\n", c.ID)
			}
			return nil
		}),
	}
	var as string
	ack := &cobra.Command{
		Use:   "ack ID --as NAME",
		Short: "Acknowledge the breaking items of a candidate so it can leave intake",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(&cfgPath, func(ctx context.Context, _ *upfactory.Config, db *sqlstore.DB, args []string) error {
			c, err := intake.Ack(ctx, db, args[0], as, time.Now())
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(c)
			}
			fmt.Fprintf(g.stdout, "%s: breaking items acknowledged by %s; status %s\n", c.ID, c.Ack.By, c.Status)
			for _, h := range c.Highlights {
				if h.Kind == "breaking" {
					fmt.Fprintf(g.stdout, "  %s:%d  %s  %s\n", h.File, h.Line, h.Version, oneLine(h.Text, 100))
				}
			}
			return nil
		}),
	}
	ack.Flags().StringVar(&as, "as", "", "who acknowledges (required)")
	ack.MarkFlagRequired("as")
	var nnAs, nnReason string
	noNotes := &cobra.Command{
		Use:   "no-notes ID --as NAME [--reason TEXT]",
		Short: "Record that a candidate has no release notes, so it can leave intake (logged)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			o, err := a.NoNotes(ctx, args[0], nnAs, nnReason)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(o)
			}
			fmt.Fprintf(g.stdout, "%s: %s, recorded by %s; the notes gate (%s) is open\n", args[0], o.Reason, o.By, o.ID)
			return nil
		}),
	}
	noNotes.Flags().StringVar(&nnAs, "as", "", "who records it (required)")
	noNotes.Flags().StringVar(&nnReason, "reason", "", "how you know, for the log")
	noNotes.MarkFlagRequired("as")
	cmd.AddCommand(listCmd, show, ack, noNotes)
	return cmd
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) > n {
		return string([]rune(s)[:n-1]) + "…"
	}
	return s
}

func writeCandidate(w io.Writer, c *upfactory.Candidate) {
	fmt.Fprintf(w, "%s  %s (%s%s)\n", c.ID, c.Component, c.Ecosystem, map[bool]string{true: ", " + c.Layer, false: ""}[c.Layer != ""])
	fmt.Fprintf(w, "  status       %s", c.Status)
	if c.Ack != nil {
		fmt.Fprintf(w, " (breaking items acknowledged by %s at %s)", c.Ack.By, c.Ack.At.Local().Format(time.DateTime))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  current      %s\n", c.Current)
	fmt.Fprintf(w, "  recommended  %s\n", orDash(c.Recommended))
	if c.RecommendedNote != "" {
		fmt.Fprintf(w, "               (%s)\n", c.RecommendedNote)
	}
	fix := orDash(c.FixVersion)
	if !c.FixComplete {
		fix += " (some advisories have no fix)"
	}
	fmt.Fprintf(w, "  fix version  %s\n", fix)
	fmt.Fprintf(w, "  newest in major %s, latest known %s\n", orDash(c.NewestInMajor), orDash(c.Latest))
	fmt.Fprintf(w, "  services     %s\n", strings.Join(c.Services, ", "))
	for i, s := range c.Sources {
		if i == 5 {
			fmt.Fprintf(w, "               … %d more\n", max(c.SourcesTotal, len(c.Sources))-5)
			break
		}
		fmt.Fprintf(w, "               %s\n", s)
	}
	fmt.Fprintf(w, "  risk         %.1f (exploitability %.1f, blast radius %.1f, reversibility %.1f); upfactory risk explain %s\n",
		c.Risk.Total, c.Risk.Exploitability, c.Risk.BlastRadius, c.Risk.Reversibility, c.ID)
	fmt.Fprintf(w, "  first seen   %s, last seen %s\n", c.FirstSeen.Local().Format(time.DateTime), c.LastSeen.Local().Format(time.DateTime))
	if len(c.Advisories) > 0 {
		fmt.Fprintf(w, "\nadvisories (%d):\n", len(c.Advisories))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  ID\tALIASES\tSEVERITY\tCVSS\tEPSS\tKEV\tFIXED\tSUMMARY")
		for _, a := range c.Advisories {
			cv, ep, kev := "-", "-", ""
			if a.CVSSScore != nil {
				cv = fmt.Sprintf("%.1f", *a.CVSSScore)
			}
			if a.EPSS != nil {
				ep = fmt.Sprintf("%.2f%%", *a.EPSS*100)
			}
			if a.KEV {
				kev = "yes"
				if a.KEVVia != "" {
					kev = "yes, via " + strings.TrimPrefix(a.KEVVia, "related ") + " (related)"
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, truncate(strings.Join(a.Aliases, ","), 40), a.Severity, cv, ep, kev,
				orDash(strings.Join(a.Fixed, ",")), oneLine(a.Summary, 60))
		}
		tw.Flush()
	}
	if len(c.Highlights) > 0 {
		fmt.Fprintf(w, "\nrelease-note highlights %s → %s (%d):\n", c.Current, c.Recommended, len(c.Highlights))
		for _, h := range c.Highlights {
			fmt.Fprintf(w, "  %-11s %-10s %s:%d  %s\n", h.Kind, h.Version, h.File, h.Line, oneLine(h.Text, 90))
		}
	}
}

func newRiskCmd(g *globals) *cobra.Command {
	var cfgPath string
	cmd := &cobra.Command{
		Use:   "risk",
		Short: "Explain risk scores and show the weights in force",
	}
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	explain := &cobra.Command{
		Use:   "explain ID",
		Short: "Print a candidate's risk formula with every input and weight",
		Args:  cobra.ExactArgs(1),
		RunE: withStore(&cfgPath, func(ctx context.Context, _ *upfactory.Config, db *sqlstore.DB, args []string) error {
			c, err := db.Candidate(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(map[string]any{"id": c.ID, "component": c.Component, "current": c.Current,
					"recommended": c.Recommended, "risk": c.Risk})
			}
			fmt.Fprintf(g.stdout, "%s  %s %s → %s in %s\n\n", c.ID, c.Component, c.Current, orDash(c.Recommended), strings.Join(c.Services, ", "))
			fmt.Fprint(g.stdout, risk.Explain(c.Risk))
			return nil
		}),
	}
	weights := &cobra.Command{
		Use:   "weights",
		Short: "Print the weights in force: the defaults with risk.weights of the config applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cfgPath, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			w, _ := risk.WithOverrides(cfg.Risk.Weights)
			if g.json() {
				return g.printJSON(w)
			}
			def := risk.DefaultWeights()
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVALUE\tDEFAULT")
			for _, k := range risk.WeightKeys() {
				v, d := weightValue(w, k), weightValue(def, k)
				mark := ""
				if v != d {
					mark = "  (set in config)"
				}
				fmt.Fprintf(tw, "%s\t%g\t%g%s\n", k, v, d, mark)
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(explain, weights)
	return cmd
}

func weightValue(w risk.Weights, key string) float64 {
	v, _ := w.Get(key)
	return v
}

// withStore makes a command's RunE that loads the config at *cfgPath and
// opens its store for as long as fn runs.
func withStore(cfgPath *string, fn func(ctx context.Context, cfg *upfactory.Config, db *sqlstore.DB, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		cfg, db, err := openStore(ctx, *cfgPath, cmd.ErrOrStderr())
		if err != nil {
			return err
		}
		defer db.Close()
		return fn(ctx, cfg, db, args)
	}
}

// withApp is withStore for commands that ask the application layer: the
// config and the store, and no engine (nothing is delivered from here).
func withApp(cfgPath *string, fn func(ctx context.Context, a *app.App, args []string) error) func(*cobra.Command, []string) error {
	return withStore(cfgPath, func(ctx context.Context, cfg *upfactory.Config, db *sqlstore.DB, args []string) error {
		return fn(ctx, &app.App{Config: func() *upfactory.Config { return cfg }, Store: db}, args)
	})
}
