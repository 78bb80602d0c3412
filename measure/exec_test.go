//go:build unix

package measure_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/measure"
)

// The exec provider runs its command directly, never through a shell;
// these tests use /bin/sh as the command under test, the way a user might
// point a check at a script.

var execPools = measure.Pools{Canary: canaryVersion, Stable: stableVersion,
	CanaryAddrs: []string{"127.0.0.1:9001"}, StableAddrs: []string{"127.0.0.1:9002"}}

func execCheck(script string, args ...string) upfactory.Check {
	return upfactory.Check{Name: "backlog", Metric: "queue_backlog", Provider: upfactory.ProviderExec,
		Command: append([]string{"/bin/sh", "-c", script, "sh"}, args...), Max: "0.5", Limit: 0.5,
		Timeout: upfactory.Duration(10 * time.Second)}
}

func measureExec(t *testing.T, c upfactory.Check) upfactory.Measurement {
	t.Helper()
	return mustMeasure(t, measure.New(measure.Env{Service: newService(c)}), 0, execPools, nil, time.Now())
}

func TestExecLimit(t *testing.T) {
	got := measureExec(t, execCheck("echo 0.7", "{{.Version}}"))
	if got.Verdict != upfactory.VerdictFail || got.Canary != 0.7 || got.CanaryCount != 1 {
		t.Errorf("a command printing 0.7 with max 0.5: %s (%s), canary %g over %d; want Fail at 0.7 over 1", got.Verdict, got.Reason, got.Canary, got.CanaryCount)
	}
	got = measureExec(t, execCheck("echo starting; echo 0.2"))
	if got.Verdict != upfactory.VerdictPass || got.Canary != 0.2 {
		t.Errorf("a command printing 0.2 last: %s (%s), canary %g; want Pass at 0.2", got.Verdict, got.Reason, got.Canary)
	}
}

func TestExecTemplates(t *testing.T) {
	// The templates reach argv; the variables reach the environment.
	c := execCheck(`test "$1" = "shop canary 2.0.0 127.0.0.1:9001" && echo 1 || echo 0`, "{{.Service}} {{.Pool}} {{.Version}} {{.Addr}}")
	c.Max, c.Limit, c.MaxVsBaseline = "", 0, 1.5
	got := measureExec(t, c)
	if got.Canary != 1 || got.Baseline != 0 || got.CanaryCount != 1 || got.BaselineCount != 1 {
		t.Fatalf("argv: canary %g over %d, stable %g over %d; want 1 (its own argv) and 0, one run each", got.Canary, got.CanaryCount, got.Baseline, got.BaselineCount)
	}
	if got.Verdict != upfactory.VerdictFail {
		t.Errorf("canary 1 vs stable 0 with max_vs_baseline 1.5: %s (%s), want Fail", got.Verdict, got.Reason)
	}

	env := execCheck(`test "$UPFACTORY_SERVICE $UPFACTORY_POOL $UPFACTORY_VERSION $UPFACTORY_ADDR" = "shop stable 1.0.0 127.0.0.1:9002" && echo 1 || echo 0`)
	env.Max, env.Limit, env.MaxVsBaseline = "", 0, 1.5
	got = measureExec(t, env)
	if got.Canary != 0 || got.Baseline != 1 {
		t.Errorf("environment: canary %g, stable %g; want 0 and 1 (the stable's variables)", got.Canary, got.Baseline)
	}

	unknown := execCheck("echo 1", "{{.Port}}")
	if got := measureExec(t, unknown); got.Verdict != upfactory.VerdictError || !strings.Contains(got.Reason, "command[4]") {
		t.Errorf("an unknown template field: %s (%s), want Error naming the argument", got.Verdict, got.Reason)
	}
}

func TestExecErrors(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		timeout      time.Duration
		reason       []string
	}{
		{"exits 1", "echo 0.1; echo 'cannot reach the queue' >&2; exit 1", 0, []string{"exit status 1", "cannot reach the queue", "canary"}},
		{"prints no number", "echo abc", 0, []string{`"abc"`, "not a number"}},
		{"prints nothing", "true", 0, []string{"printed nothing"}},
		// The shell waits for sleep, a child of its own that holds the
		// output pipe: the timeout must not wait for it.
		{"runs out of time", "sleep 30; echo 0", 200 * time.Millisecond, []string{"timed out after 200ms"}},
		{"not found", "", 0, []string{"no-such-command"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := execCheck(tc.script)
			if tc.name == "not found" {
				c.Command = []string{"/nonexistent/no-such-command"}
			}
			if tc.timeout > 0 {
				c.Timeout = upfactory.Duration(tc.timeout)
			}
			got := measureExec(t, c)
			if got.Verdict != upfactory.VerdictError {
				t.Fatalf("%s: %s (%s), want Error", tc.name, got.Verdict, got.Reason)
			}
			for _, want := range append(tc.reason, "backlog", "exec provider") {
				if !strings.Contains(got.Reason, want) {
					t.Errorf("reason %q does not say %q", got.Reason, want)
				}
			}
		})
	}
}

func TestExecNotANumberIsNoData(t *testing.T) {
	// strconv accepts NaN: the command measured nothing, which is NoData
	// (never a pass), and the measurement must still be saveable.
	got := measureExec(t, execCheck("echo NaN"))
	if got.Verdict != upfactory.VerdictNoData {
		t.Errorf("a command printing NaN: %s (%s), want NoData", got.Verdict, got.Reason)
	}
}

func TestExecJudged(t *testing.T) {
	c := execCheck(`if [ "$UPFACTORY_POOL" = canary ]; then echo 30; else echo 10; fi`)
	c.Max, c.Limit = "", 0
	c.Judge = &upfactory.JudgeSpec{Tolerance: "10%", ToleranceRatio: 0.1}
	m := measure.New(measure.Env{Service: newService(c)})
	step := time.Now().Add(-time.Minute)
	var got upfactory.Measurement
	for range 5 {
		got = mustMeasure(t, m, 0, execPools, firstLook(step), time.Now())
	}
	if got.Verdict != upfactory.VerdictFail || got.CanaryCount != 5 || got.Canary != 30 || got.Baseline != 10 {
		t.Errorf("five runs of 30 vs 10: %s (%s), medians %g vs %g over %d; want Fail at 30 vs 10 over 5",
			got.Verdict, got.Reason, got.Canary, got.Baseline, got.CanaryCount)
	}
}

// The samples a judged check accumulates survive a restart: a new meter
// given the saved ones judges the step on them and on its own.
func TestJudgedSamplesSurviveARestart(t *testing.T) {
	c := execCheck(`echo 5`)
	c.Judge = &upfactory.JudgeSpec{Tolerance: "10%"}
	svc := newService(c)
	m := measure.New(measure.Env{Service: svc})
	since := time.Now().Add(-time.Minute)
	look := &measure.Look{Since: since, Index: 1, Planned: 4, Alpha: 0.05}
	p := measure.Pools{Canary: "2.0.0", Stable: "1.0.0", CanaryAddrs: []string{"127.0.0.1:1"}, StableAddrs: []string{"127.0.0.1:2"}}
	for range 2 {
		m.Measure(t.Context(), 0, p, look, time.Now())
	}
	saved := m.Samples(since)
	if js := saved[0]; len(js.Canary) != 2 || len(js.Baseline) != 2 || !js.Since.Equal(since) {
		t.Fatalf("saved %+v: want two looks of both versions", saved)
	}
	if other := m.Samples(since.Add(time.Second)); len(other) != 0 {
		t.Errorf("samples of another step: %+v", other)
	}
	restarted := measure.New(measure.Env{Service: svc})
	restarted.Restore(saved)
	restarted.Measure(t.Context(), 0, p, look, time.Now())
	if js := restarted.Samples(since)[0]; len(js.Canary) != 3 {
		t.Errorf("after a restart and one more look: %d samples, want 3", len(js.Canary))
	}
}
