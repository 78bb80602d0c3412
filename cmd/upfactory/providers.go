package main

// The types of targets, routers and flag stores this binary offers: each registers
// itself with the provider registry.
import (
	_ "github.com/upfactory/upfactory/exec"
	_ "github.com/upfactory/upfactory/flagd"
	_ "github.com/upfactory/upfactory/proxy"
	_ "github.com/upfactory/upfactory/routerd"
	_ "github.com/upfactory/upfactory/static"
)
