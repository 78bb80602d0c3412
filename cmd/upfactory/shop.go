package main

import (
	"os"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory/shop"
)

func newShopCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:                "shop --listen ADDR --version V",
		Short:              "Run the bundled sample shop service (used by the demo)",
		Hidden:             true,
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && args[0] == "tagged" {
				// shop tagged CHANGELOG: the demo's "release tagged" preflight check.
				if len(args) != 2 {
					return usageErr("shop tagged CHANGELOG (the version is $UPFACTORY_VERSION)")
				}
				return shop.Tagged(args[1], os.Getenv("UPFACTORY_VERSION"))
			}
			return shop.Main(cmd.Context(), args, g.stderr)
		},
	}
}
