package proxy

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector returns the proxy's cumulative metrics for a Prometheus registry:
// requests by version and status class, a latency histogram by version, the
// weight of each routed version and the requests in flight to each instance;
// requests by version, route and status class (at most 101 routes a version);
// once mirroring ran, the copies sent to each preview version, dropped (by
// reason) and unanswered, the answers compared by pair of status classes,
// both sides' latency and the copies in flight. Versions that left the pools
// keep being exported, so counters never go backwards.
func (p *Proxy) Collector() prometheus.Collector {
	labels := prometheus.Labels{"service": p.service}
	return &collector{
		p: p,
		requests: prometheus.NewDesc("upfactory_router_requests_total",
			"Requests answered by the built-in router, by version and status class (client disconnects count as 4xx, refused requests as 5xx).",
			[]string{"version", "code_class"}, labels),
		duration: prometheus.NewDesc("upfactory_router_request_duration_seconds",
			"Time from receiving a request to the end of its answer, by version.",
			[]string{"version"}, labels),
		routeRequests: prometheus.NewDesc("upfactory_router_route_requests_total",
			"Requests answered by the built-in router, by version, route and status class. A route is the method and the path with identifier-like segments folded to :id; past 100 routes a version, the others count as \"* (other routes)\".",
			[]string{"version", "route", "class"}, labels),
		weight: prometheus.NewDesc("upfactory_router_pool_weight",
			"Percentage of new requests routed to the version.",
			[]string{"version"}, labels),
		inflight: prometheus.NewDesc("upfactory_router_in_flight_requests",
			"Requests in flight to an instance.",
			[]string{"version", "addr"}, labels),
		mirrorRequests: prometheus.NewDesc("upfactory_router_mirror_requests_total",
			"Copies of user requests sent to the preview version.",
			[]string{"version"}, labels),
		mirrorDropped: prometheus.NewDesc("upfactory_router_mirror_dropped_total",
			"Requests picked for mirroring but not copied: too many copies in flight (in_flight), a body above the limit (body_too_big), a body the primary did not read whole (body_unread).",
			[]string{"version", "reason"}, labels),
		mirrorErrors: prometheus.NewDesc("upfactory_router_mirror_errors_total",
			"Copies the preview version did not answer (refused, reset, timed out).",
			[]string{"version"}, labels),
		mirrorResponses: prometheus.NewDesc("upfactory_router_mirror_responses_total",
			"Copies the preview version answered, by the status class users got and the preview's.",
			[]string{"version", "primary_class", "mirror_class"}, labels),
		mirrorDuration: prometheus.NewDesc("upfactory_router_mirror_duration_seconds",
			"Latency of the compared copies: the user's answer (side=primary) and the preview's (side=mirror).",
			[]string{"version", "side"}, labels),
		mirrorInflight: prometheus.NewDesc("upfactory_router_mirror_in_flight_requests",
			"Copies waiting for the preview version's answer.",
			[]string{"version"}, labels),
	}
}

type collector struct {
	p                                    *Proxy
	requests, duration, weight, inflight *prometheus.Desc
	routeRequests                        *prometheus.Desc

	mirrorRequests, mirrorDropped, mirrorErrors *prometheus.Desc
	mirrorResponses, mirrorDuration             *prometheus.Desc
	mirrorInflight                              *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.duration
	ch <- c.weight
	ch <- c.inflight
	ch <- c.routeRequests
	ch <- c.mirrorRequests
	ch <- c.mirrorDropped
	ch <- c.mirrorErrors
	ch <- c.mirrorResponses
	ch <- c.mirrorDuration
	ch <- c.mirrorInflight
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.p.mu.Lock()
	versions := make([]*versionStats, 0, len(c.p.versions))
	for _, vs := range c.p.versions {
		versions = append(versions, vs)
	}
	mirrors := make([]*mirrorStats, 0, len(c.p.mirrors))
	for _, ms := range c.p.mirrors {
		mirrors = append(mirrors, ms)
	}
	c.p.mu.Unlock()
	sort.Slice(versions, func(i, j int) bool { return versions[i].version < versions[j].version })
	sort.Slice(mirrors, func(i, j int) bool { return mirrors[i].version < mirrors[j].version })

	for _, vs := range versions {
		for class := range numClasses {
			ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue,
				float64(vs.classes[class].Load()), vs.version, classLabels[class])
		}
		var count uint64
		buckets := make(map[float64]uint64, len(promBounds))
		for i, ub := range promBounds {
			count += vs.buckets[i].Load()
			buckets[ub] = count
		}
		count += vs.buckets[len(promBounds)].Load()
		ch <- prometheus.MustNewConstHistogram(c.duration, count,
			float64(vs.sumNanos.Load())/1e9, buckets, vs.version)
		for _, rs := range vs.routes.Load().all() {
			for class := range numClasses {
				ch <- prometheus.MustNewConstMetric(c.routeRequests, prometheus.CounterValue,
					float64(rs.classes[class].Load()), vs.version, rs.route, classLabels[class])
			}
		}
	}

	for _, pl := range c.p.table.Load().pools {
		ch <- prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, float64(pl.Weight), pl.Version)
		for _, b := range pl.backends {
			ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue,
				float64(b.inflight.Load()), pl.Version, b.addr)
		}
	}

	for _, ms := range mirrors {
		c.collectMirror(ch, ms)
	}
}

func (c *collector) collectMirror(ch chan<- prometheus.Metric, ms *mirrorStats) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(c.mirrorRequests, ms.mirrored.Load(), ms.version)
	counter(c.mirrorDropped, ms.droppedInFlight.Load(), ms.version, "in_flight")
	counter(c.mirrorDropped, ms.droppedBody.Load(), ms.version, "body_too_big")
	counter(c.mirrorDropped, ms.droppedUnread.Load(), ms.version, "body_unread")
	counter(c.mirrorErrors, ms.errors.Load(), ms.version)
	for pc := range numClasses {
		for mc := range numClasses {
			counter(c.mirrorResponses, ms.pairs[pc][mc].Load(), ms.version, classLabels[pc], classLabels[mc])
		}
	}
	for side, h := range map[string]*latencyHist{"primary": ms.primaryLat, "mirror": ms.mirrorLat} {
		var count uint64
		buckets := make(map[float64]uint64, len(promBounds))
		for i, ub := range promBounds {
			count += h.buckets[i].Load()
			buckets[ub] = count
		}
		count += h.buckets[len(promBounds)].Load()
		ch <- prometheus.MustNewConstHistogram(c.mirrorDuration, count,
			float64(h.sumNanos.Load())/1e9, buckets, ms.version, side)
	}
	ch <- prometheus.MustNewConstMetric(c.mirrorInflight, prometheus.GaugeValue, float64(ms.inflight.Load()), ms.version)
}
