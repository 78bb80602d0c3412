package config_test

// Config validation asks the registry which provider types exist, and
// each type checks its own keys.
import (
	_ "github.com/upfactory/upfactory/exec"
	_ "github.com/upfactory/upfactory/flagd"
	_ "github.com/upfactory/upfactory/haproxy"
	_ "github.com/upfactory/upfactory/measure"
	_ "github.com/upfactory/upfactory/notify"
	_ "github.com/upfactory/upfactory/proxy"
	_ "github.com/upfactory/upfactory/routerd"
	_ "github.com/upfactory/upfactory/static"
)
