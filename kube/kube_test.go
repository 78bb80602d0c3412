package kube_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/kube"
	"github.com/upfactory/upfactory/routertest"
)

// cluster is a real kube-apiserver with etcd (envtest), with the Gateway
// API's own CRDs installed. No controller manager runs: the tests set a
// Deployment's status themselves, as its controller would.
var cluster *rest.Config

func TestMain(m *testing.M) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		if os.Getenv("CI") == "true" {
			os.Stderr.WriteString("kube: KUBEBUILDER_ASSETS is not set (CI=true: not skipping): scripts/kube-apiserver.sh builds kube-apiserver and finds etcd (Debian package etcd-server)\n")
			os.Exit(1)
		}
		os.Stderr.WriteString("kube: KUBEBUILDER_ASSETS is not set: the Kubernetes tests skip; export KUBEBUILDER_ASSETS=\"$(scripts/kube-apiserver.sh)\" (Debian package etcd-server)\n")
		os.Exit(m.Run())
	}
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		panic("finding the Gateway API module's CRDs: " + err.Error())
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		panic("starting kube-apiserver and etcd: " + err.Error())
	}
	cluster = cfg
	code := m.Run()
	env.Stop()
	os.Exit(code)
}

func needCluster(t *testing.T) client.Client {
	t.Helper()
	if cluster == nil {
		t.Skip("no cluster: KUBEBUILDER_ASSETS is not set")
	}
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{appsv1.AddToScheme, corev1.AddToScheme, gatewayv1.Install} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	c, err := client.New(cluster, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var namespaces int

// service is a service on the kubernetes target and the gateway router,
// in a namespace of its own, with its HTTPRoute.
func service(t *testing.T, c client.Client) *upfactory.Service {
	t.Helper()
	namespaces++
	ns := "upf-" + strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(ns) > 50 {
		ns = ns[:50]
	}
	ns = strings.Trim(ns, "-") + "-" + string(rune('a'+namespaces%26))
	if err := c.Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	route := &gatewayv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns},
		Spec: gatewayv1.HTTPRouteSpec{CommonRouteSpec: gatewayv1.CommonRouteSpec{ParentRefs: []gatewayv1.ParentReference{{Name: "public"}}},
			Rules: []gatewayv1.HTTPRouteRule{{}}}}
	if err := c.Create(t.Context(), route); err != nil {
		t.Fatal(err)
	}
	return &upfactory.Service{Name: "shop", StableVersion: "1.0.0",
		Target: upfactory.TargetSpec{Type: "kubernetes", Image: "registry.example.com/shop:{{.Version}}", Namespace: ns, Port: 8080, Replicas: 2,
			Readiness: upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(30 * time.Second), Interval: upfactory.Duration(time.Second)}, StopTimeout: upfactory.Duration(10 * time.Second)},
		Router: upfactory.RouterSpec{Type: "gateway", Route: "shop"}}
}

// ready sets the status of version's Deployment as its controller would.
func ready(t *testing.T, c client.Client, svc *upfactory.Service, name string, n int32) {
	t.Helper()
	var d appsv1.Deployment
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: svc.Target.Namespace, Name: name}, &d); err != nil {
		t.Fatal(err)
	}
	d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas = *d.Spec.Replicas, n, n, *d.Spec.Replicas
	if err := c.Status().Update(t.Context(), &d); err != nil {
		t.Fatal(err)
	}
}

var (
	starting = "1.0.0 " + string(upfactory.InstanceStarting)
	readyOne = "1.0.0 " + string(upfactory.InstanceReady)
)

func states(insts []upfactory.Instance) map[string]int {
	out := map[string]int{}
	for _, in := range insts {
		out[in.Version+" "+string(in.State)]++
	}
	return out
}

func TestATargetRunsEachVersionAsADeployment(t *testing.T) {
	c := needCluster(t)
	svc := service(t, c)
	tgt, err := kube.NewTarget(svc, cluster)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	started, err := tgt.Start(ctx, "1.0.0", 2)
	if err != nil || len(started) != 2 || started[0].State != upfactory.InstanceStarting {
		t.Fatalf("Start: %+v, %v", started, err)
	}
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: svc.Target.Namespace, Name: "shop-1-0-0"}, &d); err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "registry.example.com/shop:1.0.0" || d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("deployment: replicas %d, image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
	}
	var s corev1.Service
	if err := c.Get(ctx, client.ObjectKey{Namespace: svc.Target.Namespace, Name: "shop-1-0-0"}, &s); err != nil || s.Spec.Ports[0].Port != 8080 {
		t.Fatalf("service: %+v, %v", s.Spec, err)
	}
	insts, err := tgt.Instances(ctx)
	if err != nil || states(insts)[starting] != 2 {
		t.Fatalf("before the pods are ready: %v, %v", states(insts), err)
	}
	ready(t, c, svc, "shop-1-0-0", 1)
	if insts, _ = tgt.Instances(ctx); states(insts)[readyOne] != 1 || states(insts)[starting] != 1 {
		t.Fatalf("one pod ready: %v", states(insts))
	}
	if insts[0].Addr != "shop-1-0-0."+svc.Target.Namespace+".svc:8080" {
		t.Errorf("address %s", insts[0].Addr)
	}
	// Restarting upfactory finds the instances again from the cluster.
	again, _ := kube.NewTarget(svc, cluster)
	if found, err := again.Instances(ctx); err != nil || len(found) != 2 {
		t.Fatalf("a new target finds %v, %v", states(found), err)
	}
	// Stopping scales down, the last one takes the Deployment and Service.
	for _, in := range insts {
		if err := tgt.Stop(ctx, in.ID); err != nil {
			t.Fatalf("Stop(%s): %v", in.ID, err)
		}
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: svc.Target.Namespace, Name: "shop-1-0-0"}, &s); err == nil {
		t.Error("the service of a version with no instance left is still there")
	}
	if insts, _ := tgt.Instances(ctx); len(insts) != 0 {
		t.Errorf("after stopping all: %v", states(insts))
	}
	if err := tgt.Stop(ctx, "shop-1-0-0#0"); upfactory.ErrorCode(err) != upfactory.ENOTFOUND {
		t.Errorf("stopping an instance that is gone: %v, want not found", err)
	}
}

func TestAFailedDeploymentFailsItsInstances(t *testing.T) {
	c := needCluster(t)
	svc := service(t, c)
	tgt, _ := kube.NewTarget(svc, cluster)
	if _, err := tgt.Start(t.Context(), "2.0.0", 1); err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: svc.Target.Namespace, Name: "shop-2-0-0"}, &d); err != nil {
		t.Fatal(err)
	}
	d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "image pull back-off"}}
	if err := c.Status().Update(t.Context(), &d); err != nil {
		t.Fatal(err)
	}
	insts, err := tgt.Instances(t.Context())
	if err != nil || len(insts) != 1 || insts[0].State != upfactory.InstanceFailed || !strings.Contains(insts[0].Reason, "ProgressDeadlineExceeded") {
		t.Fatalf("instances of a deployment past its deadline: %+v, %v", insts, err)
	}
}

// The HTTPRoute's backend weights are the pools; the weights are what the
// cluster's Gateway reads (no Gateway implementation runs here to carry
// traffic, so the suite's control part runs, not its traffic part).
func TestGatewayRouterConformance(t *testing.T) {
	c := needCluster(t)
	routertest.RunControl(t, func(t *testing.T) routertest.Router {
		svc := service(t, c)
		tgt, _ := kube.NewTarget(svc, cluster)
		for _, v := range []string{"1.0.0", "2.0.0"} {
			if _, err := tgt.Start(t.Context(), v, 1); err != nil {
				t.Fatal(err)
			}
		}
		g, err := kube.NewGateway(svc, cluster)
		if err != nil {
			t.Fatal(err)
		}
		return routertest.Router{Router: g}
	})
}

func TestGatewayWeightsAreTheRoutesBackends(t *testing.T) {
	c := needCluster(t)
	svc := service(t, c)
	tgt, _ := kube.NewTarget(svc, cluster)
	for _, v := range []string{"1.0.0", "2.0.0"} {
		if _, err := tgt.Start(t.Context(), v, 2); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := kube.NewGateway(svc, cluster)
	pools := []upfactory.Pool{{Version: "1.0.0", Weight: 95, Addrs: []string{"shop-1-0-0:8080"}}, {Version: "2.0.0", Weight: 5, Addrs: []string{"shop-2-0-0:8080"}}}
	if err := g.SetPools(t.Context(), pools); err != nil {
		t.Fatal(err)
	}
	var r gatewayv1.HTTPRoute
	if err := c.Get(t.Context(), client.ObjectKey{Namespace: svc.Target.Namespace, Name: "shop"}, &r); err != nil {
		t.Fatal(err)
	}
	refs := r.Spec.Rules[0].BackendRefs
	if len(refs) != 2 || refs[0].Name != "shop-1-0-0" || *refs[0].Weight != 95 || refs[1].Name != "shop-2-0-0" || *refs[1].Weight != 5 || *refs[1].Port != 8080 {
		t.Fatalf("route backends %+v", refs)
	}
	// A new router (serve restarted) reads the pools back from the route.
	again, _ := kube.NewGateway(svc, cluster)
	got, err := again.Pools(t.Context())
	if err != nil || len(got) != 2 || got[0].Version != "1.0.0" || got[0].Weight != 95 || got[1].Version != "2.0.0" || got[1].Weight != 5 {
		t.Fatalf("pools read back: %+v, %v", got, err)
	}
	if err := g.SetPools(t.Context(), []upfactory.Pool{{Version: "2.0.0", Weight: 90}}); upfactory.ErrorCode(err) != upfactory.EINVALID {
		t.Errorf("weights adding up to 90: %v, want invalid", err)
	}
	gone := *svc
	gone.Router.Route = "nope"
	g2, _ := kube.NewGateway(&gone, cluster)
	if err := g2.SetPools(t.Context(), pools); upfactory.ErrorCode(err) != upfactory.EUNAVAILABLE || !strings.Contains(err.Error(), "nope") {
		t.Errorf("a route that does not exist: %v", err)
	}
}
