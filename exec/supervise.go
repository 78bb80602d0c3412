package exec

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/static"
)

// supervisor is the state of one instance's supervision goroutine.
type supervisor struct {
	t       *Target
	in      *instance
	addr    string
	proc    *process // the process being supervised
	backoff time.Duration
}

// supervise runs until ctx ends or the instance fails: it waits for the
// process to become ready, then checks it every second, and restarts it
// when it exits. Each start, first or not, has the readiness timeout to
// become ready; a process that exits before it is restarted within that
// time, and the instance fails when the time is up.
func (t *Target) supervise(ctx context.Context, in *instance, p *process, ready bool) {
	defer t.wg.Done()
	defer close(in.supDone)
	t.mu.Lock()
	addr := in.inst.Addr
	t.mu.Unlock()
	s := &supervisor{t: t, in: in, addr: addr, proc: p, backoff: minBackoff}
	for {
		if !ready && !s.awaitReady(ctx, s.proc.started.Add(t.probe.Timeout())) {
			return
		}
		if !s.watch(ctx) {
			return
		}
		if time.Since(s.proc.started) >= backoffReset {
			s.backoff = minBackoff
		}
		status, code, sig := s.proc.exitStatus()
		var values map[string]any
		if !s.proc.adopted() {
			values = exitValues(code, sig)
		}
		if !s.restart(ctx, "exited with "+status, values) {
			return
		}
		ready = false
	}
}

// awaitReady checks the instance every probe interval until it answers
// (true), the deadline passes or ctx ends (false).
func (s *supervisor) awaitReady(ctx context.Context, deadline time.Time) bool {
	tick := time.NewTicker(s.t.probe.Interval())
	defer tick.Stop()
	expire := time.NewTimer(time.Until(deadline))
	defer expire.Stop()
	lastErr := errors.New("no readiness check has run yet")
	for {
		select {
		case <-ctx.Done():
			return false
		case <-expire.C:
			s.fail(ctx, fmt.Sprintf("not ready %s after it started: %v", s.t.probe.Timeout(), lastErr), nil)
			return false
		case <-s.proc.exited:
			status, code, sig := s.proc.exitStatus()
			why := "exited with " + status + " before it was ready"
			if time.Now().Add(s.backoff).After(deadline) {
				s.t.mu.Lock()
				restarts := s.in.inst.Restarts
				s.t.mu.Unlock()
				s.fail(ctx, fmt.Sprintf("%s, %s after its first start (restarts so far: %d)", why, s.t.probe.Timeout(), restarts), exitValues(code, sig))
				return false
			}
			if !s.restart(ctx, why, exitValues(code, sig)) {
				return false
			}
		case <-tick.C:
			if s.proc.adopted() && !alive(s.proc.pid) {
				// Adopted processes start Ready; this is only a safeguard.
				if !s.restart(ctx, "exited with an unknown status", nil) {
					return false
				}
				continue
			}
			err := s.t.probe.Check(ctx, s.addr)
			if ctx.Err() != nil {
				return false
			}
			if err != nil {
				lastErr = err
				continue
			}
			if inst, ok := s.set(upfactory.InstanceReady, ""); ok {
				s.t.emit(ctx, "instance.ready", inst, "answers its readiness check at "+s.t.probe.URL(s.addr), nil)
			}
			return true
		}
	}
}

// watch checks a ready instance until its process exits (true) or ctx
// ends (false). A child's exit is seen at once; an adopted process, not
// being our child, is checked for life every adoptedPoll.
func (s *supervisor) watch(ctx context.Context) bool {
	interval := static.LivenessInterval
	if s.proc.adopted() {
		interval = adoptedPoll
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var live static.Liveness
	for {
		select {
		case <-ctx.Done():
			return false
		case <-s.proc.exited:
			return true
		case <-tick.C:
			if s.proc.adopted() && !alive(s.proc.pid) {
				return true
			}
			err := s.t.probe.Check(ctx, s.addr)
			if ctx.Err() != nil {
				return false
			}
			state := live.Observe(err)
			s.t.mu.Lock()
			changed := s.in.inst.State != state
			s.t.mu.Unlock()
			if !changed {
				continue
			}
			if state == upfactory.InstanceUnhealthy {
				reason := fmt.Sprintf("failed %d readiness checks in a row: %v", static.UnhealthyAfter, err)
				if inst, ok := s.set(state, reason); ok {
					s.t.emit(ctx, "instance.unhealthy", inst, reason, nil)
				}
			} else if inst, ok := s.set(state, ""); ok {
				s.t.emit(ctx, "instance.ready", inst, "answers its readiness check again", nil)
			}
		}
	}
}

// restart records that the process exited unasked (why), waits the
// backoff and starts it again with the same argv, environment and port.
// It reports false when ctx ended or the new process could not start.
func (s *supervisor) restart(ctx context.Context, why string, values map[string]any) bool {
	// Whatever the process left in its group would hold its port.
	_ = syscall.Kill(-s.proc.pid, syscall.SIGKILL)
	if inst, ok := s.set(upfactory.InstanceStarting, why+"; restarting"); ok {
		s.t.emit(ctx, "instance.crashed", inst, fmt.Sprintf("process %d %s; restarting it in %s", s.proc.pid, why, s.backoff), values)
	}
	if !sleep(ctx, s.backoff) {
		return false
	}
	s.backoff = min(2*s.backoff, maxBackoff)
	if ctx.Err() != nil {
		return false
	}
	p, err := spawn(s.in.argv, s.in.env, s.t.dir, s.in.inst.LogPath, s.in.inst.ID)
	if err != nil {
		s.fail(ctx, fmt.Sprintf("could not be restarted after it %s: %v", why, err), nil)
		return false
	}
	s.proc = p
	s.t.mu.Lock()
	s.in.proc = p
	s.in.inst.PID = p.pid
	s.in.inst.Restarts++
	s.in.inst.Reason = "restarted after it " + why
	inst := s.in.inst
	s.t.mu.Unlock()
	s.t.emit(ctx, "instance.restarted", inst, fmt.Sprintf("restarted as process %d on %s (restart %d)", p.pid, s.addr, inst.Restarts), nil)
	return true
}

// fail marks the instance Failed, with the end of its log in the reason,
// and stops its process if it still runs.
func (s *supervisor) fail(ctx context.Context, reason string, values map[string]any) {
	s.t.mu.Lock()
	logPath := s.in.inst.LogPath
	s.t.mu.Unlock()
	reason = withLogTail(reason, logPath)
	if inst, ok := s.set(upfactory.InstanceFailed, reason); ok {
		s.t.emit(ctx, "instance.failed", inst, reason, values)
	}
	if _, err := s.t.terminate(ctx, s.proc); err != nil {
		s.t.log.Warn("stopping a failed instance", "instance", s.in.inst.ID, "err", err)
		return
	}
	s.t.mu.Lock()
	s.in.proc = nil
	s.t.mu.Unlock()
}

// set changes the instance's state and reason unless Stop is stopping it,
// and returns a copy.
func (s *supervisor) set(state upfactory.InstanceState, reason string) (upfactory.Instance, bool) {
	s.t.mu.Lock()
	defer s.t.mu.Unlock()
	if s.in.stopping {
		return s.in.inst, false
	}
	s.in.inst.State = state
	s.in.inst.Reason = reason
	return s.in.inst, true
}
