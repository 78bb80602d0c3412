package compat

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

// TargetTwin starts twins with the service's own target: an exec target
// under dataDir/twins (instances on ports of their own, logs kept there),
// or, for a static target, the addresses already serving the version.
func TargetTwin(dataDir string, logger *slog.Logger) Twin {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return func(ctx context.Context, svc *upfactory.Service, version string) (string, func(), error) {
		tgt, err := provider.NewTarget(svc, provider.TargetEnv{DataDir: filepath.Join(dataDir, "twins"), Logger: logger})
		if err != nil {
			return "", nil, err
		}
		stop := func() {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), svc.Target.StopTimeout.D()+5*time.Second)
			defer cancel()
			tgt.Close(sctx, provider.Owns(svc.Target.Type))
		}
		insts, err := tgt.Start(ctx, version, 1)
		if err != nil || len(insts) == 0 {
			stop()
			return "", nil, fmt.Errorf("starting version %s of %s: %v", version, svc.Name, err)
		}
		inst := insts[0]
		deadline := time.Now().Add(svc.Target.Readiness.Timeout.D() + 5*time.Second)
		for {
			insts, err := tgt.Instances(ctx)
			if err != nil {
				stop()
				return "", nil, err
			}
			for _, i := range insts {
				if i.ID != inst.ID {
					continue
				}
				switch i.State {
				case upfactory.InstanceReady:
					return "http://" + i.Addr, stop, nil
				case upfactory.InstanceFailed, upfactory.InstanceStopped:
					stop()
					return "", nil, fmt.Errorf("version %s of %s did not become ready: %s (log %s)", version, svc.Name, i.Reason, i.LogPath)
				}
			}
			if time.Now().After(deadline) {
				stop()
				return "", nil, fmt.Errorf("version %s of %s was not ready within %s", version, svc.Name, svc.Target.Readiness.Timeout.D())
			}
			select {
			case <-ctx.Done():
				stop()
				return "", nil, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}
