// Package engine is the only orchestrator: it loads each service's state,
// asks the pure rollout machine what to do, persists the decision with its
// log entries, and only then acts through the Target and Router ports.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/measure"
	"github.com/upfactory/upfactory/promsource"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/rollout"
)

// Runtime is one service with the adapters that run it.
type Runtime struct {
	Service *upfactory.Service
	Target  upfactory.Target
	Router  upfactory.Router
	Metrics upfactory.MetricSource
	// Samples, when the router keeps them, lets checks be judged on every
	// request since their analysis step began, and per route.
	Samples upfactory.SampleSource
	// Prometheus runs the queries of prometheus checks; nil without one.
	Prometheus *promsource.Source
	// Flags keeps the feature flags of flag steps; nil without any.
	Flags upfactory.FlagStore
}

// Options tune an Engine. Zero values take defaults.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time // the clock; tests may pass a fake
	Tick   time.Duration    // how often every rollout is re-evaluated
	// ValidVersion checks the form of a version name before anything starts.
	ValidVersion func(string) error
	// Hold, when set, says why a running rollout of service must not take
	// more traffic now (a freeze); "" when nothing holds it.
	Hold func(ctx context.Context, service string, now time.Time) string
	// LeaseLost, when set, is told when a write failed because the
	// store is fenced by a lease another server took (ErrLeaseLost): the
	// engine stops ticking at once, since every decision after would be
	// thrown away, and the caller hands over.
	LeaseLost func(error)
}

// Engine drives the rollouts of a set of services.
type Engine struct {
	store    upfactory.Store
	opts     Options
	logger   *slog.Logger
	services map[string]*service
	names    []string

	ctx    context.Context // lives from Open to Close, for background work
	cancel context.CancelFunc
	loops  sync.WaitGroup
	// loopsMu orders Run's start of the loops with Close's wait for them:
	// a Run that comes after Close starts nothing.
	loopsMu sync.Mutex
	closed  bool
	// pending holds entries Record could not append yet.
	pendingMu sync.Mutex
	pending   []upfactory.LogEntry
	lostOnce  sync.Once
}

type service struct {
	Runtime
	mu sync.Mutex
	st *upfactory.ServiceState // last saved state; only replaced after a successful save

	meter *measure.Meter
	// mirrorBase is the mirror report when the mirror step mirrorStep
	// (rollout ID/step index) began.
	mirrorBase upfactory.MirrorReport
	mirrorStep string
	mirroring  bool            // the router copies traffic to the canary
	stopping   map[string]bool // instances being drained and stopped
	stops      sync.WaitGroup
	lastPools  []upfactory.Pool
	startErr   map[string]string    // version → why its instances could not start
	startErrAt map[string]time.Time // when that start failed
	health     upfactory.Health     // as of the last reconcile
	// lastFailure is why a version's latest instance failed, until one of
	// its instances is ready: a replacement that is starting does not make
	// a version that keeps failing look healthy.
	lastFailure map[string]string
	// usage holds the instances' CPU and memory readings of the last
	// usageKeep, taken at usageAt and once per analysis interval since.
	usage   []upfactory.InstanceUsage
	usageAt time.Time
	// flags are the percents last written to the flag store; flagErr the
	// last failure to write them, logged once.
	flags   map[string]int
	flagErr string
}

// New returns an engine for runtimes. Call Open before anything else.
func New(store upfactory.Store, runtimes []Runtime, opts Options) *Engine {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = upfactory.DefaultTickInterval
	}
	e := &Engine{store: store, opts: opts, logger: opts.Logger.With("component", "engine"), services: map[string]*service{}}
	for _, rt := range runtimes {
		env := measure.Env{Service: rt.Service, Traffic: rt.Metrics, Samples: rt.Samples, Prometheus: rt.Prometheus}
		if u, ok := rt.Target.(upfactory.UsageReporter); ok {
			env.Usage = u
		}
		e.services[rt.Service.Name] = &service{
			Runtime:     rt,
			meter:       measure.New(env),
			stopping:    map[string]bool{},
			startErr:    map[string]string{},
			startErrAt:  map[string]time.Time{},
			lastFailure: map[string]string{},
		}
		e.names = append(e.names, rt.Service.Name)
	}
	return e
}

// Open loads or creates each service's state, re-adopts the instances a
// previous run started, and restores the router's weights, so that a
// restarted server resumes every rollout at the step it had reached.
func (e *Engine) Open(ctx context.Context) error {
	e.ctx, e.cancel = context.WithCancel(ctx)
	for _, name := range e.names {
		s := e.services[name]
		st, err := e.store.State(ctx, name)
		switch {
		case upfactory.ErrorCode(err) == upfactory.ENOTFOUND:
			st = rollout.InitialState(s.Service)
			entries := []upfactory.LogEntry{{Time: e.opts.Now(), Actor: upfactory.ActorSystem, Action: "service.register",
				Service: name, Subject: st.StableVersion, Reason: "first start: " + st.StableVersion + " is the stable version"}}
			if err := e.store.Save(ctx, st, entries); err != nil {
				return fmt.Errorf("registering service %s: %w", name, err)
			}
		case err != nil:
			return fmt.Errorf("loading state of service %s: %w", name, err)
		default:
			if len(st.Instances) > 0 {
				if err := s.Target.Adopt(ctx, st.Instances); err != nil {
					return fmt.Errorf("re-adopting instances of %s: %w", name, err)
				}
			}
			if st.Rollout != nil && !st.Rollout.Phase.Done() {
				s.meter.Restore(st.Rollout.Samples) // the step's judged samples so far
				err := e.record(upfactory.LogEntry{Actor: upfactory.ActorSystem, Action: "rollout.resume-after-restart", Service: name,
					Subject: st.Rollout.CanaryVersion, Reason: fmt.Sprintf("server restarted: resuming at step %d, canary weight %d%%", st.Rollout.StepIndex, st.Rollout.CanaryWeight),
					Values: map[string]any{"rollout": st.Rollout.ID, "step_index": st.Rollout.StepIndex, "canary_weight": st.Rollout.CanaryWeight}})
				if err != nil {
					return err
				}
			}
		}
		s.st = st
		s.mu.Lock()
		err = e.reconcile(ctx, s)
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// Run ticks every service until ctx is done or Close is called.
func (e *Engine) Run(ctx context.Context) {
	e.loopsMu.Lock()
	if e.closed {
		e.loopsMu.Unlock()
		return
	}
	e.loops.Add(len(e.names))
	e.loopsMu.Unlock()
	for _, name := range e.names {
		s := e.services[name]
		go func() {
			defer e.loops.Done()
			t := time.NewTicker(e.opts.Tick)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-e.ctx.Done():
					return
				case <-t.C:
					err := e.tick(e.ctx, s)
					switch {
					case err == nil || e.ctx.Err() != nil:
					case errors.Is(err, upfactory.ErrLeaseLost):
						return // fenced: see lostLease
					default:
						e.logger.Error("tick failed", "service", s.Service.Name, "err", err)
					}
				}
			}
		}()
	}
	select {
	case <-ctx.Done():
	case <-e.ctx.Done():
	}
	e.loops.Wait()
}

// lostLease stops the engine when err says its store is fenced by a
// lease another server took: every decision after would be thrown away.
func (e *Engine) lostLease(err error) {
	if !errors.Is(err, upfactory.ErrLeaseLost) {
		return
	}
	e.lostOnce.Do(func() {
		e.logger.Error("stopping: this server's lease was taken, and with it the right to write", "err", err)
		if e.cancel != nil {
			e.cancel()
		}
		if e.opts.LeaseLost != nil {
			e.opts.LeaseLost(err)
		}
	})
}

// Close stops the loops and waits for drains in progress. With
// stopInstances the targets stop every instance they run; without, the
// instances keep serving for the next start to adopt.
func (e *Engine) Close(ctx context.Context, stopInstances bool) error {
	if e.cancel != nil {
		e.cancel()
	}
	e.loopsMu.Lock()
	e.closed = true
	e.loopsMu.Unlock()
	e.loops.Wait()
	var errs []error
	for _, name := range e.names {
		s := e.services[name]
		s.stops.Wait()
		if err := s.Target.Close(ctx, stopInstances); err != nil {
			errs = append(errs, fmt.Errorf("closing target of %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Record appends an entry that changes no state, such as an instance
// restart a target reports. Safe from any goroutine. The event already
// happened, so an entry that cannot be appended is kept and appended
// before the engine's next decision; until it is, no rollout moves and no
// command is carried out: nothing happens that the log does not hold.
func (e *Engine) Record(entry upfactory.LogEntry) error {
	if entry.Time.IsZero() {
		entry.Time = e.opts.Now()
	}
	e.pendingMu.Lock()
	defer e.pendingMu.Unlock()
	e.pending = append(e.pending, entry)
	return e.flushLocked()
}

// flush appends the entries Record could not append yet.
func (e *Engine) flush() error {
	e.pendingMu.Lock()
	defer e.pendingMu.Unlock()
	return e.flushLocked()
}

func (e *Engine) flushLocked() error {
	if len(e.pending) == 0 {
		return nil
	}
	if err := e.record(e.pending...); err != nil {
		return err
	}
	e.pending = nil
	return nil
}

// record appends entries that go with no state change. Its error is the
// caller's to return: an action whose entry is not in the log must not go on.
func (e *Engine) record(entries ...upfactory.LogEntry) error {
	for i := range entries {
		if entries[i].Time.IsZero() {
			entries[i].Time = e.opts.Now()
		}
	}
	ctx := e.ctx
	if ctx == nil {
		return upfactory.Errorf(upfactory.EINTERNAL, "log entry %s before the engine was opened", entries[0].Action)
	}
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx) // entries from shutting down still count
	}
	if err := e.store.AppendLog(ctx, entries); err != nil {
		e.lostLease(err)
		return fmt.Errorf("appending %s to the operation log: %w", entries[0].Action, err)
	}
	return nil
}

func (e *Engine) service(name string) (*service, error) {
	s, ok := e.services[name]
	if !ok {
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "unknown service %q (known: %v)", name, e.names)
	}
	return s, nil
}

// Services lists the services' names in config order.
func (e *Engine) Services() []string { return slices.Clone(e.names) }

// clone deep-copies a state so decisions can be thrown away if the save fails.
func clone(st *upfactory.ServiceState) *upfactory.ServiceState {
	b, err := json.Marshal(st)
	if err != nil {
		panic(fmt.Sprintf("cloning state of %s: %v", st.Service, err))
	}
	var c upfactory.ServiceState
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("cloning state of %s: %v", st.Service, err))
	}
	return &c
}

func same(a, b *upfactory.ServiceState) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// commit saves next with entries if anything changed and makes it current.
func (e *Engine) commit(ctx context.Context, s *service, next *upfactory.ServiceState, entries []upfactory.LogEntry) error {
	if len(entries) == 0 && same(s.st, next) {
		return nil
	}
	if err := e.store.Save(ctx, next, entries); err != nil {
		e.lostLease(err)
		return fmt.Errorf("saving state of %s: %w", s.Service.Name, err)
	}
	s.st = next
	for _, en := range entries {
		e.logger.Info(en.Reason, "service", en.Service, "action", en.Action, "actor", en.Actor, "seq", en.Seq)
	}
	return nil
}

// tick observes, decides, persists, then acts. Measuring may wait on
// Prometheus, a probe or a command, so it runs without the service's lock:
// commands are not held up by a slow provider.
func (e *Engine) tick(ctx context.Context, s *service) error {
	if err := e.flush(); err != nil {
		return err
	}
	s.mu.Lock()
	rid := ""
	if s.st.Rollout != nil {
		rid = s.st.Rollout.ID
	}
	plan, last, err := e.planLooks(ctx, s, e.opts.Now())
	s.mu.Unlock()
	if err != nil {
		return err
	}
	measured := e.measure(ctx, s, plan)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := e.opts.Now()
	next := clone(s.st)
	obs, err := e.observe(ctx, s, next, now)
	if err != nil {
		return err
	}
	if r := next.Rollout; r != nil && !r.Phase.Done() && r.ID == rid {
		r.LastLook = last // saved with the state: a restart keeps the schedule
		if plan != nil && r.ID == plan.rollout && r.StepStartedAt.Equal(plan.stepStarted) {
			obs.Measurements = measured
			r.Samples = s.meter.Samples(r.StepStartedAt) // and the samples
		}
	}
	entries := rollout.Tick(s.Service, next, obs)
	entries = append(entries, rollout.Expire(next, now)...)
	if err := e.commit(ctx, s, next, entries); err != nil {
		return err
	}
	return e.reconcile(ctx, s)
}

func (e *Engine) want(s *service, version string) int {
	return provider.Want(s.Service, s.Target, version)
}

// count is how many instances of version d asks for: its count during a
// rolling update, else its full set.
func (e *Engine) count(s *service, d rollout.Desired, version string) int {
	if n, ok := d.Count[version]; ok {
		return n
	}
	return e.want(s, version)
}

// lookPlan is what one tick measures.
type lookPlan struct {
	rollout     string
	stepStarted time.Time
	pools       measure.Pools
	looks       map[int]*measure.Look // check index → look; nil for a limit check
	now         time.Time
}

// planLooks decides, once per analysis interval while the canary takes
// traffic, which checks to measure. The first measurement comes a full
// interval after the canary began to take traffic, or after its step began.
func (e *Engine) planLooks(ctx context.Context, s *service, now time.Time) (p *lookPlan, last time.Time, err error) {
	r := s.st.Rollout
	if r == nil {
		return nil, time.Time{}, nil
	}
	due, last := rollout.LookDue(s.Service, r, r.LastLook, now)
	if !due {
		return nil, last, nil
	}
	insts, err := s.Target.Instances(ctx)
	if err != nil {
		return nil, last, fmt.Errorf("listing instances of %s: %w", s.Service.Name, err)
	}
	p = &lookPlan{rollout: r.ID, stepStarted: r.StepStartedAt, now: now, looks: map[int]*measure.Look{},
		pools: measure.Pools{Canary: r.CanaryVersion, Stable: r.StableVersion}}
	for _, in := range insts {
		if in.State != upfactory.InstanceReady || s.stopping[in.ID] {
			continue
		}
		switch in.Version {
		case r.CanaryVersion:
			p.pools.CanaryAddrs = append(p.pools.CanaryAddrs, in.Addr)
		case r.StableVersion:
			p.pools.StableAddrs = append(p.pools.StableAddrs, in.Addr)
		}
	}
	for i, c := range s.Service.Analysis.Checks {
		if !c.Judged() {
			if r.CanaryWeight > 0 {
				p.looks[i] = nil
			}
			continue
		}
		if index, planned, alpha, ok := rollout.JudgedLook(s.Service, r, i); ok {
			p.looks[i] = &measure.Look{Since: r.StepStartedAt, Index: index, Planned: planned, Alpha: alpha}
		}
	}
	if len(p.looks) == 0 {
		return nil, last, nil
	}
	return p, last, nil
}

// measure takes the planned measurements, every check at once, within the
// interval (or the Prometheus timeout, when longer).
func (e *Engine) measure(ctx context.Context, s *service, p *lookPlan) map[int]upfactory.Measurement {
	if p == nil {
		return nil
	}
	budget := max(s.Service.Analysis.Interval.D(), time.Second)
	if pr := s.Prometheus; pr != nil {
		budget = max(budget, pr.Timeout()+time.Second)
	}
	mctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	out := make(map[int]upfactory.Measurement, len(p.looks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, look := range p.looks {
		wg.Go(func() {
			m := s.meter.Measure(mctx, i, p.pools, look, p.now)
			mu.Lock()
			out[i] = m
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// observe gathers what the rollout machine needs besides measurements:
// canary readiness, and what mirroring measured during a mirror step.
func (e *Engine) observe(ctx context.Context, s *service, st *upfactory.ServiceState, now time.Time) (rollout.Observation, error) {
	obs := rollout.Observation{Now: now}
	r := st.Rollout
	e.sampleUsage(ctx, s, now)
	if rollout.Verifying(st) && now.Sub(r.Verification.At) >= s.Service.Analysis.Interval.D() {
		obs.Verified = e.figures(s, st.StableVersion, r.FinishedAt, now)
	}
	if r == nil || r.Phase.Done() {
		return obs, nil
	}
	if e.opts.Hold != nil {
		obs.Hold = e.opts.Hold(ctx, s.Service.Name, now)
	}
	insts, err := s.Target.Instances(ctx)
	if err != nil {
		return obs, fmt.Errorf("listing instances of %s: %w", s.Service.Name, err)
	}
	var live []upfactory.Instance
	for _, in := range insts {
		if !s.stopping[in.ID] {
			live = append(live, in)
		}
	}
	need := e.count(s, rollout.DesiredFor(s.Service, st, now), r.CanaryVersion)
	obs.CanaryReady, obs.CanaryFailed = rollout.Readiness(live, r.CanaryVersion, need, s.startErr[r.CanaryVersion])
	if _, ok := rollout.MirrorStep(s.Service, st); ok {
		if m, ok := s.Router.(upfactory.Mirrorer); ok {
			rep := m.MirrorReport(r.CanaryVersion)
			if key := fmt.Sprintf("%s/%d", r.ID, r.StepIndex); s.mirrorStep != key {
				s.mirrorBase, s.mirrorStep = rep, key
			}
			rep = mirroredSince(rep, s.mirrorBase)
			obs.Mirror = &rep
		}
	}
	return obs, nil
}

// mirroredSince subtracts the counts of base from rep: a version mirrored
// to before carries its earlier counts.
func mirroredSince(rep, base upfactory.MirrorReport) upfactory.MirrorReport {
	rep.Mirrored -= base.Mirrored
	rep.Compared -= base.Compared
	rep.Errors -= base.Errors
	rep.Dropped -= base.Dropped
	rep.Mismatches -= base.Mismatches
	rep.Worse -= base.Worse
	return rep
}

// reconcileMirror copies traffic to the canary's ready instances while the
// rollout is at a mirror step, and stops copying otherwise.
func (e *Engine) reconcileMirror(ctx context.Context, s *service, insts []upfactory.Instance) error {
	m, ok := s.Router.(upfactory.Mirrorer)
	if !ok {
		return nil
	}
	spec, on := rollout.MirrorStep(s.Service, s.st)
	var addrs []string
	if on {
		for _, in := range insts {
			if in.Version == s.st.Rollout.CanaryVersion && in.State == upfactory.InstanceReady {
				addrs = append(addrs, in.Addr)
			}
		}
	}
	if len(addrs) == 0 {
		if !s.mirroring {
			return nil
		}
		s.mirroring = false
		return m.Mirror(ctx, "", nil, upfactory.MirrorSpec{})
	}
	r := s.st.Rollout
	if key := fmt.Sprintf("%s/%d", r.ID, r.StepIndex); s.mirrorStep != key {
		// Counts from before this step (an earlier rollout of the same
		// version) are not this step's: remember them to subtract.
		s.mirrorBase, s.mirrorStep = m.MirrorReport(r.CanaryVersion), key
	}
	s.mirroring = true
	if err := m.Mirror(ctx, r.CanaryVersion, addrs, *spec); err != nil {
		return fmt.Errorf("mirroring %s to %s: %w", s.Service.Name, s.st.Rollout.CanaryVersion, err)
	}
	return nil
}

// reconcile makes instances and router pools match the saved state.
func (e *Engine) reconcile(ctx context.Context, s *service) error {
	st, now := s.st, e.opts.Now()
	d := rollout.DesiredFor(s.Service, st, now)
	insts, err := s.Target.Instances(ctx)
	if err != nil {
		return fmt.Errorf("listing instances of %s: %w", s.Service.Name, err)
	}
	activeCanary := ""
	if rollout.Active(st) {
		activeCanary = st.Rollout.CanaryVersion
	}
	var running []upfactory.Instance
	for _, in := range insts {
		if !s.stopping[in.ID] {
			running = append(running, in)
		}
	}
	routable, toStop, live := rollout.Replace(d, activeCanary, running)
	for _, in := range toStop {
		s.stopping[in.ID] = true
	}

	pools := rollout.RouterPools(d, routable)
	if !slices.EqualFunc(pools, s.lastPools, func(a, b upfactory.Pool) bool {
		return a.Version == b.Version && a.Weight == b.Weight && slices.Equal(a.Addrs, b.Addrs)
	}) {
		if err := s.Router.SetPools(ctx, pools); err != nil {
			return fmt.Errorf("setting router pools of %s: %w", s.Service.Name, err)
		}
		s.lastPools = pools
	}
	if err := e.reconcileMirror(ctx, s, routable); err != nil {
		return err
	}
	if err := e.reconcileFlags(ctx, s); err != nil {
		return err
	}
	if pv, ok := s.Router.(upfactory.Previewer); ok {
		pv.SetPreview(activeCanary) // the version a preview listener reaches: the rollout's new one
	}
	for _, in := range toStop {
		e.stopAsync(s, in)
	}

	for _, v := range d.Run {
		need := e.count(s, d, v) - live[v]
		if need <= 0 {
			continue
		}
		if s.startErr[v] != "" {
			if !rollout.RetryStart(v == activeCanary, s.startErrAt[v], now) {
				continue
			}
			delete(s.startErr, v)
		}
		if _, err := s.Target.Start(ctx, v, need); err != nil {
			s.startErr[v], s.startErrAt[v] = err.Error(), now
			if upfactory.ErrorCode(err) != upfactory.EINTERNAL {
				s.startErr[v] = upfactory.ErrorMessage(err)
			}
			if err := e.record(upfactory.LogEntry{Actor: upfactory.ActorSystem, Action: "instance.start-failed", Service: s.Service.Name,
				Subject: v, Reason: s.startErr[v]}); err != nil {
				return err
			}
			continue
		}
	}
	if !rollout.Active(st) {
		// A canary that could not start may be tried again by the next rollout.
		for v := range s.startErr {
			if !slices.Contains(d.Run, v) {
				delete(s.startErr, v)
			}
		}
	}
	if insts, err = s.Target.Instances(ctx); err != nil {
		return fmt.Errorf("listing instances of %s: %w", s.Service.Name, err)
	}
	if err := e.watchHealth(s, e.health(s, d, insts)); err != nil {
		return err
	}
	return e.rememberInstances(ctx, s, insts)
}

// health is rollout.Health with what the engine knows of failed starts and
// failed instances.
func (e *Engine) health(s *service, d rollout.Desired, insts []upfactory.Instance) upfactory.Health {
	ready := map[string]bool{}
	for _, in := range insts {
		switch {
		case in.State == upfactory.InstanceReady:
			ready[in.Version] = true
		case (in.State == upfactory.InstanceFailed || in.State == upfactory.InstanceUnhealthy) && in.Reason != "":
			s.lastFailure[in.Version] = in.Reason
		}
	}
	why := map[string]string{}
	for v, r := range s.lastFailure {
		if ready[v] || !d.Wants(v) {
			delete(s.lastFailure, v)
			continue
		}
		why[v] = r
	}
	for v, r := range s.startErr {
		why[v] = r
	}
	return rollout.Health(s.st, d, insts, func(v string) int { return e.count(s, d, v) }, why)
}

// watchHealth says so, in serve's output and the operation log, when a
// service becomes Degraded and when it recovers.
func (e *Engine) watchHealth(s *service, h upfactory.Health) error {
	was := s.health
	switch {
	case h.State == upfactory.HealthDegraded && was.State != upfactory.HealthDegraded:
		if err := e.record(upfactory.LogEntry{Actor: upfactory.ActorSystem, Action: "service.degraded", Service: s.Service.Name,
			Subject: s.st.StableVersion, Reason: h.Reason}); err != nil {
			return err // not marked degraded yet: the next reconcile tries again
		}
		e.logger.Warn("service degraded: "+h.Reason, "service", s.Service.Name)
	case h.State == upfactory.HealthHealthy && was.State == upfactory.HealthDegraded:
		if err := e.record(upfactory.LogEntry{Actor: upfactory.ActorSystem, Action: "service.recovered", Service: s.Service.Name,
			Subject: s.st.StableVersion, Reason: "every version that takes traffic has a ready instance again"}); err != nil {
			return err
		}
		e.logger.Info("service recovered: every version that takes traffic has a ready instance", "service", s.Service.Name)
	}
	s.health = h
	return nil
}

// Health returns each service's health as of its last reconcile.
func (e *Engine) Health() map[string]upfactory.Health {
	out := map[string]upfactory.Health{}
	for name, s := range e.services {
		s.mu.Lock()
		out[name] = s.health
		s.mu.Unlock()
	}
	return out
}

// rememberInstances saves insts, the instances the target runs, for
// adoption after a restart, when they differ from what is stored.
func (e *Engine) rememberInstances(ctx context.Context, s *service, insts []upfactory.Instance) error {
	var keep []upfactory.Instance
	for _, in := range insts {
		if in.State != upfactory.InstanceStopped {
			keep = append(keep, in)
		}
	}
	key := func(in upfactory.Instance) string {
		return fmt.Sprintf("%s/%d/%s/%s", in.ID, in.PID, in.Addr, in.Version)
	}
	if slices.EqualFunc(keep, s.st.Instances, func(a, b upfactory.Instance) bool { return key(a) == key(b) }) {
		return nil
	}
	next := clone(s.st)
	next.Instances = keep
	if err := e.store.Save(ctx, next, nil); err != nil {
		return fmt.Errorf("saving instances of %s: %w", s.Service.Name, err)
	}
	s.st = next
	return nil
}

// stopAsync drains an instance that no longer gets new requests, then stops it.
func (e *Engine) stopAsync(s *service, in upfactory.Instance) {
	s.stops.Add(1)
	go func() {
		defer s.stops.Done()
		drain := s.Service.Router.DrainTimeout.D()
		if drain <= 0 {
			drain = upfactory.DefaultDrainTimeout
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), drain)
		if err := s.Router.Drain(ctx, in.Addr); err != nil {
			e.logger.Warn("drain timed out; stopping anyway", "instance", in.ID, "err", err)
		}
		cancel()
		// The target sends SIGTERM, then SIGKILL after the service's stop
		// timeout: give it that, and as long again to see the process go.
		stop := s.Service.Target.StopTimeout.D()
		if stop <= 0 {
			stop = upfactory.DefaultStopTimeout
		}
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(e.ctx), 2*stop)
		defer cancel()
		if err := s.Target.Stop(stopCtx, in.ID); err != nil && upfactory.ErrorCode(err) != upfactory.ENOTFOUND {
			e.logger.Error("stopping instance", "instance", in.ID, "err", err)
		}
		s.mu.Lock()
		delete(s.stopping, in.ID)
		s.mu.Unlock()
	}()
}

// Reconfigure gives the engine new specs of its services, as a config
// reload reads them: the same services, with the same targets and routers
// (config.RestartNeeded holds the rest back). A service whose spec changed
// while one of its rollouts is going on is refused, since its steps and
// checks are what that rollout is judged by; then nothing changes at all.
// record, called once the new specs are known to apply and before they
// do, writes the change down: its error stops the change.
func (e *Engine) Reconfigure(specs []*upfactory.Service, record func() error) error {
	byName := map[string]*upfactory.Service{}
	for _, sp := range specs {
		byName[sp.Name] = sp
	}
	for _, name := range e.names {
		e.services[name].mu.Lock()
		defer e.services[name].mu.Unlock()
	}
	var busy []string
	changed := map[string]*upfactory.Service{}
	for _, name := range e.names {
		s, sp := e.services[name], byName[name]
		if sp == nil {
			return upfactory.Errorf(upfactory.EINVALID, "the new config has no service %s: restart serve to remove a service", name)
		}
		if reflect.DeepEqual(s.Service, sp) {
			continue
		}
		if rollout.Active(s.st) {
			busy = append(busy, fmt.Sprintf("%s (rollout of %s at step %d)", name, s.st.Rollout.CanaryVersion, s.st.Rollout.StepIndex))
		}
		changed[name] = sp
	}
	if len(busy) > 0 {
		return upfactory.Errorf(upfactory.ECONFLICT, "the new config changes services with a rollout going on: %s; reload once they end, or abort them", strings.Join(busy, ", "))
	}
	if err := record(); err != nil {
		return err
	}
	for name, sp := range changed {
		s := e.services[name]
		s.Service = sp
		s.meter = newMeter(s.Runtime)
	}
	return nil
}

// newMeter measures the checks of rt's service through its adapters.
func newMeter(rt Runtime) *measure.Meter {
	env := measure.Env{Service: rt.Service, Traffic: rt.Metrics, Samples: rt.Samples, Prometheus: rt.Prometheus}
	if u, ok := rt.Target.(upfactory.UsageReporter); ok {
		env.Usage = u
	}
	return measure.New(env)
}

// reconcileFlags writes the rollout's flag percents to the service's flag
// store when they changed. A store that cannot be written is logged and
// tried again at the next tick; a rollback's zeros are written at once,
// with the rollback.
func (e *Engine) reconcileFlags(ctx context.Context, s *service) error {
	r := s.st.Rollout
	if s.Flags == nil || r == nil || len(r.Flags) == 0 || maps.Equal(r.Flags, s.flags) {
		return nil
	}
	if err := s.Flags.SetFlags(ctx, r.Flags); err != nil {
		e.logger.Error("writing feature flags", "service", s.Service.Name, "err", err)
		if err.Error() == s.flagErr {
			return nil // logged already; tried again at every tick
		}
		s.flagErr = err.Error()
		return e.record(upfactory.LogEntry{Actor: upfactory.ActorSystem, Action: "flags.write-failed", Service: s.Service.Name,
			Subject: r.CanaryVersion, Reason: err.Error()})
	}
	s.flags, s.flagErr = maps.Clone(r.Flags), ""
	return nil
}
