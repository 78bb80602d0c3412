package upfactory

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// PrometheusConfig says where Prometheus is and how to authenticate to it.
// At most one of BearerToken, BearerTokenFile and Username/Password may be set.
type PrometheusConfig struct {
	// Address is the base URL of Prometheus, http or https, such as
	// http://127.0.0.1:9090 or https://metrics.example.com/prometheus.
	// Credentials do not belong in it: use the fields below.
	Address string `yaml:"address" json:"address"`

	// BearerToken is sent as "Authorization: Bearer …". Written as ${NAME}
	// it names an environment variable, read at every query, so the secret
	// stays out of the config file. It is never logged nor put in errors.
	// No JSON field: a config served or logged as JSON never carries it.
	BearerToken string `yaml:"bearer_token" json:"-"`

	// BearerTokenFile names a file holding the token, read at every query
	// so a rotated token is picked up; surrounding white space is dropped.
	BearerTokenFile string `yaml:"bearer_token_file" json:"bearer_token_file,omitempty"`

	// Username and Password are sent as HTTP basic auth. Password, like
	// BearerToken, may be ${NAME}; it is never logged nor put in errors.
	Username string `yaml:"username" json:"username,omitempty"`
	Password string `yaml:"password" json:"-"`

	// Timeout bounds one query: a Prometheus that does not answer within it
	// (down, unreachable, overloaded) gives an error naming the address.
	// Refused connections are retried within it. Default 10s.
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
}

var _ Validator = PrometheusConfig{}

// Validate returns every problem of c at once.
func (c PrometheusConfig) Validate() []error {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("prometheus: address is required, such as http://127.0.0.1:9090"))
	} else if u, err := url.Parse(c.Address); err != nil {
		// url's error quotes the input, which may hold a password.
		errs = append(errs, errors.New("prometheus: address is not a URL: want http or https and a host, such as http://127.0.0.1:9090"))
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("prometheus: address %s: scheme must be http or https", u.Redacted()))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("prometheus: address %s: no host", u.Redacted()))
		}
		if u.User != nil {
			errs = append(errs, fmt.Errorf("prometheus: address %s: put credentials in username and password (or bearer_token), not in the address", u.Redacted()))
		}
		if u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("prometheus: address %s: must not have a query or fragment", u.Redacted()))
		}
	}
	var auths []string
	if c.BearerToken != "" {
		auths = append(auths, "bearer_token")
	}
	if c.BearerTokenFile != "" {
		auths = append(auths, "bearer_token_file")
	}
	if c.Username != "" || c.Password != "" {
		auths = append(auths, "username/password")
	}
	if len(auths) > 1 {
		errs = append(errs, fmt.Errorf("prometheus: %s are exclusive: set one", strings.Join(auths, " and ")))
	}
	if c.Password != "" && c.Username == "" {
		errs = append(errs, errors.New("prometheus: password needs a username"))
	}
	for _, f := range []struct{ name, v string }{{"bearer_token", c.BearerToken}, {"password", c.Password}} {
		if name, ok := EnvRef(f.v); ok && !ValidEnvName(name) {
			errs = append(errs, fmt.Errorf("prometheus: %s: ${%s} is not an environment variable name", f.name, name))
		}
	}
	return errs
}

// EnvRef reports whether s is written ${NAME}, and NAME.
func EnvRef(s string) (string, bool) {
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		return s[2 : len(s)-1], true
	}
	return "", false
}

// ValidEnvName reports whether s can name an environment variable.
func ValidEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', 'A' <= r && r <= 'Z', 'a' <= r && r <= 'z':
		case '0' <= r && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
