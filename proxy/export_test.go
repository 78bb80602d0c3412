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
