// Package app is the application layer: the one place the CLI, the API
// and (later) the dashboard ask when they change what the factory does.
// It reads the config in force and the stores, has gates decided by the
// pure packages (policy, gate), and acts through the engine. A gate is
// therefore decided the same way whoever asks, and a refusal lists every
// closed gate at once. App holds no state of its own.
package app

import (
	"context"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/rollout"
)

// Store is every store the application layer reads and writes.
type Store interface {
	upfactory.Store
	upfactory.IntakeStore
	upfactory.CompatStore
	upfactory.PolicyStore
	upfactory.LineStore
}

// App answers the CLI's and the API's requests.
type App struct {
	// Config returns the config in force (a reload may replace it).
	Config func() *upfactory.Config
	Store  Store
	// Engine delivers rollouts; nil where this process delivers nothing
	// (a CLI command reading the store), and then the calls that need it
	// answer EINVALID.
	Engine *engine.Engine
	// Now is the clock; nil for time.Now.
	Now func() time.Time
}

func (a *App) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *App) engine() (*engine.Engine, error) {
	if a.Engine == nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "no server delivers rollouts from this process: run upfactory serve, and use the commands that talk to it")
	}
	return a.Engine, nil
}

// Services returns the status of every delivered service.
func (a *App) Services(ctx context.Context) ([]*engine.Status, error) {
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	var out []*engine.Status
	for _, name := range eng.Services() {
		st, err := eng.Status(ctx, name)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Status returns the status of one service's rollout.
func (a *App) Status(ctx context.Context, service string) (*engine.Status, error) {
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	return eng.Status(ctx, service)
}

// Do carries out a person's command on a service's rollout.
func (a *App) Do(ctx context.Context, service string, cmd rollout.Command) (*engine.Status, error) {
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	return eng.Do(ctx, service, cmd)
}

// StartRequest asks for a rollout of Version to Service.
type StartRequest struct {
	Service string `json:"service"`
	Version string `json:"version"`
	Actor   string `json:"actor"`
}

// StartRollout starts a rollout once every gate before it is open.
func (a *App) StartRollout(ctx context.Context, req StartRequest) (*engine.Status, error) {
	eng, err := a.engine()
	if err != nil {
		return nil, err
	}
	if err := a.admit(ctx, req.Service, req.Version, a.now()); err != nil {
		return nil, err
	}
	return eng.StartRollout(ctx, req.Service, req.Version, req.Actor)
}
