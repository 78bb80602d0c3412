package provider_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"

	_ "github.com/upfactory/upfactory/exec"
	_ "github.com/upfactory/upfactory/proxy"
	_ "github.com/upfactory/upfactory/static"
)

func TestTheRegistryOffersEachType(t *testing.T) {
	if got := strings.Join(provider.TargetTypes(), ","); got != "exec,static" {
		t.Errorf("target types %s", got)
	}
	if got := strings.Join(provider.RouterTypes(), ","); got != "builtin" {
		t.Errorf("router types %s", got)
	}
	if !provider.Owns("exec") || provider.Owns("static") || provider.Owns("nope") {
		t.Error("exec starts its instances; static's are the user's")
	}
	_, err := provider.NewTarget(&upfactory.Service{Name: "shop", Target: upfactory.TargetSpec{Type: "k8s"}}, provider.TargetEnv{})
	if upfactory.ErrorCode(err) != upfactory.EINVALID || !strings.Contains(err.Error(), `unknown target type "k8s": want exec or static`) {
		t.Errorf("unknown type: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a type twice does not panic")
		}
	}()
	provider.RegisterTarget(provider.Target{Type: "exec", New: func(*upfactory.Service, provider.TargetEnv) (upfactory.Target, error) { return nil, nil }})
}

func TestAStaticTargetHasTheSizeOfItsAddresses(t *testing.T) {
	svc := &upfactory.Service{Name: "shop", Target: upfactory.TargetSpec{Type: "static", Replicas: 5,
		Versions: map[string][]string{"1.0.0": {"127.0.0.1:1", "127.0.0.1:2"}}}}
	tgt, err := provider.NewTarget(svc, provider.TargetEnv{})
	if err != nil {
		t.Fatal(err)
	}
	defer tgt.Close(context.Background(), false)
	if got := provider.Want(svc, tgt, "1.0.0"); got != 2 {
		t.Errorf("static wants %d instances of 1.0.0, want its 2 addresses", got)
	}
}

func TestTheBuiltinRouterServesUntilStopped(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := &upfactory.Service{Name: "shop", Router: upfactory.RouterSpec{Type: "builtin"}}
	r, stop, err := provider.NewRouter(context.Background(), svc, provider.RouterEnv{Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(upfactory.MetricSource); !ok {
		t.Error("the builtin router gives no per-version stats")
	}
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("not serving: %v", err)
	}
	conn.Close()
	stop()
	if conn, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		conn.Close()
		t.Error("still serving after stop")
	}
}
