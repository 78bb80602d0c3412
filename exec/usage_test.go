package exec_test

import (
	"context"
	"os"
	osexec "os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/procfs"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/exec"
	"github.com/upfactory/upfactory/targettest"
)

// envBurn makes a test server spend CPU as long as it runs: 20ms out of
// every 100ms, so that its CPU time keeps growing.
const envBurn = "UPFACTORY_TEST_BURN"

// burnIfAsked starts burning CPU in the background when envBurn is "1".
func burnIfAsked() {
	if os.Getenv(envBurn) != "1" {
		return
	}
	go func() {
		for {
			for end := time.Now().Add(20 * time.Millisecond); time.Now().Before(end); {
			}
			time.Sleep(80 * time.Millisecond)
		}
	}()
}

// usageOf returns the reading of instance id, if Usage reported it.
func usageOf(list []upfactory.InstanceUsage, id string) (upfactory.InstanceUsage, bool) {
	for _, u := range list {
		if u.ID == id {
			return u, true
		}
	}
	return upfactory.InstanceUsage{}, false
}

func mustUsage(t *testing.T, tgt *exec.Target) []upfactory.InstanceUsage {
	t.Helper()
	list, err := tgt.Usage(t.Context())
	if err != nil {
		t.Fatalf("Usage: %v", err)
	}
	return list
}

// awaitMoreCPU waits until Usage reports more CPU time for id than was.
func awaitMoreCPU(t *testing.T, tgt *exec.Target, was upfactory.InstanceUsage) upfactory.InstanceUsage {
	t.Helper()
	var u upfactory.InstanceUsage
	eventually(t, "more CPU time of "+was.ID+" than "+strconv.FormatFloat(was.CPUSeconds, 'g', -1, 64)+"s", func() (bool, string) {
		var ok bool
		if u, ok = usageOf(mustUsage(t, tgt), was.ID); !ok {
			t.Fatalf("Usage no longer reports %s", was.ID)
		}
		return u.CPUSeconds > was.CPUSeconds, "still " + strconv.FormatFloat(u.CPUSeconds, 'g', -1, 64) + "s"
	})
	return u
}

func TestUsage(t *testing.T) {
	svc := service(t)
	svc.Target.Env[envBurn] = "1"
	tgt := newTarget(t, svc, nil)
	if list := mustUsage(t, tgt); len(list) != 0 {
		t.Errorf("Usage without instances = %+v, want none", list)
	}
	v1 := startOne(t, tgt, "1.0.0")
	v2 := startOne(t, tgt, "2.0.0")
	stopped := startOne(t, tgt, "1.0.0")
	for _, in := range []upfactory.Instance{v1, v2, stopped} {
		targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
	}
	if err := tgt.Stop(t.Context(), stopped.ID); err != nil {
		t.Fatalf("Stop: %v", err)
	}

	before := time.Now()
	first := mustUsage(t, tgt)
	after := time.Now()
	type key struct{ ID, Version string }
	var got []key
	for _, u := range first {
		got = append(got, key{u.ID, u.Version})
		if u.At.Before(before) || u.At.After(after) {
			t.Errorf("%s read at %s, not during the call (%s to %s)", u.ID, u.At, before, after)
		}
		if u.RSSBytes <= 0 || u.CPUSeconds < 0 {
			t.Errorf("%s uses %gs of CPU and %d bytes of memory: want some memory", u.ID, u.CPUSeconds, u.RSSBytes)
		}
	}
	want := []key{{v1.ID, "1.0.0"}, {v2.ID, "2.0.0"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Usage reports (-want +got):\n%s", diff)
	}
	for _, in := range []upfactory.Instance{v1, v2} {
		was, _ := usageOf(first, in.ID)
		awaitMoreCPU(t, tgt, was)
	}
}

// A wrapper script that forks the server: Usage counts the server, which
// is in the wrapper's process group, with the wrapper.
func TestUsageCountsTheProcessGroup(t *testing.T) {
	sh, err := osexec.LookPath("sh")
	if err != nil {
		t.Skipf("no shell: %v", err)
	}
	svc := service(t)
	svc.Target.Command = append([]string{sh, "-c", `"$0" "$@" & wait`}, svc.Target.Command...)
	svc.Target.Env[envBurn] = "1"
	tgt := newTarget(t, svc, nil)
	in := startOne(t, tgt, "1.0.0")
	in = targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
	body, err := targettest.Get(in.Addr, "/pid")
	if err != nil {
		t.Fatalf("asking the server for its PID: %v", err)
	}
	server := mustAtoi(t, body)
	if server == in.PID {
		t.Fatalf("the wrapper %d did not fork: it is the server", in.PID)
	}
	// Stop waits for the wrapper only; the server may take a moment more.
	t.Cleanup(func() {
		if err := tgt.Stop(context.Background(), in.ID); err != nil {
			t.Errorf("Stop: %v", err)
		}
		awaitGone(t, server)
	})

	first, ok := usageOf(mustUsage(t, tgt), in.ID)
	if !ok {
		t.Fatalf("Usage does not report %s", in.ID)
	}
	// Only the server burns CPU: the wrapper waits.
	awaitMoreCPU(t, tgt, first)

	wrapper := mustStat(t, in.PID)
	serverCPU := mustStat(t, server).CPUTime()
	u, _ := usageOf(mustUsage(t, tgt), in.ID)
	if u.CPUSeconds < serverCPU || serverCPU == 0 {
		t.Errorf("Usage reports %gs of CPU; the server alone had used %gs before", u.CPUSeconds, serverCPU)
	}
	if u.RSSBytes <= int64(wrapper.ResidentMemory()) {
		t.Errorf("Usage reports %d bytes resident; the wrapper alone has %d", u.RSSBytes, wrapper.ResidentMemory())
	}

	if err := tgt.Stop(t.Context(), in.ID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	awaitGone(t, server)
	if list := mustUsage(t, tgt); len(list) != 0 {
		t.Errorf("after Stop, Usage = %+v", list)
	}
}

func mustStat(t *testing.T, pid int) procfs.ProcStat {
	t.Helper()
	p, err := procfs.NewProc(pid)
	if err != nil {
		t.Fatalf("process %d: %v", pid, err)
	}
	s, err := p.Stat()
	if err != nil {
		t.Fatalf("reading /proc/%s/stat: %v", strconv.Itoa(pid), err)
	}
	return s
}
