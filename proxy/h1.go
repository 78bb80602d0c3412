package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync/atomic"
	"time"
)

// The fast path sends bodiless GET, HEAD and OPTIONS requests, the bulk of
// a web service's traffic, over kept-alive connections that the handler's
// goroutine writes and reads itself. http.Transport hands every request to
// two goroutines per connection and back; on a loopback backend those
// hand-offs cost more CPU than the forwarding. Requests with a body or an
// Upgrade keep http.Transport, which writes and reads concurrently.

// maxIdlePerBackend bounds the kept-alive connections to one backend.
const maxIdlePerBackend = 512

// idleTimeout retires a connection idle for longer: past it, the backend has
// likely closed it.
const idleTimeout = 90 * time.Second

// max1xx bounds the informational answers read before the final one.
const max1xx = 5

// fastPath reports whether req can take the fast path.
func fastPath(req *http.Request) bool {
	if req.Body != nil || req.Header["Upgrade"] != nil {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// h1Conn is one kept-alive HTTP/1.1 connection to a backend.
type h1Conn struct {
	b     *backend
	nc    net.Conn
	br    *bufio.Reader
	bw    *bufio.Writer
	nread int64 // bytes read from nc, to tell a stale connection
	since time.Time
}

func (c *h1Conn) Read(p []byte) (int, error) {
	n, err := c.nc.Read(p)
	c.nread += int64(n)
	return n, err
}

func (b *backend) dial(ctx context.Context) (*h1Conn, error) {
	nc, err := b.dialer.DialContext(ctx, "tcp", b.addr)
	if err != nil {
		return nil, err
	}
	c := &h1Conn{b: b, nc: nc}
	c.br = bufio.NewReaderSize(c, 4096)
	c.bw = bufio.NewWriterSize(nc, 4096)
	return c, nil
}

// getConn returns an idle connection, or a new one; reused says which.
func (b *backend) getConn(ctx context.Context) (c *h1Conn, reused bool, err error) {
	for {
		select {
		case c := <-b.idle:
			if time.Since(c.since) > idleTimeout {
				c.nc.Close()
				continue
			}
			return c, true, nil
		default:
			c, err := b.dial(ctx)
			return c, false, err
		}
	}
}

// putConn keeps c for the next request, unless the backend left the pools,
// the pool is full or c has unexpected bytes waiting.
func (b *backend) putConn(c *h1Conn) {
	if b.removed.Load() || c.br.Buffered() > 0 {
		c.nc.Close()
		return
	}
	c.since = time.Now()
	select {
	case b.idle <- c:
	default:
		c.nc.Close()
	}
	// SetPools may have drained the idle pool between the check and the put.
	if b.removed.Load() {
		b.closeIdle()
	}
}

// closeIdle closes every idle fast-path connection.
func (b *backend) closeIdle() {
	for {
		select {
		case c := <-b.idle:
			c.nc.Close()
		default:
			return
		}
	}
}

// errStale marks a request that failed on a reused connection before any
// byte of the answer came back: the backend had closed the connection.
var errStale = errors.New("kept-alive connection closed by the backend")

// roundTrip sends a fast-path request. A connection the backend closed while
// idle is retried on the next one; the request is idempotent and unanswered.
func (b *backend) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	for {
		c, reused, err := b.getConn(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(req)
		if err == nil {
			return resp, nil
		}
		c.nc.Close()
		if !reused || !errors.Is(err, errStale) || ctx.Err() != nil {
			return nil, err
		}
	}
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *h1Conn) roundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	// A client that goes away aborts the exchange, including a long read of
	// a streamed body.
	stop := context.AfterFunc(ctx, func() { c.nc.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	before := c.nread
	if err := req.Write(c.bw); err != nil {
		return fail(err)
	}
	if err := c.bw.Flush(); err != nil {
		return fail(errors.Join(errStale, err))
	}
	var resp *http.Response
	for n := 0; ; n++ {
		var err error
		resp, err = http.ReadResponse(c.br, req)
		if err != nil {
			if c.nread == before {
				err = errors.Join(errStale, err)
			}
			return fail(err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if n == max1xx {
			return fail(errors.New("too many 1xx answers"))
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(resp.StatusCode, textproto.MIMEHeader(resp.Header)); err != nil {
				return fail(err)
			}
		}
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("protocol switch without an upgrade request"))
	}
	body := &h1Body{c: c, rc: resp.Body, keep: !resp.Close, stop: stop}
	if resp.Body == http.NoBody {
		body.finish(true)
	} else {
		resp.Body = body
	}
	return resp, nil
}

// h1Body hands the connection back once the answer was read to its end.
type h1Body struct {
	c    *h1Conn
	rc   io.ReadCloser
	keep bool
	stop func() bool
	done atomic.Bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done.Load() {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.finish(true)
	} else if err != nil {
		b.finish(false)
	}
	return n, err
}

func (b *h1Body) Close() error {
	b.finish(false)
	return nil
}

// finish ends the exchange: a connection whose answer was read whole, and
// whose deadline no cancellation touched, serves the next request.
func (b *h1Body) finish(whole bool) {
	if b.done.Swap(true) {
		return
	}
	stopped := b.stop()
	if whole && b.keep && stopped {
		b.c.b.putConn(b.c)
		return
	}
	b.c.nc.Close()
}
