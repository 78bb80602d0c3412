package supervise

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/upfactory/upfactory"
)

// Entry is what a Table keeps of every instance: the instance itself and
// the state of its supervision. A target's own instance type embeds it,
// beside what only that target needs (a process, its arguments).
type Entry struct {
	// Inst is the instance as Instances reports it. Guarded by the
	// table's lock.
	Inst upfactory.Instance

	stopping bool               // a Stop is under way: supervision changes the instance no more
	stopped  chan struct{}      // closed when that Stop is done
	cancel   context.CancelFunc // ends supervision
	done     chan struct{}      // closed when supervision has ended
}

func (e *Entry) entry() *Entry { return e }

// Member is a target's instance type: *Entry, or a pointer to a struct
// that embeds Entry.
type Member interface{ entry() *Entry }

// Options configure a Table.
type Options struct {
	// Service is the service whose instances the table holds.
	Service string
	// Component names the target in log lines, as "target.exec".
	Component string
	// Probe is the readiness check of those instances.
	Probe  *Probe
	Logger *slog.Logger
	// Event receives one operation log entry per event (see Emit); nil
	// records none.
	Event func(upfactory.LogEntry)
	// EventAddr puts the instance's address in every event's values: for
	// a server upfactory does not run, the address is what names it.
	EventAddr bool
}

// Table is the instance table of one target: every instance it started or
// adopted until it is stopped through Stop, the IDs stopped that way, and
// the supervision goroutine of each instance. Its lock guards every
// entry's Inst and what the target keeps beside it; methods whose names
// end in Locked must be called with it held, the others without.
type Table[M Member] struct {
	service   string
	probe     *Probe
	log       *slog.Logger
	event     func(upfactory.LogEntry)
	eventAddr bool

	wg      sync.WaitGroup // supervision goroutines
	mu      sync.Mutex
	insts   map[string]M
	gone    map[string]bool // IDs stopped through Stop
	pending map[string]bool // IDs reserved by a start or an adoption under way
	closed  bool
}

// NewTable returns an empty table.
func NewTable[M Member](opts Options) *Table[M] {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Table[M]{
		service:   opts.Service,
		probe:     opts.Probe,
		log:       logger.With("component", opts.Component, "service", opts.Service),
		event:     opts.Event,
		eventAddr: opts.EventAddr,
		insts:     make(map[string]M),
		gone:      make(map[string]bool),
		pending:   make(map[string]bool),
	}
}

// Log is the logger of the target, for what is not an event.
func (t *Table[M]) Log() *slog.Logger { return t.log }

// Lock takes the table's lock.
func (t *Table[M]) Lock() { t.mu.Lock() }

// Unlock releases the table's lock.
func (t *Table[M]) Unlock() { t.mu.Unlock() }

// Closed reports whether Close was called.
func (t *Table[M]) Closed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.closed
}

// ClosedLocked reports whether Close was called.
func (t *Table[M]) ClosedLocked() bool { return t.closed }

// ErrClosed is the EUNAVAILABLE error of a start or an adoption after Close.
func (t *Table[M]) ErrClosed() error {
	return upfactory.Errorf(upfactory.EUNAVAILABLE, "the target of service %s is closed", t.service)
}

// AllLocked yields every instance in the table, in no order.
func (t *Table[M]) AllLocked() iter.Seq[M] { return maps.Values(t.insts) }

// NewIDLocked returns an unused instance ID such as "checkout-2.0.0-3f9a",
// and its random suffix.
func (t *Table[M]) NewIDLocked(version string) (id, suffix string) {
	for {
		suffix = NewSuffix()
		id = FileSafe(t.service) + "-" + FileSafe(version) + "-" + suffix
		if !t.knownLocked(id) {
			return id, suffix
		}
	}
}

// ReserveLocked keeps id from being handed out or adopted until Release,
// while the instance it names is being started.
func (t *Table[M]) ReserveLocked(id string) { t.pending[id] = true }

// Release ends the reservation of id by ReserveLocked or Claim.
func (t *Table[M]) Release(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pending, id)
}

func (t *Table[M]) knownLocked(id string) bool {
	_, ok := t.insts[id]
	return ok || t.gone[id] || t.pending[id]
}

// Claim returns the instances recorded before a restart that Adopt is to
// take over: those with an ID that the table neither holds, nor stopped,
// nor has reserved, and that were not Stopped. Their IDs stay reserved
// until Release; they come back set to this service, with no reason.
// EINVALID, claiming nothing, when one belongs to another service.
func (t *Table[M]) Claim(recs []upfactory.Instance) ([]upfactory.Instance, error) {
	for _, rec := range recs {
		if rec.Service != "" && rec.Service != t.service {
			return nil, upfactory.Errorf(upfactory.EINVALID, "instance %s belongs to service %s, not %s", rec.ID, rec.Service, t.service)
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []upfactory.Instance
	for _, rec := range recs {
		if rec.ID == "" || rec.State == upfactory.InstanceStopped || t.knownLocked(rec.ID) {
			continue
		}
		t.pending[rec.ID] = true
		rec.Service = t.service
		rec.Reason = ""
		out = append(out, rec)
	}
	return out, nil
}

// Insert adds m to the table as InsertLocked does. It reports false, and
// adds nothing, when the table is closed, holds m's ID or stopped it.
func (t *Table[M]) Insert(ctx context.Context, m M, supervise func(context.Context)) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := m.entry().Inst.ID
	if _, ok := t.insts[id]; ok || t.closed || t.gone[id] {
		return false
	}
	t.InsertLocked(ctx, m, supervise)
	return true
}

// InsertLocked adds m to the table and, unless it is Stopped, runs
// supervise in a goroutine of its own until Stop or Close cancels its
// context. supervise may be nil for a Stopped instance.
func (t *Table[M]) InsertLocked(ctx context.Context, m M, supervise func(context.Context)) {
	e := m.entry()
	t.insts[e.Inst.ID] = m
	e.done = make(chan struct{})
	e.stopped = make(chan struct{})
	if e.Inst.State == upfactory.InstanceStopped {
		e.cancel = func() {}
		close(e.done)
		return
	}
	// Supervision outlives the call that started it, and keeps its values.
	supCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.cancel = cancel
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer close(e.done)
		supervise(supCtx)
	}()
}

// Instances returns a copy of every instance in the table, oldest first.
func (t *Table[M]) Instances() []upfactory.Instance {
	t.mu.Lock()
	out := make([]upfactory.Instance, 0, len(t.insts))
	for _, m := range t.insts {
		out = append(out, m.entry().Inst)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b upfactory.Instance) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Update sets m's state and reason, unless a Stop of m is under way, and
// returns a copy of m.
func (t *Table[M]) Update(m M, state upfactory.InstanceState, reason string) (upfactory.Instance, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := m.entry()
	if e.stopping {
		return e.Inst, false
	}
	e.Inst.State = state
	e.Inst.Reason = reason
	return e.Inst, true
}

// Fail marks m Failed, unless a Stop of m is under way, and records the
// event "instance.failed".
func (t *Table[M]) Fail(ctx context.Context, m M, reason string, values map[string]any) {
	if inst, ok := t.Update(m, upfactory.InstanceFailed, reason); ok {
		t.Emit(ctx, "instance.failed", inst, reason, values)
	}
}

// Halted is what the halt function of Stop and Close reports.
type Halted struct {
	// Reason is the stopped instance's Reason.
	Reason string
	// Event is the reason of the event "instance.stopped"; "" records
	// none, for an instance that had nothing left to stop.
	Event string
	// Values are added to the event's values.
	Values map[string]any
}

// Stop takes instance id out of the table. It ends the instance's
// supervision, then calls halt with the instance as it was when Stop
// began, to stop what runs behind it. When halt fails, the instance stays
// and Stop returns halt's error, so that a later Stop tries again. A Stop
// of an instance that another Stop is stopping waits for that one.
// ENOTFOUND for an ID the table never held; nil for one already stopped.
func (t *Table[M]) Stop(ctx context.Context, id string, halt func(context.Context, M, upfactory.Instance) (Halted, error)) error {
	t.mu.Lock()
	m, ok := t.insts[id]
	if !ok {
		gone := t.gone[id]
		t.mu.Unlock()
		if gone {
			return nil
		}
		return upfactory.Errorf(upfactory.ENOTFOUND, "no instance %s of service %s", id, t.service)
	}
	e := m.entry()
	if e.stopping {
		ch := e.stopped
		t.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.stopping = true
	was := e.Inst
	t.mu.Unlock()

	e.cancel()
	<-e.done // prompt: supervision waits on nothing but its context once canceled
	h, err := halt(ctx, m, was)
	t.mu.Lock()
	if err != nil {
		e.stopping = false
		close(e.stopped)
		e.stopped = make(chan struct{})
		t.mu.Unlock()
		return err
	}
	delete(t.insts, id)
	t.gone[id] = true
	e.Inst.State = upfactory.InstanceStopped
	e.Inst.Reason = h.Reason
	inst := e.Inst
	close(e.stopped)
	t.mu.Unlock()
	if h.Event != "" {
		t.Emit(ctx, "instance.stopped", inst, h.Event, h.Values)
	}
	return nil
}

// Close ends supervision, and makes Closed true. With stopAll it first
// stops every instance, in parallel, as Stop does with halt.
func (t *Table[M]) Close(ctx context.Context, stopAll bool, halt func(context.Context, M, upfactory.Instance) (Halted, error)) error {
	t.mu.Lock()
	t.closed = true
	ids := slices.Collect(maps.Keys(t.insts))
	t.mu.Unlock()
	var (
		errs []error
		emu  sync.Mutex
	)
	if stopAll {
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Go(func() {
				if err := t.Stop(ctx, id, halt); err != nil {
					emu.Lock()
					errs = append(errs, err)
					emu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	t.mu.Lock()
	for _, m := range t.insts {
		m.entry().cancel()
	}
	t.mu.Unlock()
	done := make(chan struct{})
	go func() {
		t.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("closing the target of service %s: %w", t.service, ctx.Err()))
	}
	return errors.Join(errs...)
}

// Emit logs an event about inst and sends it to the operation log, with
// the instance's version, port, and PID and restarts when it has them in
// its values, and extra.
func (t *Table[M]) Emit(ctx context.Context, action string, inst upfactory.Instance, reason string, extra map[string]any) {
	level := slog.LevelInfo
	switch action {
	case "instance.crashed", "instance.failed", "instance.unhealthy", "instance.lost":
		level = slog.LevelWarn
	}
	attrs := []any{"action", action, "instance", inst.ID, "version", inst.Version, "addr", inst.Addr}
	if inst.PID > 0 {
		attrs = append(attrs, "pid", inst.PID)
	}
	t.log.Log(ctx, level, reason, attrs...)
	if t.event == nil {
		return
	}
	values := map[string]any{"version": inst.Version}
	if t.eventAddr {
		values["addr"] = inst.Addr
	}
	if inst.PID > 0 {
		values["pid"] = inst.PID
	}
	if port := Port(inst.Addr); port > 0 {
		values["port"] = port
	}
	if inst.Restarts > 0 {
		values["restarts"] = inst.Restarts
	}
	maps.Copy(values, extra)
	t.event(upfactory.LogEntry{
		Time:    time.Now(),
		Actor:   upfactory.ActorSystem,
		Action:  action,
		Service: t.service,
		Subject: inst.ID,
		Reason:  reason,
		Values:  values,
	})
}
