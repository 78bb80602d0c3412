package rollout

import (
	"slices"
	"time"

	"github.com/upfactory/upfactory"
)

// Desired is the world a state asks for: which versions run, with how
// many instances, and the traffic weight of each.
type Desired struct {
	// Run lists versions that must have their full set of instances.
	Run []string
	// Keep lists versions whose existing instances stay up, without
	// replacements: a failed canary kept for inspection.
	Keep []string
	// Weights gives each routable version its share; versions in Run or
	// Keep without weight are routable by header only.
	Weights map[string]int
	// Count, when set for a version in Run, is how many instances it runs
	// instead of its full set: a rolling update's two versions.
	Count map[string]int
	// Unavailable is how many of those may be not ready while instances
	// are replaced (a rolling update's max_unavailable).
	Unavailable int
}

// Wants reports whether version's instances should stay up.
func (d Desired) Wants(version string) bool {
	for _, v := range d.Run {
		if v == version {
			return true
		}
	}
	for _, v := range d.Keep {
		if v == version {
			return true
		}
	}
	return false
}

// DesiredState derives what should run and receive traffic from st at now.
func DesiredState(st *upfactory.ServiceState, now time.Time) Desired {
	d := Desired{Run: []string{st.StableVersion}, Weights: map[string]int{st.StableVersion: 100}}
	r := st.Rollout
	if st.PreviousVersion != "" && now.Before(st.PreviousUntil) {
		d.Run = append(d.Run, st.PreviousVersion)
		d.Weights[st.PreviousVersion] = 0
	}
	if r == nil || r.CanaryVersion == st.StableVersion {
		return d
	}
	switch {
	case Active(st):
		d.Run = append(d.Run, r.CanaryVersion)
		d.Weights[st.StableVersion] = 100 - r.CanaryWeight
		d.Weights[r.CanaryVersion] = r.CanaryWeight
	case now.Before(r.KeepCanaryUntil):
		d.Keep = append(d.Keep, r.CanaryVersion)
		d.Weights[r.CanaryVersion] = 0
	}
	return d
}

// DesiredFor is DesiredState with the instance counts of svc's strategy:
// during a rolling update, the new version runs the instances of the
// batches done, and the stable version the rest.
func DesiredFor(svc *upfactory.Service, st *upfactory.ServiceState, now time.Time) Desired {
	d := DesiredState(st, now)
	if r := st.Rollout; Active(st) && r.CanaryVersion != st.StableVersion {
		if n, ok := svc.Strategy.Instances(r.CanaryWeight); ok {
			d.Count = map[string]int{r.CanaryVersion: n, st.StableVersion: max(svc.Strategy.Rolling.Replicas, 1) - n}
			d.Unavailable = svc.Strategy.Rolling.MaxUnavailable
		}
	}
	return d
}

// RouterPools turns desired weights and the instances' health into router
// pools. Only Ready instances get traffic. When a version that should carry
// weight has no ready instance, its share goes to the versions that have
// one, so users are never sent where nothing answers.
func RouterPools(d Desired, insts []upfactory.Instance) []upfactory.Pool {
	ready := map[string][]string{}
	for _, in := range insts {
		if in.State == upfactory.InstanceReady {
			ready[in.Version] = append(ready[in.Version], in.Addr)
		}
	}
	var pools []upfactory.Pool
	orphaned, total := 0, 0
	for _, v := range append(append([]string{}, d.Run...), d.Keep...) {
		w, routable := d.Weights[v]
		if !routable {
			continue
		}
		if len(ready[v]) == 0 {
			orphaned += w
			continue
		}
		pools = append(pools, upfactory.Pool{Version: v, Weight: w, Addrs: ready[v]})
		total += w
	}
	if orphaned > 0 && len(pools) > 0 {
		if total == 0 {
			pools[0].Weight += orphaned // nothing carries weight: the stable, listed first, takes all
			return pools
		}
		given, last := 0, 0
		for i := range pools {
			if pools[i].Weight > 0 {
				share := orphaned * pools[i].Weight / total
				pools[i].Weight += share
				given, last = given+share, i
			}
		}
		pools[last].Weight += orphaned - given
	}
	return pools
}

// Expire ends what time has run out on: the previous version's rollback
// window and a failed canary kept for inspection. It records each ending.
func Expire(st *upfactory.ServiceState, now time.Time) []upfactory.LogEntry {
	var entries []upfactory.LogEntry
	if st.PreviousVersion != "" && !now.Before(st.PreviousUntil) {
		entries = append(entries, upfactory.LogEntry{Time: now, Actor: upfactory.ActorSystem, Action: "previous.release",
			Service: st.Service, Subject: st.PreviousVersion,
			Reason: "the rollback window closed: " + st.PreviousVersion + " is stopped"})
		st.PreviousVersion, st.PreviousUntil = "", time.Time{}
	}
	if r := st.Rollout; r != nil && r.Phase.Done() && !r.KeepCanaryUntil.IsZero() && !now.Before(r.KeepCanaryUntil) {
		entries = append(entries, upfactory.LogEntry{Time: now, Actor: upfactory.ActorSystem, Action: "canary.cleanup",
			Service: st.Service, Subject: r.CanaryVersion,
			Reason: "the time to keep " + r.CanaryVersion + " for inspection is over: its instances are stopped"})
		r.KeepCanaryUntil = time.Time{}
	}
	return entries
}

// Replace decides, from the instances the target runs (less those already
// stopping), which keep their place behind the router and which stop:
// those of a version d no longer runs, failed ones of a version that must
// serve (to be replaced: a failed canary of the active rollout is kept
// instead, for the machine to fail its rollout), and, in a rolling
// update, those beyond each version's count, as surplus allows. live
// counts the instances of each version that are not failed, to start
// what is missing.
func Replace(d Desired, activeCanary string, insts []upfactory.Instance) (routable, toStop []upfactory.Instance, live map[string]int) {
	live = map[string]int{}
	for _, in := range insts {
		if in.State == upfactory.InstanceStopped {
			continue
		}
		switch {
		case !d.Wants(in.Version):
			toStop = append(toStop, in)
			continue
		case in.State == upfactory.InstanceFailed:
			if in.Version != activeCanary && slices.Contains(d.Run, in.Version) {
				toStop = append(toStop, in)
				continue
			}
		default:
			live[in.Version]++
		}
		routable = append(routable, in)
	}
	if len(d.Count) > 0 {
		routable, toStop = surplus(d, routable, toStop)
	}
	return routable, toStop, live
}

// surplus takes out of routable, to be drained and stopped, the instances
// a rolling update no longer needs: those of a version above its count.
// Not-ready ones go first; a ready one goes only while the ready
// instances left stay at least the update's size less d.Unavailable
// (max_unavailable: with 0, an old instance stops only once its
// replacement serves).
func surplus(d Desired, routable, toStop []upfactory.Instance) ([]upfactory.Instance, []upfactory.Instance) {
	size, ready := 0, 0
	for _, n := range d.Count {
		size += n
	}
	for _, in := range routable {
		if in.State == upfactory.InstanceReady {
			ready++
		}
	}
	ordered := slices.Clone(routable)
	slices.SortStableFunc(ordered, func(a, b upfactory.Instance) int {
		return boolRank(b.State == upfactory.InstanceReady) - boolRank(a.State == upfactory.InstanceReady)
	})
	have := map[string]int{}
	for _, in := range ordered {
		have[in.Version]++
	}
	kept := make([]upfactory.Instance, 0, len(routable))
	// From the end: the not-ready instances of a version first.
	for i := len(ordered) - 1; i >= 0; i-- {
		in := ordered[i]
		n, counted := d.Count[in.Version]
		isReady := in.State == upfactory.InstanceReady
		if counted && have[in.Version] > n && (!isReady || ready-1 >= size-d.Unavailable) {
			have[in.Version]--
			if isReady {
				ready--
			}
			toStop = append(toStop, in)
			continue
		}
		kept = append(kept, in)
	}
	slices.Reverse(kept)
	return kept, toStop
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
