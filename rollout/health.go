package rollout

import (
	"fmt"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

// Health tells whether every version that should take traffic has a ready
// instance. A weighted version with none is Degraded when nothing is on
// its way (its start failed, or its instances failed or went unhealthy),
// Starting while its instances are still starting. want gives the number
// of instances a version should have; why says why a version's instances
// could not be started or last failed.
func Health(st *upfactory.ServiceState, d Desired, insts []upfactory.Instance, want func(version string) int, why map[string]string) upfactory.Health {
	var degraded, starting []string
	for _, v := range d.Run {
		if d.Weights[v] == 0 {
			continue // reachable by header only: users are not sent there
		}
		ready, coming := 0, 0
		var failed string
		for _, in := range insts {
			if in.Version != v {
				continue
			}
			switch in.State {
			case upfactory.InstanceReady:
				ready++
			case upfactory.InstanceStarting:
				coming++
			case upfactory.InstanceFailed, upfactory.InstanceUnhealthy:
				if failed == "" && in.Reason != "" {
					failed = in.Reason
				}
			}
		}
		if ready > 0 {
			continue
		}
		if r := why[v]; r != "" {
			failed = r
		}
		what := fmt.Sprintf("%s %s: 0 of %d instances ready", role(st, v), v, want(v))
		switch {
		case failed != "":
			degraded = append(degraded, what+": "+failed)
		case coming > 0:
			starting = append(starting, what+", "+fmt.Sprint(coming)+" starting")
		default:
			degraded = append(degraded, what)
		}
	}
	switch {
	case len(degraded) > 0:
		return upfactory.Health{State: upfactory.HealthDegraded, Reason: strings.Join(append(degraded, starting...), "; ")}
	case len(starting) > 0:
		return upfactory.Health{State: upfactory.HealthStarting, Reason: strings.Join(starting, "; ")}
	}
	return upfactory.Health{State: upfactory.HealthHealthy}
}

func role(st *upfactory.ServiceState, v string) string {
	switch {
	case v == st.StableVersion:
		return "stable"
	case st.Rollout != nil && v == st.Rollout.CanaryVersion:
		return "canary"
	case v == st.PreviousVersion:
		return "previous"
	}
	return "version"
}

// Readiness decides whether version's instances are ready: at least need
// of them are, and why one never will be — an instance that failed its
// readiness, or startErr, the reason the target could not start them.
func Readiness(insts []upfactory.Instance, version string, need int, startErr string) (ready bool, failed string) {
	n := 0
	for _, in := range insts {
		if in.Version != version {
			continue
		}
		switch in.State {
		case upfactory.InstanceReady:
			n++
		case upfactory.InstanceFailed:
			failed = fmt.Sprintf("instance %s: %s", in.ID, in.Reason)
		}
	}
	if startErr != "" {
		failed = startErr
	}
	return n >= need, failed
}

// LookDue decides whether the checks are measured now, given when they
// last were (zero: not in this step): once per analysis interval while
// the canary takes traffic, or at an analysis step (a blue-green's green
// takes none). The first look comes a full interval after the canary
// began to take traffic, or after its step began, so that a step's looks
// fall at its interval marks and the last one at its end. It returns the
// time to remember as the last look.
func LookDue(svc *upfactory.Service, r *upfactory.Rollout, last, now time.Time) (bool, time.Time) {
	if r == nil || r.Phase.Done() || !r.CanaryReady || r.CanaryWeight == 0 && !atAnalysis(svc, r) {
		return false, time.Time{}
	}
	interval := svc.Analysis.Interval.D()
	if interval <= 0 {
		interval = upfactory.DefaultInterval
	}
	if last.IsZero() || r.StepStartedAt.After(last) {
		if r.StepStartedAt.After(now.Add(-interval)) && !r.StepStartedAt.After(now) {
			return false, r.StepStartedAt
		}
		return false, now
	}
	if now.Sub(last) < interval {
		return false, last
	}
	return true, now
}

// atAnalysis reports whether r stands at an analysis step.
func atAnalysis(svc *upfactory.Service, r *upfactory.Rollout) bool {
	steps := svc.Strategy.Steps()
	return r.StepIndex < len(steps) && steps[r.StepIndex].Analysis != nil
}

// StartRetry is how long a version that must serve waits before its
// failed start is tried again.
const StartRetry = 30 * time.Second

// RetryStart decides whether a version whose instances could not start,
// at failedAt, is tried again now: a canary never (it fails its rollout),
// a version that must serve once StartRetry has passed — not in a tight
// loop.
func RetryStart(canary bool, failedAt, now time.Time) bool {
	return !canary && now.Sub(failedAt) >= StartRetry
}
