// Package haproxy drives a user's HAProxy as a service's router, through
// its runtime API on the admin socket: each instance is a server of one
// backend, added with `add server` when it joins a pool, weighed with
// `set server … weight`, set to drain when it leaves (in-flight requests
// finish, no new ones come), and deleted once no connection is left. A
// small client of the runtime API is all it needs (runtime.go): the
// protocol is one plain-text command per connection. HAProxy keeps the
// weights of servers added at run time only until it reloads; the router
// sets them again on every change of pools, and the engine sets the pools
// at every change.
package haproxy

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

func init() {
	provider.RegisterRouter(provider.Router{Type: "haproxy", Validate: validate,
		New: func(ctx context.Context, svc *upfactory.Service, env provider.RouterEnv) (upfactory.Router, func(), error) {
			r := New(svc.Router.Socket, svc.Router.Backend)
			ctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); r.Watch(ctx, time.Second, env.Logger) }()
			return r, func() { cancel(); <-done }, nil
		}})
}

var _ upfactory.Router = (*Router)(nil)

// maxWeight is HAProxy's largest server weight.
const maxWeight = 256

// drainPoll is how often Drain looks at a server's open connections.
const drainPoll = 20 * time.Millisecond

// Router is one backend of an HAProxy.
type Router struct {
	rt      Runtime
	backend string

	mu    sync.Mutex
	pools []upfactory.Pool // as last set; nil before the first SetPools
}

// New drives backend through the admin socket at socket.
func New(socket, backend string) *Router {
	return &Router{rt: Runtime{Socket: socket}, backend: backend}
}

// serverName names version's instance at addr in the characters HAProxy
// takes in a name: "u_<length of version>_<version>_<host>_<port>", so
// that the version reads back whatever the address holds.
func serverName(version, addr string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
				return r
			}
			return '_'
		}, s)
	}
	v := clean(version)
	return fmt.Sprintf("u_%d_%s_%s", len(v), v, clean(addr))
}

// versionOf is the version part of a name serverName made; "" for a
// server upfactory did not add.
func versionOf(name string) string {
	rest, ok := strings.CutPrefix(name, "u_")
	digits, rest, ok2 := strings.Cut(rest, "_")
	n, err := strconv.Atoi(digits)
	if !ok || !ok2 || err != nil || n <= 0 || n >= len(rest) || rest[n] != '_' {
		return ""
	}
	return rest[:n]
}

type want struct {
	addr   string
	weight int
}

// weights turns the pools' percentages into HAProxy server weights: each
// server's share of its pool, scaled so the largest is 256 (HAProxy's
// finest grain); a pool with weight keeps at least 1 per server.
func weights(pools []upfactory.Pool) map[string]want {
	top := 0.0
	for _, p := range pools {
		if len(p.Addrs) > 0 {
			top = max(top, float64(p.Weight)/float64(len(p.Addrs)))
		}
	}
	out := map[string]want{}
	for _, p := range pools {
		for _, a := range p.Addrs {
			w := 0
			if top > 0 && p.Weight > 0 {
				w = max(1, int(math.Round(float64(p.Weight)/float64(len(p.Addrs))/top*maxWeight)))
			}
			out[serverName(p.Version, a)] = want{addr: a, weight: w}
		}
	}
	return out
}

func checkPools(pools []upfactory.Pool) error {
	total := 0
	for _, p := range pools {
		if p.Weight < 0 || p.Weight > 100 {
			return upfactory.Errorf(upfactory.EINVALID, "pool %s: weight %d is not 0 to 100", p.Version, p.Weight)
		}
		if p.Weight > 0 && len(p.Addrs) == 0 {
			return upfactory.Errorf(upfactory.EINVALID, "pool %s: weight %d and no address", p.Version, p.Weight)
		}
		for _, a := range p.Addrs {
			if err := upfactory.CheckAddr(a, true); err != nil {
				return upfactory.Errorf(upfactory.EINVALID, "pool %s: %v", p.Version, err)
			}
		}
		total += p.Weight
	}
	if len(pools) > 0 && total != 100 {
		return upfactory.Errorf(upfactory.EINVALID, "pool weights add up to %d, want 100", total)
	}
	return nil
}

// SetPools makes the backend's servers the pools' instances at their
// weights. New servers are added and weighed before old ones are set to
// drain, so capacity never dips; a server left out drains (Drain deletes
// it once its connections are done).
func (r *Router) SetPools(ctx context.Context, pools []upfactory.Pool) error {
	if err := checkPools(pools); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.apply(ctx, pools); err != nil {
		return err
	}
	r.pools = slices.Clone(pools)
	return nil
}

// apply makes the backend's servers pools'; r.mu is held.
func (r *Router) apply(ctx context.Context, pools []upfactory.Pool) error {
	cur, err := r.rt.ServersState(ctx, r.backend)
	if err != nil {
		return err
	}
	have := map[string]server{}
	for _, s := range cur {
		have[s.Name] = s
	}
	desired := weights(pools)
	for _, name := range slices.Sorted(maps.Keys(desired)) {
		w := desired[name]
		s, ok := have[name]
		if !ok {
			if err := r.rt.expect(ctx, fmt.Sprintf("add server %s/%s %s weight %d", r.backend, name, w.addr, w.weight), "New server registered."); err != nil {
				return err
			}
			if err := r.rt.expect(ctx, fmt.Sprintf("enable server %s/%s", r.backend, name), ""); err != nil {
				return err
			}
			continue
		}
		if s.Maint || s.Drain {
			if err := r.rt.expect(ctx, fmt.Sprintf("set server %s/%s state ready", r.backend, name), ""); err != nil {
				return err
			}
		}
		if s.Weight != w.weight {
			if err := r.rt.expect(ctx, fmt.Sprintf("set server %s/%s weight %d", r.backend, name, w.weight), ""); err != nil {
				return err
			}
		}
	}
	for _, s := range cur {
		if _, keep := desired[s.Name]; keep || versionOf(s.Name) == "" || s.Drain || s.Maint {
			continue
		}
		if err := r.rt.expect(ctx, fmt.Sprintf("set server %s/%s state drain", r.backend, s.Name), ""); err != nil {
			return err
		}
	}
	return nil
}

// Watch puts back, every interval until ctx ends, the servers HAProxy
// forgot: servers added at run time are not in its config file, so a
// reload drops them, and with them the service's traffic.
func (r *Router) Watch(ctx context.Context, interval time.Duration, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		missing, err := r.restore(ctx)
		switch {
		case err != nil:
			log.Error("putting back the servers HAProxy forgot", "backend", r.backend, "err", err)
		case missing > 0:
			log.Warn("HAProxy had forgotten servers (a reload?): added them again", "backend", r.backend, "missing", missing)
		}
	}
}

// restore applies the pools last set again when HAProxy lacks any of
// their servers, and says how many it lacked.
func (r *Router) restore(ctx context.Context) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pools == nil {
		return 0, nil
	}
	cur, err := r.rt.ServersState(ctx, r.backend)
	if err != nil {
		return 0, err
	}
	have := map[string]bool{}
	for _, s := range cur {
		have[s.Name] = true
	}
	missing := 0
	for name := range weights(r.pools) {
		if !have[name] {
			missing++
		}
	}
	if missing == 0 {
		return 0, nil
	}
	return missing, r.apply(ctx, r.pools)
}

// Pools returns the pools as last set, or, before any was set by this
// router (after a restart of serve), as HAProxy's servers say.
func (r *Router) Pools(ctx context.Context) ([]upfactory.Pool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pools != nil {
		return slices.Clone(r.pools), nil
	}
	cur, err := r.rt.ServersState(ctx, r.backend)
	if err != nil {
		return nil, err
	}
	byVersion := map[string]*upfactory.Pool{}
	var order []string
	total := 0
	for _, s := range cur {
		v := versionOf(s.Name)
		if v == "" || s.Drain || s.Maint {
			continue
		}
		p := byVersion[v]
		if p == nil {
			p = &upfactory.Pool{Version: v}
			byVersion[v] = p
			order = append(order, v)
		}
		p.Addrs = append(p.Addrs, s.Addr)
		p.Weight += s.Weight
		total += s.Weight
	}
	out := []upfactory.Pool{}
	for _, v := range order {
		p := *byVersion[v]
		if total > 0 {
			p.Weight = int(math.Round(float64(p.Weight) * 100 / float64(total)))
		}
		out = append(out, p)
	}
	return out, nil
}

// Drain waits until no connection to addr is open, then takes its
// servers out of the backend; or returns ctx's error first.
func (r *Router) Drain(ctx context.Context, addr string) error {
	cur, err := r.rt.ServersState(ctx, r.backend)
	if err != nil {
		return err
	}
	var names []string
	for _, s := range cur {
		if s.Addr == addr && versionOf(s.Name) != "" {
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	t := time.NewTicker(drainPoll)
	defer t.Stop()
	for {
		open, err := r.rt.Sessions(ctx, r.backend)
		if err != nil {
			return err
		}
		busy := 0
		for _, n := range names {
			busy += open[n]
		}
		if busy == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("draining %s: %d connection(s) still open: %w", addr, busy, ctx.Err())
		case <-t.C:
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	inPools := map[string]bool{}
	for _, p := range r.pools {
		for _, a := range p.Addrs {
			inPools[serverName(p.Version, a)] = true
		}
	}
	for _, n := range names {
		if inPools[n] {
			continue // drained, but back in a pool since: it stays
		}
		if err := r.rt.expect(ctx, fmt.Sprintf("set server %s/%s state maint", r.backend, n), ""); err != nil {
			return err
		}
		if err := r.rt.expect(ctx, fmt.Sprintf("del server %s/%s", r.backend, n), "Server deleted."); err != nil {
			return err
		}
	}
	return nil
}

// validate checks an haproxy router's own keys.
func validate(svc *upfactory.Service, p provider.Problems) {
	r := svc.Router
	if r.API != "" || r.Token != "" {
		p.Report("api", "only a standalone router has a control API; HAProxy is driven through its admin socket")
	}
	if r.TLS != nil {
		p.Report("tls", "HAProxy terminates TLS itself: give the certificate to its bind line (crt), not here")
	}
	switch {
	case r.Socket == "":
		p.Report("socket", "required for an haproxy router: the path of HAProxy's admin socket (stats socket PATH level admin)")
	case !filepath.IsAbs(r.Socket):
		p.Report("socket", "want an absolute path, got %q", r.Socket)
	}
	if r.Backend == "" {
		p.Report("backend", "required for an haproxy router: the backend whose servers upfactory manages")
	} else if !upfactory.IsToken(r.Backend) || strings.ContainsAny(r.Backend, "/;") {
		p.Report("backend", "%q is not a backend name", r.Backend)
	}
}
