package config

import (
	"fmt"
	"reflect"

	"github.com/upfactory/upfactory"
)

// RestartNeeded lists what differs between a running config and a new one
// that a running server cannot apply in place: its own listen address,
// data dir and tick, its store, the Prometheus client, which services it delivers,
// and each delivered service's target and router, which own processes and
// listening sockets. Everything else (inventories, feeds, policies,
// schedules, risk weights, owners, strategies and analysis) applies on a
// reload. An empty list means the new config can be applied as it is.
func RestartNeeded(old, new *upfactory.Config) []string {
	var keys []string
	if old.Server != new.Server {
		keys = append(keys, "server")
	}
	if old.Store != new.Store {
		keys = append(keys, "store")
	}
	if !reflect.DeepEqual(old.Prometheus, new.Prometheus) {
		keys = append(keys, "prometheus")
	}
	delivered := func(c *upfactory.Config) []string {
		var names []string
		for _, s := range c.Services {
			if s.Delivered() {
				names = append(names, s.Name)
			}
		}
		return names
	}
	if a, b := delivered(old), delivered(new); !reflect.DeepEqual(a, b) {
		keys = append(keys, fmt.Sprintf("services (delivered: %v, now %v)", a, b))
		return keys
	}
	for _, o := range old.Services {
		if !o.Delivered() {
			continue
		}
		n := new.Service(o.Name)
		if !reflect.DeepEqual(o.Target, n.Target) {
			keys = append(keys, "services["+o.Name+"].target")
		}
		if !reflect.DeepEqual(o.Router, n.Router) {
			keys = append(keys, "services["+o.Name+"].router")
		}
	}
	return keys
}
