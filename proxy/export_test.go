package proxy

import "time"

// RecordForTest records one answer for version as the hot path would, so
// tests can feed a known latency distribution.
func (p *Proxy) RecordForTest(version string, status int, d time.Duration, now time.Time) {
	p.mu.Lock()
	vs := p.versions[version]
	if vs == nil {
		vs = newVersionStats(version)
		p.versions[version] = vs
	}
	p.mu.Unlock()
	vs.record(status, d, now)
}

// SetFastPathForTest switches the fast path off (or on again) so benchmarks
// can compare it with http.Transport.
func (p *Proxy) SetFastPathForTest(on bool) { p.fastPath = on }
