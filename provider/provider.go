// Package provider is the registry of the parts of a service that come in
// types: targets (exec, static) and routers (builtin). Each type lives in
// a package of its own, which registers it from an init function, and
// whose constructor provisions it from the service's config; whoever
// runs services (serve, the compat twins, the drills) asks the registry
// for the type the config names, so a new type (HAProxy, Kubernetes) is
// one package and one import, not a switch in every caller. The binary
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
}

// FlagStore is a flag store type.
type FlagStore struct {
	Type string
	New  func(svc *upfactory.Service) (upfactory.FlagStore, error)
}

var (
	mu         sync.RWMutex
	targets    = map[string]Target{}
	routers    = map[string]Router{}
	flagStores = map[string]FlagStore{}
)

// RegisterFlagStore adds a flag store type, panicking like RegisterTarget.
func RegisterFlagStore(f FlagStore) {
	mu.Lock()
	defer mu.Unlock()
	if f.Type == "" || f.New == nil {
		panic("provider: a flag store type needs a name and a constructor")
	}
	if _, dup := flagStores[f.Type]; dup {
		panic("provider: flag store type " + f.Type + " registered twice")
	}
	flagStores[f.Type] = f
}

// NewFlagStore provisions svc's flag store; nil when it has none.
func NewFlagStore(svc *upfactory.Service) (upfactory.FlagStore, error) {
	if svc.Flags.Type == "" {
		return nil, nil
	}
	mu.RLock()
	f, ok := flagStores[svc.Flags.Type]
	mu.RUnlock()
	if !ok {
		return nil, upfactory.Errorf(upfactory.EINVALID, "flags of %s: unknown flag store type %q: want %s", svc.Name, svc.Flags.Type, oneOf(keys(flagStores)))
	}
	return f.New(svc)
}

// RegisterTarget adds a target type. It panics on a duplicate or empty
// type, as a programming error at init.
func RegisterTarget(t Target) {
	mu.Lock()
	defer mu.Unlock()
	if t.Type == "" || t.New == nil {
		panic("provider: a target type needs a name and a constructor")
	}
	if _, dup := targets[t.Type]; dup {
		panic("provider: target type " + t.Type + " registered twice")
	}
	targets[t.Type] = t
}

// RegisterRouter adds a router type, panicking like RegisterTarget.
func RegisterRouter(r Router) {
	mu.Lock()
	defer mu.Unlock()
	if r.Type == "" || r.New == nil {
		panic("provider: a router type needs a name and a constructor")
	}
	if _, dup := routers[r.Type]; dup {
		panic("provider: router type " + r.Type + " registered twice")
	}
	routers[r.Type] = r
}

// TargetTypes lists the registered target types, sorted.
func TargetTypes() []string {
	mu.RLock()
	defer mu.RUnlock()
	return keys(targets)
}

// RouterTypes lists the registered router types, sorted.
func RouterTypes() []string {
	mu.RLock()
	defer mu.RUnlock()
	return keys(routers)
}

func keys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// LookupTarget returns target type typ. EINVALID, naming the types there
// are, when it is not registered.
func LookupTarget(typ string) (Target, error) {
	mu.RLock()
	t, ok := targets[typ]
	mu.RUnlock()
	if !ok {
		return Target{}, upfactory.Errorf(upfactory.EINVALID, "unknown target type %q: want %s", typ, oneOf(TargetTypes()))
	}
	return t, nil
}

// LookupRouter returns router type typ, or EINVALID naming the types.
func LookupRouter(typ string) (Router, error) {
	mu.RLock()
	r, ok := routers[typ]
	mu.RUnlock()
	if !ok {
		return Router{}, upfactory.Errorf(upfactory.EINVALID, "unknown router type %q: want %s", typ, oneOf(RouterTypes()))
	}
	return r, nil
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
