package exec

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/supervise"
)

// supervisor is the state of one instance's supervision goroutine.
type supervisor struct {
	t       *Target
	in      *instance
	addr    string
	proc    *process // the process being supervised
	backoff time.Duration
	// lastExit and lastExitValues describe the last exit before readiness,
	// so a deadline that passes while the restarted process is still
	// starting still says why the instance never became ready.
	lastExit       string
	lastExitValues map[string]any
}

// supervision returns the supervision of in, whose process is p.
func (t *Target) supervision(in *instance, p *process, ready bool) func(context.Context) {
	return func(ctx context.Context) { t.supervise(ctx, in, p, ready) }
}

// supervise runs until ctx ends or the instance fails: it waits for the
// process to become ready, then checks it every second, and restarts it
// when it exits. Each start, first or not, has the readiness timeout to
// become ready; a process that exits before it is restarted within that
// time, and the instance fails when the time is up.
func (t *Target) supervise(ctx context.Context, in *instance, p *process, ready bool) {
	t.table.Lock()
	addr := in.Inst.Addr
	t.table.Unlock()
	s := &supervisor{t: t, in: in, addr: addr, proc: p, backoff: minBackoff}
	hooks := supervise.Hooks{
		Exited: func() <-chan struct{} { return s.proc.exited },
		// A child's exit is seen at once; an adopted process, not being
		// our child, is checked for life.
		Gone:    func() bool { return s.proc.adopted() && !alive(s.proc.pid) },
		Crashed: s.crashed,
		Expired: func(ctx context.Context, lastErr error) {
			msg := fmt.Sprintf("not ready %s after it started: %v", t.probe.Timeout(), lastErr)
			if s.lastExit != "" {
				msg += "; before that it " + s.lastExit
			}
			s.fail(ctx, msg, s.lastExitValues)
		},
		ReadyReason: "answers its readiness check at " + t.probe.URL(addr),
	}
	for {
		if !ready && !t.table.AwaitReady(ctx, in, s.proc.started.Add(t.probe.Timeout()), hooks) {
			return
		}
		interval := supervise.LivenessInterval
		if s.proc.adopted() {
			interval = adoptedPoll
		}
		if !t.table.Watch(ctx, in, interval, hooks) {
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

// crashed handles an exit before the process was ready: it restarts the
// process, unless the backoff would take it past deadline, when the
// instance fails. It reports whether to go on waiting.
func (s *supervisor) crashed(ctx context.Context, deadline time.Time) bool {
	if s.proc.adopted() {
		// Adopted processes start Ready; this is only a safeguard.
		return s.restart(ctx, "exited with an unknown status", nil)
	}
	status, code, sig := s.proc.exitStatus()
	why := "exited with " + status + " before it was ready"
	s.lastExit, s.lastExitValues = why, exitValues(code, sig)
	if time.Now().Add(s.backoff).After(deadline) {
		s.t.table.Lock()
		restarts := s.in.Inst.Restarts
		s.t.table.Unlock()
		s.fail(ctx, fmt.Sprintf("%s, %s after its first start (restarts so far: %d)", why, s.t.probe.Timeout(), restarts), exitValues(code, sig))
		return false
	}
	return s.restart(ctx, why, exitValues(code, sig))
}

// restart records that the process exited unasked (why), waits the
// backoff and starts it again with the same argv, environment and port.
// It reports false when ctx ended or the new process could not start.
func (s *supervisor) restart(ctx context.Context, why string, values map[string]any) bool {
	// Whatever the process left in its group would hold its port.
	_ = syscall.Kill(-s.proc.pid, syscall.SIGKILL)
	if inst, ok := s.t.table.Update(s.in, upfactory.InstanceStarting, why+"; restarting"); ok {
		s.t.table.Emit(ctx, "instance.crashed", inst, fmt.Sprintf("process %d %s; restarting it in %s", s.proc.pid, why, s.backoff), values)
	}
	if !supervise.Sleep(ctx, s.backoff) {
		return false
	}
	s.backoff = min(2*s.backoff, maxBackoff)
	if ctx.Err() != nil {
		return false
	}
	p, err := spawn(s.in.argv, s.in.env, s.t.dir, s.in.Inst.LogPath, s.in.Inst.ID)
	if err != nil {
		s.fail(ctx, fmt.Sprintf("could not be restarted after it %s: %v", why, err), nil)
		return false
	}
	s.proc = p
	s.t.table.Lock()
	s.in.proc = p
	s.in.Inst.PID = p.pid
	s.in.Inst.Restarts++
	s.in.Inst.Reason = "restarted after it " + why
	inst := s.in.Inst
	s.t.table.Unlock()
	s.t.table.Emit(ctx, "instance.restarted", inst, fmt.Sprintf("restarted as process %d on %s (restart %d)", p.pid, s.addr, inst.Restarts), nil)
	return true
}

// fail marks the instance Failed, with the end of its log in the reason,
// and stops its process if it still runs.
func (s *supervisor) fail(ctx context.Context, reason string, values map[string]any) {
	s.t.table.Lock()
	logPath := s.in.Inst.LogPath
	s.t.table.Unlock()
	s.t.table.Fail(ctx, s.in, withLogTail(reason, logPath), values)
	if _, err := s.t.terminate(ctx, s.proc); err != nil {
		s.t.table.Log().Warn("stopping a failed instance", "instance", s.in.Inst.ID, "err", err)
		return
	}
	s.t.table.Lock()
	s.in.proc = nil
	s.t.table.Unlock()
}
