package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
)

func newBoardCmd(g *globals) *cobra.Command {
	var cfgPath, service string
	var all bool
	cmd := &cobra.Command{
		Use:   "board [--service S] [--all]",
		Short: "Show every upgrade on the line: stage, owner, risk, what blocks it and the next command",
		Long: `The board lists each open upgrade (a candidate delivered to one service)
with its stage (intake → risk → compat → canary → progressive → verification
→ done), who owns that stage, how long it has been there, its risk, every
gate that holds it with the reason, and the command that moves it on.
It brings the line up to date with the operation log first.`,
		Args: cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			b, err := a.Board(ctx, app.BoardFilter{Service: service, All: all})
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(b)
			}
			writeBoard(g.stdout, b)
			return nil
		}),
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&service, "service", "", "only this service's upgrades")
	cmd.Flags().BoolVar(&all, "all", false, "include upgrades that left the line (done, rolled back, dismissed)")

	var as, reason string
	dismiss := &cobra.Command{
		Use:   "dismiss UPGRADE --as NAME --reason TEXT",
		Short: "Take an upgrade off the line (logged)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			u, err := a.Dismiss(ctx, args[0], as, reason)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(u)
			}
			fmt.Fprintf(g.stdout, "%s dismissed by %s: %s\n", u.ID, as, reason)
			return nil
		}),
	}
	dismiss.Flags().StringVar(&as, "as", "", "who dismisses it (required)")
	dismiss.Flags().StringVar(&reason, "reason", "", "why (required)")
	dismiss.MarkFlagRequired("as")
	dismiss.MarkFlagRequired("reason")
	dismiss.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.AddCommand(dismiss)
	return cmd
}

// writeBoard prints the board as a table, with each upgrade's blocks and
// next command under it.
func writeBoard(w io.Writer, b *app.Board) {
	if len(b.Upgrades) == 0 {
		fmt.Fprintln(w, "the line is empty: no open upgrades (run upfactory intake, or start a rollout)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "UPGRADE\tSERVICE\tCOMPONENT\tFROM → TO\tSTAGE\tIN STAGE\tOWNER\tRISK")
	for _, u := range b.Upgrades {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s → %s\t%s\t%s\t%s\t%.0f\n", u.ID, u.Service, oneLine(u.Component, 40), u.From, u.To, stageLine(u),
			age(u), orDash(u.Owner), u.Risk)
	}
	tw.Flush()
	for _, u := range b.Upgrades {
		if len(u.BlockedBy) == 0 && u.Next == "" {
			continue
		}
		fmt.Fprintf(w, "\n%s (%s):\n", u.ID, u.Stage)
		for _, bl := range u.BlockedBy {
			fmt.Fprintf(w, "  blocked by %s: %s\n", bl.Gate, bl.Reason)
		}
		if u.Next != "" {
			fmt.Fprintf(w, "  next: %s\n", u.Next)
		}
	}
}

// stageLine is the stage with the stages passed, as a little progress bar.
func stageLine(u app.BoardItem) string {
	if u.Stage.Final() {
		return string(u.Stage)
	}
	var b strings.Builder
	for _, s := range upfactory.LineStages[:len(upfactory.LineStages)-1] {
		switch {
		case s == u.Stage:
			b.WriteString("◉")
		case entered(u, s):
			b.WriteString("●")
		default:
			b.WriteString("○")
		}
	}
	return b.String() + " " + string(u.Stage)
}

func entered(u app.BoardItem, s upfactory.Stage) bool {
	for _, sp := range u.Stages {
		if sp.Stage == s {
			return true
		}
	}
	return false
}

func age(u app.BoardItem) string {
	if u.Stage.Final() {
		return "-"
	}
	return upfactory.Duration(time.Duration(u.InStageSeconds * float64(time.Second))).Round()
}
