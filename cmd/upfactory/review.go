package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/review"
)

func newReviewCmd(g *globals) *cobra.Command {
	var cfgPath, format string
	cmd := &cobra.Command{
		Use:   "review UPGRADE [--format md|json]",
		Short: "The skeleton of an upgrade's blameless review: its timeline, what the gates and checks saw, its incidents and actions",
		Long: `Writes the skeleton of the blameless review of one upgrade (an ID from
upfactory board --all) from the record: every decision with its actor and
the values it was taken on, what the gates and the checks saw, the
incidents it caused, and the questions a review answers. The actions the
review agrees on are stored with 'review action add' and shown in the
next readouts until marked done.`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			if format != "md" && format != "json" {
				return usageErr("--format %q: want md or json", format)
			}
			r, err := a.Review(ctx, args[0])
			if err != nil {
				return err
			}
			if g.json() || format == "json" {
				return g.printJSON(r)
			}
			fmt.Fprint(g.stdout, review.Markdown(r))
			return nil
		}),
	}
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&format, "format", "md", "md or json")

	action := group(&cobra.Command{Use: "action", Short: "Write down a review's actions, and mark them done"})
	var text, owner, as string
	add := &cobra.Command{
		Use:   "add UPGRADE --text TEXT --as NAME [--owner TEAM]",
		Short: "Store an action to automate or change next time (logged)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			act, err := a.AddAction(ctx, args[0], text, owner, as)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(act)
			}
			fmt.Fprintf(g.stdout, "action %d on %s: %s (owner %s)\n", act.ID, act.Upgrade, act.Text, cmp.Or(act.Owner, "unassigned"))
			return nil
		}),
	}
	add.Flags().StringVar(&text, "text", "", "what to automate or change (required)")
	add.Flags().StringVar(&owner, "owner", "", "who will do it")
	add.Flags().StringVar(&as, "as", "", "who writes it down (required)")
	var doneAs string
	done := &cobra.Command{
		Use:   "done ID --as NAME",
		Short: "Mark an action done (logged)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return usageErr("action ID %q: want a number (upfactory review actions)", args[0])
			}
			act, err := a.DoneAction(ctx, id, doneAs)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(act)
			}
			fmt.Fprintf(g.stdout, "action %d done by %s: %s\n", act.ID, act.DoneBy, act.Text)
			return nil
		}),
	}
	done.Flags().StringVar(&doneAs, "as", "", "who did it (required)")
	action.AddCommand(add, done)

	var service string
	var openOnly bool
	list := &cobra.Command{
		Use:   "actions [--service S] [--open]",
		Short: "List the reviews' actions, oldest first",
		Args:  cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			acts, err := a.Actions(ctx, upfactory.ActionFilter{Service: service, OpenOnly: openOnly})
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(map[string]any{"actions": acts})
			}
			writeActions(g.stdout, acts)
			return nil
		}),
	}
	list.Flags().StringVar(&service, "service", "", "only this service's")
	list.Flags().BoolVar(&openOnly, "open", false, "only those not done")
	cmd.AddCommand(action, list)
	return cmd
}

func writeActions(w io.Writer, acts []*upfactory.ReviewAction) {
	if len(acts) == 0 {
		fmt.Fprintln(w, "no actions")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUPGRADE\tOWNER\tSTATE\tACTION")
	for _, a := range acts {
		state := "open"
		if !a.Open() {
			state = "done " + a.DoneAt.Format("2006-01-02")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", a.ID, a.Upgrade, cmp.Or(a.Owner, "-"), state, a.Text)
	}
	tw.Flush()
}
