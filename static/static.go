// Package static is the target for versions that already run at fixed
// addresses: it starts and stops nothing, it tells the engine which
// addresses serve a version and whether they answer their readiness check.
package static

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upfactory/upfactory"
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
	probe    *Probe
	log      *slog.Logger
	event    func(upfactory.LogEntry)

	wg     sync.WaitGroup // supervision goroutines
	mu     sync.Mutex
	insts  map[string]*instance
	gone   map[string]bool // IDs stopped through Stop
	closed bool
}

var _ upfactory.Target = (*Target)(nil)

type instance struct {
	inst   upfactory.Instance // guarded by Target.mu
	cancel context.CancelFunc // ends supervision
	done   chan struct{}      // closed when supervision has ended
}

// adoptTries is how many readiness checks Adopt makes before it decides
// that a recorded instance does not answer (yet).
const adoptTries = 3

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
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Target{
		name:     svc.Name,
		versions: versions,
		probe:    NewProbe(spec.Readiness),
		log:      logger.With("component", "target.static", "service", svc.Name),
		event:    opts.Event,
		insts:    make(map[string]*instance),
		gone:     make(map[string]bool),
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, upfactory.Errorf(upfactory.EUNAVAILABLE, "the target of service %s is closed", s.name)
	}
	now := time.Now()
	out := make([]upfactory.Instance, 0, len(addrs))
	for _, addr := range addrs {
		in := &instance{inst: upfactory.Instance{
			ID:        s.newID(version),
			Service:   s.name,
			Version:   version,
			Addr:      addr,
			State:     upfactory.InstanceStarting,
			StartedAt: now,
		}}
		s.insertLocked(ctx, in, false, now.Add(s.probe.Timeout()))
		out = append(out, in.inst)
	}
	return out, nil
}

// Stop forgets instance id: it gets no more checks and Instances no longer
// lists it. The server at its address is not touched; it is not ours.
// ENOTFOUND for an unknown id; nil for one already stopped.
func (s *Target) Stop(ctx context.Context, id string) error {
	s.mu.Lock()
	in, ok := s.insts[id]
	if !ok {
		gone := s.gone[id]
		s.mu.Unlock()
		if gone {
			return nil
		}
		return upfactory.Errorf(upfactory.ENOTFOUND, "no instance %s of service %s", id, s.name)
	}
	delete(s.insts, id)
	s.gone[id] = true
	was := in.inst.State
	in.inst.State = upfactory.InstanceStopped
	in.inst.Reason = "stopped on request"
	inst := in.inst
	s.mu.Unlock()

	in.cancel()
	select {
	case <-in.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if was != upfactory.InstanceStopped {
		s.emit("instance.stopped", inst, "no longer used (the server at "+inst.Addr+" is not upfactory's to stop)", nil)
	}
	return nil
}

// Adopt takes over the instances recorded before a restart. One whose
// address is still listed for its version is kept: Ready if it answers
// now, else Starting with a new readiness deadline. One whose address is
// no longer listed is reported Stopped (event "instance.lost"). Instances
// already known, and recorded ones that were Stopped, are skipped.
// EINVALID for an instance of another service.
func (s *Target) Adopt(ctx context.Context, insts []upfactory.Instance) error {
	for _, rec := range insts {
		if rec.Service != "" && rec.Service != s.name {
			return upfactory.Errorf(upfactory.EINVALID, "instance %s belongs to service %s, not %s", rec.ID, rec.Service, s.name)
		}
	}
	var errs []error
	for _, rec := range insts {
		if err := s.adopt(ctx, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Target) adopt(ctx context.Context, rec upfactory.Instance) error {
	s.mu.Lock()
	known := s.insts[rec.ID] != nil || s.gone[rec.ID]
	s.mu.Unlock()
	if rec.ID == "" || known || rec.State == upfactory.InstanceStopped {
		return nil
	}
	rec.Service = s.name
	rec.Reason = ""
	if !slices.Contains(s.versions[rec.Version], rec.Addr) {
		rec.State = upfactory.InstanceStopped
		rec.Reason = fmt.Sprintf("%s is no longer listed for version %q", rec.Addr, rec.Version)
		if s.insert(ctx, &instance{inst: rec}, false, time.Time{}) {
			s.emit("instance.lost", rec, rec.Reason, nil)
		}
		return nil
	}
	var err error
	for i := range adoptTries {
		if i > 0 {
			if !sleep(ctx, s.probe.Interval()) {
				break
			}
		}
		if err = s.probe.Check(ctx, rec.Addr); err == nil {
			break
		}
	}
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
	if s.insert(ctx, &instance{inst: rec}, ready, time.Now().Add(s.probe.Timeout())) {
		s.emit("instance.adopted", rec, reason, nil)
	}
	return nil
}

// Instances returns a copy of every instance not stopped through Stop,
// oldest first.
func (s *Target) Instances(ctx context.Context) ([]upfactory.Instance, error) {
	s.mu.Lock()
	out := make([]upfactory.Instance, 0, len(s.insts))
	for _, in := range s.insts {
		out = append(out, in.inst)
	}
	s.mu.Unlock()
	sortInstances(out)
	return out, nil
}

// Close ends supervision. stopAll forgets every instance too, as Stop does.
func (s *Target) Close(ctx context.Context, stopAll bool) error {
	s.mu.Lock()
	s.closed = true
	ids := slices.Collect(maps.Keys(s.insts))
	s.mu.Unlock()
	var errs []error
	if stopAll {
		for _, id := range ids {
			if err := s.Stop(ctx, id); err != nil {
				errs = append(errs, err)
			}
		}
	}
	s.mu.Lock()
	for _, in := range s.insts {
		in.cancel()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("closing the target of service %s: %w", s.name, ctx.Err()))
	}
	return errors.Join(errs...)
}

// insert adds in to the table and supervises it unless it is Stopped. It
// reports false when the target is closed or the ID is taken.
func (s *Target) insert(ctx context.Context, in *instance, ready bool, deadline time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.insts[in.inst.ID] != nil || s.gone[in.inst.ID] {
		return false
	}
	s.insertLocked(ctx, in, ready, deadline)
	return true
}

func (s *Target) insertLocked(ctx context.Context, in *instance, ready bool, deadline time.Time) {
	s.insts[in.inst.ID] = in
	in.done = make(chan struct{})
	if in.inst.State == upfactory.InstanceStopped {
		in.cancel = func() {}
		close(in.done)
		return
	}
	// Supervision outlives the call that started it.
	supCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in.cancel = cancel
	s.wg.Add(1)
	go s.supervise(supCtx, in, ready, deadline)
}

func (s *Target) supervise(ctx context.Context, in *instance, ready bool, deadline time.Time) {
	defer s.wg.Done()
	defer close(in.done)
	if !ready && !s.awaitReady(ctx, in, deadline) {
		return
	}
	s.watch(ctx, in)
}

// awaitReady checks in every probe interval until it answers (true) or the
// deadline passes (Failed, false).
func (s *Target) awaitReady(ctx context.Context, in *instance, deadline time.Time) bool {
	addr := s.addr(in)
	tick := time.NewTicker(s.probe.Interval())
	defer tick.Stop()
	expire := time.NewTimer(time.Until(deadline))
	defer expire.Stop()
	lastErr := errors.New("no check has run yet")
	for {
		select {
		case <-ctx.Done():
			return false
		case <-expire.C:
			inst, ok := s.update(in, upfactory.InstanceFailed,
				fmt.Sprintf("not ready %s after it was started: %v", s.probe.Timeout(), lastErr))
			if ok {
				s.emit("instance.failed", inst, inst.Reason, nil)
			}
			return false
		case <-tick.C:
			err := s.probe.Check(ctx, addr)
			if ctx.Err() != nil {
				return false
			}
			if err != nil {
				lastErr = err
				continue
			}
			if inst, ok := s.update(in, upfactory.InstanceReady, ""); ok {
				s.emit("instance.ready", inst, "answers its readiness check", nil)
			}
			return true
		}
	}
}

// watch checks a ready instance every LivenessInterval until ctx ends.
func (s *Target) watch(ctx context.Context, in *instance) {
	addr := s.addr(in)
	tick := time.NewTicker(LivenessInterval)
	defer tick.Stop()
	var live Liveness
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err := s.probe.Check(ctx, addr)
			if ctx.Err() != nil {
				return
			}
			state := live.Observe(err)
			reason := ""
			if state == upfactory.InstanceUnhealthy {
				reason = fmt.Sprintf("failed %d readiness checks in a row: %v", UnhealthyAfter, err)
			}
			s.mu.Lock()
			changed := in.inst.State != state
			s.mu.Unlock()
			if !changed {
				continue
			}
			inst, ok := s.update(in, state, reason)
			if !ok {
				continue
			}
			if state == upfactory.InstanceUnhealthy {
				s.emit("instance.unhealthy", inst, reason, nil)
			} else {
				s.emit("instance.ready", inst, "answers its readiness check again", nil)
			}
		}
	}
}

func (s *Target) addr(in *instance) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return in.inst.Addr
}

// update sets in's state and reason unless in was stopped meanwhile, and
// returns a copy of it.
func (s *Target) update(in *instance, state upfactory.InstanceState, reason string) (upfactory.Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in.inst.State == upfactory.InstanceStopped {
		return in.inst, false
	}
	in.inst.State = state
	in.inst.Reason = reason
	return in.inst, true
}

func (s *Target) emit(action string, inst upfactory.Instance, reason string, extra map[string]any) {
	s.log.Info(reason, "action", action, "instance", inst.ID, "version", inst.Version, "addr", inst.Addr)
	if s.event == nil {
		return
	}
	values := map[string]any{"version": inst.Version, "addr": inst.Addr}
	if port := portOf(inst.Addr); port > 0 {
		values["port"] = port
	}
	maps.Copy(values, extra)
	s.event(upfactory.LogEntry{
		Time:    time.Now(),
		Actor:   upfactory.ActorSystem,
		Action:  action,
		Service: s.name,
		Subject: inst.ID,
		Reason:  reason,
		Values:  values,
	})
}

// newID returns an unused ID such as "checkout-2.0.0-3f9a". The caller
// holds s.mu.
func (s *Target) newID(version string) string {
	for {
		id := FileSafe(s.name) + "-" + FileSafe(version) + "-" + randomHex(2)
		if s.insts[id] == nil && !s.gone[id] {
			return id
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// fileSafe returns s with every byte but letters, digits, '.', '_' and '-'
// replaced by '_', so that a version can be part of an instance ID, which
// appears in URLs.
func FileSafe(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			b[i] = '_'
		}
	}
	out := string(b)
	if out == "" || strings.Trim(out, ".") == "" {
		out = strings.Repeat("_", max(len(out), 1))
	}
	return out
}

func sortInstances(insts []upfactory.Instance) {
	slices.SortFunc(insts, func(a, b upfactory.Instance) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func validAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && host != "" && portOf(addr) > 0
}

// portOf returns the port of a host:port address, or 0.
func portOf(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return 0
	}
	return n
}
