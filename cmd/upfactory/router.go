package main

import (
	"errors"
	"os/signal"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/config"
	"github.com/upfactory/upfactory/routerd"
)

func newRouterCmd(g *globals) *cobra.Command {
	var cfgPath, stateDir string
	var only []string
	cmd := &cobra.Command{
		Use:   "router -c upfactory.yaml [--service NAME ...]",
		Short: "Run the data plane on its own: the standalone routers of the config's services",
		Long: `Router runs the built-in proxy of each service whose router is standalone
(router: {type: standalone, listen, api, token}) in this process, apart from
serve. Each keeps its last pools and weights in --state-dir and serves them
from the start, so traffic keeps flowing while every serve is down; serve
drives it through its control API on router.api, with the token router.token
names.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			if stateDir == "" {
				stateDir = filepath.Join(cfg.Server.DataDir, "router")
			}
			var svcs []*upfactory.Service
			for _, s := range cfg.Services {
				if s.Delivered() && s.Router.Type == "standalone" && (len(only) == 0 || slices.Contains(only, s.Name)) {
					svcs = append(svcs, s)
				}
			}
			if len(svcs) == 0 {
				return &exitError{code: exitUsage, err: errors.New("no service of the config has a standalone router (router: {type: standalone, ...})" + map[bool]string{true: " among those named by --service", false: ""}[len(only) > 0])}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			log := g.logger()
			var wg sync.WaitGroup
			errs := make([]error, len(svcs))
			for i, s := range svcs {
				wg.Go(func() {
					errs[i] = routerd.Serve(ctx, s, routerd.Options{StateDir: stateDir, Logger: log})
					if errs[i] != nil {
						stop() // one router that cannot serve stops the others: a half-up data plane hides the failure
					}
				})
			}
			wg.Wait()
			return errors.Join(errs...)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().StringVar(&stateDir, "state-dir", "", "where each router keeps its last pools (default <data_dir>/router)")
	cmd.Flags().StringSliceVar(&only, "service", nil, "run only these services' routers")
	return cmd
}
