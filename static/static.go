// Package static is the target for versions that already run at fixed
// addresses: it starts and stops nothing, it tells the engine which
// addresses serve a version and whether they answer their readiness check.
package static

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/supervise"
)

// Options configure a static target.
type Options struct {
	Logger *slog.Logger
	// Event receives one entry per thing worth recording in the operation
	// log: an instance became ready, failed its readiness deadline, turned
	// unhealthy, was stopped, adopted or lost. It is called from background
	// goroutines and must not block long.
	Event func(upfactory.LogEntry)
}

// Target is the static target of one service. Its instances are the
// addresses listed for each version; "starting" one means waiting until
// it answers, "stopping" one means no longer using it.
//
// Instances lists every instance until it is stopped through Stop, Failed
// ones included; a second Stop of the same instance does nothing.
type Target struct {
	name     string
	versions map[string][]string
	probe    *supervise.Probe
	table    *supervise.Table[*supervise.Entry]
}

var _ upfactory.Target = (*Target)(nil)

// New returns the static target of svc. EINVALID when svc lists no
// version or an address that is not host:port.
func New(svc *upfactory.Service, opts Options) (*Target, error) {
	if svc == nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "static target: no service")
	}
	spec := svc.Target
	if len(spec.Versions) == 0 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "service %s: a static target needs versions, each with the addresses that serve it", svc.Name)
	}
	versions := make(map[string][]string, len(spec.Versions))
	for v, addrs := range spec.Versions {
		if len(addrs) == 0 {
			return nil, upfactory.Errorf(upfactory.EINVALID, "service %s: version %q of a static target has no address", svc.Name, v)
		}
		for _, a := range addrs {
			if !validAddr(a) {
				return nil, upfactory.Errorf(upfactory.EINVALID, "service %s: version %q: address %q is not host:port", svc.Name, v, a)
			}
		}
		versions[v] = slices.Clone(addrs)
	}
	probe := supervise.NewProbe(spec.Readiness)
	return &Target{
		name:     svc.Name,
		versions: versions,
		probe:    probe,
		table: supervise.NewTable[*supervise.Entry](supervise.Options{
			Service:   svc.Name,
			Component: "target.static",
			Probe:     probe,
			Logger:    opts.Logger,
			Event:     opts.Event,
			EventAddr: true,
		}),
	}, nil
}

// CheckVersion returns EINVALID for a version that has no addresses listed.
func (s *Target) CheckVersion(ctx context.Context, version string) error {
	if _, ok := s.versions[version]; !ok {
		return upfactory.Errorf(upfactory.EINVALID, "unknown version %q of service %s: known versions are %s",
			version, s.name, strings.Join(slices.Sorted(maps.Keys(s.versions)), ", "))
	}
	return nil
}

var _ upfactory.VersionChecker = (*Target)(nil)

// Start returns one instance per address listed for version, whatever n
// is: the addresses are what runs. They are Starting and become Ready once
// they answer, or Failed at the readiness deadline. EINVALID for a version
// that is not listed; EUNAVAILABLE after Close.
func (s *Target) Start(ctx context.Context, version string, n int) ([]upfactory.Instance, error) {
	if err := s.CheckVersion(ctx, version); err != nil {
		return nil, err
	}
	addrs := s.versions[version]
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.table.Lock()
	defer s.table.Unlock()
	if s.table.ClosedLocked() {
		return nil, s.table.ErrClosed()
	}
	now := time.Now()
	out := make([]upfactory.Instance, 0, len(addrs))
	for _, addr := range addrs {
		id, _ := s.table.NewIDLocked(version)
		in := &supervise.Entry{Inst: upfactory.Instance{
			ID:        id,
			Service:   s.name,
			Version:   version,
			Addr:      addr,
			State:     upfactory.InstanceStarting,
			StartedAt: now,
		}}
		s.table.InsertLocked(ctx, in, s.supervision(in, false, now.Add(s.probe.Timeout())))
		out = append(out, in.Inst)
	}
	return out, nil
}

// Stop forgets instance id: it gets no more checks and Instances no longer
// lists it. The server at its address is not touched; it is not ours.
// ENOTFOUND for an unknown id; nil for one already stopped.
func (s *Target) Stop(ctx context.Context, id string) error {
	return s.table.Stop(ctx, id, s.halt)
}

// halt stops nothing: the server is not upfactory's.
func (s *Target) halt(ctx context.Context, in *supervise.Entry, was upfactory.Instance) (supervise.Halted, error) {
	h := supervise.Halted{Reason: "stopped on request"}
	if was.State != upfactory.InstanceStopped {
		h.Event = "no longer used (the server at " + was.Addr + " is not upfactory's to stop)"
	}
	return h, nil
}

// Adopt takes over the instances recorded before a restart. One whose
// address is still listed for its version is kept: Ready if it answers
// now, else Starting with a new readiness deadline. One whose address is
// no longer listed is reported Stopped (event "instance.lost"). Instances
// already known, and recorded ones that were Stopped, are skipped.
// EINVALID for an instance of another service.
func (s *Target) Adopt(ctx context.Context, insts []upfactory.Instance) error {
	todo, err := s.table.Claim(insts)
	if err != nil {
		return err
	}
	var errs []error
	for _, rec := range todo {
		if err := s.adopt(ctx, rec); err != nil {
			errs = append(errs, err)
		}
		s.table.Release(rec.ID)
	}
	return errors.Join(errs...)
}

func (s *Target) adopt(ctx context.Context, rec upfactory.Instance) error {
	if !slices.Contains(s.versions[rec.Version], rec.Addr) {
		rec.State = upfactory.InstanceStopped
		rec.Reason = fmt.Sprintf("%s is no longer listed for version %q", rec.Addr, rec.Version)
		if s.table.Insert(ctx, &supervise.Entry{Inst: rec}, nil) {
			s.table.Emit(ctx, "instance.lost", rec, rec.Reason, nil)
		}
		return nil
	}
	err := s.probe.CheckTries(ctx, rec.Addr, supervise.AdoptTries)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("adopting instance %s: %w", rec.ID, ctxErr)
	}
	ready := err == nil
	reason := "answers its readiness check"
	rec.State = upfactory.InstanceReady
	if !ready {
		rec.State = upfactory.InstanceStarting
		reason = fmt.Sprintf("does not answer yet (%v); it has until %s", err, time.Now().Add(s.probe.Timeout()).Format(time.RFC3339))
	}
	in := &supervise.Entry{Inst: rec}
	if s.table.Insert(ctx, in, s.supervision(in, ready, time.Now().Add(s.probe.Timeout()))) {
		s.table.Emit(ctx, "instance.adopted", rec, reason, nil)
	}
	return nil
}

// Instances returns a copy of every instance not stopped through Stop,
// oldest first.
func (s *Target) Instances(ctx context.Context) ([]upfactory.Instance, error) {
	return s.table.Instances(), nil
}

// Close ends supervision. stopAll forgets every instance too, as Stop does.
func (s *Target) Close(ctx context.Context, stopAll bool) error {
	return s.table.Close(ctx, stopAll, s.halt)
}

// supervision returns the supervision of in: it waits until in answers,
// or marks it Failed at deadline, then watches it until it is stopped.
func (s *Target) supervision(in *supervise.Entry, ready bool, deadline time.Time) func(context.Context) {
	hooks := supervise.Hooks{
		Expired: func(ctx context.Context, lastErr error) {
			s.table.Fail(ctx, in, fmt.Sprintf("not ready %s after it was started: %v", s.probe.Timeout(), lastErr), nil)
		},
		ReadyReason: "answers its readiness check",
	}
	return func(ctx context.Context) {
		if !ready && !s.table.AwaitReady(ctx, in, deadline, hooks) {
			return
		}
		s.table.Watch(ctx, in, supervise.LivenessInterval, hooks)
	}
}

func validAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host != "" && supervise.Port(addr) > 0
}
