package upfactory_test

import (
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
)

func TestValidVersion(t *testing.T) {
	for _, v := range []string{"1.0.0", "v2", "1.10", "2024-05-01_rc1", "1.0.0+build.7", strings.Repeat("a", 128)} {
		if err := upfactory.ValidVersion(v); err != nil {
			t.Errorf("ValidVersion(%q) = %v, want nil", v, err)
		}
	}
	for _, v := range []string{"", "-1", ".hidden", "a/b", "a b", "../x", "é", strings.Repeat("a", 129)} {
		err := upfactory.ValidVersion(v)
		if err == nil {
			t.Errorf("ValidVersion(%q) = nil, want an error", v)
			continue
		}
		if code := upfactory.ErrorCode(err); code != upfactory.EINVALID {
			t.Errorf("ValidVersion(%q) code = %q, want %q", v, code, upfactory.EINVALID)
		}
	}
}

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		dial bool
		ok   bool
	}{
		{"127.0.0.1:8080", true, true},
		{":8080", false, true},
		{":8080", true, false},
		{"127.0.0.1:0", false, true},
		{"127.0.0.1:0", true, false},
		{"127.0.0.1:70000", false, false},
		{"localhost", false, false},
		{"[::1]:443", true, true},
	} {
		if err := upfactory.CheckAddr(tc.addr, tc.dial); (err == nil) != tc.ok {
			t.Errorf("CheckAddr(%q, %v) = %v, want ok %v", tc.addr, tc.dial, err, tc.ok)
		}
	}
}
