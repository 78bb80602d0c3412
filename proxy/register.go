package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterRouter(provider.Router{Type: "builtin", New: provision, Validate: Validate, Counts: true})
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
	opts, err := OptionsOf(svc, env.Logger)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	p := New(opts)
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

// OptionsOf is the proxy of svc's router section: the built-in router's,
// or the standalone one's.
func OptionsOf(svc *upfactory.Service, log *slog.Logger) (Options, error) {
	o := Options{Service: svc.Name, Sticky: svc.Router.Sticky, Cookie: svc.Router.Cookie, Logger: log}
	if t := svc.Router.TLS; t != nil {
		cfg, err := TLSConfig(t.Cert, t.Key)
		if err != nil {
			return o, fmt.Errorf("router of %s: %w", svc.Name, err)
		}
		o.TLS = cfg
	}
	return o, nil
}

// Validate checks the keys of the router section the proxy reads: a
// certificate and its key together. The standalone router checks them too.
func Validate(svc *upfactory.Service, p provider.Problems) {
	r := svc.Router
	if svc.Router.Type == "builtin" && (r.API != "" || r.Token != "") {
		p.Report("api", "only a standalone router has a control API; the builtin router is driven in-process")
	}
	if t := r.TLS; t != nil {
		if t.Cert == "" || t.Key == "" {
			p.Report("tls", "needs both cert and key: PEM files of the certificate (with its chain) and its private key")
			return
		}
		if p.CheckFiles() {
			if _, err := TLSConfig(t.Cert, t.Key); err != nil {
				p.Report("tls", "%v", err)
			}
		}
	}
}
