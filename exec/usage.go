package exec

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/procfs"

	"github.com/upfactory/upfactory"
)

var _ upfactory.UsageReporter = (*Target)(nil)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: USER_HZ, which
// is 100 on every Linux architecture, as procfs assumes too.
const userHZ = 100

// Usage reads from /proc what every instance with a live process has
// consumed: the CPU time and resident memory of its process and of the
// other processes in its process group (those a wrapper script forked).
// The CPU time also counts the children those processes waited for, so
// that it does not drop when a short-lived child is reaped. Stopped and
// Failed instances, those whose process crashed and awaits its restart,
// and those whose process exits while Usage reads it are left out.
// EUNAVAILABLE when there is no /proc to read (any system but Linux).
func (t *Target) Usage(ctx context.Context) ([]upfactory.InstanceUsage, error) {
	root := cmp.Or(t.procRoot, procfs.DefaultMountPoint)
	procs, err := procfs.NewFS(root)
	if err != nil {
		return nil, upfactory.Errorf(upfactory.EUNAVAILABLE, "reading the resource use of the instances of service %s needs /proc: %v", t.name, err)
	}
	live := t.liveInstances()
	if len(live) == 0 {
		return nil, nil
	}
	groups, err := readGroups(ctx, procs)
	if err != nil {
		return nil, fmt.Errorf("reading the resource use of the instances of service %s: %w", t.name, err)
	}
	now := time.Now()
	out := make([]upfactory.InstanceUsage, 0, len(live))
	for _, inst := range live {
		g, ok := groups[inst.PID]
		if !ok || !g.leaderLive {
			continue // it exited since liveInstances
		}
		out = append(out, upfactory.InstanceUsage{
			ID:         inst.ID,
			Version:    inst.Version,
			At:         now,
			CPUSeconds: g.cpuSeconds,
			RSSBytes:   g.rssBytes,
		})
	}
	return out, nil
}

// liveInstances returns the instances whose process runs, oldest first,
// each with the PID of that process.
func (t *Target) liveInstances() []upfactory.Instance {
	type live struct {
		inst upfactory.Instance
		proc *process
	}
	var all []live
	t.table.Lock()
	for in := range t.table.AllLocked() {
		switch in.Inst.State {
		case upfactory.InstanceStopped, upfactory.InstanceFailed:
			continue
		}
		if in.proc != nil && in.proc.pid > 0 {
			all = append(all, live{in.Inst, in.proc})
		}
	}
	t.table.Unlock()
	// done reads /proc for an adopted process: not under the lock.
	var out []upfactory.Instance
	for _, l := range all {
		if l.proc.done() {
			continue
		}
		l.inst.PID = l.proc.pid
		out = append(out, l.inst)
	}
	slices.SortFunc(out, func(a, b upfactory.Instance) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// groupUsage is what the processes of one process group consume.
type groupUsage struct {
	cpuSeconds float64
	rssBytes   int64
	leaderLive bool // the process whose PID is the group's ID runs, and is no zombie
}

// readGroups reads the stat file of every process once and adds up their
// use by process group. Processes that exit meanwhile, or whose stat
// cannot be read, are left out.
func readGroups(ctx context.Context, procs procfs.FS) (map[int]groupUsage, error) {
	all, err := procs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("listing the processes: %w", err)
	}
	groups := make(map[int]groupUsage)
	for _, p := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := p.Stat()
		if err != nil {
			// It exited since the listing, or is hidden from us (hidepid):
			// an instance whose process it led is then left out as gone.
			continue
		}
		g := groups[s.PGRP]
		g.cpuSeconds += s.CPUTime() + float64(s.CUTime+s.CSTime)/userHZ
		g.rssBytes += int64(s.ResidentMemory())
		if s.PID == s.PGRP {
			switch s.State {
			case "Z", "X", "x":
			default:
				g.leaderLive = true
			}
		}
		groups[s.PGRP] = g
	}
	return groups, nil
}
