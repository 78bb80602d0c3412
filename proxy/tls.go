package proxy

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"
)

// certFiles serves a certificate from its PEM files, read again when
// either file changes (a renewal): handshakes after the change get the new
// certificate, connections already open keep theirs.
type certFiles struct {
	cert, key string

	mu      sync.Mutex
	loaded  *tls.Certificate
	stamp   [2]time.Time // the files' modification times when loaded
	checked time.Time
}

// recheck bounds how often the files are looked at: not on every
// handshake of a busy listener.
const recheck = time.Second

func (c *certFiles) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.loaded != nil && now.Sub(c.checked) < recheck {
		return c.loaded, nil
	}
	c.checked = now
	var stamp [2]time.Time
	for i, f := range []string{c.cert, c.key} {
		st, err := os.Stat(f)
		if err != nil {
			if c.loaded != nil {
				return c.loaded, nil // keep serving the last good one
			}
			return nil, err
		}
		stamp[i] = st.ModTime()
	}
	if c.loaded != nil && stamp == c.stamp {
		return c.loaded, nil
	}
	pair, err := tls.LoadX509KeyPair(c.cert, c.key)
	if err != nil {
		if c.loaded != nil {
			return c.loaded, nil // a half-written renewal: keep the last good one
		}
		return nil, err
	}
	c.loaded, c.stamp = &pair, stamp
	return c.loaded, nil
}

// TLSConfig is the server TLS of a router with certificate and key files:
// HTTP/2 and HTTP/1.1 by ALPN, TLS 1.2 at least, the files read again when
// they change. The pair is loaded once here, so a wrong file is an error
// at start, not at the first handshake.
func TLSConfig(cert, key string) (*tls.Config, error) {
	c := &certFiles{cert: cert, key: key}
	if _, err := c.get(nil); err != nil {
		return nil, fmt.Errorf("router TLS certificate %s and key %s: %w", cert, key, err)
	}
	return &tls.Config{GetCertificate: c.get, NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12}, nil
}
