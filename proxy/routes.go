package proxy

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/upfactory/upfactory"
)

// Each version's requests are also counted by route, so an analysis can tell
// an error spike on one endpoint from a spread of errors, and Prometheus can
// too. A route is the method and the path with its identifier-like segments
// folded ("GET /orders/:id"); the routes counted one by one are capped, so a
// client sending random paths costs bounded memory and label cardinality.

const (
	// maxRoutes bounds the routes counted one by one per version; later
	// ones count under otherRouteName.
	maxRoutes = 100
	// routeMaxDepth is the most path segments a route keeps; deeper paths
	// end in "/…".
	routeMaxDepth = 6
	// routeMaxMethod and routeMaxPath bound the bytes of a route's method
	// and folded path: a route is a label value.
	routeMaxMethod = 24
	routeMaxPath   = 200
	// routeKeyMax is room for a whole route: method, space, path, "…".
	routeKeyMax = routeMaxMethod + 1 + routeMaxPath + len("/…")
)

// otherRouteName counts the requests of the routes above the cap, as
// mirror.go's otherRoute does for mismatches.
var otherRouteName = otherRoute.method + " " + otherRoute.path

// appendRoute appends the route of a request with method and path to dst:
// the method, a space and the path with every identifier-like segment
// replaced by ":id", cut after routeMaxDepth segments and routeMaxPath
// bytes. The result is valid UTF-8, since it is a label value. It does not
// allocate when dst has room for routeKeyMax bytes.
func appendRoute(dst []byte, method, path string) []byte {
	if !validHeaderName(method) {
		method = "?" // only a handler called directly can see one
	}
	if len(method) > routeMaxMethod {
		method = method[:routeMaxMethod]
	}
	dst = append(dst, method...)
	dst = append(dst, ' ')
	start := len(dst)
	if path == "" {
		return append(dst, '/')
	}
	// A path without a leading slash ("OPTIONS *") is folded alike.
	rest, slash := path, path[0] == '/'
	if slash {
		rest = path[1:]
	}
	for depth := 1; ; depth++ {
		seg, after, more := strings.Cut(rest, "/")
		if depth > routeMaxDepth {
			if seg == "" && !more {
				return append(dst, '/') // a trailing slash, no deeper segment
			}
			return append(dst, "/…"...)
		}
		if slash || depth > 1 {
			dst = append(dst, '/')
		}
		if isIdentifier(seg) {
			seg = ":id"
		}
		var cut bool
		if dst, cut = appendCut(dst, start, seg); cut || !more {
			return dst
		}
		rest = after
	}
}

// appendCut appends s to dst, cutting it at a rune boundary and marking the
// cut with "…" when the bytes from start on would go past routeMaxPath;
// cut says whether it did.
func appendCut(dst []byte, start int, s string) (_ []byte, cut bool) {
	room := routeMaxPath - (len(dst) - start)
	if len(s) <= room {
		return append(dst, s...), false
	}
	n := max(room, 0)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return append(append(dst, s[:n]...), "…"...), true
}

// isIdentifier reports whether a path segment looks like an identifier
// rather than a name: all digits, a UUID, 8 or more hex digits, or a token of
// 16 or more letters, digits, '-' and '_' with both letters and digits.
// A segment that is not valid UTF-8 counts too: it cannot be a label value,
// and names are not written that way.
func isIdentifier(s string) bool {
	n := len(s)
	if n == 0 {
		return false
	}
	var digits, hexLetters, letters, dashes int
	for i := 0; i < n; i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9':
			digits++
		case 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F':
			hexLetters++
		case 'g' <= c && c <= 'z' || 'G' <= c && c <= 'Z':
			letters++
		case c == '-' || c == '_':
			dashes++
		default:
			// Not an identifier's byte: a name, unless the segment
			// is not UTF-8 at all.
			return !utf8.ValidString(s)
		}
	}
	switch {
	case digits == n:
		return true
	case n >= 8 && digits+hexLetters == n:
		return true
	case n == 36 && letters == 0 && dashes == 4 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-':
		return true // a UUID
	}
	return n >= 16 && digits > 0 && hexLetters+letters > 0
}

// routeIndex maps route keys to their counters. It is immutable once
// published: addRoute replaces it whole, which is cheap since at most
// maxRoutes routes are ever added.
type routeIndex struct {
	byKey map[string]*routeStats
	// other is set once maxRoutes routes are counted: every route not in
	// byKey counts there.
	other *routeStats
}

// routeStats is what one route of one version served: cumulative counters
// for Prometheus, and a ring of seconds, allocated on first use.
type routeStats struct {
	route   string
	classes [numClasses]atomic.Uint64
	ring    atomic.Pointer[routeRing]
}

// routeRing holds a route's seconds: 16 bytes a second, 16 KiB a route.
type routeRing struct {
	slots [ringSlots]routeSlot
}

// routeSlot is one second of one route: a slot of stats.go without the
// histogram, its second held in 32 bits (Unix time fits until 2106).
type routeSlot struct {
	// sec is the Unix second the counters belong to; routeSlotClearing
	// while a writer clears them for reuse.
	sec      atomic.Uint32
	requests atomic.Uint32
	errors4  atomic.Uint32
	errors5  atomic.Uint32
}

// routeSlotClearing marks a slot being cleared. Unix second 0 is never
// recorded, and a new ring starts with every slot at routeSlotEmpty.
const (
	routeSlotClearing = 0
	routeSlotEmpty    = 1
)

func newRouteRing() *routeRing {
	r := new(routeRing)
	for i := range r.slots {
		r.slots[i].sec.Store(routeSlotEmpty)
	}
	return r
}

// routeSec returns the slot second of the Unix second sec, and whether the
// ring can hold it.
func routeSec(sec int64) (uint32, bool) {
	if sec <= routeSlotEmpty || sec > 1<<32-1 {
		return 0, false
	}
	return uint32(sec), true
}

// recordRoute counts one answered request of method and path. It does not
// allocate once the route was seen, or once the routes are capped.
func (vs *versionStats) recordRoute(method, path string, status int, now time.Time) {
	var buf [routeKeyMax]byte
	key := appendRoute(buf[:0], method, path)
	var rs *routeStats
	if idx := vs.routes.Load(); idx != nil {
		if rs = idx.byKey[string(key)]; rs == nil {
			rs = idx.other
		}
	}
	if rs == nil {
		rs = vs.addRoute(string(key))
	}
	rs.record(statusClass(status), now.Unix())
}

// addRoute returns the counters of route, adding them, or the other
// routes' counters once maxRoutes are counted.
func (vs *versionStats) addRoute(route string) *routeStats {
	vs.routeMu.Lock()
	defer vs.routeMu.Unlock()
	idx := vs.routes.Load()
	if idx == nil {
		idx = &routeIndex{}
	}
	if rs := idx.byKey[route]; rs != nil {
		return rs
	}
	if idx.other != nil {
		return idx.other
	}
	next := &routeIndex{}
	if len(idx.byKey) >= maxRoutes {
		next.byKey = idx.byKey
		next.other = &routeStats{route: otherRouteName}
		vs.routes.Store(next)
		return next.other
	}
	next.byKey = make(map[string]*routeStats, len(idx.byKey)+1)
	for k, rs := range idx.byKey {
		next.byKey[k] = rs
	}
	rs := &routeStats{route: route}
	next.byKey[route] = rs
	vs.routes.Store(next)
	return rs
}

func (rs *routeStats) record(class int, unixSec int64) {
	rs.classes[class].Add(1)
	sec, ok := routeSec(unixSec)
	if !ok {
		return
	}
	r := rs.ring.Load()
	if r == nil {
		r = newRouteRing()
		if !rs.ring.CompareAndSwap(nil, r) {
			r = rs.ring.Load()
		}
	}
	s := &r.slots[unixSec&ringMask]
	if !s.claim(sec) {
		return
	}
	s.requests.Add(1)
	switch class {
	case class4xx:
		s.errors4.Add(1)
	case class5xx:
		s.errors5.Add(1)
	}
}

// claim makes s hold second sec, as slot.claim does.
func (s *routeSlot) claim(sec uint32) bool {
	for spins := 0; ; spins++ {
		cur := s.sec.Load()
		switch {
		case cur == sec:
			return true
		case cur == routeSlotClearing:
			if spins > 0 && spins%64 == 0 {
				runtime.Gosched()
			}
			continue
		case cur > sec:
			return false
		}
		if s.sec.CompareAndSwap(cur, routeSlotClearing) {
			s.requests.Store(0)
			s.errors4.Store(0)
			s.errors5.Store(0)
			s.sec.Store(sec)
			return true
		}
	}
}

// sum adds up the route's seconds from first to last, both included.
func (rs *routeStats) sum(first, last int64) upfactory.RouteStats {
	st := upfactory.RouteStats{Route: rs.route}
	r := rs.ring.Load()
	if r == nil {
		return st
	}
	for unixSec := first; unixSec <= last; unixSec++ {
		sec, ok := routeSec(unixSec)
		if !ok {
			continue
		}
		s := &r.slots[unixSec&ringMask]
		if s.sec.Load() != sec {
			continue
		}
		st.Requests += int64(s.requests.Load())
		st.Errors4xx += int64(s.errors4.Load())
		st.Errors5xx += int64(s.errors5.Load())
	}
	return st
}

// all returns every route counted, the other routes last, or nil.
func (idx *routeIndex) all() []*routeStats {
	if idx == nil {
		return nil
	}
	out := make([]*routeStats, 0, len(idx.byKey)+1)
	for _, rs := range idx.byKey {
		out = append(out, rs)
	}
	slices.SortFunc(out, func(a, b *routeStats) int { return cmp.Compare(a.route, b.route) })
	if idx.other != nil {
		out = append(out, idx.other)
	}
	return out
}

// routeStats returns the routes that served requests from from to to,
// busiest first.
func (vs *versionStats) routeStats(from, to time.Time) []upfactory.RouteStats {
	first, last := ringSpan(from, to)
	var out []upfactory.RouteStats
	for _, rs := range vs.routes.Load().all() {
		if st := rs.sum(first, last); st.Requests > 0 {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b upfactory.RouteStats) int {
		return cmp.Or(cmp.Compare(b.Requests, a.Requests), cmp.Compare(a.Route, b.Route))
	})
	return out
}

// releaseRouteRings drops the rings of every route, as releaseIfIdle does
// the version's.
func (vs *versionStats) releaseRouteRings() {
	for _, rs := range vs.routes.Load().all() {
		rs.ring.Store(nil)
	}
}

// Distribution returns every request version answered in the whole seconds
// from from to to, both included: the counts by outcome and the non-empty
// latency buckets, each at its midpoint. The span is clamped to the last
// MaxWindow ending at to; From then says where it starts. An unknown version
// has a zero distribution.
func (p *Proxy) Distribution(version string, from, to time.Time) upfactory.Distribution {
	return p.statsOf(version).distribution(from, to)
}

// Routes returns the requests version answered over the same span as
// Distribution, by route, busiest first; ties go by route. Routes without
// requests in the span are left out; the routes above the cap of 100 per
// version count together as "* (other routes)".
func (p *Proxy) Routes(version string, from, to time.Time) []upfactory.RouteStats {
	return p.statsOf(version).routeStats(from, to)
}

// statsOf returns version's stats, empty ones for an unknown version.
func (p *Proxy) statsOf(version string) *versionStats {
	p.mu.Lock()
	vs := p.versions[version]
	p.mu.Unlock()
	if vs == nil {
		vs = newVersionStats(version)
	}
	return vs
}
