package main

// The types of targets and routers this binary offers: each registers
// itself with the provider registry.
import (
	_ "github.com/upfactory/upfactory/exec"
	_ "github.com/upfactory/upfactory/proxy"
	_ "github.com/upfactory/upfactory/static"
)
