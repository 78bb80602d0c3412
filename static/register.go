package static

import (
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterTarget(provider.Target{Type: "static", New: func(svc *upfactory.Service, env provider.TargetEnv) (upfactory.Target, error) {
		return New(svc, Options{Logger: env.Logger, Event: env.Event})
	}})
}

var (
	_ upfactory.Target = (*Target)(nil)
	_ provider.Sized   = (*Target)(nil)
)

// Size is how many addresses serve version: a static version has exactly
// those instances.
func (t *Target) Size(version string) int { return len(t.versions[version]) }
