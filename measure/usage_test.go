package measure_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/measure"
)

// fakeUsage stands in for the exec target, whose own tests read real
// processes from /proc: it returns the readings the test set, so that a
// second of CPU is exactly a second.
type fakeUsage struct {
	mu  sync.Mutex
	now []upfactory.InstanceUsage
	err error
}

var _ upfactory.UsageReporter = (*fakeUsage)(nil)

func (f *fakeUsage) Usage(ctx context.Context) ([]upfactory.InstanceUsage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]upfactory.InstanceUsage(nil), f.now...), f.err
}

// set makes the instances' readings at at: the canary's and the stable's
// CPU seconds so far and resident memory.
func (f *fakeUsage) set(at time.Time, canaryCPU, stableCPU float64, canaryRSS, stableRSS int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = []upfactory.InstanceUsage{
		{ID: "shop-2.0.0-0", Version: canaryVersion, At: at, CPUSeconds: canaryCPU, RSSBytes: canaryRSS},
		{ID: "shop-1.0.0-0", Version: stableVersion, At: at, CPUSeconds: stableCPU, RSSBytes: stableRSS},
		{ID: "other-0", Version: "0.9.0", At: at, CPUSeconds: 100 * canaryCPU, RSSBytes: 100 * canaryRSS},
	}
}

const mib = 1 << 20

func TestCPULimit(t *testing.T) {
	c := upfactory.Check{Name: "cpu", Metric: upfactory.MetricCPU, Provider: upfactory.ProviderBuiltin, Max: "0.3", Limit: 0.3}
	u := &fakeUsage{}
	m := measure.New(measure.Env{Service: newService(c), Usage: u})
	t0 := time.Now()

	u.set(t0, 10, 20, 100*mib, 100*mib)
	got := mustMeasure(t, m, 0, pools, nil, t0)
	if got.Verdict != upfactory.VerdictNoData || got.CanaryCount != 0 {
		t.Errorf("first reading: %s (%s) over %d readings, want NoData: CPU needs two readings", got.Verdict, got.Reason, got.CanaryCount)
	}

	u.set(t0.Add(time.Second), 10.5, 20.1, 100*mib, 100*mib)
	got = mustMeasure(t, m, 0, pools, nil, t0.Add(time.Second))
	if got.Verdict != upfactory.VerdictFail || !near(got.Canary, 0.5, 1e-9) || !near(got.Baseline, 0.1, 1e-9) || got.CanaryCount != 1 {
		t.Errorf("half a CPU second in a second: %s (%s), %g vs %g cores over %d; want Fail at 0.5 vs 0.1 over 1",
			got.Verdict, got.Reason, got.Canary, got.Baseline, got.CanaryCount)
	}

	// A restarted instance's counter starts over: no sample, not a
	// negative one.
	u.set(t0.Add(2*time.Second), 0.1, 20.2, 100*mib, 100*mib)
	got = mustMeasure(t, m, 0, pools, nil, t0.Add(2*time.Second))
	if got.Verdict != upfactory.VerdictNoData || got.CanaryCount != 0 {
		t.Errorf("after a restart: %s (%s) over %d readings, want NoData", got.Verdict, got.Reason, got.CanaryCount)
	}
}

func TestMemoryLimit(t *testing.T) {
	c := upfactory.Check{Name: "memory", Metric: upfactory.MetricMemory, Provider: upfactory.ProviderBuiltin, Max: "512MiB", Limit: 512 * mib}
	u := &fakeUsage{}
	u.set(time.Now(), 1, 1, 600*mib, 200*mib)
	got := mustMeasure(t, measure.New(measure.Env{Service: newService(c), Usage: u}), 0, pools, nil, time.Now())
	if got.Verdict != upfactory.VerdictFail || got.Canary != 600*mib || got.Baseline != 200*mib {
		t.Errorf("600 MiB with max 512MiB: %s (%s), %g vs %g bytes; want Fail on the first reading", got.Verdict, got.Reason, got.Canary, got.Baseline)
	}
}

func TestJudgedCPU(t *testing.T) {
	c := upfactory.Check{Name: "cpu", Metric: upfactory.MetricCPU, Provider: upfactory.ProviderBuiltin,
		Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1}}
	u := &fakeUsage{}
	m := measure.New(measure.Env{Service: newService(c), Usage: u})
	t0 := time.Now()
	look := firstLook(t0)
	var got upfactory.Measurement
	for k := range 6 {
		at := t0.Add(time.Duration(k) * time.Second)
		u.set(at, 0.5*float64(k), 0.1*float64(k), mib, mib)
		got = mustMeasure(t, m, 0, pools, look, at)
		if k == 0 && (got.Verdict != upfactory.VerdictNoData || got.CanaryCount != 0 || got.Judgement != nil) {
			t.Errorf("first reading: %s (%s) with %d samples, want NoData with none", got.Verdict, got.Reason, got.CanaryCount)
		}
	}
	if got.Verdict != upfactory.VerdictFail || got.CanaryCount != 5 || !near(got.Canary, 0.5, 1e-9) {
		t.Errorf("five intervals at 0.5 vs 0.1 cores: %s (%s), median %g over %d; want Fail at 0.5 over 5", got.Verdict, got.Reason, got.Canary, got.CanaryCount)
	}
}

func TestTwoCPUChecks(t *testing.T) {
	// Every check of a tick is measured at once, each reading the
	// instances: one check's reading must not become the other's previous
	// one, or the other measures the CPU of the instant between them.
	limit := upfactory.Check{Name: "cpu", Metric: upfactory.MetricCPU, Provider: upfactory.ProviderBuiltin, Max: "2", Limit: 2}
	judged := upfactory.Check{Name: "cpu judged", Metric: upfactory.MetricCPU, Provider: upfactory.ProviderBuiltin,
		Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1}}
	u := &fakeUsage{}
	m := measure.New(measure.Env{Service: newService(limit, judged), Usage: u})
	t0 := time.Now()
	look := firstLook(t0)
	var l, j upfactory.Measurement
	for k := range 3 {
		at := t0.Add(time.Duration(k) * time.Second)
		u.set(at, 0.5*float64(k), 0.1*float64(k), mib, mib)
		l = mustMeasure(t, m, 0, pools, nil, at)
		j = mustMeasure(t, m, 1, pools, look, at)
	}
	if l.CanaryCount != 1 || !near(l.Canary, 0.5, 1e-9) {
		t.Errorf("limit check: %g cores over %d readings, want 0.5 over 1", l.Canary, l.CanaryCount)
	}
	if j.CanaryCount != 2 || j.BaselineCount != 2 {
		t.Errorf("judged check after three readings: %d and %d samples, want 2 each", j.CanaryCount, j.BaselineCount)
	}
}

func TestUsageErrors(t *testing.T) {
	c := upfactory.Check{Name: "memory", Metric: upfactory.MetricMemory, Provider: upfactory.ProviderBuiltin, Max: "512MiB", Limit: 512 * mib}
	got := mustMeasure(t, measure.New(measure.Env{Service: newService(c)}), 0, pools, nil, time.Now())
	if got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, "CPU and memory") {
		t.Errorf("a target that cannot read usage: %s (%s), want Error", got.Verdict, got.Reason)
	}
	u := &fakeUsage{err: errors.New("reading /proc/4242/stat: no such process")}
	got = mustMeasure(t, measure.New(measure.Env{Service: newService(c), Usage: u}), 0, pools, nil, time.Now())
	if got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, "/proc/4242/stat") {
		t.Errorf("a failed reading: %s (%s), want Error with the cause", got.Verdict, got.Reason)
	}
	// A version without instances has no reading: NoData, never a pass.
	u = &fakeUsage{}
	got = mustMeasure(t, measure.New(measure.Env{Service: newService(c), Usage: u}), 0, pools, nil, time.Now())
	if got.Verdict != upfactory.VerdictNoData || math.IsNaN(got.Canary) {
		t.Errorf("no instance: %s (%s) at %g, want NoData", got.Verdict, got.Reason, got.Canary)
	}
}
