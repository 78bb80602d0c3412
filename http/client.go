package http

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
)

// Client calls a running server's API.
type Client struct {
	URL   string // base URL, such as http://127.0.0.1:7070
	Token string // bearer token for mutating calls, if the server wants one
	HTTP  *http.Client
}

// NewClient returns a client of the server at base.
func NewClient(base, token string) *Client {
	return &Client{URL: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 30 * time.Second}}
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return upfactory.Errorf(upfactory.EINVALID, "server address %q: %v", c.URL, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" && method != http.MethodGet {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return upfactory.Errorf(upfactory.EUNAVAILABLE, "cannot reach the upfactory server at %s (is `upfactory serve` running? set --server or UPFACTORY_SERVER): %v", c.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading answer of %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var e ErrorResponse
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			ue := &upfactory.Error{Code: e.Error.Code, Message: e.Error.Message}
			if len(e.Error.Details) > 0 {
				ue.Details = e.Error.Details
			}
			return ue
		}
		return upfactory.Errorf(FromErrorStatusCode(resp.StatusCode), "%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding answer of %s %s: %w", method, path, err)
	}
	return nil
}

// Services returns the status of every service.
func (c *Client) Services(ctx context.Context) ([]*engine.Status, error) {
	var out []*engine.Status
	return out, c.do(ctx, http.MethodGet, "/api/v1/services", nil, &out)
}

// Status returns the status of one service's rollout.
func (c *Client) Status(ctx context.Context, service string) (*engine.Status, error) {
	var out engine.Status
	return &out, c.do(ctx, http.MethodGet, "/api/v1/services/"+url.PathEscape(service), nil, &out)
}

// StartRollout starts a rollout of version delivering candidates; a
// refusal by the gates is ECONFLICT with the closed gates in its Details.
func (c *Client) StartRollout(ctx context.Context, service, version, actor string, candidates ...string) (*engine.Status, error) {
	var out engine.Status
	return &out, c.do(ctx, http.MethodPost, "/api/v1/services/"+url.PathEscape(service)+"/rollouts", StartRequest{Version: version, Actor: actor, Candidates: candidates}, &out)
}

// Do sends a rollout command: promote, approve, pause, resume, abort, rollback or cleanup.
func (c *Client) Do(ctx context.Context, service, action, actor, comment string) (*engine.Status, error) {
	var out engine.Status
	path := "/api/v1/services/" + url.PathEscape(service) + "/actions/" + url.PathEscape(action)
	return &out, c.do(ctx, http.MethodPost, path, ActionRequest{Actor: actor, Comment: comment}, &out)
}

// Log returns operation log entries.
func (c *Client) Log(ctx context.Context, f upfactory.LogFilter) ([]upfactory.LogEntry, error) {
	q := url.Values{}
	if f.Service != "" {
		q.Set("service", f.Service)
	}
	if f.AfterSeq > 0 {
		q.Set("after", strconv.FormatInt(f.AfterSeq, 10))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Newest {
		q.Set("newest", "true")
	}
	var out LogResponse
	return out.Entries, c.do(ctx, http.MethodGet, "/api/v1/log?"+q.Encode(), nil, &out)
}

// VerifyLog checks the operation log's hash chain on the server.
func (c *Client) VerifyLog(ctx context.Context) (*upfactory.LogVerification, error) {
	var out upfactory.LogVerification
	return &out, c.do(ctx, http.MethodGet, "/api/v1/log/verify", nil, &out)
}
