// Package drill rehearses a rollback: the anti-pattern it answers is
// "upgrading without rollback drills". A drill starts a throwaway copy of
// a service on ports of its own — its stable version behind a router of
// its own, as compat starts twins — drives it at the service's compat load
// rate, rolls a version out to 100% with the service's own strategy
// (pauses and analysis shortened by drill.speed), then rolls back, and
// measures what production would feel: the time from the rollback
// decision to no traffic on the version, and every request that failed
// while it all happened.
//
// A drill is staging, not production: the approvals and pauses of the
// strategy are given by the drill itself (actor "drill"), since what is
// rehearsed is the mechanism, not the judgement: a pause, or an analysis
// step too short at drill speed to conclude, is promoted past. A canary
// whose checks fail is still rolled back, and fails the drill: the
// version is not ready for the line.
package drill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/probe"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/rollout"
	"github.com/upfactory/upfactory/sqlite"
)

// Options configure a drill.
type Options struct {
	Service *upfactory.Service
	// Version is rolled out over Stable, then rolled back.
	Version, Stable string
	// DataDir holds the drill's scratch space (DataDir/drills/…), removed
	// at the end.
	DataDir  string
	Logger   *slog.Logger
	Progress func(string)
	// Tick is how often the drill's engine re-evaluates. Default 50ms.
	Tick time.Duration
}

// Check refuses a service a drill cannot run on, naming the config key it needs.
func Check(svc *upfactory.Service) error {
	key := "services[" + svc.Name + "]"
	switch {
	case !svc.Delivered():
		return upfactory.Errorf(upfactory.EINVALID, "a drill starts a copy of %s with its target, and %s.target is not set", svc.Name, key)
	case svc.Compat.Load == nil || svc.Compat.Load.Rate <= 0:
		return upfactory.Errorf(upfactory.EINVALID, "a drill drives the copy at the compat load rate: set %s.compat.load.rate", key)
	case len(svc.Strategy.Steps()) == 0:
		return upfactory.Errorf(upfactory.EINVALID, "a drill rolls out with the service's strategy: set %s.strategy.canary.steps", key)
	}
	return nil
}

// rehearsal is svc as the drill runs it: its own router address, its
// pauses and analysis durations divided by speed.
func rehearsal(svc *upfactory.Service) (*upfactory.Service, error) {
	b, err := json.Marshal(svc)
	if err != nil {
		return nil, err
	}
	var c upfactory.Service
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	speed := svc.Drill.Speed
	if speed < 1 {
		speed = 1
	}
	shorten := func(d *upfactory.Duration) {
		if *d > 0 {
			*d = max(upfactory.Duration(float64(*d)/speed), upfactory.Duration(time.Millisecond))
		}
	}
	// The copy (a deep copy, through JSON) walks the same steps as a
	// canary, whatever the strategy, shortened by the drill's speed.
	c.Strategy = upfactory.Strategy{Canary: &upfactory.CanaryStrategy{Steps: c.Strategy.Steps(), RollbackWindow: c.Strategy.RollbackWindow(), KeepFailedFor: c.Strategy.KeepFailedFor()}}
	for i := range c.Strategy.Canary.Steps {
		st := &c.Strategy.Canary.Steps[i]
		switch {
		case st.Pause != nil:
			shorten(&st.Pause.Duration)
		case st.Analysis != nil:
			shorten(&st.Analysis.Duration)
		case st.Mirror != nil:
			shorten(&st.Mirror.Duration)
		}
	}
	c.Router.Listen = "127.0.0.1:0"
	return &c, nil
}

// Run runs one drill and returns its result: an error is for a drill that
// could not be run at all; a version that fails it is a result.
func Run(ctx context.Context, o Options) (*upfactory.DrillResult, error) {
	if err := Check(o.Service); err != nil {
		return nil, err
	}
	progress := o.Progress
	if progress == nil {
		progress = func(string) {}
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	tick := o.Tick
	if tick <= 0 {
		tick = 50 * time.Millisecond
	}
	svc, err := rehearsal(o.Service)
	if err != nil {
		return nil, err
	}
	svc.StableVersion = o.Stable
	res := &upfactory.DrillResult{Service: svc.Name, Version: o.Version, Stable: o.Stable, Started: time.Now().UTC()}

	if err := os.MkdirAll(filepath.Join(o.DataDir, "drills"), 0o755); err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp(filepath.Join(o.DataDir, "drills"), svc.Name+"-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	db, err := sqlite.Open(ctx, filepath.Join(scratch, "drill.db"))
	if err != nil {
		return nil, err
	}
	defer db.Close()

	target, err := provider.NewTarget(svc, provider.TargetEnv{DataDir: scratch, Logger: logger})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0") // the copy's own router, beside the service's
	if err != nil {
		return nil, err
	}
	runCtx, stopAll := context.WithCancel(context.WithoutCancel(ctx))
	router, stopRouter, err := provider.NewRouter(runCtx, svc, provider.RouterEnv{Logger: logger, Listener: ln})
	if err != nil {
		ln.Close()
		stopAll()
		return nil, err
	}
	rt := engine.Runtime{Service: svc, Target: target, Router: router}
	rt.Metrics, _ = router.(upfactory.MetricSource)
	rt.Samples, _ = router.(upfactory.SampleSource)
	eng := engine.New(db, []engine.Runtime{rt}, engine.Options{Tick: tick, Logger: logger})
	var wg sync.WaitGroup
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), svc.Target.StopTimeout.D()+10*time.Second)
		defer cancel()
		stopAll()
		eng.Close(sctx, true)
		stopRouter()
		wg.Wait()
	}()
	if err := eng.Open(runCtx); err != nil {
		return nil, err
	}
	wg.Go(func() { eng.Run(runCtx) })

	fail := func(reason string) (*upfactory.DrillResult, error) {
		res.Reason, res.At = reason, time.Now().UTC()
		return res, nil
	}
	ready := svc.Target.Readiness.Timeout.D() + 10*time.Second
	progress(fmt.Sprintf("starting a copy of %s %s behind a router of its own", svc.Name, o.Stable))
	if err := waitFor(ctx, ready, tick, func() (bool, error) {
		st, err := eng.Status(ctx, svc.Name)
		if err != nil {
			return false, err
		}
		return weightOf(st, o.Stable) == 100 && readyIn(st, o.Stable), nil
	}); err != nil {
		return fail(fmt.Sprintf("the stable version %s did not take traffic: %v", o.Stable, err))
	}

	load := svc.Compat.Load
	var mix []probe.MixEntry
	for _, m := range load.Mix {
		mix = append(mix, probe.MixEntry{Method: m.Method, Path: m.Path, Share: m.Share})
	}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	var sample probe.Sample
	loadDone := make(chan struct{})
	go func() {
		defer close(loadDone)
		sample = probe.Drive(loadCtx, probe.DriveOptions{URL: "http://" + ln.Addr().String(), Rate: load.Rate, Duration: 24 * time.Hour,
			Mix: mix, Connections: load.Connections})
	}()
	progress(fmt.Sprintf("driving it at %g requests/s; rolling out %s with the service's steps (speed %gx)", load.Rate, o.Version, max(o.Service.Drill.Speed, 1)))

	if _, err := eng.StartRollout(ctx, svc.Name, o.Version, "drill"); err != nil {
		return nil, err
	}
	limit := rolloutLimit(svc)
	deadline := time.Now().Add(limit)
	lastStep := -1
	for {
		st, err := eng.Status(ctx, svc.Name)
		if err != nil {
			return nil, err
		}
		if st.StepIndex != lastStep && !st.Phase.Done() {
			lastStep = st.StepIndex
			progress(fmt.Sprintf("step %d of %d: %s", st.StepIndex+1, len(st.Steps), stepName(st)))
		}
		switch {
		case st.Phase == upfactory.PhaseCompleted:
		case st.Phase.Done():
			stopLoad()
			<-loadDone
			res.Requests, res.FailedRequests = sample.Sent, sample.Errors
			return fail(fmt.Sprintf("the rollout of %s ended %s during the drill: %s", o.Version, st.Phase, st.Message))
		case st.Phase == upfactory.PhaseAwaitingApproval:
			progress("approval gate: approved by the drill (staging)")
			if _, err := eng.Do(ctx, svc.Name, rollout.Command{Action: "approve", Actor: "drill", Comment: "rollback drill"}); err != nil {
				return nil, err
			}
			continue
		case st.Phase == upfactory.PhasePaused:
			// A pause, or an analysis too short at drill speed to conclude:
			// the drill moves on; a failing check rolls back by itself.
			progress("paused (" + st.Message + "): the drill moves on")
			if _, err := eng.Do(ctx, svc.Name, rollout.Command{Action: "promote", Actor: "drill", Comment: "rollback drill"}); err != nil {
				return nil, err
			}
			continue
		}
		if st.Phase == upfactory.PhaseCompleted {
			break
		}
		if time.Now().After(deadline) {
			return fail(fmt.Sprintf("the rollout of %s did not reach 100%% within %s: %s", o.Version, limit, st.Message))
		}
		if err := sleep(ctx, tick); err != nil {
			return nil, err
		}
	}

	progress(fmt.Sprintf("%s takes all traffic; rolling back to %s", o.Version, o.Stable))
	decided := time.Now()
	if _, err := eng.Do(ctx, svc.Name, rollout.Command{Action: "rollback", Actor: "drill", Comment: "rollback drill"}); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 30*time.Second, time.Millisecond, func() (bool, error) {
		pools, err := router.Pools(ctx)
		if err != nil {
			return false, err
		}
		for _, pl := range pools {
			if pl.Version == o.Version && pl.Weight > 0 {
				return false, nil
			}
		}
		return true, nil
	}); err != nil {
		return fail(fmt.Sprintf("%s still took traffic after the rollback: %v", o.Version, err))
	}
	res.RollbackSeconds = time.Since(decided).Seconds()
	// Users keep coming after the switch: the drill counts them too.
	if rt.Metrics != nil {
		waitFor(ctx, 10*time.Second, tick, func() (bool, error) {
			return rt.Metrics.Stats(o.Stable, time.Second, time.Now()).Requests > 0, nil
		})
	}
	stopLoad()
	<-loadDone
	res.Requests, res.FailedRequests = sample.Sent, sample.Errors
	maxRollback := o.Service.Drill.MaxRollback.D()
	if maxRollback <= 0 {
		maxRollback = upfactory.DefaultDrillMaxRollback
	}
	res.At = time.Now().UTC()
	switch {
	case res.Requests == 0:
		res.Reason = "no request was sent: the load generator could not reach the copy"
	case res.FailedRequests > 0:
		res.Reason = fmt.Sprintf("%d of %d requests failed", res.FailedRequests, res.Requests)
	case res.RollbackSeconds > maxRollback.Seconds():
		res.Reason = fmt.Sprintf("the rollback took %.3fs, more than drill.max_rollback %s", res.RollbackSeconds, maxRollback)
	default:
		res.Passed = true
		res.Reason = fmt.Sprintf("rolled out to 100%% and back to %s in %.3fs with 0 of %d requests failed", o.Stable, res.RollbackSeconds, res.Requests)
	}
	return res, nil
}

// rolloutLimit bounds a drill's rollout: its steps' durations and the
// readiness timeout, with room to spare.
func rolloutLimit(svc *upfactory.Service) time.Duration {
	d := svc.Target.Readiness.Timeout.D() + time.Minute
	for _, st := range svc.Strategy.Steps() {
		switch {
		case st.Pause != nil:
			d += st.Pause.Duration.D()
		case st.Analysis != nil:
			d += 2 * st.Analysis.Duration.D()
		case st.Mirror != nil:
			d += 2 * st.Mirror.Duration.D()
		}
	}
	return d
}

func stepName(st *engine.Status) string {
	if st.StepIndex < len(st.Steps) {
		return st.Steps[st.StepIndex]
	}
	return "done"
}

func weightOf(st *engine.Status, version string) int {
	for _, v := range st.Versions {
		if v.Version == version {
			return v.Weight
		}
	}
	return 0
}

func readyIn(st *engine.Status, version string) bool {
	for _, v := range st.Versions {
		if v.Version != version {
			continue
		}
		for _, in := range v.Instances {
			if in.State == upfactory.InstanceReady {
				return true
			}
		}
	}
	return false
}

var errTimedOut = errors.New("timed out")

// waitFor polls cond every interval until it holds, errs, or timeout passes.
func waitFor(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %s", errTimedOut, timeout)
		}
		if err := sleep(ctx, interval); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
