package kube_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/kube"
	"github.com/upfactory/upfactory/rollout"
	"github.com/upfactory/upfactory/sqlite"
)

// controller plays the part of the Deployment controller no one runs
// here: every Deployment of ns gets all its replicas ready.
func controller(t *testing.T, c client.Client, ns string) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var list appsv1.DeploymentList
			if err := c.List(ctx, &list, client.InNamespace(ns)); err != nil {
				continue
			}
			for i := range list.Items {
				d := &list.Items[i]
				if d.Status.ReadyReplicas == *d.Spec.Replicas && d.Status.Replicas == *d.Spec.Replicas {
					continue
				}
				n := *d.Spec.Replicas
				d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas = n, n, n, n
				c.Status().Update(ctx, d) // a conflict is tried again at the next tick
			}
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// routeWeights reads the HTTPRoute's backend weights by Service name.
func routeWeights(t *testing.T, c client.Client, svc *upfactory.Service) map[string]int32 {
	t.Helper()
	var r gatewayv1.HTTPRoute
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: svc.Target.Namespace, Name: svc.Router.Route}, &r); err != nil {
		t.Fatal(err)
	}
	out := map[string]int32{}
	for _, ref := range r.Spec.Rules[0].BackendRefs {
		out[string(ref.Name)] = *ref.Weight
	}
	return out
}

// A canary rollout on Kubernetes: the engine runs each version as a
// Deployment and moves the HTTPRoute's weights step by step.
func TestACanaryRolloutOnKubernetes(t *testing.T) {
	c := needCluster(t)
	svc := service(t, c)
	svc.Strategy = upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: []upfactory.Step{{Weight: ptrInt(20)}, {Pause: &upfactory.PauseStep{}}, {Weight: ptrInt(100)}}}}
	svc.Analysis = upfactory.AnalysisSpec{Interval: upfactory.Duration(100 * time.Millisecond), MinSamples: 5}
	controller(t, c, svc.Target.Namespace)
	tgt, err := kube.NewTarget(svc, cluster)
	if err != nil {
		t.Fatal(err)
	}
	g, err := kube.NewGateway(svc, cluster)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "upfactory.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	eng := engine.New(db, []engine.Runtime{{Service: svc, Target: tgt, Router: g}}, engine.Options{Tick: 20 * time.Millisecond})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); eng.Run(runCtx) }()
	defer func() { stop(); <-done; eng.Close(ctx, true) }()

	wait := func(what string, cond func(*engine.Status) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, err := eng.Status(ctx, svc.Name)
			if err != nil {
				t.Fatal(err)
			}
			if cond(st) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited 30s for %s: %s step %d weight %d: %s; route %v", what, st.Phase, st.StepIndex, st.CanaryWeight, st.Message, routeWeights(t, c, svc))
			}
			<-time.After(20 * time.Millisecond)
		}
	}
	wait("1.0.0 to take all the traffic", func(*engine.Status) bool { return routeWeights(t, c, svc)["shop-1-0-0"] == 100 })
	if _, err := eng.StartRollout(ctx, svc.Name, "2.0.0", "alice"); err != nil {
		t.Fatal(err)
	}
	wait("the pause at 20%", func(st *engine.Status) bool { return st.Phase == upfactory.PhasePaused && st.CanaryWeight == 20 })
	if w := routeWeights(t, c, svc); w["shop-1-0-0"] != 80 || w["shop-2-0-0"] != 20 {
		t.Fatalf("route weights at 20%%: %v", w)
	}
	var d appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: svc.Target.Namespace, Name: "shop-2-0-0"}, &d); err != nil || *d.Spec.Replicas != 2 {
		t.Fatalf("the canary's deployment: %v, %v", d.Spec.Replicas, err)
	}
	if _, err := eng.Do(ctx, svc.Name, rollout.Command{Action: "resume", Actor: "bob"}); err != nil {
		t.Fatal(err)
	}
	wait("completion", func(st *engine.Status) bool { return st.Phase == upfactory.PhaseCompleted })
	if w := routeWeights(t, c, svc); w["shop-2-0-0"] != 100 {
		t.Fatalf("route weights after completion: %v", w)
	}
}

func ptrInt(i int) *int { return &i }
