package proxy

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/upfactory/upfactory"
)

// The trailing-window view keeps one slot per second in a ring. 1024 slots
// (17 minutes) cover the longest analysis window the engine asks for (15
// minutes) and make the slot index a mask.
const (
	ringSlots = 1024
	ringMask  = ringSlots - 1
	// MaxWindow is the longest window Stats can answer; longer ones are clamped.
	MaxWindow = ringSlots * time.Second
)

// Latency buckets of the trailing-window histogram are log-spaced by 2^(1/16)
// (4.4% wide) from 50µs to 60s: interpolating inside a bucket keeps the
// percentile error near 2%, and 326 uint32 counters per second per version
// keep the ring at 1.3 MB per version.
const (
	histMin       = 50 * time.Microsecond
	histMax       = 60 * time.Second
	histPerOctave = 16
)

// histBuckets counts bucket 0 (below histMin), the log-spaced ones, and a
// last one for histMax and above.
var histBuckets = 2 + int(math.Ceil(histPerOctave*math.Log2(float64(histMax)/float64(histMin))))

// histIndex returns the bucket of d: 0 below histMin, i for
// [histMin·2^((i-1)/16), histMin·2^(i/16)), histBuckets-1 from histMax on.
func histIndex(d time.Duration) int {
	if d < histMin {
		return 0
	}
	if d >= histMax {
		return histBuckets - 1
	}
	i := 1 + int(histPerOctave*math.Log2(float64(d)/float64(histMin)))
	return min(i, histBuckets-2)
}

// histLower returns the lower bound of bucket i (i ≥ 1).
func histLower(i int) float64 {
	if i <= 0 {
		return 0
	}
	if i >= histBuckets-1 {
		return float64(histMax)
	}
	return float64(histMin) * math.Exp2(float64(i-1)/histPerOctave)
}

// histUpper returns the upper bound of bucket i; the last bucket has none, so
// its lower bound stands in.
func histUpper(i int) float64 {
	if i >= histBuckets-2 {
		return float64(histMax)
	}
	return histLower(i + 1)
}

// promBounds are the cumulative histogram's bucket bounds in seconds: coarse,
// round numbers dashboards expect, 1ms to 30s.
var promBounds = []float64{
	0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05,
	0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30,
}

// promBoundsNanos holds promBounds in nanoseconds for the hot path.
var promBoundsNanos = func() []int64 {
	ns := make([]int64, len(promBounds))
	for i, b := range promBounds {
		ns[i] = int64(math.Round(b * 1e9))
	}
	return ns
}()

// Status classes as recorded. 1xx (a 101 protocol switch is the only final
// one) counts as success with 2xx; a client that went away before the answer
// counts as 4xx, as nginx's 499 does.
const (
	class2xx = iota
	class3xx
	class4xx
	class5xx
	numClasses
)

var classLabels = [numClasses]string{"2xx", "3xx", "4xx", "5xx"}

func statusClass(status int) int {
	switch {
	case status >= 500:
		return class5xx
	case status >= 400:
		return class4xx
	case status >= 300:
		return class3xx
	}
	return class2xx
}

// slot is one second of one version's traffic.
type slot struct {
	// sec is the Unix second the counters belong to; -sec while a writer
	// clears them for reuse.
	sec      atomic.Int64
	requests atomic.Uint32
	errors4  atomic.Uint32
	errors5  atomic.Uint32
	hist     []atomic.Uint32
}

type ring struct {
	slots [ringSlots]slot
}

func newRing() *ring {
	r := new(ring)
	// One backing array keeps the histograms contiguous: one allocation, not 1024.
	all := make([]atomic.Uint32, ringSlots*histBuckets)
	for i := range r.slots {
		r.slots[i].hist = all[i*histBuckets : (i+1)*histBuckets : (i+1)*histBuckets]
		r.slots[i].sec.Store(math.MinInt64)
	}
	return r
}

// versionStats is everything recorded for one version: cumulative counters
// for Prometheus and the ring for trailing windows. Writers use atomics only.
type versionStats struct {
	version string

	classes  [numClasses]atomic.Uint64
	buckets  []atomic.Uint64 // len(promBounds)+1, the last one is +Inf
	sumNanos atomic.Int64

	// ring is allocated on first use and released once a removed version's
	// traffic has left it, so versions kept for their counters cost little.
	ring atomic.Pointer[ring]
	// lastSec is the last Unix second anything was recorded.
	lastSec atomic.Int64

	// routes counts the same requests by route (routes.go); addRoute
	// serializes its copy-on-write updates.
	routes  atomic.Pointer[routeIndex]
	routeMu sync.Mutex
}

func newVersionStats(version string) *versionStats {
	return &versionStats{version: version, buckets: make([]atomic.Uint64, len(promBounds)+1)}
}

// record counts one answered request. now is when the answer finished.
func (vs *versionStats) record(status int, d time.Duration, now time.Time) {
	if d < 0 {
		d = 0
	}
	class := statusClass(status)
	vs.classes[class].Add(1)
	b := len(promBoundsNanos)
	for i, ub := range promBoundsNanos {
		if int64(d) <= ub {
			b = i
			break
		}
	}
	vs.buckets[b].Add(1)
	vs.sumNanos.Add(int64(d))

	sec := now.Unix()
	if vs.lastSec.Load() < sec {
		vs.lastSec.Store(sec)
	}
	r := vs.ring.Load()
	if r == nil {
		r = newRing()
		if !vs.ring.CompareAndSwap(nil, r) {
			r = vs.ring.Load()
		}
	}
	s := &r.slots[sec&ringMask]
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
	s.hist[histIndex(d)].Add(1)
}

// claim makes s hold second sec, clearing what an older second left there.
// It reports false for a sample older than the slot's content: a writer that
// stalled for a whole turn of the ring has nothing left to add to.
func (s *slot) claim(sec int64) bool {
	for spins := 0; ; spins++ {
		cur := s.sec.Load()
		switch {
		case cur == sec:
			return true
		case cur == -sec:
			// Another writer is clearing the slot for this second: a few
			// hundred stores, so yield rather than sleep.
			if spins > 0 && spins%64 == 0 {
				runtime.Gosched()
			}
			continue
		case cur > sec || (cur < 0 && -cur > sec):
			return false
		}
		if s.sec.CompareAndSwap(cur, -sec) {
			s.requests.Store(0)
			s.errors4.Store(0)
			s.errors5.Store(0)
			for i := range s.hist {
				s.hist[i].Store(0)
			}
			s.sec.Store(sec)
			return true
		}
	}
}

// stats sums the slots of the n seconds ending with now's second.
func (vs *versionStats) stats(window time.Duration, now time.Time) upfactory.TrafficStats {
	n := int64((window + time.Second - 1) / time.Second)
	n = max(1, min(n, ringSlots))
	ts := upfactory.TrafficStats{Version: vs.version, Window: time.Duration(n) * time.Second}
	r := vs.ring.Load()
	if r == nil {
		return ts
	}
	hist := make([]uint64, histBuckets)
	end := now.Unix()
	ts.Requests, ts.Errors4xx, ts.Errors5xx = r.sum(end-n+1, end, hist)
	ts.Rate = float64(ts.Requests) / ts.Window.Seconds()
	ts.P50 = percentile(hist, 0.50)
	ts.P95 = percentile(hist, 0.95)
	ts.P99 = percentile(hist, 0.99)
	return ts
}

// sum adds up the slots of the seconds from first to last, both included,
// into the counts it returns and hist. Slots holding another second are
// skipped: that second saw no traffic, or left the ring.
func (r *ring) sum(first, last int64, hist []uint64) (requests, errors4, errors5 int64) {
	for sec := first; sec <= last; sec++ {
		s := &r.slots[sec&ringMask]
		if s.sec.Load() != sec {
			continue
		}
		requests += int64(s.requests.Load())
		errors4 += int64(s.errors4.Load())
		errors5 += int64(s.errors5.Load())
		for i := range s.hist {
			hist[i] += uint64(s.hist[i].Load())
		}
	}
	return requests, errors4, errors5
}

// ringSpan returns the seconds from from to to, both included, that the ring
// can answer: at most ringSlots of them, ending with to's. first > last when
// from is after to.
func ringSpan(from, to time.Time) (first, last int64) {
	first, last = from.Unix(), to.Unix()
	return max(first, last-ringSlots+1), last
}

// distribution sums the whole seconds from from to to, both included,
// clamped to the ring's span; From says where the sum starts when clamped.
func (vs *versionStats) distribution(from, to time.Time) upfactory.Distribution {
	first, last := ringSpan(from, to)
	d := upfactory.Distribution{Version: vs.version, From: from, To: to}
	if first > from.Unix() {
		d.From = time.Unix(first, 0).In(from.Location())
	}
	r := vs.ring.Load()
	if r == nil || first > last {
		return d
	}
	hist := make([]uint64, histBuckets)
	d.Requests, d.Errors4xx, d.Errors5xx = r.sum(first, last, hist)
	for i, c := range hist {
		if c > 0 {
			d.Latency = append(d.Latency, upfactory.LatencyBucket{Seconds: histMid(i), Count: int64(c)})
		}
	}
	return d
}

// histMid returns the middle of bucket i in seconds: the geometric mean of
// its bounds, since the buckets are log-spaced; half of histMin for bucket
// 0, histMax for the last, which has no upper bound.
func histMid(i int) float64 {
	switch {
	case i <= 0:
		return float64(histMin) / 2 / 1e9
	case i >= histBuckets-1:
		return float64(histMax) / 1e9
	}
	return math.Sqrt(histLower(i)*histUpper(i)) / 1e9
}

// percentile interpolates linearly inside the bucket where the q-th sample
// falls. It returns 0 for an empty histogram.
func percentile(hist []uint64, q float64) time.Duration {
	var total uint64
	for _, c := range hist {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var below uint64
	for i, c := range hist {
		if c == 0 || float64(below+c) < rank {
			below += c
			continue
		}
		if i == len(hist)-1 {
			return time.Duration(histLower(i))
		}
		lo, hi := histLower(i), histUpper(i)
		frac := (rank - float64(below)) / float64(c)
		return time.Duration(lo + frac*(hi-lo))
	}
	return time.Duration(histLower(len(hist) - 1))
}

// releaseIfIdle drops the ring of a version that took no traffic for longer
// than the ring spans: every window Stats can ask for is empty anyway.
func (vs *versionStats) releaseIfIdle(now time.Time) {
	if vs.lastSec.Load() < now.Unix()-ringSlots {
		vs.ring.Store(nil)
		vs.releaseRouteRings()
	}
}
