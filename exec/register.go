package exec

import (
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterTarget(provider.Target{Type: "exec", Owns: true, New: func(svc *upfactory.Service, env provider.TargetEnv) (upfactory.Target, error) {
		return New(svc, Options{DataDir: env.DataDir, Logger: env.Logger, Event: env.Event})
	}})
}

var (
	_ upfactory.Target        = (*Target)(nil)
	_ upfactory.UsageReporter = (*Target)(nil)
)
