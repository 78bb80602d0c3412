package proxy_test

import (
	"context"
	"net"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/routertest"

	_ "github.com/upfactory/upfactory/proxy"
)

func TestRouterConformance(t *testing.T) {
	routertest.Run(t, func(t *testing.T) routertest.Router {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		svc := &upfactory.Service{Name: "shop", Router: upfactory.RouterSpec{Type: "builtin"}}
		r, stop, err := provider.NewRouter(context.Background(), svc, provider.RouterEnv{Listener: ln})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(stop)
		return routertest.Router{Router: r, URL: "http://" + ln.Addr().String()}
	})
}
