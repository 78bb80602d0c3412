package supervise

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/upfactory/upfactory"
)

// Hooks are where the targets supervise differently: exec restarts a
// process that exits and kills one that misses its readiness deadline;
// static runs nothing, and only marks states. Nil functions are never
// called.
type Hooks struct {
	// Exited returns a channel closed when the process behind the instance
	// exits, or nil. It is called before every wait, as a restart replaces
	// the process.
	Exited func() <-chan struct{}
	// Gone reports, before every check, whether a process that cannot be
	// waited for (one adopted, not our child) has exited.
	Gone func() bool
	// Crashed handles an exit before the instance was ready, which has
	// until deadline; it reports whether to go on waiting.
	Crashed func(ctx context.Context, deadline time.Time) bool
	// Expired handles the deadline passing before the instance answered:
	// lastErr is what the last check got. It must mark the instance
	// Failed (Table.Fail).
	Expired func(ctx context.Context, lastErr error)
	// ReadyReason is the reason of the event "instance.ready" that the
	// first answer brings.
	ReadyReason string
}

func (h Hooks) exited() <-chan struct{} {
	if h.Exited == nil {
		return nil // blocks for ever: the select waits on the others
	}
	return h.Exited()
}

func (h Hooks) gone() bool { return h.Gone != nil && h.Gone() }

// AwaitReady checks m every probe interval until it answers (Ready, true),
// or the deadline passes (h.Expired, false) or ctx ends (false).
func (t *Table[M]) AwaitReady(ctx context.Context, m M, deadline time.Time, h Hooks) bool {
	addr := t.addr(m)
	tick := time.NewTicker(t.probe.Interval())
	defer tick.Stop()
	expire := time.NewTimer(time.Until(deadline))
	defer expire.Stop()
	lastErr := errors.New("no readiness check has run yet")
	for {
		select {
		case <-ctx.Done():
			return false
		case <-expire.C:
			h.Expired(ctx, lastErr)
			return false
		case <-h.exited():
			if !h.Crashed(ctx, deadline) {
				return false
			}
		case <-tick.C:
			if h.gone() {
				if !h.Crashed(ctx, deadline) {
					return false
				}
				continue
			}
			err := t.probe.Check(ctx, addr)
			if ctx.Err() != nil {
				return false
			}
			if err != nil {
				lastErr = err
				continue
			}
			if inst, ok := t.Update(m, upfactory.InstanceReady, ""); ok {
				t.Emit(ctx, "instance.ready", inst, h.ReadyReason, nil)
			}
			return true
		}
	}
}

// Watch checks a ready instance every interval, turning it Unhealthy and
// Ready again as Liveness says, until its process exits (true) or ctx
// ends (false).
func (t *Table[M]) Watch(ctx context.Context, m M, interval time.Duration, h Hooks) bool {
	addr := t.addr(m)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var live Liveness
	for {
		select {
		case <-ctx.Done():
			return false
		case <-h.exited():
			return true
		case <-tick.C:
			if h.gone() {
				return true
			}
			err := t.probe.Check(ctx, addr)
			if ctx.Err() != nil {
				return false
			}
			state := live.Observe(err)
			t.mu.Lock()
			changed := m.entry().Inst.State != state
			t.mu.Unlock()
			if !changed {
				continue
			}
			if state == upfactory.InstanceUnhealthy {
				reason := fmt.Sprintf("failed %d readiness checks in a row: %v", UnhealthyAfter, err)
				if inst, ok := t.Update(m, state, reason); ok {
					t.Emit(ctx, "instance.unhealthy", inst, reason, nil)
				}
			} else if inst, ok := t.Update(m, state, ""); ok {
				t.Emit(ctx, "instance.ready", inst, "answers its readiness check again", nil)
			}
		}
	}
}

func (t *Table[M]) addr(m M) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return m.entry().Inst.Addr
}
