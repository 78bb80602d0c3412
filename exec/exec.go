// Package exec is the target that runs each instance of a version as a
// local process: it starts them, checks and restarts them, stops them, and
// re-adopts the processes a previous upfactory left running.
package exec

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/supervise"
)

// Options configure an exec target.
type Options struct {
	// DataDir holds the instance logs, at
	// DataDir/logs/<service>/<version>-<suffix>.log where the instance ID
	// is <service>-<version>-<suffix>. Default upfactory.DefaultDataDir.
	DataDir string
	Logger  *slog.Logger
	// Event receives one entry per thing worth recording in the operation
	// log: an instance started, became ready, crashed, was restarted,
	// failed readiness, turned unhealthy, was stopped, adopted or lost.
	// It is called from supervision goroutines and must not block long.
	Event func(upfactory.LogEntry)
}

const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 5 * time.Second
	// backoffReset: a process that ran this long before it crashed was
	// fine for a while; its restart waits minBackoff again.
	backoffReset = 30 * time.Second
	// adoptedPoll is how often an adopted process, which is not our child
	// and so cannot be waited for, is checked for life and health.
	adoptedPoll = 500 * time.Millisecond
)

// Target is the exec target of one service.
//
// Instances lists every instance until it is stopped through Stop:
// Starting, Ready, Unhealthy and Failed ones, and the Stopped ones Adopt
// found dead. Stop removes an instance from the list; stopping it again
// does nothing.
type Target struct {
	name        string
	dir         string // working directory of instances, absolute
	logDir      string // DataDir/logs/<service>
	command     []*template.Template
	env         []envTemplate
	allowed     []string // sorted allow-list of versions; empty: any
	stopTimeout time.Duration
	probe       *supervise.Probe
	table       *supervise.Table[*instance]
	procRoot    string // where Usage finds proc(5); "" for /proc

	startMu sync.Mutex // one Start at a time, so that indexes and ports are not handed out twice
}

var _ upfactory.Target = (*Target)(nil)

// instance is the table entry of one instance. Fields are guarded by the
// table's lock; proc changes only in the supervision goroutine, or in Stop
// once supervision has ended.
type instance struct {
	supervise.Entry
	index int // .Index of its templates; -1 when unknown
	argv  []string
	env   []string
	proc  *process // nil when no process runs
}

// New returns the exec target of svc. EINVALID when svc has no command or
// a template does not parse.
func New(svc *upfactory.Service, opts Options) (*Target, error) {
	if svc == nil {
		return nil, upfactory.Errorf(upfactory.EINVALID, "exec target: no service")
	}
	spec := svc.Target
	if len(spec.Command) == 0 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "service %s: an exec target needs a command", svc.Name)
	}
	t := &Target{
		name:  svc.Name,
		probe: supervise.NewProbe(spec.Readiness),
	}
	for i, text := range spec.Command {
		tmpl, err := parseTemplate(fmt.Sprintf("command[%d]", i), text)
		if err != nil {
			return nil, commandError(svc.Name, i, text, err)
		}
		t.command = append(t.command, tmpl)
	}
	for _, k := range slices.Sorted(maps.Keys(spec.Env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return nil, upfactory.Errorf(upfactory.EINVALID, "service %s: target env: invalid variable name %q", svc.Name, k)
		}
		tmpl, err := parseTemplate("env "+k, spec.Env[k])
		if err != nil {
			return nil, upfactory.Errorf(upfactory.EINVALID, "service %s: target env %s: %v", svc.Name, k, err)
		}
		t.env = append(t.env, envTemplate{key: k, tmpl: tmpl})
	}
	t.allowed = slices.Sorted(maps.Keys(spec.Versions))
	dir := spec.Dir
	if dir == "" {
		dir = "."
	}
	var err error
	if t.dir, err = filepath.Abs(dir); err != nil {
		return nil, fmt.Errorf("service %s: resolving the working directory: %w", svc.Name, err)
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		dataDir = upfactory.DefaultDataDir
	}
	if dataDir, err = filepath.Abs(dataDir); err != nil {
		return nil, fmt.Errorf("service %s: resolving the data directory: %w", svc.Name, err)
	}
	t.logDir = filepath.Join(dataDir, "logs", supervise.FileSafe(svc.Name))
	t.stopTimeout = spec.StopTimeout.D()
	if t.stopTimeout <= 0 {
		t.stopTimeout = upfactory.DefaultStopTimeout
	}
	t.table = supervise.NewTable[*instance](supervise.Options{
		Service:   svc.Name,
		Component: "target.exec",
		Probe:     t.probe,
		Logger:    opts.Logger,
		Event:     opts.Event,
	})
	return t, nil
}

// Start launches n processes of version, each on a free loopback port,
// and returns them Starting; they become Ready, or Failed at the readiness
// deadline, in the background. EINVALID for a version outside the
// allow-list, a template that does not render, or a program that does not
// exist; EUNAVAILABLE after Close. When one of the n cannot start, those
// already started are stopped.
func (t *Target) Start(ctx context.Context, version string, n int) ([]upfactory.Instance, error) {
	if n < 1 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "starting version %q of service %s: want at least 1 instance, got %d", version, t.name, n)
	}
	if err := t.checkVersion(version); err != nil {
		return nil, err
	}
	t.startMu.Lock()
	defer t.startMu.Unlock()
	var out []upfactory.Instance
	for range n {
		if err := ctx.Err(); err != nil {
			t.stopAll(ctx, out)
			return nil, err
		}
		inst, err := t.launch(ctx, version)
		if err != nil {
			t.stopAll(ctx, out)
			return nil, err
		}
		out = append(out, inst)
	}
	return out, nil
}

// stopAll stops insts after a Start that failed half-way.
func (t *Target) stopAll(ctx context.Context, insts []upfactory.Instance) {
	for _, inst := range insts {
		if err := t.Stop(context.WithoutCancel(ctx), inst.ID); err != nil {
			t.table.Log().Warn("stopping an instance of a failed start", "instance", inst.ID, "err", err)
		}
	}
}

// launch starts one new instance of version and supervises it.
func (t *Target) launch(ctx context.Context, version string) (upfactory.Instance, error) {
	t.table.Lock()
	if t.table.ClosedLocked() {
		t.table.Unlock()
		return upfactory.Instance{}, t.table.ErrClosed()
	}
	id, suffix := t.table.NewIDLocked(version)
	index := t.freeIndexLocked(version)
	used := t.usedPortsLocked()
	t.table.ReserveLocked(id)
	t.table.Unlock()
	defer t.table.Release(id)

	port, err := freePort(used)
	if err != nil {
		return upfactory.Instance{}, fmt.Errorf("starting version %q of service %s: %w", version, t.name, err)
	}
	data := templateData{Port: port, Version: version, Service: t.name, Index: index}
	argv, env, err := t.render(data, id)
	if err != nil {
		return upfactory.Instance{}, err
	}
	if argv[0], err = t.resolve(argv[0], version); err != nil {
		return upfactory.Instance{}, err
	}
	in := &instance{
		Entry: supervise.Entry{Inst: upfactory.Instance{
			ID:      id,
			Service: t.name,
			Version: version,
			Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			State:   upfactory.InstanceStarting,
			LogPath: filepath.Join(t.logDir, supervise.FileSafe(version)+"-"+suffix+".log"),
		}},
		index: index,
		argv:  argv,
		env:   env,
	}
	p, err := spawn(argv, env, t.dir, in.Inst.LogPath, id)
	if err != nil {
		return upfactory.Instance{}, upfactory.Errorf(upfactory.EINVALID, "starting version %q of service %s: %v", version, t.name, err)
	}
	in.proc = p
	in.Inst.PID = p.pid
	in.Inst.StartedAt = p.started

	t.table.Lock()
	if t.table.ClosedLocked() {
		t.table.Unlock()
		_, _ = t.terminate(ctx, p)
		return upfactory.Instance{}, t.table.ErrClosed()
	}
	t.table.InsertLocked(ctx, in, t.supervision(in, p, false))
	inst := in.Inst
	t.table.Unlock()
	t.table.Emit(ctx, "instance.started", inst, fmt.Sprintf("started version %s as process %d on %s", version, p.pid, inst.Addr), nil)
	return inst, nil
}

// Stop stops instance id: SIGTERM to its process group, SIGKILL once the
// stop timeout has passed or ctx ends. Its exit is not a crash. Instances
// no longer lists it afterwards. ENOTFOUND for an unknown id; nil for one
// already stopped.
func (t *Target) Stop(ctx context.Context, id string) error {
	return t.table.Stop(ctx, id, t.halt)
}

// halt stops the process of in, once its supervision has ended. was is
// in when Stop began.
func (t *Target) halt(ctx context.Context, in *instance, was upfactory.Instance) (supervise.Halted, error) {
	t.table.Lock()
	p := in.proc
	t.table.Unlock()
	if p != nil && p.done() {
		p = nil // it crashed and awaited its restart: nothing runs
	}

	h := supervise.Halted{Reason: "stopped on request"}
	if p != nil {
		killed, err := t.terminate(ctx, p)
		if err != nil {
			return h, fmt.Errorf("stopping instance %s: %w", was.ID, err)
		}
		if killed {
			h.Reason = fmt.Sprintf("stopped on request; killed with SIGKILL as it had not exited %s after SIGTERM", t.stopTimeout)
		}
		if !p.adopted() {
			status, code, sig := p.exitStatus()
			h.Reason += " (" + status + ")"
			h.Values = exitValues(code, sig)
		}
	}
	t.table.Lock()
	in.proc = nil
	t.table.Unlock()
	if p != nil || (was.State != upfactory.InstanceStopped && was.State != upfactory.InstanceFailed) {
		h.Event = h.Reason
	}
	return h, nil
}

// terminate stops p: SIGTERM to its group, then SIGKILL after the stop
// timeout or when ctx ends. killed reports whether SIGKILL was needed. An
// adopted process is signaled only while it is still the one recorded.
func (t *Target) terminate(ctx context.Context, p *process) (killed bool, err error) {
	if p.done() {
		return false, nil
	}
	if p.adopted() {
		if ok, _ := identify(p.pid, p.argv0, p.id); !ok {
			return false, nil
		}
	}
	signalGroup(p.pid, syscall.SIGTERM)
	tctx, cancel := context.WithTimeout(ctx, t.stopTimeout)
	exited := p.wait(tctx)
	cancel()
	if exited {
		return false, nil
	}
	signalGroup(p.pid, syscall.SIGKILL)
	kctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), killWait)
	defer cancel()
	if p.wait(kctx) {
		return true, nil
	}
	return true, fmt.Errorf("process %d did not exit %s after SIGKILL", p.pid, killWait)
}

// Adopt takes over the instances recorded before a restart. A recorded
// process that is alive, is still the one upfactory started (its program
// and its UPFACTORY_INSTANCE match: PIDs get reused) and answers its
// readiness check is kept, Ready, with its ID, PID, address and restart
// count, and supervised again (event "instance.adopted"). Any other is
// reported Stopped (event "instance.lost") so that the engine starts a
// replacement; a live one of ours that does not answer is stopped first.
// Instances already known, and recorded ones that were Stopped, are
// skipped. EINVALID for an instance of another service; EUNAVAILABLE
// after Close.
func (t *Target) Adopt(ctx context.Context, insts []upfactory.Instance) error {
	if t.table.Closed() {
		return t.table.ErrClosed()
	}
	todo, err := t.table.Claim(insts)
	if err != nil {
		return err
	}
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, rec := range todo {
		wg.Go(func() {
			errs[i] = t.adopt(ctx, rec)
			t.table.Release(rec.ID)
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (t *Target) adopt(ctx context.Context, rec upfactory.Instance) error {
	in := &instance{Entry: supervise.Entry{Inst: rec}, index: -1}
	p, reason := t.examine(ctx, in)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("adopting instance %s: %w", rec.ID, err)
	}
	if p == nil {
		in.Inst.State = upfactory.InstanceStopped
		in.Inst.Reason = reason
		if t.table.Insert(ctx, in, nil) {
			t.table.Emit(ctx, "instance.lost", in.Inst, reason, nil)
		}
		return nil
	}
	in.proc = p
	in.Inst.State = upfactory.InstanceReady
	if in.Inst.LogPath == "" {
		in.Inst.LogPath = filepath.Join(t.logDir, supervise.FileSafe(rec.Version)+"-"+supervise.NewSuffix()+".log")
	}
	if !t.table.Insert(ctx, in, t.supervision(in, p, true)) {
		return t.table.ErrClosed()
	}
	t.table.Emit(ctx, "instance.adopted", in.Inst, fmt.Sprintf("process %d on %s is still running and answers its readiness check", p.pid, rec.Addr), nil)
	return nil
}

// examine decides whether the process recorded for in can be adopted. It
// returns it, with in's argv, env and index filled in from the running
// process; or nil and why not.
func (t *Target) examine(ctx context.Context, in *instance) (*process, string) {
	rec := in.Inst
	if rec.PID <= 0 {
		return nil, "no process was recorded for it"
	}
	if !alive(rec.PID) {
		return nil, fmt.Sprintf("process %d is gone", rec.PID)
	}
	argv, err := procList(rec.PID, "cmdline")
	if err != nil {
		return nil, fmt.Sprintf("process %d cannot be identified: %v", rec.PID, err)
	}
	env, envErr := procList(rec.PID, "environ")
	if envErr == nil {
		if s, ok := lookupEnv(env, EnvIndex); ok {
			if i, err := strconv.Atoi(s); err == nil {
				in.index = i
			}
		}
	}
	want := t.expectedProgram(rec, max(in.index, 0))
	if want == "" {
		want = argv[0]
	}
	if ok, why := identify(rec.PID, want, rec.ID); !ok {
		return nil, why
	}
	if envErr != nil {
		// Not readable: a restart renders the environment from the config.
		_, env, _ = t.render(templateData{Port: supervise.Port(rec.Addr), Version: rec.Version, Service: t.name, Index: max(in.index, 0)}, rec.ID)
	}
	in.argv, in.env = argv, env
	p := &process{pid: rec.PID, argv0: argv[0], id: rec.ID, started: time.Now()}
	checkErr := t.probe.CheckTries(ctx, rec.Addr, supervise.AdoptTries)
	if checkErr == nil {
		return p, ""
	}
	if ctx.Err() != nil {
		return nil, "adoption was canceled"
	}
	reason := fmt.Sprintf("process %d is running but does not answer its readiness check (%v)", rec.PID, checkErr)
	if _, err := t.terminate(ctx, p); err != nil {
		return nil, reason + "; stopping it failed: " + err.Error()
	}
	return nil, reason + "; stopped it"
}

// expectedProgram is the program path a process of rec should run, or ""
// when it cannot be told.
func (t *Target) expectedProgram(rec upfactory.Instance, index int) string {
	name, err := execute(t.command[0], templateData{Port: supervise.Port(rec.Addr), Version: rec.Version, Service: t.name, Index: index})
	if err != nil {
		return ""
	}
	p, err := t.programPath(name)
	if err != nil {
		return ""
	}
	return p
}

// Instances returns a copy of every instance not stopped through Stop,
// oldest first.
func (t *Target) Instances(ctx context.Context) ([]upfactory.Instance, error) {
	return t.table.Instances(), nil
}

// Close ends supervision and makes Start and Adopt fail. With stopAll it
// stops every instance, in parallel, as Stop does. Without, the processes
// keep running for the next upfactory to adopt; each child then keeps one
// goroutine of this process waiting for its exit, as nothing can cancel
// that wait. A later Close(ctx, true) stops what an earlier
// Close(ctx, false) left running.
func (t *Target) Close(ctx context.Context, stopAll bool) error {
	return t.table.Close(ctx, stopAll, t.halt)
}

// freeIndexLocked returns the smallest .Index no live instance of version
// has, so that a replacement gets the index of the instance it replaces.
func (t *Target) freeIndexLocked(version string) int {
	used := map[int]bool{}
	for in := range t.table.AllLocked() {
		switch in.Inst.State {
		case upfactory.InstanceStopped, upfactory.InstanceFailed:
			continue
		}
		if in.Inst.Version == version && in.index >= 0 {
			used[in.index] = true
		}
	}
	i := 0
	for used[i] {
		i++
	}
	return i
}

func (t *Target) usedPortsLocked() map[int]bool {
	used := map[int]bool{}
	for in := range t.table.AllLocked() {
		if p := supervise.Port(in.Inst.Addr); p > 0 {
			used[p] = true
		}
	}
	return used
}

func exitValues(code int, signal string) map[string]any {
	v := map[string]any{"exit_code": code}
	if signal != "" {
		v["signal"] = signal
	}
	return v
}
