package exec

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/argtmpl"
	"github.com/upfactory/upfactory/internal/supervise"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterTarget(provider.Target{Type: "exec", Owns: true, Validate: validate, New: func(svc *upfactory.Service, env provider.TargetEnv) (upfactory.Target, error) {
		return New(svc, Options{DataDir: env.DataDir, Logger: env.Logger, Event: env.Event})
	}})
}

var (
	_ upfactory.Target        = (*Target)(nil)
	_ upfactory.UsageReporter = (*Target)(nil)
)

// templateFields are templateData's fields, which templates may use.
var templateFields = []string{"Port", "Version", "Service", "Index"}

// validate checks an exec target's own keys: a command whose templates
// render with the fields an instance gets and pass it its port, a
// program that runs (when files are checked), environment names, and an
// allow-list of versions without addresses that holds the stable one.
func validate(svc *upfactory.Service, p provider.Problems) {
	t := &svc.Target
	data := templateData{Port: 40000, Version: svc.StableVersion, Service: svc.Name}
	if len(t.Command) == 0 {
		p.Report("command", "required for an exec target: the argv of one instance, with {{.Port}} where it should listen")
	}
	usesPort := false
	for i, arg := range t.Command {
		port, problem := argtmpl.Check(arg, data, templateFields)
		if problem != "" {
			p.Report(fmt.Sprintf("command[%d]", i), "%s", problem)
		}
		usesPort = usesPort || port
	}
	if len(t.Command) > 0 && !usesPort {
		p.Report("command", "no element uses {{.Port}}: upfactory picks each instance's port and must pass it to the command")
	}
	if p.CheckFiles() && len(t.Command) > 0 && !p.Reported("command[0]") {
		program(p, t.Command[0], t.Dir, data)
	}
	for _, k := range slices.Sorted(maps.Keys(t.Env)) {
		kp := provider.JoinKey("env", k)
		if k == "" || strings.ContainsAny(k, "=\x00") {
			p.Report(kp, "invalid environment variable name %q", k)
		}
		if _, problem := argtmpl.Check(t.Env[k], data, templateFields); problem != "" {
			p.Report(kp, "%s", problem)
		}
	}
	if t.Versions == nil {
		return
	}
	for _, v := range slices.Sorted(maps.Keys(t.Versions)) {
		vp := provider.JoinKey("versions", v)
		if err := upfactory.ValidVersion(v); err != nil {
			p.Report(vp, "%s", upfactory.ErrorMessage(err))
		}
		if len(t.Versions[v]) > 0 {
			p.Report(vp, "an exec allow-list takes no addresses: upfactory starts the instances (use type: static for servers that already run)")
		}
	}
	if _, ok := t.Versions[svc.StableVersion]; !ok && svc.StableVersion != "" {
		p.Report("versions", "the allow-list must include stable_version %q", svc.StableVersion)
	}
}

// program reports a program that cannot be run, as the stable version
// would render it: a typo in a path must stop serve at once, not leave a
// service with no instance behind its router.
func program(p provider.Problems, arg0, dir string, data templateData) {
	t, err := parseTemplate("command[0]", arg0)
	if err != nil {
		return // validate reported it
	}
	name, err := execute(t, data)
	if err != nil || name == "" {
		return
	}
	if _, err := supervise.Program(dir, name); err != nil {
		p.Report("command[0]", "cannot run version %q: %v", data.Version, err)
	}
}
