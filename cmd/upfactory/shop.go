package main

import (
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
			return shop.Main(cmd.Context(), args, g.stderr)
		},
	}
}
