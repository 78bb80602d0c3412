package supervise

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

const (
	// RequestTimeout bounds one readiness request.
	RequestTimeout = 2 * time.Second
	// LivenessInterval is how often a ready instance is checked again.
	LivenessInterval = time.Second
	// UnhealthyAfter is how many checks in a row must fail before a ready
	// instance is reported Unhealthy: one lost request is not an outage.
	UnhealthyAfter = 3
	// AdoptTries is how many readiness checks an instance recorded before
	// a restart gets before Adopt decides that it does not answer (yet).
	AdoptTries = 3
)

// Probe is the readiness check of a service's instances: an HTTP GET of
// the readiness path that must answer 2xx. Both targets use it, so they
// judge an instance the same way.
type Probe struct {
	path     string
	interval time.Duration
	timeout  time.Duration
	client   *http.Client
}

// NewProbe returns the probe r describes; zero fields take the Default*
// values of package upfactory.
func NewProbe(r upfactory.Readiness) *Probe {
	p := &Probe{path: r.Path, interval: r.Interval.D(), timeout: r.Timeout.D()}
	if p.path == "" {
		p.path = upfactory.DefaultReadinessPath
	}
	if !strings.HasPrefix(p.path, "/") {
		p.path = "/" + p.path
	}
	if p.interval <= 0 {
		p.interval = upfactory.DefaultReadyInterval
	}
	if p.timeout <= 0 {
		p.timeout = upfactory.DefaultReadyTimeout
	}
	p.client = &http.Client{
		// No proxy from the environment: instances are reached directly.
		// No keep-alive: a probe every second does not need it, and idle
		// connections would outlive the target that opened them.
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: RequestTimeout}).DialContext,
			DisableKeepAlives: true,
		},
		// A redirect is not a 2xx: the instance is not ready.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       RequestTimeout,
	}
	return p
}

// Interval is the time between two checks while an instance starts.
func (p *Probe) Interval() time.Duration { return p.interval }

// Timeout is how long a new instance has to become ready.
func (p *Probe) Timeout() time.Duration { return p.timeout }

// URL is the address of addr's readiness check.
func (p *Probe) URL(addr string) string { return "http://" + addr + p.path }

// Check sends one readiness request to addr. It returns nil when addr
// answered 2xx, or an error that says what it got instead.
func (p *Probe) Check(ctx context.Context, addr string) error {
	ctx, cancel := context.WithTimeout(ctx, RequestTimeout)
	defer cancel()
	u := p.URL(addr)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("readiness check of %s: %w", addr, err)
	}
	req.Header.Set("User-Agent", "upfactory-readiness")
	resp, err := p.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("GET %s: %w", u, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<12))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("GET %s answered %s", u, resp.Status)
	}
	return nil
}

// CheckTries checks addr up to tries times, an interval apart, and returns
// nil at the first answer; otherwise the last check's error. It stops
// early when ctx ends.
func (p *Probe) CheckTries(ctx context.Context, addr string, tries int) error {
	var err error
	for i := range tries {
		if i > 0 && !Sleep(ctx, p.interval) {
			break
		}
		if err = p.Check(ctx, addr); err == nil {
			return nil
		}
	}
	return err
}

// Liveness turns the outcomes of a ready instance's periodic checks into
// its state: Unhealthy after UnhealthyAfter failures in a row, Ready again
// at the first success. The zero value is a healthy instance.
type Liveness struct {
	failures int
}

// Observe records the outcome of one check and returns the state the
// instance is in after it.
func (l *Liveness) Observe(err error) upfactory.InstanceState {
	if err == nil {
		l.failures = 0
		return upfactory.InstanceReady
	}
	l.failures++
	if l.failures >= UnhealthyAfter {
		return upfactory.InstanceUnhealthy
	}
	return upfactory.InstanceReady
}
