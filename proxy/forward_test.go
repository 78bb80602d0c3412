package proxy_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

// MustFront starts a real HTTP server in front of a proxy whose only pool
// is handler's server. fast says whether bodiless GET, HEAD and OPTIONS
// requests take the fast path or ReverseProxy over http.Transport.
func MustFront(tb testing.TB, fast bool, handler http.Handler) (*proxy.Proxy, *httptest.Server) {
	tb.Helper()
	be := httptest.NewServer(handler)
	tb.Cleanup(be.Close)
	p := MustProxy(tb, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{be.Listener.Addr().String()}})
	p.SetFastPathForTest(fast)
	front := httptest.NewServer(p)
	tb.Cleanup(front.Close)
	return p, front
}

// bothPaths runs test with the fast path and with ReverseProxy: the two
// must forward alike.
func bothPaths(t *testing.T, test func(t *testing.T, fast bool)) {
	for _, fast := range []bool{true, false} {
		t.Run(map[bool]string{true: "fastpath", false: "reverseproxy"}[fast], func(t *testing.T) { test(t, fast) })
	}
}

func TestForwardAnswers(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		_, front := MustFront(t, fast, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/chunked":
				w.Header().Set("Trailer", "X-Sum")
				io.WriteString(w, "part one, ")
				w.(http.Flusher).Flush()
				io.WriteString(w, "part two")
				w.Header().Set("X-Sum", "42")
			case "/empty":
				w.WriteHeader(http.StatusNoContent)
			case "/cached":
				w.WriteHeader(http.StatusNotModified)
			case "/hop":
				w.Header().Set("Connection", "X-Private")
				w.Header().Set("X-Private", "secret")
				w.Header().Set("X-Public", "fine")
				io.WriteString(w, "hop")
			default:
				w.Header().Set("Content-Length", "5")
				io.WriteString(w, "hello")
			}
		}))
		client := front.Client()
		tests := []struct {
			method, path string
			status       int
			body         string
			header       map[string]string
		}{
			{"GET", "/", 200, "hello", map[string]string{"Content-Length": "5"}},
			{"HEAD", "/", 200, "", map[string]string{"Content-Length": "5"}},
			{"OPTIONS", "/", 200, "hello", nil},
			{"GET", "/chunked", 200, "part one, part two", nil},
			{"GET", "/empty", 204, "", nil},
			{"GET", "/cached", 304, "", nil},
			{"GET", "/hop", 200, "hop", map[string]string{"X-Private": "", "X-Public": "fine"}},
			{"DELETE", "/", 200, "hello", nil},
		}
		// Twice: the second round runs on kept-alive connections.
		for round := range 2 {
			for _, tt := range tests {
				req, _ := http.NewRequest(tt.method, front.URL+tt.path, nil)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("round %d %s %s: %v", round, tt.method, tt.path, err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != tt.status || string(b) != tt.body {
					t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.body)
				}
				for k, v := range tt.header {
					if got := resp.Header.Get(k); got != v {
						t.Errorf("%s %s: header %s %q, want %q", tt.method, tt.path, k, got, v)
					}
				}
				if tt.path == "/chunked" && resp.Trailer.Get("X-Sum") != "42" {
					t.Errorf("trailer X-Sum %q, want 42", resp.Trailer.Get("X-Sum"))
				}
			}
		}
	})
}

func TestForwardQueryAndHost(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		got := make(chan *http.Request, 1)
		_, front := MustFront(t, fast, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r
		}))
		req, _ := http.NewRequest("GET", front.URL+"/a%20b/c?x=1&y=%zz&z=3", nil)
		req.Host = "shop.example:8443"
		req.Header.Set("Te", "trailers")
		req.Header.Set("Connection", "X-Hop")
		req.Header.Set("X-Hop", "for the proxy only")
		req.Header.Set("Proxy-Authorization", "Basic Zm9vOmJhcg==")
		req.Header.Add("Accept", "text/html")
		req.Header.Add("Accept", "application/json")
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		r := <-got
		if r.Host != "shop.example:8443" || r.URL.EscapedPath() != "/a%20b/c" {
			t.Errorf("backend saw host %q path %q", r.Host, r.URL.EscapedPath())
		}
		// Unparsable query parameters are dropped, as httputil.ReverseProxy does.
		if q := r.URL.Query(); q.Get("x") != "1" || q.Get("z") != "3" || q.Has("y") {
			t.Errorf("backend saw query %q", r.URL.RawQuery)
		}
		if te := r.Header.Get("Te"); te != "trailers" {
			t.Errorf("Te %q, want trailers", te)
		}
		for _, k := range []string{"X-Hop", "Proxy-Authorization"} {
			if v := r.Header.Get(k); v != "" {
				t.Errorf("hop-by-hop %s passed on: %q", k, v)
			}
		}
		if got := r.Header.Values("Accept"); len(got) != 2 || got[0] != "text/html" || got[1] != "application/json" {
			t.Errorf("Accept %q, want both values in order", got)
		}
	})
}

// TestForwardStaleKeepAlive uses a backend that closes every connection
// after one answer while announcing keep-alive: the proxy finds each idle
// connection dead and must resend the request on a new one.
func TestForwardStaleKeepAlive(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
				}()
			}
		}()
		p := MustProxy(t, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{ln.Addr().String()}})
		p.SetFastPathForTest(fast)
		for i := range 20 {
			resp := serve(p, "GET", "/", nil, "")
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || string(b) != "ok" {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, b)
			}
		}
	})
}

func TestForwardStreamsEvents(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		release := make(chan struct{})
		_, front := MustFront(t, fast, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, "data: last\n\n")
		}))
		resp, err := front.Client().Get(front.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// The first event arrives while the backend still holds the answer open.
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "data: first\n" {
			t.Fatalf("first line %q, %v", line, err)
		}
		close(release)
	})
}

func TestForwardEarlyHints(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		_, front := MustFront(t, fast, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "page")
		}))
		var hints []int
		trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, code)
			return nil
		}}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", front.URL, nil)
		resp, err := front.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(hints) != 1 || hints[0] != http.StatusEarlyHints || string(b) != "page" {
			t.Errorf("1xx %v, body %q; want [103] and page", hints, b)
		}
	})
}

func TestForwardUpgrade(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		_, front := MustFront(t, fast, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Upgrade") != "echo" {
				http.Error(w, "want Upgrade: echo", http.StatusBadRequest)
				return
			}
			conn, brw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				return
			}
			defer conn.Close()
			brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
			brw.Flush()
			line, _ := brw.ReadString('\n')
			brw.WriteString("echo: " + line)
			brw.Flush()
		}))
		conn, err := net.Dial("tcp", front.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade answer %v, %v", resp, err)
		}
		io.WriteString(conn, "ping\n")
		if line, _ := br.ReadString('\n'); line != "echo: ping\n" {
			t.Errorf("through the tunnel: %q", line)
		}
	})
}

func TestForwardClientGoesAway(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		arrived, release := make(chan struct{}), make(chan struct{})
		be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			select {
			case <-r.Context().Done():
			case <-release:
			}
		}))
		defer be.Close()
		defer close(release)
		addr := be.Listener.Addr().String()
		p := MustProxy(t, proxy.Options{}, upfactory.Pool{Version: "v1", Weight: 100, Addrs: []string{addr}})
		p.SetFastPathForTest(fast)
		front := httptest.NewServer(p)
		defer front.Close()

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", front.URL, nil)
			resp, err := front.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		<-arrived
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("client: %v, want canceled", err)
		}
		// The proxy gives up the backend request: nothing stays in flight.
		if err := p.Drain(context.Background(), addr); err != nil {
			t.Fatal(err)
		}
		// The failed attempt leaves the backend before the request is
		// counted on its way out of the handler: wait for the count.
		var st upfactory.TrafficStats
		eventually(t, "the request to be counted", 5*time.Second, func() (bool, string) {
			st = p.Stats("v1", time.Minute, time.Now())
			return st.Requests > 0, fmt.Sprintf("stats %+v", st)
		})
		if st.Requests != 1 || st.Errors4xx != 1 || st.Errors5xx != 0 {
			t.Errorf("stats %+v, want one request counted as a client error", st)
		}
	})
}

func TestForwardBodies(t *testing.T) {
	bothPaths(t, func(t *testing.T, fast bool) {
		_, front := MustFront(t, fast, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%s %d %q", r.Method, r.ContentLength, b)
		}))
		for _, tt := range []struct {
			method string
			body   io.Reader
			want   string
		}{
			{"POST", strings.NewReader("a=1"), `POST 3 "a=1"`},
			{"PUT", io.MultiReader(strings.NewReader("chunk"), strings.NewReader("ed")), `PUT -1 "chunked"`},
			{"POST", nil, `POST 0 ""`},
		} {
			req, _ := http.NewRequest(tt.method, front.URL, tt.body)
			resp, err := front.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != tt.want {
				t.Errorf("%s: backend saw %s, want %s", tt.method, b, tt.want)
			}
		}
	})
}
