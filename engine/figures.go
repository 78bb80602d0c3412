package engine

import (
	"context"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/measure"
)

// usageKeep is how long instance usage readings are kept: the longest
// span a baseline or a verification look reads (the router's trailing
// stats cover about 17 minutes).
const usageKeep = 20 * time.Minute

// sampleUsage reads the instances' CPU and memory once per analysis
// interval, so that the CPU and memory a version used over a span can be
// told from its readings at both ends.
func (e *Engine) sampleUsage(ctx context.Context, s *service, now time.Time) {
	u, ok := s.Target.(upfactory.UsageReporter)
	if !ok || now.Sub(s.usageAt) < s.Service.Analysis.Interval.D() {
		return
	}
	s.usageAt = now
	readings, err := u.Usage(ctx)
	if err != nil {
		e.logger.Debug("reading instance usage", "service", s.Service.Name, "err", err)
		return
	}
	s.usage = append(s.usage, readings...)
	keep := s.usage[:0]
	for _, r := range s.usage {
		if now.Sub(r.At) <= usageKeep {
			keep = append(keep, r)
		}
	}
	s.usage = keep
}

// figures says what version served from from to to: traffic from the
// router's trailing stats, CPU and memory from the usage readings taken
// within the span.
func (e *Engine) figures(s *service, version string, from, to time.Time) *upfactory.Figures {
	f := &upfactory.Figures{Version: version, From: from, To: to}
	if s.Metrics == nil || !from.Before(to) {
		return f
	}
	st := s.Metrics.Stats(version, to.Sub(from), to)
	if st.Window > 0 && st.Window < to.Sub(from) {
		f.From = to.Add(-st.Window) // the router keeps less than asked
	}
	f.Requests, f.Errors5xx, f.Errors4xx, f.Rate = st.Requests, st.Errors5xx, st.Errors4xx, st.Rate
	f.P50, f.P95, f.P99 = st.P50.Seconds(), st.P95.Seconds(), st.P99.Seconds()
	if s.Samples != nil {
		var routes []upfactory.RouteStats
		for _, c := range s.Service.Analysis.Checks {
			if c.Metric != upfactory.MetricConversion {
				continue
			}
			if routes == nil {
				routes = s.Samples.Routes(version, f.From, to)
			}
			if f.Conversion == nil {
				f.Conversion = map[string]upfactory.Funnel{}
			}
			f.Conversion[c.ID()] = measure.FunnelOf(c, routes)
		}
	}
	cpu, mibSeconds, ok := usageOver(s.usage, version, f.From, to)
	if ok && f.Requests > 0 {
		f.Usage = true
		f.CPUSecondsPer1k = cpu / float64(f.Requests) * 1000
		f.MiBSecondsPer1k = mibSeconds / float64(f.Requests) * 1000
	}
	return f
}

// usageOver is the CPU seconds version's instances used from from to to,
// and the memory they held over it (MiB × seconds), from the readings
// inside the span: for each instance its first and last reading. It is
// not ok when no instance was read twice within the span.
func usageOver(readings []upfactory.InstanceUsage, version string, from, to time.Time) (cpu, mibSeconds float64, ok bool) {
	type ends struct{ first, last upfactory.InstanceUsage }
	byID := map[string]*ends{}
	var order []string
	for _, r := range readings {
		if r.Version != version || r.At.Before(from) || r.At.After(to) {
			continue
		}
		if b := byID[r.ID]; b != nil {
			if r.At.After(b.last.At) {
				b.last = r
			}
			continue
		}
		byID[r.ID] = &ends{r, r}
		order = append(order, r.ID)
	}
	for _, id := range order {
		b := byID[id]
		span := b.last.At.Sub(b.first.At).Seconds()
		if span <= 0 {
			continue
		}
		ok = true
		cpu += max(b.last.CPUSeconds-b.first.CPUSeconds, 0)
		mibSeconds += float64(b.first.RSSBytes+b.last.RSSBytes) / 2 / (1 << 20) * span
	}
	return cpu, mibSeconds, ok
}
