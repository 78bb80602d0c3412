package proxy

import "time"

// RecordForTest records one answer for version as the hot path would, so
// tests can feed a known latency distribution.
func (p *Proxy) RecordForTest(version string, status int, d time.Duration, now time.Time) {
	p.RecorderForTest(version)(status, d, now)
}

// RecorderForTest returns the hot path's record function for version, with
// the version's stats looked up once.
func (p *Proxy) RecorderForTest(version string) func(status int, d time.Duration, now time.Time) {
	p.mu.Lock()
	vs := p.versions[version]
	if vs == nil {
		vs = newVersionStats(version)
		p.versions[version] = vs
	}
	p.mu.Unlock()
	return vs.record
}

// SetFastPathForTest switches the fast path off (or on again) so benchmarks
// can compare it with ReverseProxy over http.Transport.
func (p *Proxy) SetFastPathForTest(on bool) { p.fastPath = on }

// RecordRouteForTest records one answer for version as the hot path does,
// route included, at an instant of the test's choosing.
func (p *Proxy) RecordRouteForTest(version, method, path string, status int, d time.Duration, now time.Time) {
	p.mu.Lock()
	vs := p.versions[version]
	if vs == nil {
		vs = newVersionStats(version)
		p.versions[version] = vs
	}
	p.mu.Unlock()
	vs.record(status, d, now)
	vs.recordRoute(method, path, status, now)
}

// RouteRecorderForTest returns the hot path's route recording for version.
func (p *Proxy) RouteRecorderForTest(version string) func(method, path string, status int, now time.Time) {
	p.RecorderForTest(version)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.versions[version].recordRoute
}

// FoldRouteForTest returns the route a request with method and path counts under.
func FoldRouteForTest(method, path string) string {
	return string(appendRoute(nil, method, path))
}

// MaxRoutes is the cap on routes counted one by one per version.
const MaxRoutes = maxRoutes
