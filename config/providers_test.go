package config_test

// Config validation asks the registry which target and router types exist.
import (
	_ "github.com/upfactory/upfactory/exec"
	_ "github.com/upfactory/upfactory/proxy"
	_ "github.com/upfactory/upfactory/static"
)
