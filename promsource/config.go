package promsource

import (
	"fmt"
	"os"
	"time"

	"github.com/upfactory/upfactory"
)

// DefaultTimeout bounds one query, retries included, when Config.Timeout is
// zero.
const DefaultTimeout = 10 * time.Second

// DefaultStep is the resolution of range queries whose Query.Step is zero.
const DefaultStep = 15 * time.Second

// Config says where Prometheus is and how to authenticate to it; it is
// the prometheus section of upfactory.yaml.
type Config = upfactory.PrometheusConfig

// secret resolves a value that may be ${NAME}. what names the field for the
// error, which never holds the value.
func secret(what, v string) (string, error) {
	name, ok := upfactory.EnvRef(v)
	if !ok {
		return v, nil
	}
	s, set := os.LookupEnv(name)
	if !set || s == "" {
		return "", fmt.Errorf("prometheus %s: environment variable %s is unset or empty", what, name)
	}
	return s, nil
}
