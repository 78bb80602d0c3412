// Package haproxytest runs a real HAProxy (Debian's haproxy) for tests:
// one frontend on a loopback port into backend "be", with an admin socket
// for the runtime API.
package haproxytest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Instance is a real HAProxy serving one frontend into backend "be".
type Instance struct {
	// Socket is its admin socket; URL where its frontend answers.
	Socket, URL string
	// Restart stops it and starts it again on the same socket and port,
	// as a reload that forgets the servers added at run time does.
	Restart func()
}

// Start runs Debian's haproxy until the test ends. Without it the test
// skips, or fails under CI=true.
func Start(t *testing.T) *Instance {
	t.Helper()
	bin, err := exec.LookPath("haproxy")
	if err != nil {
		const how = "haproxy is not installed: the HAProxy router tests need the Debian package haproxy"
		if os.Getenv("CI") == "true" {
			t.Fatal(how + " (CI=true: not skipping)")
		}
		t.Skip(how)
	}
	dir, err := os.MkdirTemp("", "hap") // short: a unix socket path is at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	socket := filepath.Join(dir, "admin.sock")
	cfg := fmt.Sprintf(`global
  stats socket %s mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend fe
  bind %s
  default_backend be
backend be
  balance roundrobin
`, socket, addr)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var cmd *exec.Cmd
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("haproxy's output:\n%s", logs)
		}
	})
	start := func() {
		cmd = exec.Command(bin, "-db", "-f", path)
		cmd.Stderr = logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if c, err := net.Dial("unix", socket); err == nil {
				c.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("haproxy's admin socket did not come up")
			}
			<-time.After(20 * time.Millisecond)
		}
	}
	stop := func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		os.Remove(socket)
	}
	start()
	t.Cleanup(stop)
	return &Instance{Socket: socket, URL: "http://" + addr, Restart: func() { stop(); start() }}
}

// syncBuffer keeps haproxy's output for a failing test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
