package static

import (
	"fmt"
	"maps"
	"slices"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterTarget(provider.Target{Type: "static", Validate: validate, New: func(svc *upfactory.Service, env provider.TargetEnv) (upfactory.Target, error) {
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

// validate checks a static target's own keys: no command, and each
// version, the stable one among them, with the addresses that serve it.
func validate(svc *upfactory.Service, p provider.Problems) {
	t := &svc.Target
	if len(t.Command) > 0 {
		p.Report("command", "only exec targets have a command: static versions already run at their addresses")
	}
	if len(t.Versions) == 0 {
		p.Report("versions", "required for a static target: each version with the host:port addresses that serve it")
		return
	}
	for _, v := range slices.Sorted(maps.Keys(t.Versions)) {
		vp := provider.JoinKey("versions", v)
		if err := upfactory.ValidVersion(v); err != nil {
			p.Report(vp, "%s", upfactory.ErrorMessage(err))
		}
		if len(t.Versions[v]) == 0 {
			p.Report(vp, "needs at least one host:port address")
		}
		for i, a := range t.Versions[v] {
			if err := upfactory.CheckAddr(a, true); err != nil {
				p.Report(fmt.Sprintf("%s[%d]", vp, i), "%v", err)
			}
		}
	}
	if _, ok := t.Versions[svc.StableVersion]; !ok && svc.StableVersion != "" {
		p.Report("versions", "stable_version %q has no addresses here", svc.StableVersion)
	}
}
