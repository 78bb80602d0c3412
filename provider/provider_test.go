package provider_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/provider/providertest"

	_ "github.com/upfactory/upfactory/exec"
	_ "github.com/upfactory/upfactory/flagd"
	_ "github.com/upfactory/upfactory/measure"
	_ "github.com/upfactory/upfactory/notify"
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
	if got := strings.Join(provider.MetricTypes(), ","); got != "builtin,exec,probe,prometheus" {
		t.Errorf("metric providers %s", got)
	}
	if got := strings.Join(provider.FlagStoreTypes(), ","); got != "flagd-file" {
		t.Errorf("flag stores %s", got)
	}
	if got := strings.Join(provider.NotifierTypes(), ","); got != "slack,webhook" {
		t.Errorf("notifiers %s", got)
	}
	if keys := provider.MetricKeys(); keys["query"] != "prometheus" || keys["journey"] != "probe" || keys["command"] != "exec" {
		t.Errorf("metric providers' own keys %v", keys)
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

func TestATypeWithoutItsFunctionsIsRefused(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering a metric provider without Validate does not panic")
		}
	}()
	provider.RegisterMetric(provider.Metric{Type: "datadog"})
}

func TestEachTargetChecksItsOwnKeys(t *testing.T) {
	svc := &upfactory.Service{Name: "shop", StableVersion: "1.0.0", Target: upfactory.TargetSpec{Type: "static",
		Command: []string{"./shop"}, Versions: map[string][]string{"1.0.0": {"127.0.0.1:0"}, "2.0.0": nil}}}
	st, err := provider.LookupTarget("static")
	if err != nil {
		t.Fatal(err)
	}
	got := providertest.Problems{}
	st.Validate(svc, provider.Prefixed(got, "services[0].target"))
	for key, want := range map[string]string{
		"services[0].target.command":              "only exec targets have a command",
		`services[0].target.versions["1.0.0"][0]`: "port 0 cannot be dialed",
		`services[0].target.versions["2.0.0"]`:    "needs at least one host:port address",
	} {
		if !strings.Contains(got[key], want) {
			t.Errorf("%s: %q, want %q", key, got[key], want)
		}
	}
	svc.Target = upfactory.TargetSpec{Type: "exec", Command: []string{"./shop", "{{.Host}}"}, Env: map[string]string{"A=B": "x"}}
	et, _ := provider.LookupTarget("exec")
	got = providertest.Problems{}
	et.Validate(svc, provider.Prefixed(got, "t"))
	for key, want := range map[string]string{
		"t.command[1]": "unknown field .Host",
		"t.command":    "no element uses {{.Port}}",
		`t.env["A=B"]`: "invalid environment variable name",
	} {
		if !strings.Contains(got[key], want) {
			t.Errorf("%s: %q, want %q", key, got[key], want)
		}
	}
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
