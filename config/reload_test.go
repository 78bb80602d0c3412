package config_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory/config"
)

func TestRestartNeeded(t *testing.T) {
	base := `server: {listen: 127.0.0.1:7070}
services:
  - name: shop
    owner: web
    stable_version: 1.0.0
    target: {type: static, versions: {1.0.0: ["127.0.0.1:9001"]}}
    router: {listen: 127.0.0.1:8080}
    strategy: {canary: {steps: [{weight: 100}]}}
  - name: blog
    inventory: [{type: component, name: wordpress, ecosystem: WordPress, version: 6.4.0, layer: app}]
`
	for _, tc := range []struct {
		name, from, to string
		want           []string
	}{
		{"nothing", "", "", nil},
		{"owner, strategy and inventory apply in place", "owner: web", "owner: shop-team", nil},
		{"strategy", "steps: [{weight: 100}]", "steps: [{weight: 5}, {weight: 100}]", nil},
		{"an intake-only service's inventory", "version: 6.4.0", "version: 6.5.0", nil},
		{"server listen", "listen: 127.0.0.1:7070", "listen: 127.0.0.1:7071", []string{"server"}},
		{"router", "listen: 127.0.0.1:8080", "listen: 127.0.0.1:8081", []string{"services[shop].router"}},
		{"target", "9001", "9002", []string{"services[shop].target"}},
		{"store", "server: {listen: 127.0.0.1:7070}", "server: {listen: 127.0.0.1:7070}\nstore: {dsn: \"postgres://upfactory@db.internal/upfactory\"}", []string{"store"}},
		{"a delivered service renamed", "name: shop", "name: store", []string{"services (delivered: [shop], now [store])"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, err := config.Parse("a.yaml", []byte(base), "/")
			if err != nil {
				t.Fatal(err)
			}
			nw, err := config.Parse("a.yaml", []byte(strings.Replace(base, tc.from, tc.to, 1)), "/")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, config.RestartNeeded(old, nw)); diff != "" {
				t.Errorf("RestartNeeded (-want +got):\n%s", diff)
			}
		})
	}
}
