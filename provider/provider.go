// Package provider is the registry of the parts of a service that come in
// types: targets (exec, static), routers (builtin), metric providers
// (builtin, prometheus, probe, exec), flag stores (flagd-file) and
// notifiers (webhook, slack). Each type lives in a package of its own,
// which registers it from an init function; the config loader asks the
// type to check its own keys of the section (Validate), and whoever runs
// services (serve, the compat twins, the drills) asks the registry to
// provision the type the config names. A new type (HAProxy, Kubernetes)
// is one package and one import, not a switch in every caller. The binary
// imports the packages whose types it offers.
package provider

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strings"
	"sync"

	"github.com/upfactory/upfactory"
)

// TargetEnv is what a target is provisioned with besides its service.
type TargetEnv struct {
	// DataDir holds what the target keeps (instance logs).
	DataDir string
	Logger  *slog.Logger
	// Event receives the target's events for the operation log.
	Event func(upfactory.LogEntry)
}

// Target is a target type.
type Target struct {
	Type string
	// New provisions the service's target.
	New func(svc *upfactory.Service, env TargetEnv) (upfactory.Target, error)
	// Validate checks the type's own keys of the service's target
	// section (the keys every target has are the loader's). Optional.
	Validate func(svc *upfactory.Service, p Problems)
	// Owns says the target starts the instances it runs, so that a
	// throw-away copy (a compat twin, a drill) stops them when done; a
	// static target's instances are the user's.
	Owns bool
}

// RouterEnv is what a router is provisioned with besides its service.
type RouterEnv struct {
	Logger *slog.Logger
	// Listener, when set, is where the router serves; nil: the address
	// the service's router config names.
	Listener net.Listener
}

// Router is a router type.
type Router struct {
	Type string
	// New provisions the service's router and starts it serving until ctx
	// ends; stop stops it and waits for it to be done.
	New func(ctx context.Context, svc *upfactory.Service, env RouterEnv) (r upfactory.Router, stop func(), err error)
	// Validate checks the type's own keys of the router section. Optional.
	Validate func(svc *upfactory.Service, p Problems)
	// Counts says the router keeps per-version and per-route counts of the
	// traffic (upfactory.MetricSource), which the builtin metric provider
	// reads; a router without (HAProxy, a Gateway) leaves traffic checks
	// to provider: prometheus.
	Counts bool
}

// FlagStore is a flag store type.
type FlagStore struct {
	Type string
	New  func(svc *upfactory.Service) (upfactory.FlagStore, error)
	// Validate checks the service's flags section. Optional.
	Validate func(svc *upfactory.Service, p Problems)
}

// Metric is a metric provider: what measures the checks whose provider:
// names it. Measuring is the measure package's, which registers the
// types it offers.
type Metric struct {
	Type string
	// Validate checks check c of svc (keys relative to the check) and
	// returns the unit c's limits are written in (see
	// upfactory.MetricUnit); ok false when c is too wrong to check on.
	Validate func(svc *upfactory.Service, c *upfactory.Check, p Problems) (unit string, ok bool)
	// Keys are the check keys only this type takes (query, journey,
	// command): the loader reports them on a check of another type.
	Keys []string
}

// Notifier is a notifier type: how a rollout event is written for the
// receiver.
type Notifier struct {
	Type   string
	Format func(upfactory.Notification) ([]byte, error)
}

// registry holds the types of one kind of provider.
type registry[T any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]T
}

func newRegistry[T any](kind string) *registry[T] {
	return &registry[T]{kind: kind, m: map[string]T{}}
}

// add registers t as typ. It panics on a duplicate or empty type, or a
// missing constructor, as a programming error at init.
func (r *registry[T]) add(typ string, complete bool, t T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if typ == "" || !complete {
		panic("provider: a " + r.kind + " type needs a name and its functions")
	}
	if _, dup := r.m[typ]; dup {
		panic("provider: " + r.kind + " type " + typ + " registered twice")
	}
	r.m[typ] = t
}

// lookup returns type typ, or EINVALID naming the types there are.
func (r *registry[T]) lookup(typ string) (T, error) {
	r.mu.RLock()
	t, ok := r.m[typ]
	r.mu.RUnlock()
	if !ok {
		return t, upfactory.Errorf(upfactory.EINVALID, "unknown %s type %q: want %s", r.kind, typ, oneOf(r.types()))
	}
	return t, nil
}

func (r *registry[T]) types() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var (
	targets    = newRegistry[Target]("target")
	routers    = newRegistry[Router]("router")
	flagStores = newRegistry[FlagStore]("flag store")
	metrics    = newRegistry[Metric]("metric provider")
	notifiers  = newRegistry[Notifier]("notifier")
)

// RegisterTarget adds a target type.
func RegisterTarget(t Target) { targets.add(t.Type, t.New != nil, t) }

// RegisterRouter adds a router type.
func RegisterRouter(r Router) { routers.add(r.Type, r.New != nil, r) }

// RegisterFlagStore adds a flag store type.
func RegisterFlagStore(f FlagStore) { flagStores.add(f.Type, f.New != nil, f) }

// RegisterMetric adds a metric provider.
func RegisterMetric(m Metric) { metrics.add(m.Type, m.Validate != nil, m) }

// RegisterNotifier adds a notifier type.
func RegisterNotifier(n Notifier) { notifiers.add(n.Type, n.Format != nil, n) }

// TargetTypes lists the registered target types, sorted.
func TargetTypes() []string { return targets.types() }

// RouterTypes lists the registered router types, sorted.
func RouterTypes() []string { return routers.types() }

// FlagStoreTypes lists the registered flag store types, sorted.
func FlagStoreTypes() []string { return flagStores.types() }

// MetricTypes lists the registered metric providers, sorted.
func MetricTypes() []string { return metrics.types() }

// NotifierTypes lists the registered notifier types, sorted.
func NotifierTypes() []string { return notifiers.types() }

// LookupTarget returns target type typ. EINVALID, naming the types there
// are, when it is not registered.
func LookupTarget(typ string) (Target, error) { return targets.lookup(typ) }

// LookupRouter returns router type typ, or EINVALID naming the types.
func LookupRouter(typ string) (Router, error) { return routers.lookup(typ) }

// LookupFlagStore returns flag store type typ, or EINVALID naming the types.
func LookupFlagStore(typ string) (FlagStore, error) { return flagStores.lookup(typ) }

// LookupMetric returns metric provider typ, or EINVALID naming them.
func LookupMetric(typ string) (Metric, error) { return metrics.lookup(typ) }

// LookupNotifier returns notifier type typ, or EINVALID naming the types.
func LookupNotifier(typ string) (Notifier, error) { return notifiers.lookup(typ) }

// MetricKeys lists every metric provider's own check keys, with the type
// that takes each.
func MetricKeys() map[string]string {
	metrics.mu.RLock()
	defer metrics.mu.RUnlock()
	out := map[string]string{}
	for typ, m := range metrics.m {
		for _, k := range m.Keys {
			out[k] = typ
		}
	}
	return out
}

// NewFlagStore provisions svc's flag store; nil when it has none.
func NewFlagStore(svc *upfactory.Service) (upfactory.FlagStore, error) {
	if svc.Flags.Type == "" {
		return nil, nil
	}
	f, err := flagStores.lookup(svc.Flags.Type)
	if err != nil {
		return nil, fmt.Errorf("flags of %s: %w", svc.Name, err)
	}
	return f.New(svc)
}

func oneOf(types []string) string {
	switch len(types) {
	case 0:
		return "a registered type (none is: the binary imports no provider)"
	case 1:
		return types[0]
	}
	return strings.Join(types[:len(types)-1], ", ") + " or " + types[len(types)-1]
}

// NewTarget provisions svc's target, of the type its config names.
func NewTarget(svc *upfactory.Service, env TargetEnv) (upfactory.Target, error) {
	t, err := LookupTarget(svc.Target.Type)
	if err != nil {
		return nil, fmt.Errorf("target of %s: %w", svc.Name, err)
	}
	return t.New(svc, env)
}

// Owns reports whether a target of type typ starts its own instances.
func Owns(typ string) bool {
	t, err := LookupTarget(typ)
	return err == nil && t.Owns
}

// NewRouter provisions svc's router, of the type its config names, and
// starts it serving.
func NewRouter(ctx context.Context, svc *upfactory.Service, env RouterEnv) (upfactory.Router, func(), error) {
	r, err := LookupRouter(svc.Router.Type)
	if err != nil {
		return nil, nil, fmt.Errorf("router of %s: %w", svc.Name, err)
	}
	return r.New(ctx, svc, env)
}

// Sized is implemented by targets whose versions have a fixed number of
// instances (the addresses a static target lists) rather than the
// service's replicas.
type Sized interface {
	Size(version string) int
}

// Want is how many instances of version svc's target should run.
func Want(svc *upfactory.Service, t upfactory.Target, version string) int {
	if s, ok := t.(Sized); ok {
		return s.Size(version)
	}
	return max(svc.Target.Replicas, 1)
}
