package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/config"
)

func ptr[T any](v T) *T { return &v }

func dur(d time.Duration) upfactory.Duration { return upfactory.Duration(d) }

// TestLoadExample loads the example from the documentation unchanged.
func TestLoadExample(t *testing.T) {
	c, err := config.Load("testdata/upfactory.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := &upfactory.Config{
		Server: upfactory.ServerConfig{
			Listen:       "127.0.0.1:7070",
			DataDir:      filepath.Join(dir, ".upfactory"),
			TickInterval: dur(250 * time.Millisecond),
			Lease:        dur(10 * time.Second),
		},
		Services: []*upfactory.Service{{
			Name:          "checkout",
			Owner:         "payments-team",
			Tier:          1,
			CriticalPaths: []string{"payment", "auth"},
			StableVersion: "1.0.0",
			Target: upfactory.TargetSpec{
				Type:        "exec",
				Command:     []string{"./bin/shop", "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"},
				Dir:         dir,
				Replicas:    2,
				Readiness:   upfactory.Readiness{Path: "/healthz", Timeout: dur(30 * time.Second), Interval: dur(200 * time.Millisecond)},
				StopTimeout: dur(10 * time.Second),
			},
			Router: upfactory.RouterSpec{
				Type:         "builtin",
				Listen:       "127.0.0.1:8080",
				Sticky:       true,
				Cookie:       "upfactory_version",
				DrainTimeout: dur(30 * time.Second),
			},
			Strategy: upfactory.Strategy{Canary: &upfactory.CanaryStrategy{
				Steps: []upfactory.Step{
					{Weight: ptr(5)},
					{Analysis: &upfactory.AnalysisStep{Duration: dur(30 * time.Second)}},
					{Approval: &upfactory.ApprovalStep{Role: "approver"}},
					{Weight: ptr(25)},
					{Analysis: &upfactory.AnalysisStep{Duration: dur(30 * time.Second)}},
					{Weight: ptr(50)},
					{Pause: &upfactory.PauseStep{Duration: dur(10 * time.Second)}},
					{Weight: ptr(100)},
				},
				RollbackWindow: dur(10 * time.Minute),
				KeepFailedFor:  dur(30 * time.Minute),
			}},
			Analysis: upfactory.AnalysisSpec{
				Interval:   dur(5 * time.Second),
				MinSamples: 20,
				Checks: []upfactory.Check{
					{Metric: "error_rate", Provider: "builtin", Max: "1%", For: dur(30 * time.Second), Limit: 0.01, Weight: 1},
					{Metric: "p95_latency", Provider: "builtin", MaxVsBaseline: 1.3, For: dur(30 * time.Second), Weight: 1},
					{Metric: "p99_latency", Provider: "builtin", Max: "800ms", Limit: 0.8, Weight: 1},
				},
				Alpha:     0.05,
				Score:     upfactory.ScoreSpec{Pass: 95, Marginal: 75},
				MaxErrors: 3,
			},
			Preflight:    upfactory.PreflightSpec{MaxAge: dur(24 * time.Hour)},
			Drill:        upfactory.DrillSpec{MaxAge: dur(30 * 24 * time.Hour), MaxRollback: dur(5 * time.Second), Speed: 1},
			Verification: upfactory.VerificationSpec{Window: dur(30 * time.Minute), OnRegression: "rollback"},
		}},
		Economics: upfactory.DefaultEconomics(),
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
	if err := config.Validate(c); err != nil {
		t.Errorf("Validate(loaded example): %v", err)
	}
}

// minimal is the smallest valid config; the bad cases below are variations
// of it, so their line numbers are easy to read off.
const minimal = `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`

// badCases are configs with the problems expected in them, as
// "line:col key: message" fragments in order. FuzzParse starts from them too.
var badCases = []struct {
	name string
	yaml string
	want []string
}{
	{
		name: "cost model with a missing and a negative price",
		yaml: minimal + `economics:
  currency: EUR
  downtime_per_minute: -10
  cpu_hour: 0.05
  breach_cost: 1000000
  slo_percent: 100
`,
		want: []string{
			`7:1 economics.gib_hour: required in an economics section`,
			`9:24 economics.downtime_per_minute: must not be negative, got -10`,
			`12:16 economics.slo_percent: want a percentage between 0 and 100 exclusive`,
		},
	},
	{
		name: "flag steps with a flag store of no type, and one without its path",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{flag: {name: new-cart, percent: 10}}, {weight: 100}]}}
    flags: {type: launchdarkly}
  - name: api
    stable_version: v1
    target: {type: exec, command: ["./api", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8081"}
    strategy: {canary: {steps: [{flag: {name: new-cart, percent: 10}}, {weight: 100}]}}
    flags: {type: flagd-file}
`,
		want: []string{
			`7:19 services[0].flags.type: unknown flag store type "launchdarkly": want flagd-file`,
			`13:5 services[1].flags.path: required: the flagd flag-definition file upfactory writes`,
		},
	},
	{
		name: "a store DSN with its password in the file",
		yaml: minimal + `store: {dsn: "postgres://upfactory:hunter2@db.internal:5432/upfactory"}
`,
		want: []string{`7:14 store.dsn: has a password: write the DSN as ${NAME}`},
	},
	{
		name: "a store DSN of another database",
		yaml: minimal + `store: {dsn: "mysql://db.internal/upfactory"}
`,
		want: []string{`7:14 store.dsn: want a postgres:// URL, got mysql://`},
	},
	{
		name: "a router certificate without its key",
		yaml: strings.Replace(minimal, `router: {listen: "127.0.0.1:8080"}`, `router: {listen: "127.0.0.1:8080", tls: {cert: web.pem}}`, 1),
		want: []string{`5:40 services[0].router.tls: needs both cert and key`},
	},
	{
		name: "a traffic check on a router that keeps no counts",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {type: haproxy, listen: "127.0.0.1:8080", socket: /run/haproxy/admin.sock, backend: web}
    strategy: {canary: {steps: [{weight: 5}, {analysis: {duration: 1m}}, {weight: 100}]}}
    analysis: {checks: [{metric: error_rate, max: 1%}]}
`,
		want: []string{`7:34 services[0].analysis.checks[0].metric: error_rate is counted by upfactory's own router`},
	},
	{
		name: "notifiers",
		yaml: minimal + `notifiers:
  - {type: webhook, url: "https://hooks.example.com/upfactory", secret: plain-text-secret, events: [started, exploded]}
  - {type: pager, url: "ftp://x"}
`,
		want: []string{
			`8:73 notifiers[0].secret: write it as ${NAME} and set the environment variable NAME: a secret stays out of the config file`,
			`8:110 notifiers[0].events[1]: unknown event "exploded": want one of started, step, paused, approved, promoted, tripwire, rolled_back, completed`,
			`9:12 notifiers[1].type: unknown notifier type "pager": want slack or webhook`,
			`9:24 notifiers[1].url: want an http or https URL`,
		},
	},
	{
		name: "blue-green with a weight step",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy:
      blue_green:
        pre_promotion: [{weight: 50}]
`,
		want: []string{`8:34 services[0].strategy.blue_green.pre_promotion[0].weight: a blue-green strategy takes no weight steps: promotion moves all traffic at once (use a canary strategy to shift it gradually)`},
	},
	{
		name: "verification",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
    verification: {window: 10m, on_regression: page}
`,
		want: []string{`7:48 services[0].verification.on_regression: want rollback or incident, got "page"`},
	},
	{
		name: "verification of a check it cannot judge",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
    analysis: {checks: [{metric: error_rate, max: 1%}, {metric: cpu, max: "2"}]}
    verification: {checks: [error_rate, cpu]}
`,
		want: []string{`8:41 services[0].verification.checks[1]: "cpu" is not a limit check of a traffic metric of this service; verification can judge: error_rate`},
	},
	{
		name: "misspelt key",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy:
      canary:
        steps:
          - weigth: 100
`,
		want: []string{
			`8:9 services[0].strategy.canary.steps: steps never reach weight: 100`,
			`9:13 services[0].strategy.canary.steps[0].weigth: unknown key "weigth" (did you mean "weight"?); expected one of: weight, analysis, approval, pause, mirror, flag`,
		},
	},
	{
		name: "wrong types",
		yaml: `services:
  - name: web
    tier: high
    critical_paths: payment
    stable_version: v1
    target: [exec]
    router: {listen: "127.0.0.1:8080", sticky: yes}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{
			`3:11 services[0].tier: expected a whole number, got the string "high"`,
			`4:21 services[0].critical_paths: expected a list, got the string "payment"`,
			`6:13 services[0].target: expected a mapping, got a list`,
			`7:48 services[0].router.sticky: expected true or false, got the string "yes"`,
		},
	},
	{
		name: "weight out of range",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 5}, {weight: 150}]}}
`,
		want: []string{`6:55 services[0].strategy.canary.steps[1].weight: must be between 0 and 100, got 150`},
	},
	{
		name: "step of two kinds",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy:
      canary:
        steps:
          - weight: 100
            pause: {duration: 1m}
`,
		want: []string{`9:13 services[0].strategy.canary.steps[0]: a step has exactly one of weight, analysis, approval, pause, mirror or flag; got weight and pause`},
	},
	{
		name: "unknown metric",
		yaml: minimal + `    analysis:
      checks:
        - {metric: error_rat, max: 1%}
`,
		want: []string{`9:20 services[0].analysis.checks[0].metric: unknown metric "error_rat"; the builtin provider knows: error_rate, error_rate_4xx, p50_latency, p95_latency, p99_latency, request_rate, endpoint_errors, conversion, cpu, memory (use provider: prometheus or exec for others)`},
	},
	{
		name: "bad max for each unit",
		yaml: minimal + `    analysis:
      checks:
        - {metric: error_rate, max: 150%}
        - {metric: error_rate_4xx, max: lots}
        - {metric: p99_latency, max: 5}
        - {metric: p50_latency, max: -1s}
        - {metric: request_rate, max: many}
        - {metric: request_rate, max: -3}
        - {metric: p95_latency, max_vs_baseline: 0}
        - {metric: p95_latency}
`,
		want: []string{
			`9:37 services[0].analysis.checks[0].max: 150% is outside 0%–100%`,
			`10:41 services[0].analysis.checks[1].max: invalid percentage "lots"`,
			`11:38 services[0].analysis.checks[2].max: invalid duration "5": want a number with a unit`,
			`12:38 services[0].analysis.checks[3].max: must be more than 0, got -1s`,
			`13:39 services[0].analysis.checks[4].max: invalid rate "many"`,
			`14:39 services[0].analysis.checks[5].max: must not be negative, got -3`,
			`15:50 services[0].analysis.checks[6].max_vs_baseline: must be more than 0`,
			`16:12 services[0].analysis.checks[7]: needs a limit (max, min, max_vs_baseline or min_vs_baseline) or judge:`,
		},
	},
	{
		name: "duplicate service names",
		yaml: minimal + `  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8081"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{`7:11 services[1].name: duplicate service name "web"; first used at line 2`},
	},
	{
		name: "listen collisions",
		yaml: `server: {listen: "127.0.0.1:7070"}
services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: ":7070"}
    strategy: {canary: {steps: [{weight: 100}]}}
  - name: api
    stable_version: v1
    target: {type: exec, command: ["./api", "{{.Port}}"]}
    router: {listen: "0.0.0.0:7070"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{
			`6:22 services[0].router.listen: :7070 is also server.listen, the API's address`,
			`11:22 services[1].router.listen: 0.0.0.0:7070 is also server.listen`,
			`11:22 services[1].router.listen: 0.0.0.0:7070 is also the router address of service "web" (line 6)`,
		},
	},
	{
		name: "router address shared",
		yaml: minimal + `  - name: api
    stable_version: v1
    target: {type: exec, command: ["./api", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{`10:22 services[1].router.listen: 127.0.0.1:8080 is also the router address of service "web" (line 5)`},
	},
	{
		name: "bad templates",
		yaml: `services:
  - name: web
    stable_version: v1
    target:
      type: exec
      command: ["./web", "{{.Port}}", "{{.Prot}}", "{{.Version", "{{range 3}}x{{end}}", "{{.Port.X}}"]
      env: {NAME: "{{.Servce}}"}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{
			`6:39 services[0].target.command[2]: invalid template: unknown field .Prot; it may use .Port, .Version, .Service, .Index`,
			`6:52 services[0].target.command[3]: invalid template: 1: unclosed action`,
			`6:66 services[0].target.command[4]: invalid template: range is not allowed`,
			`6:89 services[0].target.command[5]: invalid template: 1:7: <.Port.X>: can't evaluate field X`,
			`7:19 services[0].target.env.NAME: invalid template: unknown field .Servce`,
		},
	},
	{
		name: "command without port",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "--version", "{{.Version}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{`4:26 services[0].target.command: no element uses {{.Port}}`},
	},
	{
		name: "static target",
		yaml: `services:
  - name: web
    stable_version: "1.10"
    target:
      type: static
      versions:
        1.1: ["127.0.0.1:9001"]
        2.0: [localhost, "127.0.0.1:0"]
        bad/version: ["127.0.0.1:9003"]
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{
			`6:7 services[0].target.versions: stable_version "1.10" has no addresses here`,
			`8:15 services[0].target.versions["2.0"][0]: "localhost" is not host:port`,
			`8:26 services[0].target.versions["2.0"][1]: "127.0.0.1:0": port 0 cannot be dialed`,
			`9:9 services[0].target.versions["bad/version"]: invalid version "bad/version"`,
		},
	},
	{
		name: "exec allow-list without stable",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"], versions: {v2: , v3: }}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{`4:59 services[0].target.versions: the allow-list must include stable_version "v1"`},
	},
	{
		name: "never reaches 100",
		yaml: `services:
  - name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy:
      canary:
        steps: [{weight: 10}, {approval: {role: ""}}, {analysis: {duration: 0s}}, {pause: }]
`,
		want: []string{
			`2:5 services[0].analysis.checks: the strategy has analysis steps but there are no checks`,
			`8:9 services[0].strategy.canary.steps: steps never reach weight: 100; the rollout could not complete`,
			`8:49 services[0].strategy.canary.steps[1].approval.role: required`,
			`8:77 services[0].strategy.canary.steps[2].analysis.duration: must be more than 0`,
		},
	},
	{
		name: "missing and impossible values",
		yaml: `server: {listen: localhost}
services:
  - name: web_1
    tier: -1
    target: {type: docker, replicas: 65, readiness: {path: healthz}}
    router: {type: nginx, cookie: "a b"}
    strategy: {}
    analysis: {min_samples: -1}
`,
		want: []string{
			`1:18 server.listen: "localhost" is not host:port`,
			`3:5 services[0].stable_version: required`,
			`3:11 services[0].name: invalid service name "web_1"`,
			`4:11 services[0].tier: must be 0 or more, got -1`,
			`5:20 services[0].target.type: unknown target type "docker": want exec or static`,
			`5:38 services[0].target.replicas: must be between 1 and 64, got 65`,
			`5:60 services[0].target.readiness.path: must start with /, got "healthz"`,
			`6:5 services[0].router.listen: required`,
			`6:20 services[0].router.type: unknown router type "nginx": want builtin`,
			`6:35 services[0].router.cookie: invalid cookie name "a b"`,
			`7:5 services[0].strategy.canary: required: a canary, blue_green or rolling strategy`,
			`8:29 services[0].analysis.min_samples: must be at least 1, got -1`,
		},
	},
	{
		name: "duplicate key",
		yaml: `services:
  - name: web
    name: api
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{`3:5 services[0].name: duplicate key "name"; first set at line 2`},
	},
	{
		name: "no services",
		yaml: "server: {listen: \"127.0.0.1:7070\"}\n",
		want: []string{`0:0 services: no services`},
	},
	{
		name: "empty file",
		yaml: "# nothing yet\n",
		want: []string{`0:0 services: no services`},
	},
	{
		name: "not a mapping",
		yaml: "- services\n",
		want: []string{`1:1 : expected a mapping, got a list`},
	},
	{
		name: "unknown alias and bad duration",
		yaml: `services:
  - name: web
    stable_version: *v
    target: {type: exec, command: ["./web", "{{.Port}}"], stop_timeout: 10}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{
			`3:21 services[0].stable_version: alias *v refers to no anchor &v before it`,
			`4:73 services[0].target.stop_timeout: invalid duration "10"`,
		},
	},
	{
		name: "numbers too large",
		yaml: `services:
  - name: web
    tier: 99999999999999999999
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"], replicas: 9223372036854775808}
    router: {listen: "127.0.0.1:8080"}
    strategy: {canary: {steps: [{weight: 100}]}}
`,
		want: []string{
			`3:11 services[0].tier: 99999999999999999999 is too large`,
			`5:69 services[0].target.replicas: 9223372036854775808 is too large`,
		},
	},
	{
		name: "merge loop",
		yaml: "server: &m {<<: *m}\n" + minimal,
		want: []string{`1:13 server: merge keys (<<) nested more than 16 deep`},
	},
	{
		name: "intake parts",
		yaml: `feeds:
  osv: [{path: a.zip, url: "https://x/all.zip"}, {}]
  kev: {url: "ftp://x/kev.json"}
  epss: {url: "https://user:secret@x/epss.csv.gz"}
  release_notes:
    - {path: CHANGELOG.md}
intake:
  schedule: "61 6 * * *"
  stateful: [""]
risk:
  weights: {cvss: -1, cvs: 2}
services:
  - name: checkout
    depends_on: [checkout, auth, nowhere, auth]
    traffic_share: 1.5
    inventory:
      - {type: cyclonedx}
      - {type: sbom, path: x.json}
      - {type: component, name: openssl, ecosystem: Debian:12, version: 3.0.11, layer: kernel}
  - name: auth
`,
		want: []string{
			`2:10 feeds.osv[0]: give a path or a url, not both`,
			`2:50 feeds.osv[1]: give a path (a local file or directory) or a url`,
			`3:14 feeds.kev.url: want an absolute http or https URL`,
			`4:15 feeds.epss.url: must not carry credentials`,
			`6:8 feeds.release_notes[0].component: required`,
			`8:13 intake.schedule: `,
			`9:14 intake.stateful[0]: empty component name`,
			`11:3 risk.weights: risk cvss: must be a finite number, 0 or more, got -1`,
			`11:28 risk.weights.cvs: unknown risk weight "cvs"`,
			`14:18 services[0].depends_on[0]: a service cannot depend on itself`,
			`14:34 services[0].depends_on[2]: no service is named "nowhere"`,
			`14:43 services[0].depends_on[3]: "auth" is listed twice`,
			`15:20 services[0].traffic_share: must be between 0 and 1`,
			`17:10 services[0].inventory[0]: inventory cyclonedx: missing path`,
			`18:10 services[0].inventory[1]: inventory type "sbom" is not one of`,
			`19:10 services[0].inventory[2]: inventory component openssl: layer "kernel" is not one of os, runtime, dependency, app`,
		},
	},
	{
		name: "half a delivered service",
		yaml: `services:
  - name: web
    inventory: [{type: gomod, path: go.mod}]
    router: {listen: "127.0.0.1:8080"}
`,
		want: []string{
			`2:5 services[0].stable_version: required`,
			`2:5 services[0].target.type: required: exec or static`,
			`2:5 services[0].strategy.canary: required`,
		},
	},
	{
		name: "policies",
		yaml: `policies:
  windows:
    - {name: weekly, cron: "0 25 * * *", duration: 0s, timezone: Nowhere/City}
  freezes:
    - {name: xmas, from: 2026-12-24}
services:
  - name: web
`,
		want: []string{
			`3:28 policies.windows[0].cron: end of range (25) above maximum (23)`,
			`3:52 policies.windows[0].duration: must be more than 0`,
			`3:66 policies.windows[0].timezone: unknown time zone Nowhere/City`,
			`5:8 policies.freezes[0]: a date range needs both from and to`,
		},
	},
	{
		name: "compat",
		yaml: `services:
  - name: web
    compat:
      constraints: [{type: pom, path: pom.xml}, {type: gomod}]
      checks: [{name: unit}]
      journeys: [{name: buy, steps: [{path: cart}]}]
      schema: {migrations: db/migrations, expected: schema.json}
`,
		want: []string{
			`4:28 services[0].compat.constraints[0].type: "pom" is not one of composer-json`,
			`4:50 services[0].compat.constraints[1].path: required`,
			`5:17 services[0].compat.checks[0]: command is required`,
			`6:39 services[0].compat.journeys[0].steps[0]: path "cart" must start with /`,
			`7:7 services[0].compat.schema.dsn: required`,
			`7:7 services[0].compat.schema: give migrations`,
		},
	},
	{
		name: "several problems at once",
		yaml: `services:
  - name: checkout
    stable_version: 1.0.0
    target: {type: exec, command: ["./shop", "{{.Prot}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy:
      canary:
        steps:
          - weigth: 50
          - weight: 100
    analysis:
      checks:
        - {metric: error_rate, max: 150%}
`,
		want: []string{
			`4:26 services[0].target.command: no element uses {{.Port}}`,
			`4:46 services[0].target.command[1]: invalid template: unknown field .Prot`,
			`9:13 services[0].strategy.canary.steps[0].weigth: unknown key "weigth"`,
			`13:37 services[0].analysis.checks[0].max: 150% is outside 0%–100%`,
		},
	},
}

// short writes a problem as the fragments in badCases are written.
func short(p config.Problem) string {
	return fmt.Sprintf("%d:%d %s: %s", p.Line, p.Column, p.Key, p.Message)
}

func TestParseBad(t *testing.T) {
	for _, tc := range badCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("upfactory.yaml", []byte(tc.yaml), "/srv")
			if err == nil {
				t.Fatalf("Parse succeeded with %+v; want problems", c)
			}
			var probs config.Errors
			if !errors.As(err, &probs) {
				t.Fatalf("Parse error is %T, want config.Errors: %v", err, err)
			}
			// Replace each problem that contains its expected fragment by
			// the fragment, so the diff shows only real differences.
			got := make([]string, len(probs))
			for i, p := range probs {
				got[i] = short(p)
				if p.File != "upfactory.yaml" {
					t.Errorf("problem %d: File = %q, want upfactory.yaml", i, p.File)
				}
				if i < len(tc.want) && strings.Contains(got[i], tc.want[i]) {
					got[i] = tc.want[i]
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorsFormat(t *testing.T) {
	_, err := config.Parse("upfactory.yaml", []byte(badCases[len(badCases)-1].yaml), "/srv")
	want := `upfactory.yaml:4:26: services[0].target.command: no element uses {{.Port}}: upfactory picks each instance's port and must pass it to the command
upfactory.yaml:4:46: services[0].target.command[1]: invalid template: unknown field .Prot; it may use .Port, .Version, .Service, .Index
upfactory.yaml:9:13: services[0].strategy.canary.steps[0].weigth: unknown key "weigth" (did you mean "weight"?); expected one of: weight, analysis, approval, pause, mirror, flag
upfactory.yaml:13:37: services[0].analysis.checks[0].max: 150% is outside 0%–100%`
	if err == nil {
		t.Fatal("Parse succeeded; want problems")
	}
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("Error() mismatch (-want +got):\n%s", diff)
	}
	noPlace := config.Errors{{File: "upfactory.yaml", Key: "services", Message: "no services"}}
	if got, want := noPlace.Error(), "upfactory.yaml: services: no services"; got != want {
		t.Errorf("Error() without a line = %q, want %q", got, want)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := config.Parse("upfactory.yaml", []byte("services:\n  - name: [web\n"), "/srv")
	var probs config.Errors
	if !errors.As(err, &probs) {
		t.Fatalf("Parse error is %T, want config.Errors: %v", err, err)
	}
	if len(probs) != 1 || probs[0].Line < 1 || probs[0].Column < 1 {
		t.Fatalf("problems = %+v, want one with a line and column", probs)
	}
	if !strings.HasPrefix(err.Error(), "upfactory.yaml:2:") {
		t.Errorf("Error() = %q, want it at line 2", err)
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Parse("upfactory.yaml", []byte(minimal), "/srv/app")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s := c.Services[0]
	got := map[string]any{
		"server.listen":        c.Server.Listen,
		"server.data_dir":      c.Server.DataDir,
		"server.tick_interval": c.Server.TickInterval,
		"target.replicas":      s.Target.Replicas,
		"target.dir":           s.Target.Dir,
		"target.readiness":     s.Target.Readiness,
		"target.stop_timeout":  s.Target.StopTimeout,
		"router.type":          s.Router.Type,
		"router.cookie":        s.Router.Cookie,
		"router.drain_timeout": s.Router.DrainTimeout,
		"canary.rollback":      s.Strategy.Canary.RollbackWindow,
		"canary.keep_failed":   s.Strategy.Canary.KeepFailedFor,
		"analysis.interval":    s.Analysis.Interval,
		"analysis.min_samples": s.Analysis.MinSamples,
	}
	want := map[string]any{
		"server.listen":        upfactory.DefaultListen,
		"server.data_dir":      "/srv/app/.upfactory",
		"server.tick_interval": dur(upfactory.DefaultTickInterval),
		"target.replicas":      1,
		"target.dir":           "/srv/app",
		"target.readiness":     upfactory.Readiness{Path: "/healthz", Timeout: dur(30 * time.Second), Interval: dur(200 * time.Millisecond)},
		"target.stop_timeout":  dur(10 * time.Second),
		"router.type":          "builtin",
		"router.cookie":        "upfactory_version",
		"router.drain_timeout": dur(30 * time.Second),
		"canary.rollback":      dur(10 * time.Minute),
		"canary.keep_failed":   dur(30 * time.Minute),
		"analysis.interval":    dur(5 * time.Second),
		"analysis.min_samples": 20,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults mismatch (-want +got):\n%s", diff)
	}
}

func TestRelativePaths(t *testing.T) {
	yaml := "server: {data_dir: var/state}\n" + strings.Replace(minimal, "type: exec,", "type: exec, dir: ./app,", 1)
	c, err := config.Parse("upfactory.yaml", []byte(yaml), "/srv")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := c.Server.DataDir, "/srv/var/state"; got != want {
		t.Errorf("data_dir = %q, want %q", got, want)
	}
	if got, want := c.Services[0].Target.Dir, "/srv/app"; got != want {
		t.Errorf("target.dir = %q, want %q", got, want)
	}

	c, err = config.Parse("upfactory.yaml", []byte("server: {data_dir: /var/lib/upfactory}\n"+minimal), "/srv")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := c.Server.DataDir, "/var/lib/upfactory"; got != want {
		t.Errorf("absolute data_dir = %q, want %q", got, want)
	}
}

// TestVersionText checks that versions written as YAML numbers keep their
// source text: goccy's own decoder would turn 1.10 into "1.1".
func TestVersionText(t *testing.T) {
	for _, v := range []string{"1.10", "2", "1.0", "0x10", "1e3", "'1.10'"} {
		yaml := strings.Replace(minimal, "stable_version: v1", "stable_version: "+v, 1)
		c, err := config.Parse("upfactory.yaml", []byte(yaml), "/srv")
		if err != nil {
			t.Errorf("stable_version: %s: %v", v, err)
			continue
		}
		if got, want := c.Services[0].StableVersion, strings.Trim(v, "'"); got != want {
			t.Errorf("stable_version: %s decoded as %q, want %q", v, got, want)
		}
	}
}

func TestAnchorsAndMerge(t *testing.T) {
	yaml := `services:
  - &web
    name: web
    stable_version: v1
    target: {type: exec, command: ["./web", "{{.Port}}"]}
    router: {listen: "127.0.0.1:8080"}
    strategy: &strategy {canary: {steps: [{weight: 50}, {weight: 100}]}}
  - <<: *web
    name: api
    router: {listen: "127.0.0.1:8081"}
    strategy: *strategy
`
	c, err := config.Parse("upfactory.yaml", []byte(yaml), "/srv")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	api := c.Service("api")
	if api == nil {
		t.Fatal("no service api")
	}
	if got, want := api.Target.Command, []string{"./web", "{{.Port}}"}; !cmp.Equal(got, want) {
		t.Errorf("api command = %q, want %q (merged from web)", got, want)
	}
	if got, want := api.Router.Listen, "127.0.0.1:8081"; got != want {
		t.Errorf("api router.listen = %q, want %q (explicit key wins)", got, want)
	}
	if got := len(api.Strategy.Canary.Steps); got != 2 {
		t.Errorf("api has %d steps, want 2", got)
	}
}

func TestLoadErrors(t *testing.T) {
	// A file that cannot be read is a config problem naming it, like any
	// other (commands exit 2 on it).
	missing := filepath.Join(t.TempDir(), "missing.yaml")
	_, err := config.Load(missing)
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].File != missing || !strings.Contains(errs[0].Message, "no such file") {
		t.Errorf("Load(missing) = %v, want one problem naming the file", err)
	}

	path := filepath.Join(t.TempDir(), "upfactory.yaml")
	if err := os.WriteFile(path, []byte(badCases[0].yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = config.Load(path)
	var probs config.Errors
	if !errors.As(err, &probs) || len(probs) == 0 || probs[0].File != path {
		t.Errorf("Load(bad) = %v, want config.Errors naming %s", err, path)
	}
}

func TestValidate(t *testing.T) {
	c, err := config.Parse("upfactory.yaml", []byte(minimal), "/srv")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	c.Services[0].Strategy.Canary.Steps[0].Weight = ptr(101)
	c.Services = append(c.Services, c.Services[0])
	err = config.Validate(c)
	want := "services[0].strategy.canary.steps[0].weight: must be between 0 and 100, got 101\n" +
		"services[1].strategy.canary.steps[0].weight: must be between 0 and 100, got 101\n" +
		`services[1].name: duplicate service name "web"; first used at services[0].name` + "\n" +
		`services[1].router.listen: 127.0.0.1:8080 is also the router address of service "web" (services[0].router.listen)`
	if err == nil || err.Error() != want {
		t.Errorf("Validate = %v\nwant %s", err, want)
	}
}

func TestNumbers(t *testing.T) {
	yaml := minimal + `    analysis:
      checks:
        - {metric: p95_latency, max_vs_baseline: 1e0}
        - {metric: p95_latency, max_vs_baseline: "1.5"}
`
	_, err := config.Parse("upfactory.yaml", []byte(yaml), "/srv")
	want := `upfactory.yaml:10:50: services[0].analysis.checks[1].max_vs_baseline: expected a number, got the string "1.5"`
	if err == nil || err.Error() != want {
		t.Errorf("Parse = %v\nwant %s", err, want)
	}
}

func TestIntakeConfig(t *testing.T) {
	c, err := config.Parse("upfactory.yaml", []byte(`
feeds:
  osv: [{path: feeds/osv/}, {url: "https://osv.example/Go/all.zip"}]
  kev: {path: feeds/kev.json}
  epss: {path: /abs/epss.csv.gz}
  release_notes:
    - {component: github.com/prometheus/prometheus, path: notes/CHANGELOG.md}
intake:
  schedule: "@every 6h"
  stateful: [my-queue]
risk:
  weights: {cvss: 0.6, kev_floor: 95}
services:
  - name: checkout
    tier: 1
    depends_on: [auth]
    traffic_share: 0.4
    inventory:
      - {type: cyclonedx, path: sboms/checkout.cdx.json}
      - {type: component, name: openssl, ecosystem: Debian:12, version: 3.0.11-1~deb12u2, layer: os}
  - name: auth
    inventory: [{type: gomod, path: /src/auth/go.mod}]
`), "/srv")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Feeds.OSV[0].Path; got != "/srv/feeds/osv" {
		t.Errorf("osv path = %q, want it resolved against the config's directory", got)
	}
	if got := c.Feeds.OSV[1].URL; got != "https://osv.example/Go/all.zip" {
		t.Errorf("osv url = %q", got)
	}
	if c.Feeds.KEV.Path != "/srv/feeds/kev.json" || c.Feeds.EPSS.Path != "/abs/epss.csv.gz" {
		t.Errorf("kev/epss paths = %q, %q", c.Feeds.KEV.Path, c.Feeds.EPSS.Path)
	}
	if got := c.Feeds.ReleaseNotes[0].Path; got != "/srv/notes/CHANGELOG.md" {
		t.Errorf("notes path = %q", got)
	}
	checkout := c.Service("checkout")
	if checkout.Delivered() || c.Service("auth").Delivered() {
		t.Errorf("services without a target are intake-only, got Delivered() = true")
	}
	if got := checkout.Inventory[0].Path; got != "/srv/sboms/checkout.cdx.json" {
		t.Errorf("inventory path = %q", got)
	}
	if got := checkout.Inventory[1]; got.Path != "" || got.Version != "3.0.11-1~deb12u2" || got.Layer != "os" {
		t.Errorf("declared component = %+v", got)
	}
	if checkout.TrafficShare != 0.4 || !slices.Equal(checkout.DependsOn, []string{"auth"}) {
		t.Errorf("service map = %v, %v", checkout.TrafficShare, checkout.DependsOn)
	}
	if c.Risk.Weights["cvss"] != 0.6 || c.Risk.Weights["kev_floor"] != 95 {
		t.Errorf("risk weights = %v", c.Risk.Weights)
	}
	sched, err := config.Schedule(c.Intake.Schedule)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := sched.Next(from); !got.Equal(from.Add(6 * time.Hour)) {
		t.Errorf("@every 6h from %v: next %v", from, got)
	}
}

// Load refuses an exec target whose program cannot be run, naming the line
// of the command; Parse, which reads nothing but the config, does not look.
func TestLoadChecksTheProgram(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "plain"), []byte("not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shop"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ command, want string }{
		{`["./missing", "{{.Port}}"]`, "/missing does not exist"},
		{`["./plain", "{{.Port}}"]`, "/plain is not executable"},
		{`["./adir", "{{.Port}}"]`, "/adir is a directory"},
		{`["no-such-program-upfactory", "{{.Port}}"]`, `"no-such-program-upfactory" is not in PATH`},
		{`["./{{.Version}}", "{{.Port}}"]`, "/1.0.0 does not exist"},
		{`["./shop", "{{.Port}}"]`, ""},
		{`["sh", "-c", "{{.Port}}"]`, ""},
	} {
		t.Run(tc.command, func(t *testing.T) {
			cfg := "services:\n  - name: shop\n    stable_version: 1.0.0\n    target:\n      type: exec\n      command: " + tc.command +
				"\n    router: {listen: 127.0.0.1:0}\n    strategy: {canary: {steps: [{weight: 100}]}}\n"
			path := filepath.Join(dir, "upfactory.yaml")
			if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := config.Load(path)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("Load: got %v, want one problem", err)
			}
			p := errs[0]
			if p.Line != 6 || p.Key != "services[0].target.command[0]" || !strings.Contains(p.Message, tc.want) {
				t.Errorf("problem = %s, want line 6, key services[0].target.command[0], %q", p, tc.want)
			}
			if _, err := config.Parse(path, []byte(cfg), dir); err != nil {
				t.Errorf("Parse looked at the file system: %v", err)
			}
		})
	}
}
