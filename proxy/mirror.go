package proxy

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upfactory/upfactory"
)

// Traffic mirroring copies a sample of live requests to a preview version,
// the staging twin fed with production-like traffic, and compares its
// answers with the ones users got. A copy leaves once the user's answer is
// complete, on a goroutine of its own, so the preview can neither delay,
// change nor fail what users get; the hot path pays one atomic load while
// mirroring is off.

// HeaderMirror marks the copies sent to the preview, so it can tell them
// from its own traffic (and not send mail, charge cards, …).
const HeaderMirror = "X-Upfactory-Mirror"

// Defaults of MirrorConfig's zero fields.
const (
	DefaultMirrorMaxBody     = 64 << 10
	DefaultMirrorTimeout     = 10 * time.Second
	DefaultMirrorMaxInFlight = 64
)

// DefaultMirrorMethods are the methods mirrored when MirrorConfig.Methods is
// empty: the ones a preview can answer without acting on anything.
var DefaultMirrorMethods = []string{http.MethodGet, http.MethodHead, http.MethodOptions}

// MirrorConfig says which requests to copy to which preview.
type MirrorConfig struct {
	// Version names the preview; it labels the mirror's stats and metrics.
	// It need not have a pool: previews usually take no user traffic.
	Version string
	// Addrs are the preview's instances (host:port), used in turn.
	Addrs []string
	// Sample is the share of eligible requests copied, 0 to 1. The choice
	// is a deterministic spread, not a random draw: at 0.25 exactly every
	// fourth eligible request is copied.
	Sample float64
	// Methods are the methods copied. Default GET, HEAD and OPTIONS: a
	// preview that shares a database or a payment provider with production
	// must not see writes unless someone decided it may.
	Methods []string
	// MaxBody is the largest request body copied, in bytes; requests with
	// larger bodies are not mirrored (and counted). Default 64 KiB. The body
	// is kept while the primary reads it, so this bounds the memory per copy.
	MaxBody int64
	// Timeout bounds one copy, from sending it to reading its answer's end.
	// Default 10s.
	Timeout time.Duration
	// MaxInFlight bounds the copies waiting for the preview; beyond it a
	// copy is dropped and counted, so a slow preview costs bounded memory.
	// Default 64.
	MaxInFlight int
}

// MirrorStats is what mirroring measured for one preview version since the
// proxy started. Copies dropped or without an answer are not compared.
type MirrorStats struct {
	Version string
	// Active says whether requests are being copied to Version now.
	Active bool
	// Mirrored counts copies sent to the preview.
	Mirrored int64
	// DroppedInFlight counts copies not sent because MaxInFlight copies
	// were waiting; DroppedBodyTooBig those whose body was above MaxBody;
	// DroppedBodyUnread those whose body the primary did not read to its
	// end (it answered first or failed), so no exact copy existed.
	DroppedInFlight, DroppedBodyTooBig, DroppedBodyUnread int64
	// Errors counts copies the preview did not answer (refused, reset,
	// timed out).
	Errors int64
	// InFlight is the copies waiting for the preview now.
	InFlight int64
	// Compared counts the copies the preview answered; Primary and Mirror
	// count them by status class on each side.
	Compared        int64
	Primary, Mirror ClassCounts
	// Mismatches counts compared copies whose status class differs from
	// the user's answer; Kinds splits them by pair of classes, most first.
	Mismatches int64
	Kinds      []MismatchKind
	// Examples are the latest mismatches, newest last (at most 10).
	Examples []MismatchExample
	// Routes are the routes with the most mismatches, most first (at most 10).
	Routes []RouteMismatches
	// PrimaryLatency and MirrorLatency are over the compared copies: the
	// user's answer as the proxy timed it, and the preview's.
	PrimaryLatency, MirrorLatency Latency
}

// ClassCounts counts answers by status class. 1xx counts with 2xx, and the
// proxy's own 502 for an unanswered request with 5xx.
type ClassCounts struct {
	C2xx, C3xx, C4xx, C5xx int64
}

// MismatchKind counts the mismatches of one pair of status classes.
type MismatchKind struct {
	Primary, Mirror string // "2xx" … "5xx"
	Count           int64
}

// MismatchExample is one mismatch. Path has no query string: queries carry
// tokens; headers, which carry cookies and credentials, are never kept.
type MismatchExample struct {
	At                          time.Time
	Method, Path                string
	PrimaryStatus, MirrorStatus int
}

// RouteMismatches counts the mismatches of one method and path.
type RouteMismatches struct {
	Method, Path string
	Count        int64
}

// Latency is a distribution's percentiles; zero when nothing was measured.
type Latency struct {
	P50, P95, P99 time.Duration
}

const (
	mirrorExamples  = 10
	mirrorTopRoutes = 10
	// mirrorMaxRoutes bounds the routes counted one by one: paths with IDs
	// in them would otherwise grow the map with every request. Later ones
	// count under otherRoute.
	mirrorMaxRoutes = 1000
	// mirrorMaxPath truncates the paths kept in examples and routes.
	mirrorMaxPath = 256
	// samplePPM is the resolution of MirrorConfig.Sample.
	samplePPM = 1_000_000
)

var otherRoute = routeKey{method: "*", path: "(other routes)"}

// SetMirror starts copying requests as cfg says, replacing the mirroring in
// force, or stops it when cfg is nil. Copies in flight to a replaced preview
// are cancelled and not counted. EINVALID when the version is empty or not a
// plain token, there is no address or one is malformed, Sample is outside
// 0–1, a method is not a token, or a limit is negative.
func (p *Proxy) SetMirror(cfg *MirrorConfig) error {
	return p.setMirror(cfg, false)
}

// setMirror is SetMirror; keepSame leaves the mirroring in force alone, its
// copies in flight included, when cfg says the same once normalized.
func (p *Proxy) setMirror(cfg *MirrorConfig, keepSame bool) error {
	var c MirrorConfig
	if cfg != nil {
		var err error
		if c, err = normalizeMirror(*cfg); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	cur := p.mirror.Load()
	if keepSame && (cfg == nil && cur == nil || cfg != nil && cur != nil && sameMirror(cur.cfg, c)) {
		return nil
	}
	var m *mirror
	if cfg != nil {
		m = newMirror(c)
		ms := p.mirrors[m.cfg.Version]
		if ms == nil {
			ms = newMirrorStats(m.cfg.Version)
			p.mirrors[m.cfg.Version] = ms
		}
		m.stats = ms
		p.mirrorVersion = m.cfg.Version
	}
	if old := p.mirror.Swap(m); old != nil {
		old.stop()
	}
	if m == nil {
		p.log.Info("mirror stopped")
		return nil
	}
	p.log.Info("mirror set", "version", m.cfg.Version, "addrs", len(m.cfg.Addrs),
		"sample", m.cfg.Sample, "methods", strings.Join(m.cfg.Methods, ","),
		"max_body", m.cfg.MaxBody, "timeout", m.cfg.Timeout, "max_in_flight", m.cfg.MaxInFlight)
	return nil
}

// sameMirror reports whether two normalized configs copy the same requests
// to the same instances alike; the order of addresses and methods does not
// matter.
func sameMirror(a, b MirrorConfig) bool {
	sameSet := func(x, y []string) bool {
		x, y = slices.Clone(x), slices.Clone(y)
		slices.Sort(x)
		slices.Sort(y)
		return slices.Equal(x, y)
	}
	return a.Version == b.Version && a.Sample == b.Sample && a.MaxBody == b.MaxBody &&
		a.Timeout == b.Timeout && a.MaxInFlight == b.MaxInFlight &&
		sameSet(a.Addrs, b.Addrs) && sameSet(a.Methods, b.Methods)
}

// MirrorStats returns what mirroring measured for the preview in force, or
// for the last one when mirroring is stopped; zero when it never ran.
func (p *Proxy) MirrorStats() MirrorStats {
	p.mu.Lock()
	ms := p.mirrors[p.mirrorVersion]
	p.mu.Unlock()
	if ms == nil {
		return MirrorStats{}
	}
	m := p.mirror.Load()
	return ms.snapshot(m != nil && m.stats == ms)
}

func normalizeMirror(c MirrorConfig) (MirrorConfig, error) {
	var problems []string
	switch {
	case c.Version == "":
		problems = append(problems, "mirror has no version")
	case !validVersion(c.Version):
		problems = append(problems, fmt.Sprintf("mirror version %q must be printable ASCII without spaces, quotes, commas, semicolons or backslashes", c.Version))
	}
	if len(c.Addrs) == 0 {
		problems = append(problems, "mirror has no address")
	}
	for _, addr := range c.Addrs {
		if host, port, err := net.SplitHostPort(addr); err != nil || host == "" || port == "" {
			problems = append(problems, fmt.Sprintf("mirror address %q is not host:port", addr))
		}
	}
	if !(c.Sample >= 0 && c.Sample <= 1) { // NaN too
		problems = append(problems, fmt.Sprintf("mirror sample %v, want 0 to 1", c.Sample))
	}
	for _, m := range c.Methods {
		if !validHeaderName(m) {
			problems = append(problems, fmt.Sprintf("mirror method %q is not an HTTP token", m))
		}
	}
	if c.MaxBody < 0 {
		problems = append(problems, fmt.Sprintf("mirror max body %d is negative", c.MaxBody))
	}
	if c.Timeout < 0 {
		problems = append(problems, fmt.Sprintf("mirror timeout %v is negative", c.Timeout))
	}
	if c.MaxInFlight < 0 {
		problems = append(problems, fmt.Sprintf("mirror max in flight %d is negative", c.MaxInFlight))
	}
	if len(problems) > 0 {
		return c, upfactory.Errorf(upfactory.EINVALID, "invalid mirror: %s", strings.Join(problems, "; "))
	}
	c.Addrs = slices.Clone(c.Addrs)
	if len(c.Methods) == 0 {
		c.Methods = DefaultMirrorMethods
	}
	c.Methods = slices.Clone(c.Methods)
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMirrorMaxBody
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultMirrorTimeout
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMirrorMaxInFlight
	}
	return c, nil
}

// mirror is one MirrorConfig in force; SetMirror replaces it whole.
type mirror struct {
	cfg   MirrorConfig
	ppm   uint64 // Sample in millionths
	stats *mirrorStats

	seq      atomic.Uint64 // eligible requests seen
	rr       atomic.Uint32
	inflight atomic.Int64

	transport *http.Transport
	ctx       context.Context // done once replaced
	cancel    context.CancelFunc
}

func newMirror(cfg MirrorConfig) *mirror {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := newTransport(dialer)
	tr.MaxIdleConnsPerHost = cfg.MaxInFlight
	// Cancelling a replaced mirror's copies ends them; context.Background is
	// right here: copies outlive the user requests that caused them, on
	// purpose, and SetMirror has no context of its own to give.
	ctx, cancel := context.WithCancel(context.Background())
	return &mirror{
		cfg:       cfg,
		ppm:       uint64(math.Round(cfg.Sample * samplePPM)),
		transport: tr,
		ctx:       ctx,
		cancel:    cancel,
	}
}

func (m *mirror) stop() {
	m.cancel()
	m.transport.CloseIdleConnections()
}

// mirrorJob is one request chosen for copying, from ServeHTTP to its answer.
type mirrorJob struct {
	m       *mirror
	method  string
	url     url.URL
	host    string
	header  http.Header
	remote  string
	tls     bool
	body    *captureBody // nil for a request without body
	primary int          // the user's status, as recorded
	took    time.Duration
}

// take returns a job when r is to be copied: its method is mirrored, it is
// not an upgrade, already a copy, or routed to the preview itself, and the
// sample picks it.
func (m *mirror) take(r *http.Request, first *pool) *mirrorJob {
	if !slices.Contains(m.cfg.Methods, r.Method) || r.Header["Upgrade"] != nil ||
		r.Header[HeaderMirror] != nil || first.Version == m.cfg.Version {
		return nil
	}
	if !m.sampled(m.seq.Add(1)) {
		return nil
	}
	if r.ContentLength > m.cfg.MaxBody {
		m.stats.droppedBody.Add(1)
		return nil
	}
	return &mirrorJob{
		m:      m,
		method: r.Method,
		url:    *r.URL,
		host:   r.Host,
		header: r.Header.Clone(),
		remote: r.RemoteAddr,
		tls:    r.TLS != nil,
	}
}

// sampled spreads the copies evenly: the n-th eligible request is copied
// when n·Sample crosses an integer. The pattern repeats every million
// requests, so the counter cannot overflow the arithmetic.
func (m *mirror) sampled(n uint64) bool {
	k := (n-1)%samplePPM + 1
	return k*m.ppm/samplePPM > (k-1)*m.ppm/samplePPM
}

// captureBody keeps a copy of the request body while the primary reads it.
// The transport may still be reading when the handler finishes (an answer
// that came before the whole body), hence the lock.
type captureBody struct {
	rc  io.ReadCloser
	max int64

	mu     sync.Mutex
	buf    []byte
	eof    bool
	tooBig bool
	sealed bool
}

// wrapBody makes r's body keep a copy for j. r is the handler's own copy of
// the server's request.
func (j *mirrorJob) wrapBody(r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	cb := &captureBody{rc: r.Body, max: j.m.cfg.MaxBody}
	if r.ContentLength > 0 {
		cb.buf = make([]byte, 0, r.ContentLength)
	}
	j.body = cb
	r.Body = cb
}

func (cb *captureBody) Read(p []byte) (int, error) {
	n, err := cb.rc.Read(p)
	cb.mu.Lock()
	if !cb.sealed && !cb.tooBig {
		if int64(len(cb.buf)+n) > cb.max {
			cb.tooBig, cb.buf = true, nil
		} else {
			cb.buf = append(cb.buf, p[:n]...)
		}
	}
	if err == io.EOF {
		cb.eof = true
	}
	cb.mu.Unlock()
	return n, err
}

func (cb *captureBody) Close() error { return cb.rc.Close() }

// seal ends the capture and returns the body if it is whole.
func (cb *captureBody) seal() (body []byte, tooBig, whole bool) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	cb.sealed = true
	return cb.buf, cb.tooBig, cb.eof
}

// dispatch sends j's copy on a goroutine of its own, once the user's answer
// is complete. It runs on the user's request, so it only decides and counts.
func (j *mirrorJob) dispatch(status int, took time.Duration) {
	m := j.m
	if status == statusClientClosed || m.ctx.Err() != nil {
		return // the user went away, or mirroring was replaced: nothing to compare
	}
	var body []byte
	if j.body != nil {
		b, tooBig, whole := j.body.seal()
		switch {
		case tooBig:
			m.stats.droppedBody.Add(1)
			return
		case !whole:
			m.stats.droppedUnread.Add(1)
			return
		}
		body = b
	}
	if m.inflight.Add(1) > int64(m.cfg.MaxInFlight) {
		m.inflight.Add(-1)
		m.stats.droppedInFlight.Add(1)
		return
	}
	m.stats.inflight.Add(1)
	m.stats.mirrored.Add(1)
	j.primary, j.took = status, took
	go j.send(body)
}

// send sends the copy, reads its answer to the end and compares.
func (j *mirrorJob) send(body []byte) {
	m := j.m
	defer func() {
		m.inflight.Add(-1)
		m.stats.inflight.Add(-1)
	}()
	ctx, cancel := context.WithTimeout(m.ctx, m.cfg.Timeout)
	defer cancel()
	status, took, err := j.roundTrip(ctx, body)
	if err != nil {
		if m.ctx.Err() == nil {
			m.stats.errors.Add(1)
		}
		return
	}
	m.stats.compare(j, status, took, time.Now())
}

func (j *mirrorJob) roundTrip(ctx context.Context, body []byte) (int, time.Duration, error) {
	m := j.m
	addr := m.cfg.Addrs[(m.rr.Add(1)-1)%uint32(len(m.cfg.Addrs))]
	u := j.url
	u.Scheme, u.Host, u.User, u.Fragment = "http", addr, nil, ""
	u.RawQuery = cleanQuery(u.RawQuery)
	req := &http.Request{
		Method:     j.method,
		URL:        &u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header, len(j.header)+4),
		Host:       j.host,
		Body:       http.NoBody,
	}
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
	}
	connection := j.header["Connection"]
	for k, vv := range j.header {
		if !skipRequestHeader(k, connection) {
			req.Header[k] = vv
		}
	}
	if ip, _, err := net.SplitHostPort(j.remote); err == nil {
		req.Header["X-Forwarded-For"] = []string{ip}
	}
	req.Header["X-Forwarded-Host"] = []string{j.host}
	req.Header["X-Forwarded-Proto"] = []string{map[bool]string{false: "http", true: "https"}[j.tls]}
	req.Header[HeaderMirror] = []string{"1"}

	start := time.Now()
	resp, err := m.transport.RoundTrip(req.WithContext(ctx))
	if err != nil {
		return 0, 0, err
	}
	// The answer is read to its end, so the connection serves the next
	// copy, and so the latency compares with the user's, which ends there.
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}

// mirrorStats is everything measured for one preview version. Counters are
// atomics; the mismatch details, written only on a mismatch and off the
// user's path, take a lock.
type mirrorStats struct {
	version string

	mirrored, errors, inflight                  atomic.Int64
	droppedInFlight, droppedBody, droppedUnread atomic.Int64
	// pairs counts compared copies by the user's class and the preview's.
	pairs                 [numClasses][numClasses]atomic.Int64
	primaryLat, mirrorLat *latencyHist

	mu       sync.Mutex
	examples []MismatchExample // a ring of mirrorExamples
	next     int               // where the next example goes
	routes   map[routeKey]int64
}

type routeKey struct{ method, path string }

func newMirrorStats(version string) *mirrorStats {
	return &mirrorStats{
		version:    version,
		primaryLat: newLatencyHist(),
		mirrorLat:  newLatencyHist(),
		routes:     make(map[routeKey]int64),
	}
}

func (s *mirrorStats) compare(j *mirrorJob, status int, took time.Duration, now time.Time) {
	pc, mc := statusClass(j.primary), statusClass(status)
	s.pairs[pc][mc].Add(1)
	s.primaryLat.record(j.took)
	s.mirrorLat.record(took)
	if pc == mc {
		return
	}
	path := j.url.Path
	if path == "" {
		path = "/"
	}
	if len(path) > mirrorMaxPath {
		path = path[:mirrorMaxPath] + "…"
	}
	ex := MismatchExample{At: now, Method: j.method, Path: path, PrimaryStatus: j.primary, MirrorStatus: status}
	key := routeKey{j.method, path}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.examples) < mirrorExamples {
		s.examples = append(s.examples, ex)
	} else {
		s.examples[s.next] = ex
	}
	s.next = (s.next + 1) % mirrorExamples
	if _, ok := s.routes[key]; !ok && len(s.routes) >= mirrorMaxRoutes {
		key = otherRoute
	}
	s.routes[key]++
}

func (s *mirrorStats) snapshot(active bool) MirrorStats {
	st := MirrorStats{
		Version:           s.version,
		Active:            active,
		Mirrored:          s.mirrored.Load(),
		DroppedInFlight:   s.droppedInFlight.Load(),
		DroppedBodyTooBig: s.droppedBody.Load(),
		DroppedBodyUnread: s.droppedUnread.Load(),
		Errors:            s.errors.Load(),
		InFlight:          s.inflight.Load(),
		PrimaryLatency:    s.primaryLat.latency(),
		MirrorLatency:     s.mirrorLat.latency(),
	}
	var primary, mirror [numClasses]int64
	for pc := range numClasses {
		for mc := range numClasses {
			n := s.pairs[pc][mc].Load()
			primary[pc] += n
			mirror[mc] += n
			st.Compared += n
			if pc != mc && n > 0 {
				st.Mismatches += n
				st.Kinds = append(st.Kinds, MismatchKind{Primary: classLabels[pc], Mirror: classLabels[mc], Count: n})
			}
		}
	}
	st.Primary = ClassCounts{primary[class2xx], primary[class3xx], primary[class4xx], primary[class5xx]}
	st.Mirror = ClassCounts{mirror[class2xx], mirror[class3xx], mirror[class4xx], mirror[class5xx]}
	slices.SortStableFunc(st.Kinds, func(a, b MismatchKind) int { return cmp.Compare(b.Count, a.Count) })

	s.mu.Lock()
	if len(s.examples) < mirrorExamples {
		st.Examples = slices.Clone(s.examples)
	} else {
		st.Examples = append(slices.Clone(s.examples[s.next:]), s.examples[:s.next]...)
	}
	for k, n := range s.routes {
		st.Routes = append(st.Routes, RouteMismatches{Method: k.method, Path: k.path, Count: n})
	}
	s.mu.Unlock()
	slices.SortFunc(st.Routes, func(a, b RouteMismatches) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Method, b.Method))
	})
	if len(st.Routes) > mirrorTopRoutes {
		st.Routes = st.Routes[:mirrorTopRoutes]
	}
	return st
}

// latencyHist is a cumulative latency distribution: the fine log-spaced
// buckets of stats.go for percentiles, the coarse ones for Prometheus.
type latencyHist struct {
	fine     []atomic.Uint64
	buckets  []atomic.Uint64 // len(promBounds)+1, the last one is +Inf
	sumNanos atomic.Int64
}

func newLatencyHist() *latencyHist {
	return &latencyHist{
		fine:    make([]atomic.Uint64, histBuckets),
		buckets: make([]atomic.Uint64, len(promBounds)+1),
	}
}

func (h *latencyHist) record(d time.Duration) {
	d = max(d, 0)
	h.fine[histIndex(d)].Add(1)
	b := len(promBoundsNanos)
	for i, ub := range promBoundsNanos {
		if int64(d) <= ub {
			b = i
			break
		}
	}
	h.buckets[b].Add(1)
	h.sumNanos.Add(int64(d))
}

func (h *latencyHist) latency() Latency {
	hist := make([]uint64, len(h.fine))
	for i := range h.fine {
		hist[i] = h.fine[i].Load()
	}
	return Latency{P50: percentile(hist, 0.50), P95: percentile(hist, 0.95), P99: percentile(hist, 0.99)}
}
