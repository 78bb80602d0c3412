package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterRouter(provider.Router{Type: "builtin", New: provision})
}

var (
	_ upfactory.Router       = (*Proxy)(nil)
	_ upfactory.MetricSource = (*Proxy)(nil)
	_ upfactory.SampleSource = (*Proxy)(nil)
	_ upfactory.Mirrorer     = (*Proxy)(nil)
)

// provision starts the built-in router of svc on its listen address (or
// env's listener) until ctx ends or stop is called.
func provision(ctx context.Context, svc *upfactory.Service, env provider.RouterEnv) (upfactory.Router, func(), error) {
	ln := env.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", svc.Router.Listen); err != nil {
			return nil, nil, fmt.Errorf("router of %s: listening on %s: %w", svc.Name, svc.Router.Listen, err)
		}
	}
	p := New(Options{Service: svc.Name, Sticky: svc.Router.Sticky, Cookie: svc.Router.Cookie, Logger: env.Logger})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.Serve(ctx, ln); err != nil && !errors.Is(err, context.Canceled) && env.Logger != nil {
			env.Logger.Error("router stopped", "service", svc.Name, "err", err)
		}
	})
	if bg := svc.Strategy.BlueGreen; bg != nil && bg.Preview != "" {
		pln, err := net.Listen("tcp", bg.Preview)
		if err != nil {
			cancel()
			wg.Wait()
			return nil, nil, fmt.Errorf("preview of %s: listening on %s: %w", svc.Name, bg.Preview, err)
		}
		wg.Go(func() {
			if err := p.ServePreview(ctx, pln); err != nil && !errors.Is(err, context.Canceled) && env.Logger != nil {
				env.Logger.Error("preview stopped", "service", svc.Name, "err", err)
			}
		})
	}
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); wg.Wait() }) }
	return p, stop, nil
}
