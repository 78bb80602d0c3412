package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/config"
)

// analysisBase is a delivered service with an analysis step, a journey and
// a top-level Prometheus, so that every provider can be configured.
const analysisBase = `prometheus: {address: "http://127.0.0.1:9090", timeout: 3s}
services:
  - name: shop
    stable_version: v1
    target: {type: exec, command: ["./shop", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy:
      canary:
        steps:
          - mirror: {duration: 1m, sample: 25%}
          - weight: 5
          - analysis: {duration: 2m}
          - weight: 100
    compat:
      journeys:
        - name: buy
          steps: [{path: /api/products, expect: {status: 200}}]
    analysis:
`

func TestParseEveryProvider(t *testing.T) {
	yaml := analysisBase + `      interval: 10s
      alpha: 0.02
      score: {pass: 90, marginal: 60}
      max_consecutive_errors: 5
      checks:
        - {metric: error_rate, max: 1%}
        - {name: latency, metric: p95_latency, judge: {tolerance: 20%, floor: 5ms}, critical: true, weight: 3}
        - {metric: endpoint_errors, max: 5%}
        - {metric: conversion, numerator: "POST /api/checkout", denominator: "GET /api/products", judge: {}}
        - {metric: cpu, max_vs_baseline: 1.5}
        - {metric: memory, max: 512MiB}
        - name: queue
          provider: prometheus
          query: 'max(shop_queue_backlog{version="{{.Version}}"})'
          max: "1000"
        - {name: journey, provider: probe, journey: buy, max: 0%}
        - {name: custom, provider: exec, command: ["./probe.sh", "{{.Addr}}", "{{.Pool}}"], min_vs_baseline: 0.9, direction: lower_is_worse}
`
	c, err := config.Parse("upfactory.yaml", []byte(yaml), "/srv")
	if err != nil {
		t.Fatal(err)
	}
	a := c.Services[0].Analysis
	if a.Alpha != 0.02 || a.Score != (upfactory.ScoreSpec{Pass: 90, Marginal: 60}) || a.MaxErrors != 5 {
		t.Errorf("analysis settings %+v", a)
	}
	got := map[string]upfactory.Check{}
	for _, ch := range a.Checks {
		got[ch.ID()] = ch
	}
	if ch := got["latency"]; ch.Provider != "builtin" || ch.Judge.ToleranceRatio != 0.2 || ch.Judge.FloorValue != 0.005 || !ch.Critical || ch.Weight != 3 {
		t.Errorf("latency check %+v judge %+v", ch, ch.Judge)
	}
	if ch := got["conversion"]; ch.Judge.ToleranceRatio != 0.1 || ch.Judge.FloorValue != 0.005 || !ch.LowerIsWorse() {
		t.Errorf("conversion check: default tolerance 10%% and floor 0.5%%, lower is worse; got %+v", ch.Judge)
	}
	if ch := got["memory"]; ch.Limit != 512<<20 {
		t.Errorf("memory limit %g, want %d bytes", ch.Limit, 512<<20)
	}
	if ch := got["queue"]; ch.Limit != 1000 || ch.Weight != 1 {
		t.Errorf("queue check %+v", ch)
	}
	if ch := got["journey"]; ch.Metric != upfactory.MetricProbeFailures || ch.Limit != 0 {
		t.Errorf("probe check defaults to failure_rate: %+v", ch)
	}
	m := c.Services[0].Strategy.Canary.Steps[0].Mirror
	if m.SampleRatio != 0.25 || m.MismatchLimit != 0.01 || m.MinCompared != 20 {
		t.Errorf("mirror step %+v: want sample 0.25 and the defaults 1%% and 20", m)
	}
	if c.Prometheus == nil || c.Prometheus.Timeout != upfactory.Duration(3e9) {
		t.Errorf("prometheus %+v", c.Prometheus)
	}
}

var analysisBad = []struct {
	name   string
	checks string
	want   []string
}{
	{"unknown provider", `{metric: error_rate, provider: datadog, max: 1%}`,
		[]string{`provider: unknown metric provider type "datadog": want builtin, exec, probe or prometheus`}},
	{"a key of another provider", `{name: q, provider: exec, command: [./q], query: "up", journey: home, max: "1"}`,
		[]string{`query: only provider prometheus takes a query`, `journey: only provider probe takes a journey`}},
	{"prometheus without query", `{name: q, provider: prometheus, max: "1"}`,
		[]string{`query: required: a PromQL template`}},
	{"query with an unknown field", `{name: q, provider: prometheus, query: 'up{v="{{.Versoin}}"}', max: "1"}`,
		[]string{`query: invalid template: unknown field .Versoin; it may use .Service, .Version, .Pool, .Window`}},
	{"probe of an unknown journey", `{name: j, provider: probe, journey: sell, max: 0%}`,
		[]string{`journey: no journey "sell" in compat.journeys (known: buy)`}},
	{"exec without command", `{name: x, provider: exec, max: "1"}`,
		[]string{`command: required`}},
	{"judged with a limit", `{metric: p95_latency, max: 1s, judge: {tolerance: 10%}}`,
		[]string{`judge: a judged check has no max`}},
	{"request rate judged", `{metric: request_rate, judge: {}}`,
		[]string{`judge: request_rate cannot be judged`}},
	{"bad tolerance", `{metric: p95_latency, judge: {tolerance: lots}}`,
		[]string{`judge.tolerance:`}},
	{"bad floor", `{metric: p95_latency, judge: {floor: 5}}`,
		[]string{`judge.floor: invalid duration "5"`}},
	{"critical limit check", `{metric: error_rate, max: 1%, critical: true}`,
		[]string{`critical: only judged checks take critical`}},
	{"two judged checks with one name", `{metric: p95_latency, judge: {}}, {metric: p95_latency, judge: {tolerance: 5%}}`,
		[]string{`name: two checks are called "p95_latency"`}},
	{"conversion without routes", `{metric: conversion, min: 10%, numerator: checkout}`,
		[]string{`denominator: required: a route`, `numerator: "checkout" is not a route`}},
	{"bad direction", `{metric: error_rate, max: 1%, direction: up}`,
		[]string{`direction: must be higher_is_worse or lower_is_worse, got "up"`}},
	{"bad memory", `{metric: memory, max: lots}`,
		[]string{`max: invalid size "lots"`}},
}

func TestParseBadChecks(t *testing.T) {
	for _, tc := range analysisBad {
		t.Run(tc.name, func(t *testing.T) {
			yaml := analysisBase + "      checks: [" + tc.checks + "]\n"
			_, err := config.Parse("upfactory.yaml", []byte(yaml), "/srv")
			var probs config.Errors
			if !errors.As(err, &probs) {
				t.Fatalf("Parse error %v, want config.Errors", err)
			}
			// Each problem that holds its expected fragment becomes the
			// fragment, so the diff shows only real differences.
			var got []string
			for i, p := range probs {
				g := p.Key + ": " + p.Message
				if i < len(tc.want) && strings.Contains(g, tc.want[i]) {
					g = tc.want[i]
				}
				got = append(got, g)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPrometheusCheckNeedsPrometheus(t *testing.T) {
	yaml := strings.TrimPrefix(analysisBase, `prometheus: {address: "http://127.0.0.1:9090", timeout: 3s}`+"\n") +
		`      checks: [{name: q, provider: prometheus, query: "vector(1)", max: "1"}]` + "\n"
	_, err := config.Parse("upfactory.yaml", []byte(yaml), "/srv")
	if err == nil || !strings.Contains(err.Error(), "needs a top-level prometheus: section") {
		t.Errorf("Parse = %v", err)
	}
	yaml = strings.Replace(analysisBase, `address: "http://127.0.0.1:9090"`, `address: "http://u:secret@127.0.0.1:9090"`, 1) + "      checks: [{metric: error_rate, max: 1%}]\n"
	_, err = config.Parse("upfactory.yaml", []byte(yaml), "/srv")
	if err == nil || !strings.Contains(err.Error(), "not in the address") || strings.Contains(err.Error(), "secret") {
		t.Errorf("Parse = %v: want the credentials refused and never printed", err)
	}
}
