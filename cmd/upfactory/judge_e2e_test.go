package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/promsource"
)

// These tests judge rollouts through the real Prometheus (Debian's package
// prometheus, started by scripts/prometheus.sh), which scrapes upfactory's
// own /metrics and the bundled shop's: the router's counters and the
// service's own, as in production.

// mustPrometheus returns the address of the Prometheus started by
// scripts/prometheus.sh and the directory of file_sd files it watches.
// Without one the test skips, except under CI=true, where it fails.
func mustPrometheus(t *testing.T) (addr, sdDir string) {
	t.Helper()
	addr, sdFile := os.Getenv("UPFACTORY_TEST_PROMETHEUS"), os.Getenv("UPFACTORY_TEST_PROMETHEUS_SD")
	if addr == "" || sdFile == "" {
		how := `UPFACTORY_TEST_PROMETHEUS and UPFACTORY_TEST_PROMETHEUS_SD are unset: needs Prometheus (Debian package prometheus); run eval "$(scripts/prometheus.sh start)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(how + " (CI=true: not skipping)")
		}
		t.Skip(how)
	}
	return addr, filepath.Dir(sdFile)
}

// judgeSteps lets Prometheus discover the canary's instance (within about
// 5s, as it would a new pod) before the analysis' first look.
const judgeSteps = `
          - weight: 20
          - pause: {duration: 8s}
          - analysis: {duration: 20s}
          - weight: 100`

// judgeChecks judge the canary three ways: a limit on the router's 5xx
// ratio as Prometheus scraped it from upfactory; the router's latencies,
// judged; and the shop's own 5xx ratio, judged. JOB and SHOPJOB are the
// scrape jobs, so that tests sharing one Prometheus read their own series.
// A rate needs two scrapes in its range: at a 1s scrape the analysis
// interval ({{.Window}}, 2s) is too short, hence 10s.
const judgeChecks = `
        - name: prom_5xx
          provider: prometheus
          query: 'sum(rate(upfactory_router_requests_total{job="JOB",service="{{.Service}}",version="{{.Version}}",code_class="5xx"}[10s])) / sum(rate(upfactory_router_requests_total{job="JOB",service="{{.Service}}",version="{{.Version}}"}[10s]))'
          max: 5%
        - name: latency
          metric: p95_latency
          judge: {tolerance: 20%}
          critical: true` + shopErrorsCheck

// shopErrorsCheck judges the shop's own 5xx ratio, from its /metrics. There
// is no 5xx series until the first 500: "or vector(0)" makes the ratio 0.
const shopErrorsCheck = `
        - name: shop_errors
          provider: prometheus
          query: '(sum(rate(shop_requests_total{job="SHOPJOB",version="{{.Version}}",code=~"5.."}[10s])) or vector(0)) / sum(rate(shop_requests_total{job="SHOPJOB",version="{{.Version}}"}[10s]))'
          judge: {tolerance: 10%, floor: 1%}`

// judged is a running `upfactory serve` whose analysis goes through
// Prometheus.
type judged struct {
	*served
	job, shopJob string // scrape jobs of upfactory's API and of the shop's instances
	prom         *promsource.Source
}

// judgeConfig writes a config for one service judged through the
// Prometheus at promAddr, with checks under analysis.checks.
func judgeConfig(t *testing.T, dir, promAddr, promTimeout, steps, checks string) (cfgPath, api, router string) {
	t.Helper()
	apiPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	routerPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("APIPORT", apiPort, "DIR", filepath.Join(dir, "data"), "PROMURL", promAddr,
		"PROMTIMEOUT", promTimeout, "BINARY", fmt.Sprintf("%q", binary), "ROUTERPORT", routerPort,
		"STEPS", steps, "CHECKS", checks, "GATESOFF", gatesOff).Replace(`server: {listen: 127.0.0.1:APIPORT, data_dir: DIR, tick_interval: 100ms}
prometheus: {address: PROMURL, timeout: PROMTIMEOUT}
services:
  - name: checkout
    owner: payments-team
    stable_version: 1.0.0GATESOFF
    target:
      type: exec
      command: [BINARY, "shop", "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"]
      replicas: 1
      readiness: {path: /healthz, timeout: 8s}
    router: {type: builtin, listen: 127.0.0.1:ROUTERPORT}
    strategy:
      canary:
        steps:STEPS
    analysis:
      interval: 2s
      min_samples: 10
      max_consecutive_errors: 3
      checks:CHECKS
`)
	cfgPath = filepath.Join(dir, "upfactory.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, "http://127.0.0.1:" + apiPort, "http://127.0.0.1:" + routerPort
}

// startJudged runs serve with checks (such as judgeChecks) against the real
// Prometheus, has Prometheus scrape upfactory's API and every shop instance
// serve starts, and waits until both the API and the stable shop are
// scraped.
func startJudged(t *testing.T, checks string) *judged {
	t.Helper()
	promAddr, sdDir := mustPrometheus(t)
	id := randomID(t)
	j := &judged{job: "upfactory-e2e-" + id, shopJob: "shop-e2e-" + id}
	prom, err := promsource.New(promsource.Config{Address: promAddr, Timeout: upfactory.Duration(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	j.prom = prom
	checks = strings.NewReplacer("SHOPJOB", j.shopJob, "JOB", j.job).Replace(checks)

	dir := t.TempDir()
	cfg, api, router := judgeConfig(t, dir, promAddr, "3s", judgeSteps, checks)
	j.served = &served{dir: dir, cfg: cfg, api: api, router: router}
	j.start(t)
	t.Cleanup(func() { j.stop(t) })
	j.waitStable(t, "1.0.0")

	apiURL, _ := url.Parse(api)
	sd := &scrapeTargets{path: filepath.Join(sdDir, j.job+".json"), job: j.job, shopJob: j.shopJob,
		api: apiURL.Host, shops: map[string]bool{}}
	t.Cleanup(func() { os.Remove(sd.path) })
	ctx, cancel := context.WithCancel(context.Background())
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		sd.follow(ctx, api)
	}()
	t.Cleanup(func() {
		cancel()
		<-followed
		if sd.err != nil {
			t.Errorf("writing the scrape targets: %v", sd.err)
		}
	})
	j.waitQuery(t, "Prometheus to scrape upfactory's API", `up{job="`+j.job+`"}`, func(f float64) bool { return f == 1 })
	j.waitQuery(t, "Prometheus to scrape the stable shop", `sum(up{job="`+j.shopJob+`"})`, func(f float64) bool { return f >= 1 })
	return j
}

func randomID(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// waitQuery polls an instant query until ok holds of its value.
func (j *judged) waitQuery(t *testing.T, what, expr string, ok func(float64) bool) float64 {
	t.Helper()
	var f float64
	eventually(t, what, 45*time.Second, func() (bool, string) {
		var err error
		f, err = j.prom.Value(t.Context(), promsource.Query{Expr: expr}, promsource.Vars{}, time.Time{})
		return err == nil && ok(f), fmt.Sprintf("%s at %s: last value %v, error %v", expr, j.prom.Address(), f, err)
	})
	return f
}

// scrapeTargets is a file_sd file naming upfactory's API and the shop's
// instances, each under a job of its own. Instances are added as serve
// starts them; those that stop stay listed (Prometheus marks them down).
type scrapeTargets struct {
	path, job, shopJob, api string
	shops                   map[string]bool
	err                     error // the first error writing the file
}

// follow lists serve's instances from its API every 200ms and adds the new
// ones until ctx is done.
func (sd *scrapeTargets) follow(ctx context.Context, api string) {
	sd.write()
	for {
		if st, err := apiStatus(ctx, api); err == nil {
			added := false
			for _, v := range st.Versions {
				for _, in := range v.Instances {
					if in.Addr != "" && !sd.shops[in.Addr] {
						sd.shops[in.Addr], added = true, true
					}
				}
			}
			if added {
				sd.write()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// write replaces the file by rename, so Prometheus never reads half of it.
func (sd *scrapeTargets) write() {
	type group struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	groups := []group{{Targets: []string{sd.api}, Labels: map[string]string{"job": sd.job}}}
	if len(sd.shops) > 0 {
		var shops []string
		for addr := range sd.shops {
			shops = append(shops, addr)
		}
		slices.Sort(shops)
		groups = append(groups, group{Targets: shops, Labels: map[string]string{"job": sd.shopJob}})
	}
	b, err := json.Marshal(groups)
	if err == nil {
		err = os.WriteFile(sd.path+".tmp", b, 0o644)
	}
	if err == nil {
		err = os.Rename(sd.path+".tmp", sd.path)
	}
	if err != nil && sd.err == nil {
		sd.err = err
	}
}

// apiStatus reads the service's status from the API; unlike served.status
// it may run outside the test's goroutine.
func apiStatus(ctx context.Context, api string) (*engine.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api+"/api/v1/services/checkout", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status: %s", resp.Status)
	}
	var st engine.Status
	return &st, json.NewDecoder(resp.Body).Decode(&st)
}

// waitJudged is served.waitFor saying where each check stands when it
// gives up.
func (s *served) waitJudged(t *testing.T, what string, timeout time.Duration, cond func(*engine.Status) bool) *engine.Status {
	t.Helper()
	var st *engine.Status
	eventually(t, what, timeout, func() (bool, string) {
		st = s.status(t)
		return cond(st), fmt.Sprintf("still %s step %d weight %d: %s; checks: %s", st.Phase, st.StepIndex, st.CanaryWeight, st.Message, describeChecks(st))
	})
	return st
}

func describeChecks(st *engine.Status) string {
	var parts []string
	for _, c := range st.Checks {
		parts = append(parts, fmt.Sprintf("%s=%s(errors %d, looks %d: %s)", c.Name, c.Status, c.Errors, c.Looks, c.Reason))
	}
	return strings.Join(parts, "; ")
}

func checkNamed(t *testing.T, st *engine.Status, name string) upfactory.CheckStatus {
	t.Helper()
	for _, c := range st.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %s in status: %s", name, describeChecks(st))
	return upfactory.CheckStatus{}
}

// logEntries reads the service's operation log through the API.
func (s *served) judgeLog(t *testing.T) []upfactory.LogEntry {
	t.Helper()
	code, out := s.cli(t, "log", "--service", "checkout", "-o", "json")
	if code != 0 {
		t.Fatalf("log: exit %d: %s", code, out)
	}
	var lg struct{ Entries []upfactory.LogEntry }
	if err := json.Unmarshal([]byte(out), &lg); err != nil {
		t.Fatalf("decoding the log: %v\n%s", err, out)
	}
	return lg.Entries
}

func lastEntry(entries []upfactory.LogEntry, action string) *upfactory.LogEntry {
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Action == action {
			return &entries[i]
		}
	}
	return nil
}

// Given Prometheus scraping upfactory and the shop, and steady load, when
// a good version rolls out, then it completes: every judged check passed
// its planned looks, and the Prometheus checks passed on values Prometheus
// gave.
func TestJudgeGoodCanaryCompletes(t *testing.T) {
	t.Parallel()
	j := startJudged(t, judgeChecks)
	_, stop := startLoad(t, j.served, 100)
	j.waitQuery(t, "the stable shop's request rate", `sum(rate(shop_requests_total{job="`+j.shopJob+`",version="1.0.0"}[10s]))`,
		func(f float64) bool { return f > 0 })

	if code, out := j.cli(t, "rollout", "start", "checkout", "--version", "1.2.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start: exit %d: %s", code, out)
	}
	st := j.waitJudged(t, "the end of the rollout", 90*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	c := stop()
	t.Logf("requests %d, by version %v, statuses %v", c.Total, c.ByVersion, c.Status)
	if st.Phase != upfactory.PhaseCompleted || st.StableVersion != "1.2.0" {
		t.Fatalf("end: %s stable %s: %s; checks: %s", st.Phase, st.StableVersion, st.Message, describeChecks(st))
	}

	for _, name := range []string{"latency", "shop_errors"} {
		ch := checkNamed(t, st, name)
		m := ch.Last
		if ch.Status != upfactory.VerdictPass || m == nil || m.Judgement == nil {
			t.Errorf("judged check %s: %s, last %+v", name, ch.Status, m)
			continue
		}
		jd := m.Judgement
		t.Logf("%s: look %d/%d, n=%d vs %d, p=%.3g (alpha %.3g), shift %.4g [%.4g, %.4g], allowed %.4g; canary %.4g, stable %.4g",
			name, jd.Look, jd.Planned, m.CanaryCount, m.BaselineCount, jd.PValue, jd.Alpha, jd.Shift, jd.ShiftLow, jd.ShiftHigh, jd.Allowed, m.Canary, m.Baseline)
		if jd.Look != jd.Planned || jd.Planned != 10 || ch.Looks != jd.Planned {
			t.Errorf("%s: look %d of %d planned (status counts %d looks), want the last of 10 (20s / 2s)", name, jd.Look, jd.Planned, ch.Looks)
		}
		if !(jd.PValue >= 0 && jd.PValue <= 1) || !(jd.Alpha > 0 && jd.Alpha < 0.05) {
			t.Errorf("%s: p-value %g, alpha %g", name, jd.PValue, jd.Alpha)
		}
	}
	if m := checkNamed(t, st, "shop_errors").Last; m != nil && m.CanaryCount < 5 {
		t.Errorf("shop_errors judged %d canary points from Prometheus, want at least 5", m.CanaryCount)
	}
	p := checkNamed(t, st, "prom_5xx")
	if p.Provider != upfactory.ProviderPrometheus || p.Status != upfactory.VerdictPass || p.Last == nil || p.Last.CanaryCount != 1 || !(p.Last.Canary >= 0 && p.Last.Canary <= 0.05) {
		t.Errorf("prom_5xx: %+v, last %+v", p, p.Last)
	} else {
		t.Logf("prom_5xx: canary 5xx ratio %.4g from Prometheus", p.Last.Canary)
	}

	// The analysis.passed entry carries the figures.
	entries := j.judgeLog(t)
	passed := lastEntry(entries, "analysis.passed")
	if passed == nil {
		t.Fatalf("no analysis.passed entry in %d entries", len(entries))
	}
	t.Logf("analysis.passed: %s", passed.Reason)
	for _, name := range []string{"latency", "shop_errors", "prom_5xx"} {
		v, _ := passed.Values[name].(map[string]any)
		if v == nil || v["status"] != string(upfactory.VerdictPass) || v["canary"] == nil {
			t.Errorf("analysis.passed values of %s: %v", name, v)
			continue
		}
		if name != "prom_5xx" && (v["p_value"] == nil || v["look"] != v["planned_looks"] || v["judgement"] == nil) {
			t.Errorf("analysis.passed values of %s lack the judgement: %v", name, v)
		}
	}
	if lastEntry(entries, "rollout.completed") == nil {
		t.Errorf("no rollout.completed entry")
	}
	// Prometheus scraped the canary's own metrics too.
	j.waitQuery(t, "the canary shop's checkouts in Prometheus", `sum(shop_checkouts_total{job="`+j.shopJob+`",version="1.2.0"})`,
		func(f float64) bool { return f > 0 })
}

// Given Prometheus scraping upfactory and the shop, and steady load, when
// a version that fails 8% of requests and is 120ms slower rolls out, then
// it is rolled back automatically and the log says which check failed.
func TestJudgeBadCanaryRolledBack(t *testing.T) {
	t.Parallel()
	j := startJudged(t, judgeChecks)
	_, stop := startLoad(t, j.served, 100)
	j.waitQuery(t, "the stable shop's request rate", `sum(rate(shop_requests_total{job="`+j.shopJob+`",version="1.0.0"}[10s]))`,
		func(f float64) bool { return f > 0 })

	if code, out := j.cli(t, "rollout", "start", "checkout", "--version", "2.1.0"); code != 0 {
		t.Fatalf("rollout start: exit %d: %s", code, out)
	}
	start := time.Now()
	st := j.waitJudged(t, "the automatic rollback", 90*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	c := stop()
	t.Logf("ended %s after %s: %s", st.Phase, time.Since(start).Round(time.Second), st.Message)
	t.Logf("requests %d; served by 2.1.0: %d, of which 5xx: %d; checks: %s", c.Total, c.ByVersion["2.1.0"], c.Errors5xx["2.1.0"], describeChecks(st))
	if st.Phase != upfactory.PhaseRolledBack || st.CanaryWeight != 0 || st.StableVersion != "1.0.0" {
		t.Fatalf("end: %s weight %d stable %s: %s", st.Phase, st.CanaryWeight, st.StableVersion, st.Message)
	}
	named := ""
	for _, name := range []string{"prom_5xx", "latency", "shop_errors"} {
		if strings.Contains(st.Message, name) {
			named = name
		}
	}
	if named == "" {
		t.Errorf("the rollback message names no check: %s", st.Message)
	}
	rb := lastEntry(j.judgeLog(t), "rollback.automatic")
	if rb == nil || rb.Actor != upfactory.ActorSystem || rb.Reason != st.Message || len(rb.Values) == 0 {
		t.Fatalf("rollback entry: %+v", rb)
	}
	t.Logf("rollback.automatic values: %v", rb.Values)
}

// Given Prometheus scraping the shop, and steady load, when the bad version
// rolls out and only judged checks guard it, none critical, then during the
// analysis the judge fails the router's latencies, and once the shop's own
// 5xx ratio from Prometheus has its first verdict too, the score rolls the
// canary back.
func TestJudgeBadCanaryFailsTheJudge(t *testing.T) {
	t.Parallel()
	checks := `
        - name: latency
          metric: p95_latency
          judge: {tolerance: 20%}` + shopErrorsCheck
	j := startJudged(t, checks)
	_, stop := startLoad(t, j.served, 100)
	j.waitQuery(t, "the stable shop's request rate", `sum(rate(shop_requests_total{job="`+j.shopJob+`",version="1.0.0"}[10s]))`,
		func(f float64) bool { return f > 0 })

	if code, out := j.cli(t, "rollout", "start", "checkout", "--version", "2.1.0"); code != 0 {
		t.Fatalf("rollout start: exit %d: %s", code, out)
	}
	start := time.Now()
	st := j.waitJudged(t, "the automatic rollback", 90*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	stop()
	t.Logf("ended %s at step %d after %s: %s", st.Phase, st.StepIndex, time.Since(start).Round(time.Second), st.Message)
	if st.Phase != upfactory.PhaseRolledBack || st.StepIndex != 2 || !strings.Contains(st.Message, "analysis at 20% failed") {
		t.Fatalf("end: %s at step %d: %s; checks: %s", st.Phase, st.StepIndex, st.Message, describeChecks(st))
	}
	for _, name := range []string{"latency", "shop_errors"} {
		ch := checkNamed(t, st, name)
		m := ch.Last
		if m == nil || m.Judgement == nil {
			t.Errorf("%s: %s without a judgement: %s", name, ch.Status, ch.Reason)
			continue
		}
		jd := m.Judgement
		t.Logf("%s: %s at look %d/%d, n=%d vs %d, p=%.3g (alpha %.3g), shift %.4g [%.4g, %.4g], allowed %.4g; canary %.4g, stable %.4g",
			name, ch.Status, jd.Look, jd.Planned, m.CanaryCount, m.BaselineCount, jd.PValue, jd.Alpha, jd.Shift, jd.ShiftLow, jd.ShiftHigh, jd.Allowed, m.Canary, m.Baseline)
	}
	if lat := checkNamed(t, st, "latency"); lat.Status != upfactory.VerdictFail || lat.Last == nil || !(lat.Last.Canary-lat.Last.Baseline > 0.1) {
		t.Errorf("latency, 120ms slower: %s: %s", lat.Status, lat.Reason)
	}
	// The shop's 5xx ratio came from Prometheus: points of the range query,
	// the canary's around 8%.
	if se := checkNamed(t, st, "shop_errors"); se.Last == nil || se.Last.CanaryCount < 5 || !(se.Last.Canary > 0.01) {
		t.Errorf("shop_errors: %s: %+v", se.Status, se.Last)
	}
	rb := lastEntry(j.judgeLog(t), "rollback.automatic")
	if rb == nil || rb.Values["latency"] == nil || rb.Values["shop_errors"] == nil || rb.Values["score"] == nil {
		t.Fatalf("rollback entry: %+v", rb)
	}
}

// Given a Prometheus that does not answer, when a rollout's only check
// asks it, then after max_consecutive_errors failed measurements the
// rollout pauses, not rolls back, and status says why. It needs no
// Prometheus: the point is its absence.
func TestJudgePrometheusDownPauses(t *testing.T) {
	t.Parallel()
	port, err := freePort() // free, so closed: nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	checks := `
        - name: prom_5xx
          provider: prometheus
          query: 'sum(rate(upfactory_router_requests_total{service="{{.Service}}",version="{{.Version}}",code_class="5xx"}[10s])) / sum(rate(upfactory_router_requests_total{service="{{.Service}}",version="{{.Version}}"}[10s]))'
          max: 5%`
	cfg, api, router := judgeConfig(t, dir, "http://127.0.0.1:"+port, "1s", judgeSteps, checks)
	s := &served{dir: dir, cfg: cfg, api: api, router: router}
	s.start(t)
	t.Cleanup(func() { s.stop(t) })
	s.waitStable(t, "1.0.0")

	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "1.2.0"); code != 0 {
		t.Fatalf("rollout start: exit %d: %s", code, out)
	}
	st := s.waitJudged(t, "the pause", 60*time.Second, func(st *engine.Status) bool {
		return st.Phase != upfactory.PhaseProgressing
	})
	t.Logf("%s at step %d weight %d: %s", st.Phase, st.StepIndex, st.CanaryWeight, st.Message)
	if st.Phase != upfactory.PhasePaused || !strings.Contains(st.Message, "not rolled back") || !strings.Contains(st.Message, "prom_5xx") {
		t.Fatalf("end: %s: %s", st.Phase, st.Message)
	}
	ch := checkNamed(t, st, "prom_5xx")
	if ch.Status != upfactory.VerdictError || ch.Errors < 3 || !strings.Contains(ch.Reason, "127.0.0.1:"+port) {
		t.Errorf("check: %s, %d errors: %s", ch.Status, ch.Errors, ch.Reason)
	}
	if ch.Last == nil || ch.Last.Verdict != upfactory.VerdictError || math.IsNaN(ch.Last.Canary) {
		t.Errorf("last measurement: %+v", ch.Last)
	}
	e := lastEntry(s.judgeLog(t), "analysis.errors")
	if e == nil || e.Values["consecutive_errors"] != float64(3) {
		t.Errorf("analysis.errors entry: %+v", e)
	}
	if lastEntry(s.judgeLog(t), "rollback.automatic") != nil {
		t.Errorf("rolled back although no check failed")
	}
	// Still paused after two more failed looks: errors never roll back by
	// themselves.
	later := s.waitJudged(t, "two more failed looks while paused", 30*time.Second, func(st *engine.Status) bool {
		return st.Phase != upfactory.PhasePaused || checkNamed(t, st, "prom_5xx").Errors >= ch.Errors+2
	})
	if later.Phase != upfactory.PhasePaused {
		t.Errorf("after the pause: %s: %s", later.Phase, later.Message)
	}
	if lastEntry(s.judgeLog(t), "rollback.automatic") != nil {
		t.Errorf("rolled back after more failed looks")
	}
}
