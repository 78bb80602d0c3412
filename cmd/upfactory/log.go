package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
)

func newLogCmd(g *globals) *cobra.Command {
	var service, cfgPath string
	var verify, values bool
	var limit int
	cmd := &cobra.Command{
		Use:   "log",
		Short: "Show the operation log: every decision with time, actor, reason and measured values",
		Long: "Show the operation log. Each entry is hash-chained to the one before it; --verify\n" +
			"checks the whole chain and names the first entry that was edited or deleted.\n" +
			"With -c the store is read directly (the server need not run).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var entries []upfactory.LogEntry
			var ver *upfactory.LogVerification
			var err error
			f := upfactory.LogFilter{Service: service, Limit: limit, Newest: true}
			if cfgPath != "" {
				cfg, err := loadConfig(cfgPath, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				db, err := openDB(ctx, cfg)
				if err != nil {
					return err
				}
				defer db.Close()
				if verify {
					ver, err = db.VerifyLog(ctx)
				} else {
					entries, err = db.Log(ctx, f)
				}
				if err != nil {
					return err
				}
			} else if verify {
				if ver, err = g.client().VerifyLog(ctx); err != nil {
					return err
				}
			} else if entries, err = g.client().Log(ctx, f); err != nil {
				return err
			}

			if verify {
				if g.json() {
					g.printJSON(ver)
				} else if ver.OK {
					fmt.Fprintf(g.stdout, "operation log OK: %d entries, hash chain intact\n", ver.Entries)
				} else {
					fmt.Fprintf(g.stdout, "operation log BROKEN at entry %d: %s\n", ver.BadSeq, ver.Problem)
				}
				if !ver.OK {
					return &exitError{code: exitRefused, err: fmt.Errorf("operation log does not verify: first bad entry %d: %s", ver.BadSeq, ver.Problem)}
				}
				return nil
			}
			if g.json() {
				if entries == nil {
					entries = []upfactory.LogEntry{}
				}
				return g.printJSON(map[string]any{"entries": entries})
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tSERVICE\tSUBJECT\tREASON")
			for _, e := range entries {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.Local().Format("2006-01-02 15:04:05.000"), e.Actor, e.Action, e.Service, e.Subject, e.Reason)
				if values && len(e.Values) > 0 {
					fmt.Fprintf(tw, "\t\t\t\t\t\t%s\n", compactValues(e.Values))
				}
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&service, "service", "", "only this service's entries")
	cmd.Flags().IntVar(&limit, "limit", 0, "only the newest N entries, oldest first (0: all)")
	cmd.Flags().BoolVar(&verify, "verify", false, "check the hash chain; exit 1 naming the first bad entry")
	cmd.Flags().BoolVar(&values, "values", false, "show each entry's measured values")
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "", "read the store of this config directly instead of asking the server")
	return cmd
}

func compactValues(v map[string]any) string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		b, _ := json.Marshal(v[k])
		parts = append(parts, k+"="+string(b))
	}
	return strings.Join(parts, " ")
}
