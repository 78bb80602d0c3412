package routerd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/proxy"
)

func init() {
	provider.RegisterRouter(provider.Router{Type: "standalone", Validate: validate, Counts: true,
		New: func(_ context.Context, svc *upfactory.Service, env provider.RouterEnv) (upfactory.Router, func(), error) {
			c, err := NewClient(svc, env.Logger)
			return c, func() {}, err
		}})
}

var (
	_ upfactory.Router       = (*Client)(nil)
	_ upfactory.MetricSource = (*Client)(nil)
	_ upfactory.SampleSource = (*Client)(nil)
)

// statsTimeout bounds one read of the stats: the analysis reads them
// within its interval, and an unanswered read counts as no traffic.
const statsTimeout = 2 * time.Second

// Client drives a standalone router through its control API.
type Client struct {
	base  string
	token string
	http  *http.Client
	log   *slog.Logger
}

// NewClient is the Router of svc's standalone router.
func NewClient(svc *upfactory.Service, log *slog.Logger) (*Client, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Client{base: "http://" + svc.Router.API, http: &http.Client{}, log: log.With("service", svc.Name, "router", svc.Router.API)}
	if svc.Router.Token != "" {
		if c.token = resolve(svc.Router.Token); c.token == "" {
			return nil, upfactory.Errorf(upfactory.EINVALID, "router of %s: its token is %s, and that environment variable is not set", svc.Name, svc.Router.Token)
		}
	}
	return c, nil
}

// call sends one request and decodes the answer into out.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return upfactory.Errorf(upfactory.EUNAVAILABLE, "the standalone router at %s did not answer %s %s: %v", c.base, method, path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e apiError
		json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e)
		code := e.Code
		if code == "" {
			code = upfactory.EUNAVAILABLE
		}
		return upfactory.Errorf(code, "the standalone router at %s refused %s %s: %s (HTTP %d)", c.base, method, path, e.Message, resp.StatusCode)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("the standalone router at %s: reading its answer to %s %s: %w", c.base, method, path, err)
	}
	return nil
}

// SetPools puts pools in force in the router, which saves them first.
func (c *Client) SetPools(ctx context.Context, pools []upfactory.Pool) error {
	return c.call(ctx, http.MethodPut, "/v1/pools", nil, pools, nil)
}

// Pools returns the pools in force.
func (c *Client) Pools(ctx context.Context) ([]upfactory.Pool, error) {
	var pools []upfactory.Pool
	err := c.call(ctx, http.MethodGet, "/v1/pools", nil, nil, &pools)
	return pools, err
}

// Drain waits until addr has no request in flight, or ctx ends.
func (c *Client) Drain(ctx context.Context, addr string) error {
	return c.call(ctx, http.MethodPost, "/v1/drain", url.Values{"addr": {addr}}, nil, nil)
}

// Stats reads version's trailing-window stats; a router that does not
// answer gives no traffic (the analysis sees no data, never a pass on
// made-up numbers).
func (c *Client) Stats(version string, window time.Duration, now time.Time) upfactory.TrafficStats {
	var s upfactory.TrafficStats
	c.read("/v1/stats", url.Values{"version": {version}, "window": {window.String()}, "now": {now.Format(time.RFC3339Nano)}}, &s)
	return s
}

// Distribution reads version's per-second samples from from to to.
func (c *Client) Distribution(version string, from, to time.Time) upfactory.Distribution {
	var d upfactory.Distribution
	c.read("/v1/distribution", span(version, from, to), &d)
	return d
}

// Routes reads version's per-route counts from from to to.
func (c *Client) Routes(version string, from, to time.Time) []upfactory.RouteStats {
	var r []upfactory.RouteStats
	c.read("/v1/routes", span(version, from, to), &r)
	return r
}

func span(version string, from, to time.Time) url.Values {
	return url.Values{"version": {version}, "from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}}
}

func (c *Client) read(path string, q url.Values, out any) {
	ctx, cancel := context.WithTimeout(context.Background(), statsTimeout)
	defer cancel()
	if err := c.call(ctx, http.MethodGet, path, q, nil, out); err != nil {
		c.log.Warn("reading the router's stats", "err", err)
	}
}

// validate checks a standalone router's own keys: where its control API
// answers, and a token unless that is on loopback.
func validate(svc *upfactory.Service, p provider.Problems) {
	proxy.Validate(svc, p)
	r := svc.Router
	if r.API == "" {
		p.Report("api", "required for a standalone router: the host:port of its control API, such as 127.0.0.1:7171")
		return
	}
	if err := upfactory.CheckAddr(r.API, true); err != nil {
		p.Report("api", "%v", err)
		return
	}
	if r.Token != "" {
		if name, ok := upfactory.EnvRef(r.Token); !ok || !upfactory.ValidEnvName(name) {
			p.Report("token", "write it as ${NAME} and set the environment variable NAME: a token stays out of the config file")
		}
	} else if !loopback(r.API) {
		p.Report("token", "required when the control API is not on loopback (%s): ${NAME}", r.API)
	}
}
