// Package promsource measures canaries through Prometheus: PromQL templates
// rendered per service, version and pool, run as instant or range queries.
package promsource

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	"github.com/prometheus/common/model"

	"github.com/upfactory/upfactory"
)

// ErrNoData means the query ran and measured nothing: no series, or a value
// that is not a number (NaN from 0/0, ±Inf). It is the NoData outcome,
// distinct from an error and never a Pass. Test with errors.Is; the message
// says why.
var ErrNoData = errors.New("no data")

// Query is one PromQL template and how to run it.
type Query struct {
	// Expr is a text/template over Vars: {{.Service}}, {{.Version}},
	// {{.Pool}}, {{.Window}}. It must give one series (or a scalar):
	// aggregate with sum(…) or sum by (…)(…) as needed.
	Expr string `yaml:"expr" json:"expr"`
	// Range says the caller wants the samples over a window (Samples)
	// rather than one value (Value).
	Range bool `yaml:"range" json:"range,omitempty"`
	// Step is the resolution of a range query. Default 15s.
	Step upfactory.Duration `yaml:"step" json:"step,omitempty"`
}

// Source runs queries against one Prometheus. It is safe for concurrent use.
type Source struct {
	cfg     Config
	addr    string
	timeout time.Duration
	host    string // credentials go to this host only, never to a redirect elsewhere
	client  api.Client
	log     *slog.Logger
}

// New validates c and returns a Source. It does not contact Prometheus.
func New(c Config) (*Source, error) {
	if errs := c.Validate(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	u, _ := url.Parse(c.Address) // Validate parsed it
	s := &Source{
		cfg:     c,
		addr:    strings.TrimSuffix(c.Address, "/"),
		timeout: c.Timeout.D(),
		host:    u.Host,
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	client, err := api.NewClient(api.Config{
		Address:      s.addr,
		RoundTripper: &authTransport{base: base, host: s.host},
	})
	if err != nil {
		return nil, fmt.Errorf("prometheus client for %s: %w", s.addr, err)
	}
	s.client = client
	s.log = slog.Default().With("component", "promsource", "address", s.addr)
	return s, nil
}

// Address is the base URL queries go to.
func (s *Source) Address() string { return s.addr }

// Timeout is how long one query may take, retries included.
func (s *Source) Timeout() time.Duration { return s.timeout }

// Value renders q with v and runs it as an instant query at at (the server's
// now when at is zero). The result must be one series or a scalar.
//
// Errors: ErrNoData (wrapped) when there is no series or the value is NaN or
// infinite; *QueryError when Prometheus refused the query (syntax, execution,
// timeout), with its type, message and warnings; an error naming the count
// and the first label sets when there are several series; an error naming
// the address when Prometheus did not answer within the timeout.
func (s *Source) Value(ctx context.Context, q Query, v Vars, at time.Time) (float64, error) {
	expr, err := Render(q.Expr, v)
	if err != nil {
		return 0, err
	}
	if q.Range {
		return 0, fmt.Errorf("prometheus query %q is a range query: use Samples", expr)
	}
	form := url.Values{"query": {expr}, "timeout": {model.Duration(s.timeout).String()}}
	if !at.IsZero() {
		form.Set("time", formatTime(at))
	}
	val, err := s.run(ctx, "/api/v1/query", form, expr)
	if err != nil {
		return 0, err
	}
	var f float64
	switch r := val.(type) {
	case *model.Scalar:
		f = float64(r.Value)
	case model.Vector:
		switch {
		case len(r) == 0:
			return 0, s.noData(expr, "the query returned no series")
		case len(r) > 1:
			metrics := make([]model.Metric, len(r))
			for i, smp := range r {
				metrics[i] = smp.Metric
			}
			return 0, s.severalSeries(expr, metrics)
		case r[0].Histogram != nil:
			return 0, s.errorf(expr, "returned a native histogram %s; wrap it in histogram_quantile, histogram_count or histogram_sum", r[0].Metric)
		}
		f = float64(r[0].Value)
	case model.Matrix:
		return 0, s.errorf(expr, "returned a range vector (%d series) where one value was expected: drop the [range] selector, wrap it in a function such as rate, or set range: true", len(r))
	default:
		return 0, s.errorf(expr, "returned a %s where one number was expected", val.Type())
	}
	if reason := notANumber(f); reason != "" {
		return 0, s.noData(expr, "the value is "+reason)
	}
	return f, nil
}

// Samples renders q with v and runs it as a range query over [start, end]
// at q.Step (default 15s). The result must be one series; its finite values
// are returned in time order (NaN and ±Inf points are left out), for a
// judge that compares samples.
//
// Errors: as Value; ErrNoData also when every point is NaN or infinite.
func (s *Source) Samples(ctx context.Context, q Query, v Vars, start, end time.Time) ([]float64, error) {
	expr, err := Render(q.Expr, v)
	if err != nil {
		return nil, err
	}
	step := q.Step.D()
	if step <= 0 {
		step = DefaultStep
	}
	if end.Before(start) {
		return nil, fmt.Errorf("prometheus range query %q: end %s is before start %s", expr, end.Format(time.RFC3339), start.Format(time.RFC3339))
	}
	form := url.Values{
		"query":   {expr},
		"start":   {formatTime(start)},
		"end":     {formatTime(end)},
		"step":    {strconv.FormatFloat(step.Seconds(), 'f', -1, 64)},
		"timeout": {model.Duration(s.timeout).String()},
	}
	val, err := s.run(ctx, "/api/v1/query_range", form, expr)
	if err != nil {
		return nil, err
	}
	m, ok := val.(model.Matrix)
	if !ok {
		return nil, s.errorf(expr, "range query returned a %s where a range vector was expected", val.Type())
	}
	switch {
	case len(m) == 0:
		return nil, s.noData(expr, fmt.Sprintf("the range query returned no series between %s and %s", start.Format(time.RFC3339), end.Format(time.RFC3339)))
	case len(m) > 1:
		metrics := make([]model.Metric, len(m))
		for i, ss := range m {
			metrics[i] = ss.Metric
		}
		return nil, s.severalSeries(expr, metrics)
	case len(m[0].Values) == 0 && len(m[0].Histograms) > 0:
		return nil, s.errorf(expr, "returned native histograms %s; wrap them in histogram_quantile, histogram_count or histogram_sum", m[0].Metric)
	}
	out := make([]float64, 0, len(m[0].Values))
	for _, p := range m[0].Values {
		if f := float64(p.Value); notANumber(f) == "" {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, s.noData(expr, fmt.Sprintf("all %d points are NaN or infinite", len(m[0].Values)))
	}
	return out, nil
}

// run posts form to endpoint with the credentials and the timeout,
// retrying while Prometheus cannot be reached (a restart, a refused
// connection, a proxy's 502/503/504) until the timeout. Answers from
// Prometheus, errors included, are not retried.
func (s *Source) run(ctx context.Context, endpoint string, form url.Values, expr string) (model.Value, error) {
	auth, secrets, err := s.credentials()
	if err != nil {
		return nil, err
	}
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	qctx = context.WithValue(qctx, authKey{}, auth)

	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		val, warn, err := s.post(qctx, endpoint, form, expr, secrets)
		if err == nil {
			if len(warn) > 0 {
				s.log.Warn("prometheus answered with warnings", "query", expr, "warnings", warn)
			}
			return val, nil
		}
		var down *unreachable
		if !errors.As(err, &down) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("prometheus at %s: query %q: %w", s.addr, expr, ctx.Err())
		}
		timedOut := func() error {
			return fmt.Errorf("prometheus at %s did not answer query %q within %s (%s): %w", s.addr, expr, s.timeout, attempts(attempt), down.err)
		}
		if qctx.Err() != nil {
			return nil, timedOut()
		}
		t := time.NewTimer(backoff)
		select {
		case <-qctx.Done():
			t.Stop()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("prometheus at %s: query %q: %w", s.addr, expr, ctx.Err())
			}
			return nil, timedOut()
		case <-t.C:
		}
		backoff = min(2*backoff, time.Second)
	}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// unreachable is a failure to get an answer from Prometheus, worth another
// try within the timeout.
type unreachable struct{ err error }

func (u *unreachable) Error() string { return u.err.Error() }
func (u *unreachable) Unwrap() error { return u.err }

// apiResponse is the envelope of every answer of Prometheus's HTTP API.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

type queryData struct {
	ResultType model.ValueType `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// post sends one query. It returns *unreachable when there was no answer,
// *QueryError when Prometheus (or something in front of it) refused it.
func (s *Source) post(ctx context.Context, endpoint string, form url.Values, expr string, secrets []string) (model.Value, []string, error) {
	u := s.client.URL(endpoint, nil)
	req, err := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, fmt.Errorf("prometheus at %s: building request: %w", s.addr, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body, err := s.client.Do(ctx, req)
	if err == nil && resp.StatusCode == http.StatusMethodNotAllowed {
		// Something in front of Prometheus allows GET only.
		u.RawQuery = form.Encode()
		req, err = http.NewRequest(http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, nil, fmt.Errorf("prometheus at %s: building request: %w", s.addr, err)
		}
		resp, body, err = s.client.Do(ctx, req)
	}
	if err != nil {
		return nil, nil, &unreachable{err: err}
	}
	var r apiResponse
	jsonErr := json.Unmarshal(body, &r)
	if jsonErr != nil || (r.Status != "success" && r.Status != "error") {
		qe := &QueryError{
			Address: s.addr,
			Query:   expr,
			Type:    "bad_response",
			Message: fmt.Sprintf("HTTP %d %s, not a Prometheus API answer", resp.StatusCode, http.StatusText(resp.StatusCode)),
			Detail:  redact(shorten(string(body), 300), secrets),
		}
		switch resp.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return nil, nil, &unreachable{err: qe}
		}
		return nil, nil, qe
	}
	warn := redactAll(r.Warnings, secrets)
	if r.Status == "error" || resp.StatusCode/100 != 2 {
		typ, msg := r.ErrorType, r.Error
		if typ == "" {
			typ = fmt.Sprintf("http_%d", resp.StatusCode)
		}
		if msg == "" {
			msg = http.StatusText(resp.StatusCode)
		}
		return nil, nil, &QueryError{
			Address:  s.addr,
			Query:    expr,
			Type:     typ,
			Message:  redact(msg, secrets),
			Warnings: warn,
		}
	}
	val, err := decodeResult(r.Data)
	if err != nil {
		return nil, nil, &QueryError{Address: s.addr, Query: expr, Type: "bad_response", Message: err.Error()}
	}
	return val, warn, nil
}

func decodeResult(data json.RawMessage) (model.Value, error) {
	var d queryData
	if err := json.Unmarshal(data, &d); err != nil {
		return nil, fmt.Errorf("decoding the result: %w", err)
	}
	var v model.Value
	switch d.ResultType {
	case model.ValScalar:
		v = new(model.Scalar)
	case model.ValVector:
		v = &model.Vector{}
	case model.ValMatrix:
		v = &model.Matrix{}
	case model.ValString:
		v = new(model.String)
	default:
		return nil, fmt.Errorf("unknown result type %q", d.ResultType)
	}
	if err := json.Unmarshal(d.Result, v); err != nil {
		return nil, fmt.Errorf("decoding the %s result: %w", d.ResultType, err)
	}
	switch x := v.(type) {
	case *model.Vector:
		return *x, nil
	case *model.Matrix:
		return *x, nil
	}
	return v, nil
}

// formatTime writes t as Prometheus's API reads it: Unix seconds.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixNano())/1e9, 'f', -1, 64)
}

// credentials resolves the Authorization header for one query, with the
// secret strings that must never appear in an error.
func (s *Source) credentials() (header string, secrets []string, err error) {
	c := s.cfg
	switch {
	case c.BearerToken != "":
		tok, err := secret("bearer_token", c.BearerToken)
		if err != nil {
			return "", nil, err
		}
		return "Bearer " + tok, []string{tok}, nil
	case c.BearerTokenFile != "":
		b, err := os.ReadFile(c.BearerTokenFile)
		if err != nil {
			return "", nil, fmt.Errorf("reading prometheus bearer_token_file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", nil, fmt.Errorf("prometheus bearer_token_file %s is empty", c.BearerTokenFile)
		}
		return "Bearer " + tok, []string{tok}, nil
	case c.Username != "":
		pw, err := secret("password", c.Password)
		if err != nil {
			return "", nil, err
		}
		enc := base64.StdEncoding.EncodeToString([]byte(c.Username + ":" + pw))
		return "Basic " + enc, []string{pw, enc}, nil
	}
	return "", nil, nil
}

func (s *Source) noData(expr, reason string) error {
	return fmt.Errorf("prometheus at %s: query %q: %w: %s", s.addr, expr, ErrNoData, reason)
}

func (s *Source) errorf(expr, format string, args ...any) error {
	return fmt.Errorf("prometheus at %s: query %q: %s", s.addr, expr, fmt.Sprintf(format, args...))
}

// severalSeries names the count and the first label sets, which is what
// someone needs to see to fix the aggregation.
func (s *Source) severalSeries(expr string, metrics []model.Metric) error {
	const show = 3
	var b strings.Builder
	for i, m := range metrics {
		if i == show {
			fmt.Fprintf(&b, " and %d more", len(metrics)-show)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(m.String())
	}
	return s.errorf(expr, "returned %d series where one was expected (aggregate with sum or sum by, or narrow the selector): %s", len(metrics), b.String())
}

// notANumber says why f is not a measurement, or "" when it is one.
func notANumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN (such as 0/0: nothing was observed in the window)"
	case math.IsInf(f, 0):
		return fmt.Sprintf("%v (a division by zero)", f)
	}
	return ""
}

// QueryError is Prometheus refusing a query: its error type (bad_data for a
// syntax error, execution, timeout, canceled, …), its message and its
// warnings, with any credential removed.
type QueryError struct {
	Address  string
	Query    string
	Type     string
	Message  string
	Detail   string // the body of a non-API error response (a proxy's 401), shortened
	Warnings []string
}

func (e *QueryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "prometheus at %s: query %q: %s: %s", e.Address, e.Query, e.Type, e.Message)
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	if len(e.Warnings) > 0 {
		fmt.Fprintf(&b, " (warnings: %s)", strings.Join(e.Warnings, "; "))
	}
	return b.String()
}

func shorten(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func redact(s string, secrets []string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "[redacted]")
		}
	}
	return s
}

func redactAll(ss []string, secrets []string) []string {
	if len(ss) == 0 {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = redact(s, secrets)
	}
	return out
}

type authKey struct{}

// authTransport adds the Authorization header of the query's context, and
// only on requests to Prometheus's own host: a redirect elsewhere does not
// get the credentials.
type authTransport struct {
	base http.RoundTripper
	host string
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	h, _ := r.Context().Value(authKey{}).(string)
	if h == "" || r.URL.Host != t.host {
		return t.base.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", h)
	return t.base.RoundTrip(r)
}
