package promsource

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

// DefaultTimeout bounds one query, retries included, when Config.Timeout is
// zero.
const DefaultTimeout = 10 * time.Second

// DefaultStep is the resolution of range queries whose Query.Step is zero.
const DefaultStep = 15 * time.Second

// Config says where Prometheus is and how to authenticate to it. At most one
// of BearerToken, BearerTokenFile and Username/Password may be set.
type Config struct {
	// Address is the base URL of Prometheus, http or https, such as
	// http://127.0.0.1:9090 or https://metrics.example.com/prometheus.
	// Credentials do not belong in it: use the fields below.
	Address string `yaml:"address" json:"address"`

	// BearerToken is sent as "Authorization: Bearer …". Written as ${NAME}
	// it names an environment variable, read at every query, so the secret
	// stays out of the config file. It is never logged nor put in errors.
	BearerToken string `yaml:"bearer_token" json:"bearer_token,omitempty"`

	// BearerTokenFile names a file holding the token, read at every query
	// so a rotated token is picked up; surrounding white space is dropped.
	BearerTokenFile string `yaml:"bearer_token_file" json:"bearer_token_file,omitempty"`

	// Username and Password are sent as HTTP basic auth. Password, like
	// BearerToken, may be ${NAME}; it is never logged nor put in errors.
	Username string `yaml:"username" json:"username,omitempty"`
	Password string `yaml:"password" json:"password,omitempty"`

	// Timeout bounds one query: a Prometheus that does not answer within it
	// (down, unreachable, overloaded) gives an error naming the address.
	// Refused connections are retried within it. Default 10s.
	Timeout upfactory.Duration `yaml:"timeout" json:"timeout,omitempty"`
}

var _ upfactory.Validator = Config{}

// Validate returns every problem of c at once.
func (c Config) Validate() []error {
	var errs []error
	if c.Address == "" {
		errs = append(errs, errors.New("prometheus: address is required, such as http://127.0.0.1:9090"))
	} else if u, err := url.Parse(c.Address); err != nil {
		// url's error quotes the input, which may hold a password.
		errs = append(errs, errors.New("prometheus: address is not a URL: want http or https and a host, such as http://127.0.0.1:9090"))
	} else {
		switch {
		case u.Scheme != "http" && u.Scheme != "https":
			errs = append(errs, fmt.Errorf("prometheus: address %s: scheme must be http or https", redactURL(u)))
		case u.Host == "":
			errs = append(errs, fmt.Errorf("prometheus: address %s: no host", redactURL(u)))
		}
		if u.User != nil {
			errs = append(errs, fmt.Errorf("prometheus: address %s: put credentials in username and password (or bearer_token), not in the address", redactURL(u)))
		}
		if u.RawQuery != "" || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("prometheus: address %s: must not have a query or fragment", redactURL(u)))
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
		if name, ok := envRef(f.v); ok && !validEnvName(name) {
			errs = append(errs, fmt.Errorf("prometheus: %s: ${%s} is not an environment variable name", f.name, name))
		}
	}
	return errs
}

// redactURL writes u without its password.
func redactURL(u *url.URL) string { return u.Redacted() }

// envRef reports whether s is written ${NAME}, and NAME.
func envRef(s string) (string, bool) {
	if strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
		return s[2 : len(s)-1], true
	}
	return "", false
}

func validEnvName(s string) bool {
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

// secret resolves a value that may be ${NAME}. what names the field for the
// error, which never holds the value.
func secret(what, v string) (string, error) {
	name, ok := envRef(v)
	if !ok {
		return v, nil
	}
	s, set := os.LookupEnv(name)
	if !set || s == "" {
		return "", fmt.Errorf("prometheus %s: environment variable %s is unset or empty", what, name)
	}
	return s, nil
}
