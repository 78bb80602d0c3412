package proxy

import (
	"bufio"
	"context"
	"errors"
	"io"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The fast path forwards bodiless GET, HEAD and OPTIONS requests, the bulk
// of a web service's traffic, without httputil.ReverseProxy and
// http.Transport: the handler's goroutine writes the request on a kept-alive
// connection and reads the answer itself. http.Transport hands every request
// to two goroutines per connection and back, and ReverseProxy copies the
// request and its headers before sending; on a loopback backend those cost
// more CPU than the forwarding. It follows ReverseProxy's rules: hop-by-hop
// headers dropped both ways, X-Forwarded-For/Host/Proto set (a client's
// own are not trusted), unparsable query parameters dropped, 1xx answers and
// trailers passed on, event streams and unsized answers flushed as they come.

// maxIdlePerBackend bounds the kept-alive connections to one backend.
const maxIdlePerBackend = 512

// idleTimeout retires a connection idle for longer: past it, the backend has
// likely closed it.
const idleTimeout = 90 * time.Second

// max1xx bounds the informational answers read before the final one.
const max1xx = 5

// fastPath reports whether r can take the fast path.
func fastPath(r *http.Request) bool {
	if r.ContentLength != 0 || r.Header["Upgrade"] != nil || r.Header["Expect"] != nil {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// serveFast forwards r on the fast path.
func (p *Proxy) serveFast(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	resp, err := p.forward(ctx, c, func(b *backend, first bool) (*http.Response, error) {
		return b.roundTrip(ctx, r, w)
	})
	if err != nil {
		p.fail(w, r, c, err)
		return
	}
	defer resp.Body.Close()

	removeHopByHop(resp.Header)
	h := w.Header()
	for k, vv := range resp.Header {
		if have, ok := h[k]; ok {
			h[k] = append(have, vv...)
		} else {
			h[k] = vv // resp is ours alone: no need to copy
		}
	}
	h[HeaderServedBy] = c.served.servedBy
	announced := len(resp.Trailer)
	if announced > 0 {
		h["Trailer"] = []string{strings.Join(slices.Collect(maps.Keys(resp.Trailer)), ", ")}
	}
	w.WriteHeader(resp.StatusCode)

	if resp.Body != http.NoBody {
		if err := copyBody(w, resp); err != nil {
			// As ReverseProxy does: a half-sent answer must not look
			// complete to the client.
			panic(http.ErrAbortHandler)
		}
	}
	resp.Body.Close() // now, to have the trailers
	if len(resp.Trailer) == 0 {
		return
	}
	// Flushing forces a chunked answer, the only kind with trailers.
	http.NewResponseController(w).Flush()
	for k, vv := range resp.Trailer {
		if len(resp.Trailer) != announced {
			k = http.TrailerPrefix + k
		}
		h[k] = vv
	}
}

// copyBody copies the answer's body to w, flushing after every write for
// event streams and answers of unknown length, as ReverseProxy does.
func copyBody(w http.ResponseWriter, resp *http.Response) error {
	var rc *http.ResponseController
	if resp.ContentLength == -1 || isEventStream(resp.Header) {
		rc = http.NewResponseController(w)
	}
	buf := bufferPool{}.Get()
	defer bufferPool{}.Put(buf)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
			if rc != nil {
				if err := rc.Flush(); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

func isEventStream(h http.Header) bool {
	ct := h["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	mt, _, _ := mime.ParseMediaType(ct[0])
	return mt == "text/event-stream"
}

// hopByHop are the headers that concern one connection, never forwarded
// (RFC 9110 section 7.6.1, and the ones ReverseProxy drops).
var hopByHop = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

func removeHopByHop(h http.Header) {
	for _, f := range h["Connection"] {
		for sf := range strings.SplitSeq(f, ",") {
			if sf = textproto.TrimString(sf); sf != "" {
				h.Del(sf)
			}
		}
	}
	for _, f := range hopByHop {
		delete(h, f)
	}
}

// skipRequestHeader reports whether the request header k is not passed on:
// hop-by-hop, named in Connection, the forwarding headers the proxy sets
// itself, HeaderMirror (a client must not make a version take its request for
// a copy), or one the request line or framing carries.
func skipRequestHeader(k string, connection []string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
		HeaderMirror, "Host", "Content-Length":
		return true
	}
	for _, f := range connection {
		for sf := range strings.SplitSeq(f, ",") {
			if strings.EqualFold(textproto.TrimString(sf), k) {
				return true
			}
		}
	}
	return false
}

// writeRequest writes r as the request to a backend.
func writeRequest(bw *bufio.Writer, r *http.Request) {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	u := r.URL
	query := cleanQuery(u.RawQuery)
	if u.Opaque == "" {
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		bw.WriteString(path)
		if u.ForceQuery || query != "" {
			bw.WriteByte('?')
			bw.WriteString(query)
		}
	} else {
		v := *u
		v.RawQuery = query
		bw.WriteString(v.RequestURI())
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(r.Host)
	bw.WriteString("\r\n")
	connection := r.Header["Connection"]
	for k, vv := range r.Header {
		if skipRequestHeader(k, connection) || !validHeaderName(k) {
			continue
		}
		for _, v := range vv {
			writeHeader(bw, k, v)
		}
	}
	for _, te := range r.Header["Te"] {
		if strings.Contains(strings.ToLower(te), "trailers") {
			// Tell the backend the answer may carry trailers: the
			// proxy passes them on.
			bw.WriteString("Te: trailers\r\n")
			break
		}
	}
	if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		writeHeader(bw, "X-Forwarded-For", ip)
	}
	writeHeader(bw, "X-Forwarded-Host", r.Host)
	if r.TLS == nil {
		bw.WriteString("X-Forwarded-Proto: http\r\n\r\n")
	} else {
		bw.WriteString("X-Forwarded-Proto: https\r\n\r\n")
	}
}

// writeHeader writes one header line; a line break in the value, which the
// server would not have accepted but a wrapping handler might set, turns to
// a space so it cannot start another header.
func writeHeader(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	if strings.ContainsAny(v, "\r\n") {
		v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	}
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// validHeaderName reports whether k is an HTTP token.
func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !tokenByte[k[i]] {
			return false
		}
	}
	return true
}

var tokenByte = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c)
	}
	return t
}()

// cleanQuery drops query parameters that do not parse (a semicolon, a bad
// escape), as ReverseProxy does, so the backend cannot read them differently
// from the proxy.
func cleanQuery(s string) string {
	for i := 0; i < len(s); {
		switch s[i] {
		case ';':
			return reencode(s)
		case '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return reencode(s)
			}
			i += 3
		default:
			i++
		}
	}
	return s
}

func reencode(s string) string {
	v, _ := url.ParseQuery(s)
	return v.Encode()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
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
	// SetPools may have emptied the idle pool between the check and the put.
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

// roundTrip sends r to b on the fast path. A connection the backend closed
// while idle is retried on the next one: the request is idempotent and was
// not answered.
func (b *backend) roundTrip(ctx context.Context, r *http.Request, w http.ResponseWriter) (*http.Response, error) {
	for {
		c, reused, err := b.getConn(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, r, w)
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

// roundTrip writes r, passes 1xx answers on to w and returns the final
// answer, whose body hands the connection back when read to its end.
func (c *h1Conn) roundTrip(ctx context.Context, r *http.Request, w http.ResponseWriter) (*http.Response, error) {
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
	writeRequest(c.bw, r)
	if err := c.bw.Flush(); err != nil {
		return fail(errors.Join(errStale, err))
	}
	var resp *http.Response
	for n := 0; ; n++ {
		var err error
		resp, err = http.ReadResponse(c.br, r)
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
		write1xx(w, resp)
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

// write1xx passes an informational answer (103 Early Hints) on to the
// client with its own headers only, keeping those already set for the final
// answer (a sticky cookie).
func write1xx(w http.ResponseWriter, resp *http.Response) {
	h := w.Header()
	saved := maps.Clone(h)
	clear(h)
	removeHopByHop(resp.Header)
	maps.Copy(h, resp.Header)
	w.WriteHeader(resp.StatusCode)
	clear(h)
	maps.Copy(h, saved)
}

// h1Body hands the connection back once the answer was read to its end.
type h1Body struct {
	c    *h1Conn
	rc   io.ReadCloser
	keep bool
	stop func() bool
	done bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
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
	if b.done {
		return
	}
	b.done = true
	stopped := b.stop()
	if whole && b.keep && stopped {
		b.c.b.putConn(b.c)
		return
	}
	b.c.nc.Close()
}
