package measure_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/measure"
)

// checkout is a journey: the cart, then the checkout.
var checkout = upfactory.Journey{
	Name:    "checkout",
	Timeout: upfactory.Duration(2 * time.Second),
	Steps: []upfactory.JourneyStep{
		{Name: "cart", Method: http.MethodGet, Path: "/cart", Expect: upfactory.JourneyExpect{Status: http.StatusOK, BodyContains: "ok"}},
		{Name: "pay", Method: http.MethodPost, Path: "/checkout", Expect: upfactory.JourneyExpect{Status: http.StatusOK}},
	},
}

// probeService returns a service whose compat section has the checkout
// journey.
func probeService(checks ...upfactory.Check) *upfactory.Service {
	svc := newService(checks...)
	svc.Compat.Journeys = []upfactory.Journey{checkout}
	return svc
}

// MustInstances starts stable and canary as one instance each and returns
// the pools to measure.
func MustInstances(tb testing.TB, stable, canary http.Handler) measure.Pools {
	tb.Helper()
	s, c := httptest.NewServer(stable), httptest.NewServer(canary)
	tb.Cleanup(s.Close)
	tb.Cleanup(c.Close)
	return measure.Pools{Canary: canaryVersion, Stable: stableVersion,
		CanaryAddrs: []string{c.Listener.Addr().String()}, StableAddrs: []string{s.Listener.Addr().String()}}
}

// broken fails the checkout step of the journey.
var broken = every(1, "POST /checkout", ok)

func TestProbeLimit(t *testing.T) {
	c := upfactory.Check{Name: "journey", Metric: upfactory.MetricProbeFailures, Provider: upfactory.ProviderProbe,
		Journey: "checkout", Max: "0%", Limit: 0}

	t.Run("canary fails the journey", func(t *testing.T) {
		p := MustInstances(t, ok, broken)
		got := mustMeasure(t, measure.New(measure.Env{Service: probeService(c)}), 0, p, nil, time.Now())
		if got.Verdict != upfactory.VerdictFail || got.Canary != 1 || got.CanaryCount != 1 {
			t.Errorf("a failed journey: %s (%s), canary %g over %d runs; want Fail at 1 over 1", got.Verdict, got.Reason, got.Canary, got.CanaryCount)
		}
	})

	t.Run("canary passes the journey", func(t *testing.T) {
		p := MustInstances(t, broken, ok)
		got := mustMeasure(t, measure.New(measure.Env{Service: probeService(c)}), 0, p, nil, time.Now())
		if got.Verdict != upfactory.VerdictPass || got.Canary != 0 {
			t.Errorf("a passed journey: %s (%s), canary %g; want Pass at 0 (an absolute limit needs no stable run)", got.Verdict, got.Reason, got.Canary)
		}
	})

	t.Run("canary refuses connections", func(t *testing.T) {
		// A version that does not answer failed the journey: that is its
		// answer, not the provider's error.
		p := MustInstances(t, ok, ok)
		dead := httptest.NewServer(ok)
		dead.Close()
		p.CanaryAddrs = []string{dead.Listener.Addr().String()}
		got := mustMeasure(t, measure.New(measure.Env{Service: probeService(c)}), 0, p, nil, time.Now())
		if got.Verdict != upfactory.VerdictFail {
			t.Errorf("a canary refusing connections: %s (%s), want Fail", got.Verdict, got.Reason)
		}
	})

	t.Run("no canary instance", func(t *testing.T) {
		p := MustInstances(t, ok, ok)
		p.CanaryAddrs = nil
		got := mustMeasure(t, measure.New(measure.Env{Service: probeService(c)}), 0, p, nil, time.Now())
		if got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, "no ready instance") {
			t.Errorf("no canary instance: %s (%s), want Error", got.Verdict, got.Reason)
		}
	})

	t.Run("unknown journey", func(t *testing.T) {
		p := MustInstances(t, ok, ok)
		unknown := c
		unknown.Journey = "signup"
		got := mustMeasure(t, measure.New(measure.Env{Service: probeService(unknown)}), 0, p, nil, time.Now())
		if got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, `"signup"`) {
			t.Errorf("an unknown journey: %s (%s), want Error naming it", got.Verdict, got.Reason)
		}
	})

	t.Run("probes take turns among instances", func(t *testing.T) {
		// Two canary instances, one broken: the runs alternate between
		// them, so both are seen.
		p := MustInstances(t, ok, ok)
		b := httptest.NewServer(broken)
		t.Cleanup(b.Close)
		p.CanaryAddrs = append(p.CanaryAddrs, b.Listener.Addr().String())
		m := measure.New(measure.Env{Service: probeService(c)})
		var seen []float64
		for range 4 {
			seen = append(seen, mustMeasure(t, m, 0, p, nil, time.Now()).Canary)
		}
		if want := []float64{0, 1, 0, 1}; !slices.Equal(seen, want) {
			t.Errorf("failure of four runs over two instances = %v, want %v", seen, want)
		}
	})
}

func TestProbeLatencyLimit(t *testing.T) {
	c := upfactory.Check{Name: "journey latency", Metric: upfactory.MetricProbeLatency, Provider: upfactory.ProviderProbe,
		Journey: "checkout", Max: "1s", Limit: 1}
	p := MustInstances(t, ok, broken)
	got := mustMeasure(t, measure.New(measure.Env{Service: probeService(c)}), 0, p, nil, time.Now())
	if got.Verdict != upfactory.VerdictFail {
		t.Errorf("latency of a failed journey: %s (%s), want Fail: a failed journey is never fast enough", got.Verdict, got.Reason)
	}
}

func TestProbeJudgedAccumulates(t *testing.T) {
	c := upfactory.Check{Name: "journey", Metric: upfactory.MetricProbeFailures, Provider: upfactory.ProviderProbe,
		Journey: "checkout", Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1, FloorValue: 0.005}}
	p := MustInstances(t, ok, broken)
	m := measure.New(measure.Env{Service: probeService(c)})
	step := time.Now().Add(-time.Minute)

	// One run per side per look; the judge needs 5 per side (per-interval
	// samples), so four looks have no data and the fifth fails the canary.
	for n := 1; n <= 5; n++ {
		got := mustMeasure(t, m, 0, p, firstLook(step), time.Now())
		if got.CanaryCount != int64(n) || got.BaselineCount != int64(n) {
			t.Fatalf("look %d: %d canary and %d stable samples, want %d each", n, got.CanaryCount, got.BaselineCount, n)
		}
		want := upfactory.VerdictNoData
		if n == 5 {
			want = upfactory.VerdictFail
		}
		if got.Verdict != want {
			t.Fatalf("look %d: %s (%s), want %s", n, got.Verdict, got.Reason, want)
		}
		if n == 5 && (got.Canary != 1 || got.Baseline != 0 || got.Judgement == nil) {
			t.Errorf("look 5: failure rates %g vs %g, judgement %v; want 1 vs 0", got.Canary, got.Baseline, got.Judgement)
		}
	}

	// A new step starts over.
	got := mustMeasure(t, m, 0, p, firstLook(step.Add(30*time.Second)), time.Now())
	if got.CanaryCount != 1 || got.BaselineCount != 1 || got.Verdict != upfactory.VerdictNoData {
		t.Errorf("first look of a new step: %s with %d and %d samples, want NoData with 1 each", got.Verdict, got.CanaryCount, got.BaselineCount)
	}
}

func TestProbeJudgedLatencyCountsFailures(t *testing.T) {
	// A journey that fails is as slow as it gets. The judge leaves out
	// infinite samples, so a failure must reach it as a finite worst value
	// (the journey's timeout); otherwise a canary failing every journey
	// has no samples at all, and one failing some is judged on its fast
	// successes alone.
	c := upfactory.Check{Name: "journey latency", Metric: upfactory.MetricProbeLatency, Provider: upfactory.ProviderProbe,
		Journey: "checkout", Judge: &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1, FloorValue: 0.001}}
	p := MustInstances(t, ok, broken)
	m := measure.New(measure.Env{Service: probeService(c)})
	step := time.Now().Add(-time.Minute)
	var got upfactory.Measurement
	for range 5 {
		got = mustMeasure(t, m, 0, p, firstLook(step), time.Now())
	}
	if got.CanaryCount != 5 || got.Verdict != upfactory.VerdictFail {
		t.Fatalf("five failed journeys against five passed ones: %s (%s) over %d canary samples, want Fail over 5",
			got.Verdict, got.Reason, got.CanaryCount)
	}
	if want := checkout.Timeout.D().Seconds(); got.Canary != want {
		t.Errorf("median of failed journeys %gs, want the journey's timeout %gs", got.Canary, want)
	}
}
