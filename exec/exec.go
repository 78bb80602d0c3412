// Package exec is the target that runs each instance of a version as a
// local process: it starts them, checks and restarts them, stops them, and
// re-adopts the processes a previous upfactory left running.
package exec

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"github.com/upfactory/upfactory/static"
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
	// adoptTries is how many readiness checks a recorded process gets
	// before Adopt gives up on it.
	adoptTries = 3
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
	probe       *static.Probe
	log         *slog.Logger
	event       func(upfactory.LogEntry)

	startMu sync.Mutex     // one Start at a time, so that indexes and ports are not handed out twice
	wg      sync.WaitGroup // supervision goroutines

	mu      sync.Mutex
	insts   map[string]*instance
	gone    map[string]bool // IDs stopped through Stop
	pending map[string]bool // IDs being started or adopted
	closed  bool
}

var _ upfactory.Target = (*Target)(nil)

// instance is the table entry of one instance. Fields are guarded by
// Target.mu; proc changes only in the supervision goroutine, or in Stop
// once supervision has ended.
type instance struct {
	inst  upfactory.Instance
	index int // .Index of its templates; -1 when unknown
	argv  []string
	env   []string
	proc  *process // nil when no process runs

	cancel   context.CancelFunc // ends supervision
	supDone  chan struct{}      // closed when supervision has ended
	stopping bool
	stopped  chan struct{} // closed when Stop is done with it
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
		name:    svc.Name,
		probe:   static.NewProbe(spec.Readiness),
		event:   opts.Event,
		insts:   make(map[string]*instance),
		gone:    make(map[string]bool),
		pending: make(map[string]bool),
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
	t.logDir = filepath.Join(dataDir, "logs", static.FileSafe(svc.Name))
	t.stopTimeout = spec.StopTimeout.D()
	if t.stopTimeout <= 0 {
		t.stopTimeout = upfactory.DefaultStopTimeout
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t.log = logger.With("component", "target.exec", "service", svc.Name)
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
			t.log.Warn("stopping an instance of a failed start", "instance", inst.ID, "err", err)
		}
	}
}

// launch starts one new instance of version and supervises it.
func (t *Target) launch(ctx context.Context, version string) (upfactory.Instance, error) {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return upfactory.Instance{}, t.closedError()
	}
	suffix, id := t.newIDLocked(version)
	index := t.freeIndexLocked(version)
	used := t.usedPortsLocked()
	t.pending[id] = true
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		delete(t.pending, id)
		t.mu.Unlock()
	}()

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
		inst: upfactory.Instance{
			ID:      id,
			Service: t.name,
			Version: version,
			Addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			State:   upfactory.InstanceStarting,
			LogPath: filepath.Join(t.logDir, static.FileSafe(version)+"-"+suffix+".log"),
		},
		index: index,
		argv:  argv,
		env:   env,
	}
	p, err := spawn(argv, env, t.dir, in.inst.LogPath, id)
	if err != nil {
		return upfactory.Instance{}, upfactory.Errorf(upfactory.EINVALID, "starting version %q of service %s: %v", version, t.name, err)
	}
	in.proc = p
	in.inst.PID = p.pid
	in.inst.StartedAt = p.started

	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		_, _ = t.terminate(ctx, p)
		return upfactory.Instance{}, t.closedError()
	}
	t.insertLocked(ctx, in, false)
	inst := in.inst
	t.mu.Unlock()
	t.emit(ctx, "instance.started", inst, fmt.Sprintf("started version %s as process %d on %s", version, p.pid, inst.Addr), nil)
	return inst, nil
}

// Stop stops instance id: SIGTERM to its process group, SIGKILL once the
// stop timeout has passed or ctx ends. Its exit is not a crash. Instances
// no longer lists it afterwards. ENOTFOUND for an unknown id; nil for one
// already stopped.
func (t *Target) Stop(ctx context.Context, id string) error {
	t.mu.Lock()
	in, ok := t.insts[id]
	if !ok {
		gone := t.gone[id]
		t.mu.Unlock()
		if gone {
			return nil
		}
		return upfactory.Errorf(upfactory.ENOTFOUND, "no instance %s of service %s", id, t.name)
	}
	if in.stopping {
		ch := in.stopped
		t.mu.Unlock()
		select {
		case <-ch:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	in.stopping = true
	was := in.inst.State
	t.mu.Unlock()

	in.cancel()
	<-in.supDone // prompt: supervision waits on nothing but ctx once canceled
	t.mu.Lock()
	p := in.proc
	t.mu.Unlock()
	if p != nil && p.done() {
		p = nil // it crashed and awaited its restart: nothing runs
	}

	reason := "stopped on request"
	var values map[string]any
	if p != nil {
		killed, err := t.terminate(ctx, p)
		if err != nil {
			t.mu.Lock()
			in.stopping = false
			close(in.stopped)
			in.stopped = make(chan struct{})
			t.mu.Unlock()
			return fmt.Errorf("stopping instance %s: %w", id, err)
		}
		if killed {
			reason = fmt.Sprintf("stopped on request; killed with SIGKILL as it had not exited %s after SIGTERM", t.stopTimeout)
		}
		if !p.adopted() {
			status, code, sig := p.exitStatus()
			reason += " (" + status + ")"
			values = exitValues(code, sig)
		}
	}
	t.mu.Lock()
	delete(t.insts, id)
	t.gone[id] = true
	in.proc = nil
	in.inst.State = upfactory.InstanceStopped
	in.inst.Reason = reason
	inst := in.inst
	close(in.stopped)
	t.mu.Unlock()
	if p != nil || (was != upfactory.InstanceStopped && was != upfactory.InstanceFailed) {
		t.emit(ctx, "instance.stopped", inst, reason, values)
	}
	return nil
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
	for _, rec := range insts {
		if rec.Service != "" && rec.Service != t.name {
			return upfactory.Errorf(upfactory.EINVALID, "instance %s belongs to service %s, not %s", rec.ID, rec.Service, t.name)
		}
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return t.closedError()
	}
	var todo []upfactory.Instance
	for _, rec := range insts {
		if rec.ID == "" || rec.State == upfactory.InstanceStopped || t.insts[rec.ID] != nil || t.gone[rec.ID] || t.pending[rec.ID] {
			continue
		}
		t.pending[rec.ID] = true
		todo = append(todo, rec)
	}
	t.mu.Unlock()
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, rec := range todo {
		wg.Go(func() {
			errs[i] = t.adopt(ctx, rec)
			t.mu.Lock()
			delete(t.pending, rec.ID)
			t.mu.Unlock()
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (t *Target) adopt(ctx context.Context, rec upfactory.Instance) error {
	rec.Service = t.name
	rec.Reason = ""
	in := &instance{inst: rec, index: -1}
	p, reason := t.examine(ctx, in)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("adopting instance %s: %w", rec.ID, err)
	}
	if p == nil {
		in.inst.State = upfactory.InstanceStopped
		in.inst.Reason = reason
		if t.insert(ctx, in) {
			t.emit(ctx, "instance.lost", in.inst, reason, nil)
		}
		return nil
	}
	in.proc = p
	in.inst.State = upfactory.InstanceReady
	if in.inst.LogPath == "" {
		in.inst.LogPath = filepath.Join(t.logDir, static.FileSafe(rec.Version)+"-"+randomHex(2)+".log")
	}
	if !t.insert(ctx, in) {
		return t.closedError()
	}
	t.emit(ctx, "instance.adopted", in.inst, fmt.Sprintf("process %d on %s is still running and answers its readiness check", p.pid, rec.Addr), nil)
	return nil
}

// examine decides whether the process recorded for in can be adopted. It
// returns it, with in's argv, env and index filled in from the running
// process; or nil and why not.
func (t *Target) examine(ctx context.Context, in *instance) (*process, string) {
	rec := in.inst
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
		port, _ := strconv.Atoi(portOf(rec.Addr))
		_, env, _ = t.render(templateData{Port: port, Version: rec.Version, Service: t.name, Index: max(in.index, 0)}, rec.ID)
	}
	in.argv, in.env = argv, env
	p := &process{pid: rec.PID, argv0: argv[0], id: rec.ID, started: time.Now()}
	var checkErr error
	for i := range adoptTries {
		if i > 0 && !sleep(ctx, t.probe.Interval()) {
			return nil, "adoption was canceled"
		}
		if checkErr = t.probe.Check(ctx, rec.Addr); checkErr == nil {
			return p, ""
		}
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
	port, _ := strconv.Atoi(portOf(rec.Addr))
	name, err := execute(t.command[0], templateData{Port: port, Version: rec.Version, Service: t.name, Index: index})
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
	t.mu.Lock()
	out := make([]upfactory.Instance, 0, len(t.insts))
	for _, in := range t.insts {
		out = append(out, in.inst)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b upfactory.Instance) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Close ends supervision and makes Start and Adopt fail. With stopAll it
// stops every instance, in parallel, as Stop does. Without, the processes
// keep running for the next upfactory to adopt; each child then keeps one
// goroutine of this process waiting for its exit, as nothing can cancel
// that wait. A later Close(ctx, true) stops what an earlier
// Close(ctx, false) left running.
func (t *Target) Close(ctx context.Context, stopAll bool) error {
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
				if err := t.Stop(ctx, id); err != nil {
					emu.Lock()
					errs = append(errs, err)
					emu.Unlock()
				}
			})
		}
		wg.Wait()
	}
	t.mu.Lock()
	for _, in := range t.insts {
		in.cancel()
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
		errs = append(errs, fmt.Errorf("closing the target of service %s: %w", t.name, ctx.Err()))
	}
	return errors.Join(errs...)
}

func (t *Target) closedError() error {
	return upfactory.Errorf(upfactory.EUNAVAILABLE, "the target of service %s is closed", t.name)
}

// insert adds in to the table and supervises it unless it is Stopped. It
// reports false when the target is closed or the ID is taken.
func (t *Target) insert(ctx context.Context, in *instance) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.insts[in.inst.ID] != nil || t.gone[in.inst.ID] {
		return false
	}
	t.insertLocked(ctx, in, in.inst.State == upfactory.InstanceReady)
	return true
}

func (t *Target) insertLocked(ctx context.Context, in *instance, ready bool) {
	t.insts[in.inst.ID] = in
	in.supDone = make(chan struct{})
	in.stopped = make(chan struct{})
	if in.inst.State == upfactory.InstanceStopped {
		in.cancel = func() {}
		close(in.supDone)
		return
	}
	// Supervision outlives the call that started it, and keeps its values.
	supCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	in.cancel = cancel
	t.wg.Add(1)
	go t.supervise(supCtx, in, in.proc, ready)
}

// newIDLocked returns an unused instance ID such as "checkout-2.0.0-3f9a"
// and its random suffix.
func (t *Target) newIDLocked(version string) (suffix, id string) {
	for {
		suffix = randomHex(2)
		id = static.FileSafe(t.name) + "-" + static.FileSafe(version) + "-" + suffix
		if t.insts[id] == nil && !t.gone[id] && !t.pending[id] {
			return suffix, id
		}
	}
}

// freeIndexLocked returns the smallest .Index no live instance of version
// has, so that a replacement gets the index of the instance it replaces.
func (t *Target) freeIndexLocked(version string) int {
	used := map[int]bool{}
	for _, in := range t.insts {
		switch in.inst.State {
		case upfactory.InstanceStopped, upfactory.InstanceFailed:
			continue
		}
		if in.inst.Version == version && in.index >= 0 {
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
	for _, in := range t.insts {
		if p, err := strconv.Atoi(portOf(in.inst.Addr)); err == nil {
			used[p] = true
		}
	}
	return used
}

func (t *Target) emit(ctx context.Context, action string, inst upfactory.Instance, reason string, extra map[string]any) {
	level := slog.LevelInfo
	switch action {
	case "instance.crashed", "instance.failed", "instance.unhealthy", "instance.lost":
		level = slog.LevelWarn
	}
	t.log.Log(ctx, level, reason, "action", action, "instance", inst.ID, "version", inst.Version, "pid", inst.PID, "addr", inst.Addr)
	if t.event == nil {
		return
	}
	values := map[string]any{"version": inst.Version}
	if inst.PID > 0 {
		values["pid"] = inst.PID
	}
	if p, err := strconv.Atoi(portOf(inst.Addr)); err == nil {
		values["port"] = p
	}
	if inst.Restarts > 0 {
		values["restarts"] = inst.Restarts
	}
	maps.Copy(values, extra)
	t.event(upfactory.LogEntry{
		Time:    time.Now(),
		Actor:   upfactory.ActorSystem,
		Action:  action,
		Service: t.name,
		Subject: inst.ID,
		Reason:  reason,
		Values:  values,
	})
}

func exitValues(code int, signal string) map[string]any {
	v := map[string]any{"exit_code": code}
	if signal != "" {
		v["signal"] = signal
	}
	return v
}

func portOf(addr string) string {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return p
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails on supported platforms
	return hex.EncodeToString(b)
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
