package proxy

import (
	"context"
	"fmt"
	"strings"

	"github.com/upfactory/upfactory"
)

// The engine drives mirroring through upfactory.Mirrorer: a mirror step
// becomes a MirrorConfig, and MirrorStats becomes the report its judge reads.

// topMirrorKinds and topMirrorRoutes bound MirrorReport.Top.
const (
	topMirrorKinds  = 5
	topMirrorRoutes = 5
)

// Mirror starts copying requests to version's addrs as spec says: a share
// spec.SampleRatio of them (all when 0), of spec.Methods (GET, HEAD and
// OPTIONS when empty; written in any case), with bodies up to spec.MaxBody
// (64 KiB when 0). Empty addrs stop mirroring. The engine calls it on every
// reconcile, so a call that changes nothing keeps the mirroring in force,
// its counters and copies in flight. EINVALID as SetMirror. ctx is unused:
// nothing waits.
func (p *Proxy) Mirror(ctx context.Context, version string, addrs []string, spec upfactory.MirrorSpec) error {
	if len(addrs) == 0 {
		return p.setMirror(nil, true)
	}
	sample := spec.SampleRatio
	if sample == 0 {
		sample = 1
	}
	var methods []string
	for _, m := range spec.Methods {
		methods = append(methods, strings.ToUpper(m))
	}
	return p.setMirror(&MirrorConfig{
		Version: version,
		Addrs:   addrs,
		Sample:  sample,
		Methods: methods,
		MaxBody: spec.MaxBody,
	}, true)
}

// MirrorReport returns what mirroring to version measured since the proxy
// started, whether or not it is the preview mirrored to now; only Version
// is set when version was never mirrored to.
func (p *Proxy) MirrorReport(version string) upfactory.MirrorReport {
	p.mu.Lock()
	ms := p.mirrors[version]
	p.mu.Unlock()
	if ms == nil {
		return upfactory.MirrorReport{Version: version}
	}
	m := p.mirror.Load()
	return mirrorReport(ms.snapshot(m != nil && m.stats == ms))
}

func mirrorReport(st MirrorStats) upfactory.MirrorReport {
	r := upfactory.MirrorReport{
		Version:    st.Version,
		Active:     st.Active,
		Mirrored:   st.Mirrored,
		Compared:   st.Compared,
		Errors:     st.Errors,
		Dropped:    st.DroppedInFlight + st.DroppedBodyTooBig + st.DroppedBodyUnread,
		Mismatches: st.Mismatches,
		PrimaryP95: upfactory.Duration(st.PrimaryLatency.P95),
		MirrorP95:  upfactory.Duration(st.MirrorLatency.P95),
	}
	c5xx := classLabels[class5xx]
	for _, k := range st.Kinds {
		if k.Mirror == c5xx && k.Primary != c5xx {
			r.Worse += k.Count
		}
	}
	for _, k := range st.Kinds[:min(len(st.Kinds), topMirrorKinds)] {
		r.Top = append(r.Top, fmt.Sprintf("%s→%s ×%d", k.Primary, k.Mirror, k.Count))
	}
	for _, rt := range st.Routes[:min(len(st.Routes), topMirrorRoutes)] {
		r.Top = append(r.Top, fmt.Sprintf("%s %s ×%d", rt.Method, rt.Path, rt.Count))
	}
	return r
}
