package exec

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/supervise"
)

// Variables upfactory adds to every instance's environment. They let the
// program know who it is, and let a restarted upfactory recognize its
// processes: a PID whose UPFACTORY_INSTANCE is not the recorded ID was
// reused by someone else.
const (
	EnvService  = "UPFACTORY_SERVICE"
	EnvVersion  = "UPFACTORY_VERSION"
	EnvInstance = "UPFACTORY_INSTANCE"
	EnvPort     = "UPFACTORY_PORT"
	EnvIndex    = "UPFACTORY_INDEX"
)

// templateData is what command and env templates are executed against;
// config validation executes them against the same fields.
type templateData struct {
	Port    int
	Version string
	Service string
	Index   int
}

type envTemplate struct {
	key  string
	tmpl *template.Template
}

func parseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Parse(text)
}

func execute(t *template.Template, data templateData) (string, error) {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

// render returns the argv and the environment of one instance. argv[0] is
// not resolved yet.
func (t *Target) render(data templateData, id string) (argv, env []string, err error) {
	for _, c := range t.command {
		s, err := execute(c, data)
		if err != nil {
			return nil, nil, upfactory.Errorf(upfactory.EINVALID, "rendering the command of version %q of service %s: %v", data.Version, t.name, err)
		}
		argv = append(argv, s)
	}
	if argv[0] == "" {
		return nil, nil, upfactory.Errorf(upfactory.EINVALID, "the command of version %q of service %s renders to an empty program name", data.Version, t.name)
	}
	env = os.Environ()
	for _, e := range t.env {
		s, err := execute(e.tmpl, data)
		if err != nil {
			return nil, nil, upfactory.Errorf(upfactory.EINVALID, "rendering env %s of version %q of service %s: %v", e.key, data.Version, t.name, err)
		}
		env = append(env, e.key+"="+s)
	}
	// Last, so that they win over anything inherited or configured.
	env = append(env,
		EnvService+"="+data.Service,
		EnvVersion+"="+data.Version,
		EnvInstance+"="+id,
		EnvPort+"="+strconv.Itoa(data.Port),
		EnvIndex+"="+strconv.Itoa(data.Index),
	)
	return argv, env, nil
}

// programPath is where name, the rendered argv[0], points.
func (t *Target) programPath(name string) (string, error) {
	return supervise.ProgramPath(t.dir, name)
}

// resolve returns the absolute path of the program of version, or
// EINVALID naming what is missing: this is how an unknown version of a
// command such as ./bin/shop-{{.Version}} is caught.
func (t *Target) resolve(name, version string) (string, error) {
	p, err := supervise.Program(t.dir, name)
	if err != nil {
		return "", upfactory.Errorf(upfactory.EINVALID, "cannot run version %q of service %s: %v", version, t.name, err)
	}
	return p, nil
}

// checkVersion rejects a version outside the allow-list, when there is one.
func (t *Target) checkVersion(version string) error {
	if len(t.allowed) == 0 || slices.Contains(t.allowed, version) {
		return nil
	}
	return upfactory.Errorf(upfactory.EINVALID, "unknown version %q of service %s: known versions are %s",
		version, t.name, strings.Join(t.allowed, ", "))
}

// lookupEnv returns the value of key in env, the last one if repeated.
func lookupEnv(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v, true
		}
	}
	return "", false
}

func commandError(svc string, i int, text string, err error) error {
	return upfactory.Errorf(upfactory.EINVALID, "service %s: target command[%d] %q: %v", svc, i, text, err)
}

// CheckVersion reports, before anything starts, whether version can run:
// it is in the allow-list (when there is one) and its program exists.
func (t *Target) CheckVersion(ctx context.Context, version string) error {
	if err := t.checkVersion(version); err != nil {
		return err
	}
	argv, _, err := t.render(templateData{Port: 1, Version: version, Service: t.name}, "check")
	if err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "cannot run version %q of service %s: %v", version, t.name, err)
	}
	_, err = t.resolve(argv[0], version)
	return err
}

var _ upfactory.VersionChecker = (*Target)(nil)
