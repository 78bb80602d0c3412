// Package loadgen drives steady HTTP load at a fixed rate and counts what
// came back, per version served. The demo and the end-to-end tests use it
// to prove that a rollout drops no request.
package loadgen

import (
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"time"
)

// Request is one kind of request in the mix.
type Request struct {
	Method string
	Path   string
}

// Options configure a run.
type Options struct {
	BaseURL string
	Rate    float64   // requests per second across all clients
	Clients int       // concurrent clients; each keeps its own cookies (sticky sessions)
	Mix     []Request // cycled through; default GET /
	// Limit caps the number of requests, a bound on every run.
	Limit int64
	// SessionRequests is how many requests a simulated user sends before
	// leaving; the next one arrives with no cookies. Real traffic churns, and
	// without churn sticky sessions would pin every client to stable. 0: 10.
	SessionRequests int
}

// Result is the live tally of a run.
type Result struct {
	mu sync.Mutex
	c  Counts
}

// Counts is what a run saw.
type Counts struct {
	Total     int64
	ConnErrs  int64            // no HTTP answer at all
	Gateway   int64            // 502, 503, 504: the router could not deliver
	Status    map[int]int64    // by status code
	ByVersion map[string]int64 // by X-Upfactory-Served-By
	Errors5xx map[string]int64 // 5xx by version
	// FirstErr5xx is when the first 5xx of each version came back.
	FirstErr5xx map[string]time.Time
	LastErr     string
}

// Failed counts requests the router failed to deliver: connection errors
// and gateway errors. An application's own 500 is not a delivery failure.
func (c Counts) Failed() int64 { return c.ConnErrs + c.Gateway }

// Snapshot returns a copy that is safe to read while the run goes on.
func (r *Result) Snapshot() Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.c
	c.Status, c.ByVersion, c.Errors5xx, c.FirstErr5xx = maps.Clone(c.Status), maps.Clone(c.ByVersion), maps.Clone(c.Errors5xx), maps.Clone(c.FirstErr5xx)
	return c
}

// Run sends load until ctx is done or Limit requests were sent. It returns
// the live result at once; wait on the returned channel for the end.
func Run(ctx context.Context, o Options) (*Result, <-chan struct{}) {
	if o.Clients <= 0 {
		o.Clients = 8
	}
	if len(o.Mix) == 0 {
		o.Mix = []Request{{Method: http.MethodGet, Path: "/"}}
	}
	if o.Limit <= 0 {
		o.Limit = 1 << 40
	}
	res := &Result{c: Counts{Status: map[int]int64{}, ByVersion: map[string]int64{}, Errors5xx: map[string]int64{}, FirstErr5xx: map[string]time.Time{}}}
	done := make(chan struct{})
	tokens := make(chan int64, o.Clients)
	var wg sync.WaitGroup
	transport := &http.Transport{MaxIdleConnsPerHost: o.Clients, IdleConnTimeout: 30 * time.Second}
	if o.SessionRequests <= 0 {
		o.SessionRequests = 10
	}
	for i := 0; i < o.Clients; i++ {
		c := &http.Client{Transport: transport, Timeout: 10 * time.Second}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sent := 0
			for n := range tokens {
				if sent%o.SessionRequests == 0 {
					c.Jar, _ = cookiejar.New(nil) // a new user arrives
				}
				sent++
				q := o.Mix[int(n)%len(o.Mix)]
				res.record(do(ctx, c, o.BaseURL, q))
			}
		}()
	}
	go func() {
		defer close(done)
		defer wg.Wait()
		defer close(tokens)
		interval := time.Duration(float64(time.Second) / max(o.Rate, 0.1))
		t := time.NewTicker(interval)
		defer t.Stop()
		for n := int64(0); n < o.Limit; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			select {
			case tokens <- n:
			default: // every client is busy: the target is saturated; skip rather than queue
			}
		}
	}()
	return res, done
}

type outcome struct {
	at      time.Time
	status  int
	version string
	err     error
}

func do(ctx context.Context, c *http.Client, base string, q Request) outcome {
	req, err := http.NewRequestWithContext(ctx, q.Method, base+q.Path, nil)
	if err != nil {
		return outcome{err: err}
	}
	resp, err := c.Do(req)
	if err != nil {
		return outcome{at: time.Now(), err: err}
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The version that answered, as upfactory's router says, or else as
	// the bundled shop says itself (behind a router that adds nothing,
	// such as HAProxy).
	version := resp.Header.Get("X-Upfactory-Served-By")
	if version == "" {
		version = resp.Header.Get("X-Shop-Version")
	}
	return outcome{at: time.Now(), status: resp.StatusCode, version: version}
}

func (r *Result) record(o outcome) {
	if o.err != nil && errors.Is(o.err, context.Canceled) {
		return // the run ended mid-request: not the router's fault
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &r.c
	c.Total++
	if o.err != nil {
		c.ConnErrs++
		c.LastErr = o.err.Error()
		return
	}
	c.Status[o.status]++
	c.ByVersion[o.version]++
	switch o.status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		// The sample services answer 500 for their own faults; these come
		// from the router and mean a request was not delivered.
		c.Gateway++
		c.LastErr = http.StatusText(o.status)
		return
	}
	if o.status >= 500 {
		c.Errors5xx[o.version]++
		if _, ok := c.FirstErr5xx[o.version]; !ok {
			c.FirstErr5xx[o.version] = o.at
		}
	}
}
