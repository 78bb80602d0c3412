package kube

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/upfactory/upfactory"
)

var _ upfactory.Router = (*Gateway)(nil)

// Gateway routes a service's traffic by the backend weights of a Gateway
// API HTTPRoute: every rule of the route sends each version its share,
// to the version's Service (the target's). The Gateway implementation in
// the cluster carries the traffic, drains and counts it: the router only
// writes the weights, so a service behind it judges its canary with
// provider: prometheus.
type Gateway struct {
	svc   *upfactory.Service
	c     client.Client
	mu    sync.Mutex
	pools []upfactory.Pool // as last set
}

// NewGateway is svc's router on the cluster cfg reaches.
func NewGateway(svc *upfactory.Service, cfg *rest.Config) (*Gateway, error) {
	c, err := newClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("router of %s: %w", svc.Name, err)
	}
	return &Gateway{svc: svc, c: c}, nil
}

func (g *Gateway) key() client.ObjectKey {
	return client.ObjectKey{Namespace: g.svc.Target.Namespace, Name: g.svc.Router.Route}
}

// SetPools writes the pools as the backends of every rule of the route,
// in one update: the Gateway switches at once.
func (g *Gateway) SetPools(ctx context.Context, pools []upfactory.Pool) error {
	total := 0
	refs := make([]gatewayv1.HTTPBackendRef, 0, len(pools))
	for _, p := range pools {
		if p.Weight < 0 || p.Weight > 100 {
			return upfactory.Errorf(upfactory.EINVALID, "pool %s: weight %d is not 0 to 100", p.Version, p.Weight)
		}
		total += p.Weight
		port := gatewayv1.PortNumber(g.svc.Target.Port)
		refs = append(refs, gatewayv1.HTTPBackendRef{BackendRef: gatewayv1.BackendRef{
			BackendObjectReference: gatewayv1.BackendObjectReference{Name: gatewayv1.ObjectName(objectName(g.svc.Name, p.Version)), Port: &port},
			Weight:                 ptr(int32(p.Weight)),
		}})
	}
	if len(pools) > 0 && total != 100 {
		return upfactory.Errorf(upfactory.EINVALID, "pool weights add up to %d, want 100", total)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var r gatewayv1.HTTPRoute
		if err := g.c.Get(ctx, g.key(), &r); err != nil {
			return err
		}
		if len(r.Spec.Rules) == 0 {
			r.Spec.Rules = []gatewayv1.HTTPRouteRule{{}}
		}
		for i := range r.Spec.Rules {
			r.Spec.Rules[i].BackendRefs = slices.Clone(refs)
		}
		return g.c.Update(ctx, &r)
	})
	if err != nil {
		return upfactory.Errorf(upfactory.EUNAVAILABLE, "setting the backends of HTTPRoute %s: %v", g.key(), err)
	}
	g.pools = slices.Clone(pools)
	return nil
}

// Pools returns the pools as last set, or, before any was set by this
// router, as the route's first rule and the versions' Services say.
func (g *Gateway) Pools(ctx context.Context) ([]upfactory.Pool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pools != nil {
		return slices.Clone(g.pools), nil
	}
	var r gatewayv1.HTTPRoute
	if err := g.c.Get(ctx, g.key(), &r); err != nil {
		return nil, upfactory.Errorf(upfactory.EUNAVAILABLE, "reading HTTPRoute %s: %v", g.key(), err)
	}
	out := []upfactory.Pool{}
	if len(r.Spec.Rules) == 0 {
		return out, nil
	}
	for _, ref := range r.Spec.Rules[0].BackendRefs {
		var s corev1.Service
		if err := g.c.Get(ctx, client.ObjectKey{Namespace: g.svc.Target.Namespace, Name: string(ref.Name)}, &s); err != nil {
			return nil, fmt.Errorf("the service %s behind HTTPRoute %s: %w", ref.Name, g.key(), err)
		}
		v := s.Annotations[annotationVersion]
		w := 1
		if ref.Weight != nil {
			w = int(*ref.Weight)
		}
		out = append(out, upfactory.Pool{Version: v, Weight: w, Addrs: []string{serviceAddr(g.svc, v)}})
	}
	return out, nil
}

// Drain has nothing to wait for here: the Gateway implementation drains
// the endpoints the route no longer sends to, as the Deployment's pods
// terminate gracefully.
func (g *Gateway) Drain(context.Context, string) error { return nil }
