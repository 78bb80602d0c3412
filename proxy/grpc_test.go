package proxy_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/proxy"
)

// grpcBackend is a real grpc-go server of one version: the health service
// answering SERVING, or, with fail set, every call failing with it.
func grpcBackend(t *testing.T, fail codes.Code) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var s *grpc.Server
	if fail != codes.OK {
		s = grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error { return status.Error(fail, "this version fails") }))
	} else {
		s = grpc.NewServer()
		hs := health.NewServer()
		hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
		healthpb.RegisterHealthServer(s, hs)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	return ln.Addr().String()
}

// serveProxy runs p on a loopback port until the test ends.
func serveProxy(t *testing.T, p *proxy.Proxy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// A gRPC rollout through the router under load: weights move the calls
// from one version to the other and the old instance is drained and
// removed, with no call failing.
func TestAGRPCRolloutUnderLoadFailsNoCall(t *testing.T) {
	p := proxy.New(proxy.Options{Service: "greeter"})
	v1, v2 := grpcBackend(t, codes.OK), grpcBackend(t, codes.OK)
	if err := p.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100, Addrs: []string{v1}}}); err != nil {
		t.Fatal(err)
	}
	addr := serveProxy(t, p)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)

	var calls, failed atomic.Int64
	var lastErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
				cancel()
				calls.Add(1)
				if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
					failed.Add(1)
					lastErr.Store(err)
				}
			}
		})
	}
	waitCalls := func(n int64) {
		from := calls.Load()
		deadline := time.Now().Add(20 * time.Second)
		for calls.Load()-from < n {
			if time.Now().After(deadline) {
				t.Fatalf("the load stalled: %d calls", calls.Load())
			}
			<-time.After(5 * time.Millisecond)
		}
	}
	waitCalls(200)
	for _, w := range []int{5, 50, 100} {
		if err := p.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100 - w, Addrs: []string{v1}}, {Version: "2.0.0", Weight: w, Addrs: []string{v2}}}); err != nil {
			t.Fatal(err)
		}
		waitCalls(300)
	}
	if err := p.SetPools(t.Context(), []upfactory.Pool{{Version: "2.0.0", Weight: 100, Addrs: []string{v2}}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	if err := p.Drain(ctx, v1); err != nil {
		t.Fatalf("draining the old instance: %v", err)
	}
	cancel()
	waitCalls(200)
	close(stop)
	wg.Wait()
	t.Logf("gRPC calls %d, failed %d", calls.Load(), failed.Load())
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d calls failed; last: %v", n, calls.Load(), lastErr.Load())
	}
	now := time.Now()
	s1, s2 := p.Stats("1.0.0", time.Minute, now), p.Stats("2.0.0", time.Minute, now)
	if s1.Requests == 0 || s2.Requests == 0 || s1.Errors5xx+s2.Errors5xx != 0 {
		t.Errorf("per-version counts: 1.0.0 %+v, 2.0.0 %+v; want both with calls, no errors", s1, s2)
	}
}

// A gRPC call that fails is counted as the error it is, though HTTP says 200.
func TestGRPCStatusCodesCountAsErrors(t *testing.T) {
	p := proxy.New(proxy.Options{Service: "greeter"})
	pools := []upfactory.Pool{
		{Version: "unavailable", Weight: 50, Addrs: []string{grpcBackend(t, codes.Unavailable)}},
		{Version: "notfound", Weight: 50, Addrs: []string{grpcBackend(t, codes.NotFound)}},
	}
	if err := p.SetPools(t.Context(), pools); err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(serveProxy(t, p), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	for range 20 {
		_, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{})
		if c := status.Code(err); c != codes.Unavailable && c != codes.NotFound {
			t.Fatalf("call: %v, want the version's own failure", err)
		}
	}
	now := time.Now()
	u, n := p.Stats("unavailable", time.Minute, now), p.Stats("notfound", time.Minute, now)
	if u.Requests != 10 || u.Errors5xx != 10 || u.Errors4xx != 0 {
		t.Errorf("UNAVAILABLE: %+v, want 10 calls, all 5xx", u)
	}
	if n.Requests != 10 || n.Errors4xx != 10 || n.Errors5xx != 0 {
		t.Errorf("NOT_FOUND: %+v, want 10 calls, all 4xx", n)
	}
}

// An HTTP/2 client with prior knowledge (curl --http2-prior-knowledge) gets
// its answer over HTTP/2 on the router's plain port.
func TestCleartextHTTP2WithPriorKnowledge(t *testing.T) {
	p := proxy.New(proxy.Options{Service: "shop"})
	if err := p.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100, Addrs: []string{MustBackend(t, "1.0.0").Addr()}}}); err != nil {
		t.Fatal(err)
	}
	addr := serveProxy(t, p)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequest(method, "http://"+addr+"/", nil)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatalf("%s over h2c: %v", method, err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 || resp.Header.Get(proxy.HeaderServedBy) != "1.0.0" {
			t.Errorf("%s over h2c: %s %d served by %q", method, resp.Proto, resp.StatusCode, resp.Header.Get(proxy.HeaderServedBy))
		}
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 named cn into
// dir and returns its pool.
func writeCert(t *testing.T, dir, cn string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	// Written aside and renamed, as a renewal does: never half a file.
	for name, block := range map[string]*pem.Block{"cert.pem": {Type: "CERTIFICATE", Bytes: der}, "key.pem": {Type: "EC PRIVATE KEY", Bytes: kb}} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// With a certificate the router terminates TLS, speaks HTTP/2 by ALPN
// (gRPC over TLS included), and takes a renewed certificate for new
// connections without dropping the open ones.
func TestTLSWithALPNAndARenewedCertificate(t *testing.T) {
	dir := t.TempDir()
	first := writeCert(t, dir, "first")
	cfg, err := proxy.TLSConfig(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p := proxy.New(proxy.Options{Service: "greeter", TLS: cfg})
	if err := p.SetPools(t.Context(), []upfactory.Pool{{Version: "1.0.0", Weight: 100, Addrs: []string{grpcBackend(t, codes.OK)}}}); err != nil {
		t.Fatal(err)
	}
	addr := serveProxy(t, p)

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: first})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	if resp, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("gRPC over TLS: %v, %v", resp, err)
	}

	second := writeCert(t, dir, "second")
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: second, NextProtos: []string{"h2"}})
		if err == nil {
			state := c.ConnectionState()
			c.Close()
			if state.PeerCertificates[0].Subject.CommonName != "second" || state.NegotiatedProtocol != "h2" {
				t.Fatalf("new connection: certificate %q, protocol %q", state.PeerCertificates[0].Subject.CommonName, state.NegotiatedProtocol)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the renewed certificate was never served: %v", err)
		}
		<-time.After(50 * time.Millisecond)
	}
	// The connection opened with the first certificate goes on.
	if _, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("the open connection after the renewal: %v", err)
	}
}
