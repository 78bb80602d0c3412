package main

// The types of targets, routers and flag stores this binary offers (metric
// providers and notifiers come with measure and notify): each registers
// itself with the provider registry.
import (
	_ "github.com/upfactory/upfactory/exec"
	_ "github.com/upfactory/upfactory/flagd"
	_ "github.com/upfactory/upfactory/haproxy"
	_ "github.com/upfactory/upfactory/proxy"
	_ "github.com/upfactory/upfactory/routerd"
	_ "github.com/upfactory/upfactory/static"
)
