package upfactory

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$`)

// ValidVersion reports whether v is usable as a version name. Versions end
// up in file names, URLs, cookies and headers, hence the narrow alphabet.
// The error is an *Error with code EINVALID.
func ValidVersion(v string) error {
	if v == "" {
		return Errorf(EINVALID, "empty version")
	}
	if !versionRE.MatchString(v) {
		return Errorf(EINVALID,
			"invalid version %q: want 1 to 128 letters, digits, '.', '_', '+' or '-', starting with a letter or digit", v)
	}
	return nil
}

// CheckAddr checks a listen or dial address. Dial addresses (dial) need a
// host and a real port; a listen address may leave the host empty for
// every interface and use port 0 for any free port.
func CheckAddr(s string, dial bool) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port, such as 127.0.0.1:8080", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("%q: the port must be a number from 0 to 65535", s)
	}
	if dial && host == "" {
		return fmt.Errorf("%q: needs a host, such as 127.0.0.1:%s", s, port)
	}
	if dial && n == 0 {
		return fmt.Errorf("%q: port 0 cannot be dialed", s)
	}
	return nil
}

// IsToken reports whether s is an HTTP token (RFC 9110), as methods and
// cookie names must be.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// CheckRoute checks a route as the router names them: "POST /checkout".
func CheckRoute(r string) error {
	method, path, ok := strings.Cut(r, " ")
	if r == "" {
		return fmt.Errorf("required: a route such as \"POST /checkout\"")
	}
	if !ok || !IsToken(method) || strings.ToUpper(method) != method || !strings.HasPrefix(path, "/") {
		return fmt.Errorf("%q is not a route: want a method and a path, such as \"POST /checkout\"", r)
	}
	return nil
}
