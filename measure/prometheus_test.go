package measure_test

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/measure"
	"github.com/upfactory/upfactory/promsource"
)

// MustPrometheus returns a source for the Prometheus started by
// scripts/prometheus.sh. Without one the test skips, except under
// CI=true, where it fails: CI must run the real thing.
func MustPrometheus(tb testing.TB) *promsource.Source {
	tb.Helper()
	addr := os.Getenv("UPFACTORY_TEST_PROMETHEUS")
	if addr == "" {
		how := `UPFACTORY_TEST_PROMETHEUS is unset: needs Prometheus (Debian package prometheus); run eval "$(scripts/prometheus.sh start)"`
		if os.Getenv("CI") == "true" {
			tb.Fatal(how + " (CI=true: not skipping)")
		}
		tb.Skip(how)
	}
	src, err := promsource.New(promsource.Config{Address: addr, Timeout: upfactory.Duration(5 * time.Second)})
	if err != nil {
		tb.Fatalf("prometheus source for %s: %v", addr, err)
	}
	return src
}

func promCheck(query string) upfactory.Check {
	return upfactory.Check{Name: "errors", Metric: upfactory.MetricErrorRate, Provider: upfactory.ProviderPrometheus,
		Query: query, Max: "1%", Limit: 0.01}
}

func TestPrometheus(t *testing.T) {
	src := MustPrometheus(t)
	measureQuery := func(t *testing.T, c upfactory.Check, look *measure.Look, now time.Time) upfactory.Measurement {
		t.Helper()
		return mustMeasure(t, measure.New(measure.Env{Service: newService(c), Prometheus: src}), 0, pools, look, now)
	}

	t.Run("limit", func(t *testing.T) {
		got := measureQuery(t, promCheck(`vector(0.02)`), nil, time.Now())
		if got.Verdict != upfactory.VerdictFail || got.Canary != 0.02 || got.CanaryCount != 1 {
			t.Errorf("2%% with max 1%%: %s (%s), %g over %d; want Fail at 0.02", got.Verdict, got.Reason, got.Canary, got.CanaryCount)
		}
		got = measureQuery(t, promCheck(`vector(0.005)`), nil, time.Now())
		if got.Verdict != upfactory.VerdictPass {
			t.Errorf("0.5%% with max 1%%: %s (%s), want Pass", got.Verdict, got.Reason)
		}
	})

	t.Run("per version", func(t *testing.T) {
		// The template gives each version its own query.
		c := promCheck(`vector({{if eq .Pool "canary"}}0.04{{else}}0.01{{end}})`)
		c.Max, c.Limit, c.MaxVsBaseline = "", 0, 2
		got := measureQuery(t, c, nil, time.Now())
		if got.Verdict != upfactory.VerdictFail || got.Canary != 0.04 || got.Baseline != 0.01 {
			t.Errorf("4%% vs 1%% with max_vs_baseline 2: %s (%s), %g vs %g; want Fail", got.Verdict, got.Reason, got.Canary, got.Baseline)
		}
	})

	t.Run("no series", func(t *testing.T) {
		got := measureQuery(t, promCheck(`sum(nonexistent_metric_xyz{version="{{.Version}}"})`), nil, time.Now())
		if got.Verdict != upfactory.VerdictNoData || !strings.Contains(got.Reason, "no series") || !strings.Contains(got.Reason, canaryVersion) {
			t.Errorf("a query with no series: %s (%s), want NoData saying why, with the rendered query", got.Verdict, got.Reason)
		}
		// The stable version's query measures nothing: a relative limit
		// cannot be compared.
		c := promCheck(`vector({{if eq .Pool "canary"}}0.04{{else}}NaN{{end}})`)
		c.Max, c.Limit, c.MaxVsBaseline = "", 0, 2
		got = measureQuery(t, c, nil, time.Now())
		if got.Verdict != upfactory.VerdictNoData || !strings.Contains(got.Reason, "NaN") {
			t.Errorf("a stable value of NaN: %s (%s), want NoData", got.Verdict, got.Reason)
		}
	})

	t.Run("invalid query", func(t *testing.T) {
		got := measureQuery(t, promCheck(`sum(`), nil, time.Now())
		if got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, "parse error") {
			t.Errorf("an invalid query: %s (%s), want Error with Prometheus's parse error", got.Verdict, got.Reason)
		}
	})

	t.Run("judged", func(t *testing.T) {
		c := promCheck(`vector(1)`)
		c.Max, c.Limit = "", 0
		c.Judge = &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1}
		now := time.Now()
		got := measureQuery(t, c, firstLook(now.Add(-60*time.Second)), now)
		// One point per interval (1s) over the minute, on each side.
		if got.CanaryCount < 50 || got.BaselineCount < 50 || got.Verdict == upfactory.VerdictError || got.Verdict == upfactory.VerdictNoData {
			t.Errorf("a range query over a minute at 1s: %s (%s) over %d and %d samples, want about 60 each",
				got.Verdict, got.Reason, got.CanaryCount, got.BaselineCount)
		}

		none := c
		none.Query = `sum(nonexistent_metric_xyz{version="{{.Version}}"})`
		if got := measureQuery(t, none, firstLook(now.Add(-60*time.Second)), now); got.Verdict != upfactory.VerdictNoData {
			t.Errorf("a judged query with no series: %s (%s), want NoData", got.Verdict, got.Reason)
		}

		bad := c
		bad.Query = `sum(`
		if got := measureQuery(t, bad, firstLook(now.Add(-60*time.Second)), now); got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, "parse error") {
			t.Errorf("a judged invalid query: %s (%s), want Error", got.Verdict, got.Reason)
		}
	})
}

func TestPrometheusDown(t *testing.T) {
	// A closed loopback port: every connection is refused, retried within
	// the timeout, then reported with the address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := "http://" + ln.Addr().String()
	ln.Close()
	src, err := promsource.New(promsource.Config{Address: addr, Timeout: upfactory.Duration(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	limit := promCheck(`vector(0)`)
	judged := promCheck(`vector(0)`)
	judged.Name, judged.Max, judged.Limit = "errors judged", "", 0
	judged.Judge = &upfactory.JudgeSpec{ToleranceRatio: 0.1}
	m := measure.New(measure.Env{Service: newService(limit, judged), Prometheus: src})
	now := time.Now()
	for i := range 2 {
		got := mustMeasure(t, m, i, pools, firstLook(now.Add(-time.Minute)), now)
		if got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, addr) {
			t.Errorf("check %d with Prometheus down: %s (%s), want Error naming %s", i, got.Verdict, got.Reason, addr)
		}
	}
}

func TestPrometheusNotConfigured(t *testing.T) {
	got := mustMeasure(t, measure.New(measure.Env{Service: newService(promCheck(`vector(0)`))}), 0, pools, nil, time.Now())
	if got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, "no prometheus section") {
		t.Errorf("no prometheus section: %s (%s), want Error", got.Verdict, got.Reason)
	}
}
