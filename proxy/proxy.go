// Package proxy is upfactory's built-in traffic router: a reverse proxy that
// splits one service's requests between its versions by weight and measures
// each, and can copy a sample of them to a preview version (mirror.go).
//
// It is hand-written because the router must swap weights without a lock,
// retry refused connections on another instance, count in-flight requests
// per instance for draining and record per-version latency with atomics
// only. Bodiless GET, HEAD and OPTIONS requests take a fast path of its own
// (h1.go), a third less CPU per request than httputil.ReverseProxy over
// http.Transport in bench/router; the rest go through those.
package proxy

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upfactory/upfactory"
)

// HeaderVersion in a request routes it to the named version, whatever its
// weight, so testers can preview a canary before it takes traffic. A version
// the router does not know is ignored. The header is passed on to the backend.
const HeaderVersion = "X-Upfactory-Version"

// HeaderServedBy in a response names the version that answered.
const HeaderServedBy = "X-Upfactory-Served-By"

// DefaultCookie is the sticky-session cookie's name when Options.Cookie is empty.
const DefaultCookie = "upfactory_version"

// Options configures a Proxy.
type Options struct {
	// Service names the service behind the proxy; it labels every metric.
	Service string
	// Sticky keeps a client on the version it was first sent to, with a
	// cookie naming that version, for as long as the version has weight.
	Sticky bool
	// Cookie is the sticky-session cookie's name. Default "upfactory_version".
	Cookie string
	// Logger receives configuration changes and server errors, never
	// per-request lines. Default slog.Default().
	Logger *slog.Logger
	// TLS, when set, makes Serve terminate TLS with it (HTTP/2 and
	// HTTP/1.1 by ALPN); without, Serve speaks HTTP/1.1 and cleartext
	// HTTP/2 (h2c, with prior knowledge) on the same port.
	TLS *tls.Config
}

// Proxy routes HTTP requests to the pools of one service's versions.
type Proxy struct {
	service string
	sticky  bool
	cookie  string
	log     *slog.Logger
	tls     *tls.Config
	// preview is the version the preview listener sends requests to.
	preview atomic.Pointer[string]

	// table is what the hot path reads; SetPools replaces it whole.
	table atomic.Pointer[table]
	// picks counts weighted choices: the n-th takes the table's slot n mod
	// 100. It outlives tables, so republishing the same weights does not
	// restart the sequence.
	picks atomic.Uint64
	rp    *httputil.ReverseProxy
	calls sync.Pool
	// fastPath enables h1.go; tests switch it off to measure it against
	// ReverseProxy over http.Transport.
	fastPath bool

	mu sync.Mutex // serializes SetPools and guards the maps below
	// backends holds every address in the table, and removed ones until
	// their last request finished.
	backends map[string]*backend
	// versions keeps the stats of every version ever routed: cumulative
	// counters must not go backwards when a version leaves the pools.
	versions map[string]*versionStats

	// mirror is the traffic mirroring in force (mirror.go), nil when off:
	// the hot path's only cost then is loading it.
	mirror atomic.Pointer[mirror]
	// mirrors keeps the stats of every preview ever mirrored to, as
	// versions does; mirrorVersion names the latest.
	mirrors       map[string]*mirrorStats
	mirrorVersion string
}

var (
	_ upfactory.Router       = (*Proxy)(nil)
	_ upfactory.MetricSource = (*Proxy)(nil)
	_ upfactory.SampleSource = (*Proxy)(nil)
	_ upfactory.Mirrorer     = (*Proxy)(nil)
	_ http.Handler           = (*Proxy)(nil)
)

// New returns a proxy with no pools: it answers 503 until SetPools.
func New(opts Options) *Proxy {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "proxy", "service", opts.Service)
	cookie := opts.Cookie
	if cookie == "" {
		cookie = DefaultCookie
	}
	if (&http.Cookie{Name: cookie, Value: "v"}).Valid() != nil {
		log.Warn("invalid sticky cookie name, using the default", "cookie", cookie, "default", DefaultCookie)
		cookie = DefaultCookie
	}
	p := &Proxy{
		service:  opts.Service,
		tls:      opts.TLS,
		sticky:   opts.Sticky,
		cookie:   cookie,
		log:      log,
		fastPath: true,
		backends: make(map[string]*backend),
		versions: make(map[string]*versionStats),
		mirrors:  make(map[string]*mirrorStats),
	}
	p.table.Store(&table{})
	p.calls.New = func() any { return new(call) }
	p.rp = &httputil.ReverseProxy{
		Rewrite:      p.rewrite,
		Transport:    forwarder{p},
		BufferPool:   bufferPool{},
		ErrorHandler: p.proxyError,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	return p
}

// table is one routing configuration, immutable once published.
type table struct {
	pools []*pool // in the order SetPools received them
	live  []*pool // pools with weight > 0
	// pick is the order in which weighted choices go to the pools: each
	// pool holds as many of the 100 slots as its weight, interleaved by
	// smooth weighted round robin (at 5% every 20th slot). Any 100
	// consecutive choices hold each pool exactly its weight, with no random
	// draw a short run could skew.
	pick [100]*pool
}

func (t *table) find(version string) *pool {
	for _, pl := range t.pools {
		if pl.Version == version {
			return pl
		}
	}
	return nil
}

// weighted picks the pool of a request that no header or cookie routes.
func (p *Proxy) weighted(t *table) *pool {
	if len(t.live) == 1 {
		return t.live[0]
	}
	return t.pick[(p.picks.Add(1)-1)%uint64(len(t.pick))]
}

// interleave orders live, whose weights add up to 100, into 100 slots by
// smooth weighted round robin: each slot, every pool gains its weight and
// the one with the most takes the slot and gives back 100.
func interleave(live []*pool) (pick [100]*pool) {
	if len(live) == 0 {
		return pick
	}
	current := make([]int, len(live))
	for i := range pick {
		best := 0
		for j, pl := range live {
			current[j] += pl.Weight
			if current[j] > current[best] {
				best = j
			}
		}
		current[best] -= len(pick)
		pick[i] = live[best]
	}
	return pick
}

type pool struct {
	upfactory.Pool
	backends  []*backend
	rr        atomic.Uint32
	stats     *versionStats
	servedBy  []string // HeaderServedBy's value, shared by every response
	setCookie string   // the sticky cookie naming this version
}

// backend is one instance address.
type backend struct {
	addr     string
	inflight atomic.Int64
	removed  atomic.Bool
	// idle holds the fast path's kept-alive connections.
	idle   chan *h1Conn
	dialer *net.Dialer
	// transport carries the requests the fast path does not take.
	transport *http.Transport
	// h2cTransport carries gRPC over cleartext HTTP/2; made on the first
	// gRPC call.
	h2cMu        sync.Mutex
	h2cTransport *http.Transport
}

// h2c is the transport of gRPC calls to b.
func (b *backend) h2c() *http.Transport {
	b.h2cMu.Lock()
	defer b.h2cMu.Unlock()
	if b.h2cTransport == nil {
		t := newTransport(b.dialer)
		t.Protocols = new(http.Protocols)
		t.Protocols.SetUnencryptedHTTP2(true)
		b.h2cTransport = t
	}
	return b.h2cTransport
}

func newBackend(addr string) *backend {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &backend{
		addr:      addr,
		idle:      make(chan *h1Conn, maxIdlePerBackend),
		dialer:    dialer,
		transport: newTransport(dialer),
	}
}

// closeIdleConns closes the kept-alive connections nothing uses.
func (b *backend) closeIdleConns() {
	b.closeIdle()
	b.transport.CloseIdleConnections()
	b.h2cMu.Lock()
	defer b.h2cMu.Unlock()
	if b.h2cTransport != nil {
		b.h2cTransport.CloseIdleConnections()
	}
}

// acquire counts a request in flight to b, unless b was removed: checking
// removed after the increment means that once SetPools has returned, Drain
// either sees the request or the request sees the removal.
func (b *backend) acquire() bool {
	b.inflight.Add(1)
	if b.removed.Load() {
		b.release()
		return false
	}
	return true
}

func (b *backend) release() {
	if b.inflight.Add(-1) == 0 && b.removed.Load() {
		b.closeIdleConns()
	}
}

// newTransport returns the transport to one backend. One per address lets
// SetPools close a removed backend's idle connections without touching the
// others, and keeps the idle-pool lock per backend.
func newTransport(dialer *net.Dialer) *http.Transport {
	return &http.Transport{
		Proxy:       nil, // never HTTP_PROXY from the environment
		DialContext: dialer.DialContext,
		// The default of 2 idle connections per host makes every burst
		// above 2 concurrent requests open and close connections: that,
		// not the proxying, is what makes a stock ReverseProxy slow.
		MaxIdleConnsPerHost:   512,
		IdleConnTimeout:       90 * time.Second,
		DisableCompression:    true,
		ExpectContinueTimeout: time.Second,
	}
}

// ServeHTTP routes r to a version and forwards it.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t := p.table.Load()
	pl := p.choose(t, w, r)
	if pl == nil {
		http.Error(w, "no version of the service is routed", http.StatusServiceUnavailable)
		return
	}
	c := p.calls.Get().(*call)
	c.t, c.first = t, pl
	c.method, c.path = r.Method, r.URL.Path
	c.idempotent = idempotent(r.Method)
	if m := p.mirror.Load(); m != nil {
		c.mirror = m.take(r, pl)
	}
	// finish runs even when a response is aborted with a panic, so the
	// in-flight count never leaks and Drain cannot hang.
	defer p.finish(c, start)
	if p.fastPath && fastPath(r) {
		p.serveFast(w, r, c)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), callKey{}, c))
	if c.mirror != nil {
		c.mirror.wrapBody(r)
	}
	p.rp.ServeHTTP(w, r)
}

// choose picks the pool for r: the header override, then the sticky cookie,
// then the weighted choice (setting the cookie when sticky).
func (p *Proxy) choose(t *table, w http.ResponseWriter, r *http.Request) *pool {
	if len(t.pools) == 0 {
		return nil
	}
	if v := r.Header[HeaderVersion]; len(v) > 0 {
		if pl := t.find(v[0]); pl != nil {
			return pl
		}
	}
	if !p.sticky {
		return p.weighted(t)
	}
	if ck, err := r.Cookie(p.cookie); err == nil {
		if pl := t.find(ck.Value); pl != nil && pl.Weight > 0 {
			return pl
		}
	}
	pl := p.weighted(t)
	w.Header().Add("Set-Cookie", pl.setCookie)
	return pl
}

func (p *Proxy) finish(c *call, start time.Time) {
	end := time.Now()
	vs := c.first.stats
	if c.served != nil {
		vs = c.served.stats
	}
	status := c.status
	if status == 0 {
		status = http.StatusBadGateway
	}
	vs.record(status, end.Sub(start), end)
	vs.recordRoute(c.method, c.path, status, end)
	if c.b != nil {
		c.b.release()
	}
	if c.mirror != nil {
		c.mirror.dispatch(status, end.Sub(start))
	}
	*c = call{}
	p.calls.Put(c)
}

// SetPools replaces the pools at once. Addresses absent from pools get no new
// requests once it returns; their in-flight requests finish. EINVALID when a
// weight is outside 0–100, the weights do not add up to 100, a version is
// empty, repeated or not a plain token, a pool with weight has no address, or
// an address is malformed or listed twice.
func (p *Proxy) SetPools(ctx context.Context, pools []upfactory.Pool) error {
	if err := validate(pools); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()

	t := &table{}
	inUse := make(map[string]bool)
	for _, in := range pools {
		pl := &pool{
			Pool:     upfactory.Pool{Version: in.Version, Weight: in.Weight, Addrs: slices.Clone(in.Addrs)},
			servedBy: []string{in.Version},
			setCookie: (&http.Cookie{
				Name: p.cookie, Value: in.Version, Path: "/",
				HttpOnly: true, SameSite: http.SameSiteLaxMode,
			}).String(),
		}
		vs := p.versions[in.Version]
		if vs == nil {
			vs = newVersionStats(in.Version)
			p.versions[in.Version] = vs
		}
		pl.stats = vs
		for _, addr := range in.Addrs {
			b := p.backends[addr]
			if b == nil {
				b = newBackend(addr)
				p.backends[addr] = b
			}
			b.removed.Store(false)
			inUse[addr] = true
			pl.backends = append(pl.backends, b)
		}
		t.pools = append(t.pools, pl)
		if pl.Weight > 0 {
			t.live = append(t.live, pl)
		}
	}
	t.pick = interleave(t.live)
	p.table.Store(t)

	for addr, b := range p.backends {
		if inUse[addr] {
			continue
		}
		b.removed.Store(true)
		b.closeIdleConns()
		if b.inflight.Load() == 0 {
			delete(p.backends, addr)
		}
	}
	now := time.Now()
	for v, vs := range p.versions {
		if t.find(v) == nil {
			vs.releaseIfIdle(now)
		}
	}
	p.log.Info("pools set", "pools", poolsAttr(pools))
	return nil
}

func poolsAttr(pools []upfactory.Pool) string {
	var b strings.Builder
	for i, pl := range pools {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d%%(%d)", pl.Version, pl.Weight, len(pl.Addrs))
	}
	return b.String()
}

func validate(pools []upfactory.Pool) error {
	var problems []string
	sum := 0
	versions := make(map[string]bool)
	addrs := make(map[string]string)
	for i, pl := range pools {
		name := pl.Version
		switch {
		case pl.Version == "":
			name = fmt.Sprintf("#%d", i+1)
			problems = append(problems, fmt.Sprintf("pool %s has no version", name))
		case !validVersion(pl.Version):
			problems = append(problems, fmt.Sprintf("version %q must be printable ASCII without spaces, quotes, commas, semicolons or backslashes (it travels in a cookie and a header)", pl.Version))
		case versions[pl.Version]:
			problems = append(problems, fmt.Sprintf("version %q has more than one pool", pl.Version))
		}
		versions[pl.Version] = true
		if pl.Weight < 0 || pl.Weight > 100 {
			problems = append(problems, fmt.Sprintf("pool %s has weight %d, want 0 to 100", name, pl.Weight))
		}
		sum += pl.Weight
		if pl.Weight > 0 && len(pl.Addrs) == 0 {
			problems = append(problems, fmt.Sprintf("pool %s has weight %d but no address", name, pl.Weight))
		}
		for _, addr := range pl.Addrs {
			if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
				problems = append(problems, fmt.Sprintf("pool %s: address %q is not host:port", name, addr))
			}
			if other, ok := addrs[addr]; ok {
				problems = append(problems, fmt.Sprintf("address %s is in pool %s and pool %s", addr, other, name))
			}
			addrs[addr] = name
		}
	}
	if len(pools) > 0 && sum != 100 {
		problems = append(problems, fmt.Sprintf("weights add up to %d, want 100", sum))
	}
	if len(problems) > 0 {
		return upfactory.Errorf(upfactory.EINVALID, "invalid pools: %s", strings.Join(problems, "; "))
	}
	return nil
}

func validVersion(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// Pools returns the pools in force, in the order SetPools received them.
func (p *Proxy) Pools(ctx context.Context) ([]upfactory.Pool, error) {
	t := p.table.Load()
	out := make([]upfactory.Pool, 0, len(t.pools))
	for _, pl := range t.pools {
		out = append(out, upfactory.Pool{Version: pl.Version, Weight: pl.Weight, Addrs: slices.Clone(pl.Addrs)})
	}
	return out, nil
}

// drainPoll is how often Drain looks at the in-flight count: counting stays a
// single atomic in the hot path, and 10ms is short next to any drain timeout.
const drainPoll = 10 * time.Millisecond

// Drain waits until no request is in flight to addr. It returns at once for
// an address the proxy does not know, and ctx's error, wrapped, when ctx is
// done first.
func (p *Proxy) Drain(ctx context.Context, addr string) error {
	p.mu.Lock()
	b := p.backends[addr]
	p.mu.Unlock()
	if b == nil {
		return nil
	}
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
	for {
		n := b.inflight.Load()
		if n == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("draining %s: %d requests still in flight: %w", addr, n, ctx.Err())
		case <-tick.C:
		}
	}
	if b.removed.Load() {
		// Requests that finished after the removal put their connections
		// back in the idle pool.
		b.closeIdleConns()
		p.mu.Lock()
		if p.backends[addr] == b && b.removed.Load() && b.inflight.Load() == 0 {
			delete(p.backends, addr)
		}
		p.mu.Unlock()
	}
	return nil
}

// Stats returns the traffic of version over the window ending at now,
// current second included. The window is rounded up to whole seconds and
// clamped to [1s, MaxWindow]. An unknown version has zero stats.
func (p *Proxy) Stats(version string, window time.Duration, now time.Time) upfactory.TrafficStats {
	return p.statsOf(version).stats(window, now)
}

// shutdownGrace bounds how long Serve waits for in-flight requests once its
// context is done.
const shutdownGrace = 30 * time.Second

// SetPreview names the version the preview handler sends every request
// to; "" when there is none (the preview then answers 503).
func (p *Proxy) SetPreview(version string) { p.preview.Store(&version) }

// Preview is the handler of a preview listener: every request goes to the
// version in preview, as with the X-Upfactory-Version header, so people
// and probes reach a blue-green's green (or a canary) before users do.
func (p *Proxy) Preview() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := p.preview.Load()
		if v == nil || *v == "" {
			http.Error(w, "no version is in preview: no rollout is going on", http.StatusServiceUnavailable)
			return
		}
		r.Header.Set(HeaderVersion, *v)
		p.ServeHTTP(w, r)
	})
}

// Serve answers requests on ln until ctx is done, then stops accepting and
// waits up to 30s for in-flight requests. It returns nil after a graceful
// stop.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	return p.serve(ctx, ln, p)
}

// ServePreview serves the preview handler on ln, like Serve.
func (p *Proxy) ServePreview(ctx context.Context, ln net.Listener) error {
	return p.serve(ctx, ln, p.Preview())
}

func (p *Proxy) serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler: h,
		// Headers must arrive promptly; bodies and answers may stream
		// (uploads, server-sent events), so they have no deadline.
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          slog.NewLogLogger(p.log.Handler(), slog.LevelWarn),
		// Requests keep ctx's values but not its end: shutdown lets them finish.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		Protocols:   new(http.Protocols),
	}
	srv.Protocols.SetHTTP1(true)
	errc := make(chan error, 1)
	if p.tls != nil {
		srv.Protocols.SetHTTP2(true)
		srv.TLSConfig = p.tls.Clone()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		srv.Protocols.SetUnencryptedHTTP2(true)
		go func() { errc <- srv.Serve(ln) }()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serving proxy on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		<-errc
		return fmt.Errorf("shutting down proxy on %s: %w", ln.Addr(), err)
	}
	<-errc
	return nil
}
