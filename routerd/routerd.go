// Package routerd is the data plane on its own: the built-in proxy of a
// service in a process of its own (`upfactory router`), which keeps its
// last pools and weights on disk and goes on serving them while every
// control plane is down, and the Router that serve drives it through.
// The control API is HTTP with JSON on its own address, authenticated by
// a bearer token: pools (GET, PUT), drain, and the per-version stats the
// canary analysis reads.
package routerd

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/google/renameio/v2"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

// Options configure a standalone router.
type Options struct {
	// StateDir keeps each service's last pools, to serve them again
	// after a restart before any control plane speaks.
	StateDir string
	Logger   *slog.Logger
	// Traffic and API, when set, are where the router serves instead of
	// the addresses of the service's config.
	Traffic, API net.Listener
}

// Router is one service's standalone router.
type Router struct {
	svc   *upfactory.Service
	proxy *proxy.Proxy
	state string
	token string
	log   *slog.Logger
	mu    sync.Mutex // serializes SetPools and its write to disk
}

// statePath is where svc's pools are kept.
func statePath(dir, service string) string {
	return filepath.Join(dir, service+".pools.json")
}

// Serve runs svc's router until ctx ends: the pools saved last are in
// force before the first request is taken.
func Serve(ctx context.Context, svc *upfactory.Service, opts Options) error {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if err := os.MkdirAll(opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("router state of %s: %w", svc.Name, err)
	}
	popts, err := proxy.OptionsOf(svc, log)
	if err != nil {
		return err
	}
	r := &Router{svc: svc, state: statePath(opts.StateDir, svc.Name), log: log.With("service", svc.Name), proxy: proxy.New(popts)}
	if svc.Router.Token != "" {
		r.token = resolve(svc.Router.Token)
		if r.token == "" {
			return upfactory.Errorf(upfactory.EINVALID, "router of %s: its token is %s, and that environment variable is not set", svc.Name, svc.Router.Token)
		}
	}
	if err := r.restore(ctx); err != nil {
		return err
	}
	traffic, api := opts.Traffic, opts.API
	if traffic == nil {
		if traffic, err = net.Listen("tcp", svc.Router.Listen); err != nil {
			return fmt.Errorf("router of %s: listening on %s: %w", svc.Name, svc.Router.Listen, err)
		}
	}
	if api == nil {
		if api, err = net.Listen("tcp", svc.Router.API); err != nil {
			traffic.Close()
			return fmt.Errorf("router of %s: control API on %s: %w", svc.Name, svc.Router.API, err)
		}
	}
	srv := &http.Server{Handler: r.handler(), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- r.proxy.Serve(ctx, traffic) })
	wg.Go(func() {
		if err := srv.Serve(api); !errors.Is(err, http.ErrServerClosed) {
			errs <- err
		}
	})
	r.log.Info("standalone router serving", "listen", traffic.Addr().String(), "api", api.Addr().String())
	select {
	case <-ctx.Done():
	case err = <-errs:
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	srv.Shutdown(shut)
	traffic.Close()
	wg.Wait()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("router of %s: %w", svc.Name, err)
	}
	return nil
}

// restore puts the saved pools in force. A missing file is a first start;
// one that does not read is an error, not an empty router.
func (r *Router) restore(ctx context.Context) error {
	b, err := os.ReadFile(r.state)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("router of %s: reading its saved pools: %w", r.svc.Name, err)
	}
	var pools []upfactory.Pool
	if err := json.Unmarshal(b, &pools); err != nil {
		return fmt.Errorf("router of %s: its saved pools in %s: %w", r.svc.Name, r.state, err)
	}
	if err := r.proxy.SetPools(ctx, pools); err != nil {
		return fmt.Errorf("router of %s: its saved pools in %s: %w", r.svc.Name, r.state, err)
	}
	r.log.Info("serving the saved pools", "pools", len(pools))
	return nil
}

// setPools puts pools in force and on disk, disk first: what serves is
// never newer than what a restart would serve.
func (r *Router) setPools(ctx context.Context, pools []upfactory.Pool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := json.Marshal(pools)
	if err != nil {
		return err
	}
	old, _ := os.ReadFile(r.state)
	if err := renameio.WriteFile(r.state, b, 0o600); err != nil {
		return fmt.Errorf("saving pools: %w", err)
	}
	if err := r.proxy.SetPools(ctx, pools); err != nil {
		if old != nil {
			renameio.WriteFile(r.state, old, 0o600) // the pools in force stay the saved ones
		}
		return err
	}
	return nil
}

func (r *Router) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/pools", func(w http.ResponseWriter, req *http.Request) {
		pools, err := r.proxy.Pools(req.Context())
		reply(w, pools, err)
	})
	mux.HandleFunc("PUT /v1/pools", func(w http.ResponseWriter, req *http.Request) {
		var pools []upfactory.Pool
		if err := json.NewDecoder(http.MaxBytesReader(w, req.Body, 1<<20)).Decode(&pools); err != nil {
			reply(w, nil, upfactory.Errorf(upfactory.EINVALID, "pools: %v", err))
			return
		}
		reply(w, pools, r.setPools(req.Context(), pools))
	})
	mux.HandleFunc("POST /v1/drain", func(w http.ResponseWriter, req *http.Request) {
		reply(w, map[string]string{"addr": req.URL.Query().Get("addr")}, r.proxy.Drain(req.Context(), req.URL.Query().Get("addr")))
	})
	mux.HandleFunc("GET /v1/stats", func(w http.ResponseWriter, req *http.Request) {
		q := req.URL.Query()
		window, err1 := time.ParseDuration(q.Get("window"))
		now, err2 := time.Parse(time.RFC3339Nano, q.Get("now"))
		if err := errors.Join(err1, err2); err != nil {
			reply(w, nil, upfactory.Errorf(upfactory.EINVALID, "stats: %v", err))
			return
		}
		reply(w, r.proxy.Stats(q.Get("version"), window, now), nil)
	})
	span := func(req *http.Request) (from, to time.Time, err error) {
		q := req.URL.Query()
		from, err1 := time.Parse(time.RFC3339Nano, q.Get("from"))
		to, err2 := time.Parse(time.RFC3339Nano, q.Get("to"))
		if err := errors.Join(err1, err2); err != nil {
			return from, to, upfactory.Errorf(upfactory.EINVALID, "from and to: %v", err)
		}
		return from, to, nil
	}
	mux.HandleFunc("GET /v1/distribution", func(w http.ResponseWriter, req *http.Request) {
		from, to, err := span(req)
		if err != nil {
			reply(w, nil, err)
			return
		}
		reply(w, r.proxy.Distribution(req.URL.Query().Get("version"), from, to), nil)
	})
	mux.HandleFunc("GET /v1/routes", func(w http.ResponseWriter, req *http.Request) {
		from, to, err := span(req)
		if err != nil {
			reply(w, nil, err)
			return
		}
		reply(w, r.proxy.Routes(req.URL.Query().Get("version"), from, to), nil)
	})
	return r.authorized(mux)
}

// authorized lets through only requests with the router's token.
func (r *Router) authorized(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.token != "" {
			got := req.Header.Get("Authorization")
			if subtle.ConstantTimeCompare([]byte(got), []byte("Bearer "+r.token)) != 1 {
				r.log.Warn("control API call refused: no valid token", "method", req.Method, "path", req.URL.Path, "remote", req.RemoteAddr)
				reply(w, nil, upfactory.Errorf(upfactory.EUNAUTHORIZED, "the router's control API needs its token"))
				return
			}
		}
		h.ServeHTTP(w, req)
	})
}

// apiError is the body of a refused call.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status := http.StatusInternalServerError
		switch upfactory.ErrorCode(err) {
		case upfactory.EINVALID:
			status = http.StatusBadRequest
		case upfactory.EUNAUTHORIZED:
			status = http.StatusUnauthorized
		}
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			status = http.StatusGatewayTimeout
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(apiError{Code: upfactory.ErrorCode(err), Message: upfactory.ErrorMessage(err)})
		return
	}
	json.NewEncoder(w).Encode(v)
}

// resolve reads ${NAME} from the environment.
func resolve(s string) string {
	if name, ok := upfactory.EnvRef(s); ok {
		return os.Getenv(name)
	}
	return s
}
