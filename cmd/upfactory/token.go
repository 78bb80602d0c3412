package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
)

func newTokenCmd(g *globals) *cobra.Command {
	var cfgPath string
	cmd := group(&cobra.Command{Use: "token", Short: "Named API tokens with a role: viewer, operator, approver or admin (only their hashes are stored)"})
	cmd.PersistentFlags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")

	var role, as string
	create := &cobra.Command{
		Use:   "create NAME --role viewer|operator|approver|admin --as NAME",
		Short: "Create a token; its secret is printed once (logged, without the secret)",
		Long: `Creates a named token with a role. The secret is printed once and never
stored: only its SHA-256 is. Once a named token exists, every change
through the API needs a token, and the operation log records the token's
name as the actor of what it does.

  viewer    reads
  operator  starts, pauses, resumes, aborts, rolls back, cleans up; runs intake, acknowledges notes
  approver  also approves and promotes
  admin     also creates and revokes tokens, overrides gates, reloads the config`,
		Args: cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			t, err := a.CreateToken(ctx, args[0], upfactory.Role(role), as)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(t)
			}
			fmt.Fprintf(g.stdout, "token %s (%s): %s\nIt is shown once: keep it in a secret store (UPFACTORY_API_TOKEN for the CLI).\n", t.Name, t.Role, t.Token)
			return nil
		}),
	}
	create.Flags().StringVar(&role, "role", "", "viewer, operator, approver or admin (required)")
	create.Flags().StringVar(&as, "as", "", "who creates it (required)")
	create.MarkFlagRequired("role")

	list := &cobra.Command{
		Use:   "list",
		Short: "List the tokens: name, role, when created and by whom, revoked or not",
		Args:  cobra.NoArgs,
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			ts, err := a.Tokens(ctx)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(map[string]any{"tokens": ts})
			}
			if len(ts) == 0 {
				fmt.Fprintln(g.stdout, "no tokens")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tBY\tSTATE")
			for _, t := range ts {
				state := "live"
				if t.Revoked() {
					state = "revoked " + t.RevokedAt.Format("2006-01-02 15:04") + " by " + t.RevokedBy
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.Format("2006-01-02 15:04"), t.CreatedBy, state)
			}
			return tw.Flush()
		}),
	}

	var revokeAs string
	revoke := &cobra.Command{
		Use:   "revoke NAME --as NAME",
		Short: "Revoke a token at once (logged)",
		Args:  cobra.ExactArgs(1),
		RunE: withApp(&cfgPath, func(ctx context.Context, a *app.App, args []string) error {
			t, err := a.RevokeToken(ctx, args[0], revokeAs)
			if err != nil {
				return err
			}
			if g.json() {
				return g.printJSON(t)
			}
			fmt.Fprintf(g.stdout, "token %s revoked by %s\n", t.Name, t.RevokedBy)
			return nil
		}),
	}
	revoke.Flags().StringVar(&revokeAs, "as", "", "who revokes it (required)")
	cmd.AddCommand(create, list, revoke)
	return cmd
}
