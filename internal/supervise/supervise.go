// Package supervise keeps the instance table of a target and watches each
// instance's readiness and liveness; exec and static build on it.
package supervise

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"time"
)

// FileSafe returns s with every byte but letters, digits, '.', '_' and '-'
// replaced by '_', so that a version can be part of an instance ID, which
// appears in URLs, and of a log file's name.
func FileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	out := string(b)
	if out == "" || strings.Trim(out, ".") == "" {
		out = strings.Repeat("_", max(len(out), 1))
	}
	return out
}

// NewSuffix returns four random hex digits, the last part of an instance
// ID, which tells apart the instances of one version.
func NewSuffix() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// Port returns the port of a host:port address, or 0.
func Port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0
	}
	return n
}

// Sleep waits d or until ctx ends, and reports whether d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
