package proxy

import (
	"sort"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector returns the proxy's cumulative metrics for a Prometheus registry:
// requests by version and status class, a latency histogram by version, the
// weight of each routed version and the requests in flight to each instance.
// Versions that left the pools keep being exported, so counters never go
// backwards.
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
		weight: prometheus.NewDesc("upfactory_router_pool_weight",
			"Percentage of new requests routed to the version.",
			[]string{"version"}, labels),
		inflight: prometheus.NewDesc("upfactory_router_in_flight_requests",
			"Requests in flight to an instance.",
			[]string{"version", "addr"}, labels),
	}
}

type collector struct {
	p                                    *Proxy
	requests, duration, weight, inflight *prometheus.Desc
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.requests
	ch <- c.duration
	ch <- c.weight
	ch <- c.inflight
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.p.mu.Lock()
	versions := make([]*versionStats, 0, len(c.p.versions))
	for _, vs := range c.p.versions {
		versions = append(versions, vs)
	}
	c.p.mu.Unlock()
	sort.Slice(versions, func(i, j int) bool { return versions[i].version < versions[j].version })

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
	}

	for _, pl := range c.p.table.Load().pools {
		ch <- prometheus.MustNewConstMetric(c.weight, prometheus.GaugeValue, float64(pl.Weight), pl.Version)
		for _, b := range pl.backends {
			ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue,
				float64(b.inflight.Load()), pl.Version, b.addr)
		}
	}
}
