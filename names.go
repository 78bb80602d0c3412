package upfactory

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
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
