package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/upfactory/upfactory/app"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/config"
	"github.com/upfactory/upfactory/engine"
	uhttp "github.com/upfactory/upfactory/http"
	"github.com/upfactory/upfactory/intake"
	"github.com/upfactory/upfactory/internal/dirlock"
	"github.com/upfactory/upfactory/notify"
	"github.com/upfactory/upfactory/promsource"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/sqlstore"
)

// Server is a whole `upfactory serve`: store, routers, targets, engine and
// API, wired together here and nowhere else.
type Server struct {
	Config *upfactory.Config
	// ConfigPath is the file Config was loaded from, read again on a
	// reload; empty for a config built in code, which cannot be reloaded.
	ConfigPath string
	Token      string
	Logger     *slog.Logger

	Store *sqlstore.DB
	// Replica names this server among those sharing the store. Default
	// the host name and the data dir, stable across restarts.
	Replica string
	Engine  *engine.Engine
	App     *app.App
	API     *uhttp.Server

	lock *dirlock.Lock // this server's hold on the data dir

	// front answers on server.listen whether this server leads or not:
	// health here, the rest by the API once leading (leading), or
	// forwarded to the leader meanwhile.
	front   *http.Server
	frontLn net.Listener
	leading atomic.Pointer[http.Handler]
	lease   atomic.Pointer[upfactory.Lease] // as last read or renewed
	ready   atomic.Bool                     // Open is done: leading, or following a known leader
	// Lost receives why, when this server lost the lease it led by: it
	// must stop, since its writes are fenced from then on.
	Lost chan error
	// routerStops stop the routers and wait for them.
	routerStops []func()
	cancel      context.CancelFunc
	wg          sync.WaitGroup
	// intakeMu keeps intake runs from overlapping.
	intakeMu sync.Mutex

	current  atomic.Pointer[upfactory.Config] // Config, then what reloads applied
	holder   dirlock.Holder
	reloadMu sync.Mutex // guards the fields below and serializes reloads
	// configSum is the SHA-256 of the config in force, loaded at loadedAt;
	// warnedSum is the changed content serve last warned about.
	configSum, warnedSum string
	loadedAt             time.Time
	scheduleChanged      chan struct{}
}

// RunIntake runs intake once, unless a run is already going on (ECONFLICT).
func (s *Server) RunIntake(ctx context.Context, trigger string) (*intake.Report, error) {
	if !s.intakeMu.TryLock() {
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "an intake run is already in progress")
	}
	defer s.intakeMu.Unlock()
	start := time.Now()
	rep, err := intake.Run(ctx, intake.Options{Config: s.cfg(), Store: s.Store, Trigger: trigger})
	if err != nil {
		s.Logger.Error("intake failed", "trigger", trigger, "err", err)
		return nil, err
	}
	r := rep.Run
	s.Logger.Info("intake done", "trigger", trigger, "took", time.Since(start).Round(time.Millisecond),
		"records", r.Records, "advisories_new", r.AdvisoriesNew, "advisories_changed", r.AdvisoriesChanged,
		"candidates", r.Candidates, "candidates_new", r.CandidatesNew, "candidates_resolved", r.CandidatesResolved, "problems", r.Problems)
	return rep, nil
}

// schedule runs intake at the times of the config's intake.schedule until
// ctx ends, following the schedule a reload brings.
func (s *Server) schedule(ctx context.Context) {
	for {
		spec := s.cfg().Intake.Schedule
		if spec == "" {
			select {
			case <-ctx.Done():
				return
			case <-s.scheduleChanged:
				continue
			}
		}
		sched, err := config.Schedule(spec)
		if err != nil {
			s.Logger.Error("intake schedule", "err", err) // config.Load already refused it
			return
		}
		next := sched.Next(time.Now())
		s.Logger.Info("next intake run", "at", next.Format(time.RFC3339))
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.scheduleChanged:
			t.Stop()
			continue
		case <-t.C:
		}
		s.RunIntake(ctx, "schedule")
	}
}

// lineInterval is how often serve derives the line from the log.
const lineInterval = time.Second

// notifyInterval is how often each notifier looks for new log entries.
const notifyInterval = time.Second

// followLine keeps the line up to date with the operation log: the
// stages of every upgrade follow the rollouts and intake runs. A failure
// is logged and tried again; the line's cursor only moves with a save.
func (s *Server) followLine(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := s.App.SyncLine(ctx)
		switch {
		case err != nil && ctx.Err() == nil && !failing:
			s.Logger.Error("deriving the line from the operation log; trying again", "err", err)
			failing = true
		case err == nil && failing:
			s.Logger.Info("the line is up to date with the operation log again")
			failing = false
		}
	}
}

// configCheckInterval is how often serve looks whether its config file
// changed without a reload.
const configCheckInterval = 2 * time.Second

// Open starts everything and returns once the API answers.
func (s *Server) Open(ctx context.Context) error {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	cfg := s.Config
	s.current.Store(cfg)
	s.scheduleChanged = make(chan struct{}, 1)
	ctx, s.cancel = context.WithCancel(ctx)
	if err := os.MkdirAll(cfg.Server.DataDir, 0o755); err != nil {
		return fmt.Errorf("creating data dir: %w", err)
	}
	// Before anything adopts an instance: a second server on the same data
	// dir would take over the first one's instances and stop them on exit.
	s.holder = dirlock.Holder{PID: os.Getpid(), Since: time.Now()}
	if s.ConfigPath != "" {
		sum, err := fileSum(s.ConfigPath)
		if err != nil {
			s.cancel()
			return fmt.Errorf("reading config: %w", err)
		}
		s.configSum, s.loadedAt = sum, time.Now()
		s.holder.Config, s.holder.ConfigSHA256, s.holder.ConfigLoadedAt = s.ConfigPath, sum, s.loadedAt
	}
	lock, err := dirlock.Acquire(cfg.Server.DataDir, s.holder)
	if err != nil {
		s.cancel()
		return err
	}
	s.lock = lock
	db, err := openDB(ctx, cfg)
	if err != nil {
		s.Close(ctx, true)
		return err
	}
	s.Store = db
	if s.Replica == "" {
		s.Replica = defaultReplica(cfg.Server.DataDir)
	}
	s.Lost = make(chan error, 1)
	if err := s.openFront(cfg.Server.Listen); err != nil {
		s.Close(ctx, true)
		return err
	}
	s.holder.API = s.URL()
	if err := s.lock.Update(s.holder); err != nil {
		s.Logger.Warn("data dir lock file", "err", err) // the lock itself holds
	}
	l, held, err := db.AcquireLease(ctx, leaseName, s.Replica, s.frontLn.Addr().String(), cfg.Server.Lease.D())
	if err != nil {
		s.Close(ctx, true)
		return err
	}
	s.lease.Store(&l)
	if held {
		if err := s.lead(ctx, l); err != nil {
			s.Close(ctx, true)
			return err
		}
	} else {
		s.Logger.Info("another server leads: following it, and forwarding the API to it", "replica", s.Replica, "leader", l.Holder, "leader_api", l.Addr)
	}
	s.wg.Go(func() { s.campaign(ctx, held) })
	s.ready.Store(true)
	return nil
}

// lead starts what only the leader runs: the routers and targets, the
// engine, the API and the background loops, on the store fenced by l.
func (s *Server) lead(ctx context.Context, l upfactory.Lease) error {
	cfg := s.cfg()
	db := s.Store.Fenced(l)
	s.Logger.Info("leading", "replica", s.Replica, "lease_token", l.Token)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var runtimes []engine.Runtime
	var prom *promsource.Source
	if cfg.Prometheus != nil {
		var err error
		if prom, err = promsource.New(*cfg.Prometheus); err != nil {
			return fmt.Errorf("prometheus: %w", err)
		}
	}
	record := func(e upfactory.LogEntry) {
		if s.Engine == nil {
			return
		}
		if err := s.Engine.Record(e); err != nil {
			// Kept by the engine and appended before its next decision.
			s.Logger.Error("operation log: entry held until the log takes it; rollouts wait", "action", e.Action, "err", err)
		}
	}
	for _, svc := range cfg.Services {
		if !svc.Delivered() {
			continue // intake-only
		}
		// Each router and target names its component and service itself.
		router, stopRouter, err := provider.NewRouter(ctx, svc, provider.RouterEnv{Logger: s.Logger})
		if err != nil {
			return err
		}
		s.routerStops = append(s.routerStops, stopRouter)
		if c, ok := router.(interface{ Collector() prometheus.Collector }); ok {
			reg.MustRegister(c.Collector())
		}
		target, err := provider.NewTarget(svc, provider.TargetEnv{DataDir: cfg.Server.DataDir, Logger: s.Logger, Event: record})
		if err != nil {
			return err
		}
		flags, err := provider.NewFlagStore(svc)
		if err != nil {
			return err
		}
		rt := engine.Runtime{Service: svc, Target: target, Router: router, Prometheus: prom, Flags: flags}
		rt.Metrics, _ = router.(upfactory.MetricSource)
		rt.Samples, _ = router.(upfactory.SampleSource)
		runtimes = append(runtimes, rt)
	}

	hold := func(ctx context.Context, service string, now time.Time) string {
		if s.App == nil {
			return "" // opening: no rollout moves before the engine runs
		}
		return s.App.Hold(ctx, service, now)
	}
	s.Engine = engine.New(db, runtimes, engine.Options{Logger: s.Logger, Tick: cfg.Server.TickInterval.D(), ValidVersion: upfactory.ValidVersion, Hold: hold, LeaseLost: s.lost})
	if err := s.Engine.Open(ctx); err != nil {
		return err
	}
	reg.MustRegister(healthCollector{s.Engine})
	s.App = &app.App{Config: s.cfg, Store: db, Engine: s.Engine}
	s.API = &uhttp.Server{App: s.App, Store: db, Token: s.Token, Gatherer: reg, Logger: s.Logger.With("component", "api"),
		Intake: &uhttp.Intake{Store: db, Run: s.RunIntake}, Config: &uhttp.Config{Status: s.ConfigStatus, Reload: s.Reload}}
	h := s.API.Handler()
	s.leading.Store(&h)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.Engine.Run(ctx)
	}()
	s.wg.Go(func() { s.schedule(ctx) })
	s.wg.Go(func() { s.followLine(ctx, lineInterval) })
	if len(cfg.Notifiers) > 0 {
		senders, err := notify.NewSenders(cfg.Notifiers)
		if err != nil {
			return err
		}
		f := &notify.Follower{Store: db, Senders: senders, Logger: s.Logger.With("component", "notify")}
		s.wg.Go(func() { f.Run(ctx, notifyInterval) })
	}
	if s.ConfigPath != "" {
		s.wg.Go(func() { s.watchConfigFile(ctx, configCheckInterval) })
	}
	return nil
}

// Close stops the API, the engine and the routers. With stopInstances the
// instances are stopped too; without, they keep running to be re-adopted.
func (s *Server) Close(ctx context.Context, stopInstances bool) error {
	var errs []error
	if s.front != nil {
		errs = append(errs, s.front.Shutdown(ctx))
	}
	if s.Engine != nil {
		errs = append(errs, s.Engine.Close(ctx, stopInstances))
	}
	if s.cancel != nil {
		s.cancel() // routers drain in-flight requests on their way down
	}
	for _, stop := range s.routerStops {
		stop()
	}
	s.wg.Wait()
	if s.Store != nil {
		errs = append(errs, s.Store.Close())
	}
	errs = append(errs, s.lock.Release())
	return errors.Join(errs...)
}

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// logger is serve's logger: text for people, JSON lines with -o json.
func (g *globals) logger() *slog.Logger {
	if g.json() {
		return slog.New(slog.NewJSONHandler(g.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return newLogger(g.stderr)
}

func newServeCmd(g *globals) *cobra.Command {
	var cfgPath, replica string
	var keep bool
	cmd := &cobra.Command{
		Use:   "serve -c upfactory.yaml",
		Short: "Run the control plane: instances, routers, rollouts and the API",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			s := &Server{Config: cfg, ConfigPath: cfgPath, Token: g.token, Logger: g.logger(), Replica: replica}
			if err := s.Open(ctx); err != nil {
				if _, ok := errors.AsType[*dirlock.HeldError](err); ok {
					return &exitError{code: exitUsage, err: err}
				}
				return err
			}
			s.Logger.Info("upfactory serving", "api", s.URL(), "replica", s.Replica, "leader", s.leading.Load() != nil, "services", len(cfg.Services), "data_dir", cfg.Server.DataDir,
				"auth", map[bool]string{true: "bearer token required for changes", false: "none (set --api-token to require one)"}[g.token != ""])
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
		serving:
			for {
				select {
				case <-ctx.Done():
					break serving
				case err := <-s.Lost:
					s.Logger.Error("stopping: this server lost the lease it led by", "err", err)
					sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
					defer cancel()
					s.Close(sctx, false) // the instances stay, for the new leader to adopt
					return err
				case <-hup:
					s.Reload(ctx, "signal:SIGHUP") // a refusal is logged, the old config kept
				}
			}
			s.Logger.Info("shutting down", "stop_instances", !keep)
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
			defer cancel()
			return s.Close(sctx, !keep)
		},
	}
	cmd.Flags().StringVarP(&cfgPath, "config", "c", "upfactory.yaml", "config file")
	cmd.Flags().BoolVar(&keep, "keep-instances", false, "on shutdown leave instances running, for the next start to re-adopt")
	cmd.Flags().StringVar(&replica, "replica", "", "this server's name among those sharing the store (default: host name and data dir)")
	return cmd
}

// healthCollector exports each service's health for alerting: one series
// per state, 1 for the state the service is in.
type healthCollector struct{ engine *engine.Engine }

var healthDesc = prometheus.NewDesc("upfactory_service_health",
	"1 for the state a service is in: Healthy; Starting (no ready instance yet); Degraded (a version that should take traffic has no ready instance).",
	[]string{"service", "state"}, nil)

func (c healthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- healthDesc }

func (c healthCollector) Collect(ch chan<- prometheus.Metric) {
	for name, h := range c.engine.Health() {
		for _, st := range []upfactory.HealthState{upfactory.HealthHealthy, upfactory.HealthStarting, upfactory.HealthDegraded} {
			v := 0.0
			if h.State == st {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(healthDesc, prometheus.GaugeValue, v, name, string(st))
		}
	}
}
