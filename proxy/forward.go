package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync"
	"sync/atomic"
)

// call is the state of one request from ServeHTTP to the backend.
type call struct {
	t      *table
	first  *pool // chosen by header, cookie or weight
	served *pool // answered, possibly after a retry on another pool
	b      *backend
	status int
	body   *guardBody
	// idempotent: the method may be sent twice without harm (RFC 9110 9.2.2).
	idempotent bool
	// mirror is set when a copy of the request goes to the preview.
	mirror *mirrorJob
	// method and path name the request's route (routes.go).
	method, path string
}

type callKey struct{}

var errNoInstance = errors.New("no instance to send the request to")

// forward sends a request with try to an instance of the chosen pool,
// moving on to the next instance, then to the other pools with weight, while
// attempts fail without having sent anything (a refused connection). At most
// one attempt goes to each address. first tells try whether an attempt
// already failed.
func (p *Proxy) forward(ctx context.Context, c *call, try func(b *backend, first bool) (*http.Response, error)) (*http.Response, error) {
	lastErr := errNoInstance
	for gen := 0; gen < 2; gen++ {
		tried := false
		for pl := range c.candidates() {
			n := uint32(len(pl.backends))
			if n == 0 {
				continue
			}
			start := pl.rr.Add(1)
			for k := range n {
				b := pl.backends[(start+k)%n]
				if !b.acquire() {
					continue
				}
				resp, err := try(b, !tried)
				tried = true
				if err == nil {
					c.b, c.served, c.status = b, pl, resp.StatusCode
					return resp, nil
				}
				b.release()
				lastErr = err
				if !c.retryable(ctx, err) {
					return nil, err
				}
			}
		}
		// Every instance of the table the request started with was
		// removed meanwhile: route once more with the table in force.
		t := p.table.Load()
		if tried || t == c.t || len(t.live) == 0 {
			break
		}
		c.t, c.first = t, p.weighted(t)
	}
	return nil, lastErr
}

// candidates yields the chosen pool, then every other pool with weight.
func (c *call) candidates() func(yield func(*pool) bool) {
	return func(yield func(*pool) bool) {
		if !yield(c.first) {
			return
		}
		for _, pl := range c.t.live {
			if pl != c.first && !yield(pl) {
				return
			}
		}
	}
}

// retryable reports whether a failed attempt may go to another instance:
// the connection was never made and no body byte was consumed, or the
// method is idempotent and no answer came back (the instance died with the
// request in flight). A POST that may have been acted on is never resent.
func (c *call) retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if c.body != nil && c.body.read.Load() {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return c.idempotent && c.body == nil
}

// idempotent reports whether a request with method may be sent again when
// its first attempt got no answer.
func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// statusClientClosed is nginx's code for a client that went away before the
// answer; it is recorded, never sent.
const statusClientClosed = 499

// fail answers a request no instance took: 502, or nothing for a client
// that is gone.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		c.status = statusClientClosed
		return
	}
	// A failure after the backend answered (a bad protocol switch) is
	// still the proxy's 502, not the backend's status.
	c.status = http.StatusBadGateway
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusBadGateway)
	io.WriteString(w, "502 bad gateway: no instance of the service answered\n")
}

// The requests the fast path does not take (bodies, upgrades, other methods)
// go through httputil.ReverseProxy and one http.Transport per backend, which
// stream a request body and its answer at the same time.

func (p *Proxy) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.URL.Scheme = "http"
	pr.Out.URL.Host = "" // set per attempt by forwarder
	// The Host header stays the client's: backends see the name they serve.
	pr.SetXForwarded()
	// Only the proxy's copies may say they are copies (mirror.go).
	pr.Out.Header.Del(HeaderMirror)
	if pr.Out.Body != nil {
		c := pr.Out.Context().Value(callKey{}).(*call)
		c.body = &guardBody{rc: pr.Out.Body}
		pr.Out.Body = c.body
	}
}

func (p *Proxy) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	c, _ := r.Context().Value(callKey{}).(*call)
	if c == nil {
		c = new(call)
	}
	p.fail(w, r, c, err)
}

// guardBody tells whether the transport read any of the request body: a
// request whose body was not touched can be sent again.
type guardBody struct {
	rc   io.ReadCloser
	read atomic.Bool
}

func (g *guardBody) Read(b []byte) (int, error) {
	g.read.Store(true)
	return g.rc.Read(b)
}

// Close ignores the transport: it closes the body of a request it failed to
// send, which must stay readable for the next attempt. ReverseProxy closes
// the body it wrapped when the handler returns.
func (g *guardBody) Close() error { return nil }

// forwarder is ReverseProxy's transport: forward over http.Transport.
type forwarder struct{ p *Proxy }

func (f forwarder) RoundTrip(req *http.Request) (*http.Response, error) {
	c, _ := req.Context().Value(callKey{}).(*call)
	if c == nil {
		return nil, errors.New("proxy: request without routing state")
	}
	resp, err := f.p.forward(req.Context(), c, func(b *backend, first bool) (*http.Response, error) {
		out := req
		if !first {
			// The transport may still refer to the request it failed
			// with; send a copy with the other address.
			out = req.Clone(req.Context())
			out.Body = req.Body
		}
		out.URL.Host = b.addr
		if isGRPC(req) {
			return b.h2c().RoundTrip(out)
		}
		return b.transport.RoundTrip(out)
	})
	if err != nil {
		return nil, err
	}
	resp.Header[HeaderServedBy] = c.served.servedBy
	if isGRPC(req) {
		watchGRPC(c, resp)
	}
	return resp, nil
}

// bufferPool lends ReverseProxy and the fast path their copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
