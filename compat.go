package upfactory

import (
	"context"
	"time"
)

// Compatibility cell outcomes.
const (
	CompatPass    = "pass"
	CompatFail    = "fail"
	CompatSkipped = "skipped"
	CompatError   = "error" // the answer could not be had: never a pass
)

// CompatCell is one cell of a compatibility matrix: a candidate, a
// service, and one component or check of that service.
type CompatCell struct {
	Candidate string `json:"candidate"`
	Service   string `json:"service"`
	// Kind is static (a declared constraint), check (a command), journey
	// (a user-journey probe), load (twin against stable) or schema.
	Kind string `json:"kind"`
	// Component is the dependent component (static) or the check's name.
	Component string   `json:"component"`
	Tags      []string `json:"tags,omitempty"`
	// Outcome is pass, fail, skipped or error; Reason always says why.
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	// Static cells: the constraint and where it was declared, and the
	// verdict (compatible, incompatible, untested, unknown).
	Constraint string `json:"constraint,omitempty"`
	Verdict    string `json:"verdict,omitempty"`
	File       string `json:"file,omitempty"`
	Line       int    `json:"line,omitempty"`
	// Runtime cells: how long it took, measured values, kept output.
	Seconds  float64            `json:"seconds,omitempty"`
	Measures map[string]float64 `json:"measures,omitempty"`
	Output   string             `json:"output,omitempty"`
}

// CompatRun is one compatibility run of a candidate: every cell, stored.
type CompatRun struct {
	ID          int64  `json:"id"`
	CandidateID string `json:"candidate_id"`
	// Key identifies what was tested: the candidate and the services'
	// compatibility inputs. A run with the same key is reused.
	Key      string       `json:"key"`
	Started  time.Time    `json:"started"`
	Finished time.Time    `json:"finished"`
	Cells    []CompatCell `json:"cells"`
	// Counts is the number of cells per outcome.
	Counts map[string]int `json:"counts"`
	// Outcome is fail when a cell failed, error when one erred (and none
	// failed), skipped when no cell passed (nothing was tested: never a
	// pass), else pass.
	Outcome string `json:"outcome"`
	// Reused says the run was not redone: neither the candidate nor the
	// services changed since it ran.
	Reused bool `json:"reused,omitempty"`
}

// Summarize fills Counts and Outcome from Cells.
func (r *CompatRun) Summarize() {
	r.Counts = map[string]int{CompatPass: 0, CompatFail: 0, CompatSkipped: 0, CompatError: 0}
	for _, c := range r.Cells {
		r.Counts[c.Outcome]++
	}
	switch {
	case r.Counts[CompatFail] > 0:
		r.Outcome = CompatFail
	case r.Counts[CompatError] > 0:
		r.Outcome = CompatError
	case r.Counts[CompatPass] == 0:
		r.Outcome = CompatSkipped
	default:
		r.Outcome = CompatPass
	}
}

// ServiceOutcome is the run's outcome for one service's cells, as Outcome
// is for all of them, and the counts behind it.
func (r *CompatRun) ServiceOutcome(service string) (outcome string, counts map[string]int) {
	sub := CompatRun{}
	for _, c := range r.Cells {
		if c.Service == service {
			sub.Cells = append(sub.Cells, c)
		}
	}
	sub.Summarize()
	return sub.Outcome, sub.Counts
}

// CompatStore keeps compatibility runs.
type CompatStore interface {
	// SaveCompatRun stores run (filling its ID) and appends entry.
	SaveCompatRun(ctx context.Context, run *CompatRun, entry LogEntry) error
	// CompatRun returns the latest run of candidate with key; ENOTFOUND
	// when there is none.
	CompatRun(ctx context.Context, candidateID, key string) (*CompatRun, error)
	// CompatRuns returns the runs of a candidate ("" for all), newest first.
	CompatRuns(ctx context.Context, candidateID string, limit int) ([]*CompatRun, error)
}

// CompatSpec is what a service declares under services[].compat in
// upfactory.yaml: where its dependents declare their constraints, its own
// check commands, user-journey probes, a load comparison and a schema check.
type CompatSpec struct {
	// Constraints are files in which the service's dependent components
	// (plugins, themes, modules, gems, packages) declare constraints.
	Constraints []ConstraintSource `yaml:"constraints" json:"constraints,omitempty"`
	// Schema, when set, compares the live database schema with the one
	// the migrations produce.
	Schema *SchemaSpec `yaml:"schema" json:"schema,omitempty"`
	// Checks are the service's own check commands, run against the twin.
	Checks []CompatCheck `yaml:"checks" json:"checks,omitempty"`
	// Journeys are multi-step HTTP scripts walking a user's path.
	Journeys []Journey `yaml:"journeys" json:"journeys,omitempty"`
	// Load, when set, drives the twin and the stable version side by side
	// and compares their latency and error rates.
	Load *LoadSpec `yaml:"load" json:"load,omitempty"`
}

// CompatCheck is one of the service's own check commands.
type CompatCheck struct {
	// Name identifies the check in results.
	Name string `yaml:"name" json:"name"`
	// Command is the argv, executed directly, never through a shell. Its
	// environment is upfactory's plus Env plus UPFACTORY_BASE_URL, the
	// twin's base URL.
	Command []string `yaml:"command" json:"command"`
	// Env adds variables to the command's environment.
	Env map[string]string `yaml:"env" json:"env,omitempty"`
	// Dir is the working directory; empty means upfactory's.
	Dir string `yaml:"dir" json:"dir,omitempty"`
	// Timeout bounds the command; one that runs out is an error, not a
	// failure. Default 60s.
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Tags auth, payment and integration put the check on the critical
	// path: it runs first and its failure stops the run.
	Tags []string `yaml:"tags" json:"tags,omitempty"`
}

// Journey is a declarative multi-step HTTP script, such as login → add to
// cart → pay. Steps run in order with one cookie jar; values a step
// extracts are available to the next ones as {{name}}.
type Journey struct {
	Name string   `yaml:"name" json:"name"`
	Tags []string `yaml:"tags" json:"tags,omitempty"`
	// Timeout bounds the whole journey; running out is an error, not a
	// failure. Default 30s.
	Timeout Duration      `yaml:"timeout" json:"timeout,omitempty"`
	Steps   []JourneyStep `yaml:"steps" json:"steps"`
}

// JourneyStep is one request of a journey. Path, header values and Body may use
// {{name}} for values extracted by earlier steps; an unknown name is an
// error.
type JourneyStep struct {
	Name string `yaml:"name" json:"name"`
	// Method defaults to GET.
	Method string `yaml:"method" json:"method,omitempty"`
	// Path is appended to the twin's base URL and starts with "/".
	Path    string            `yaml:"path" json:"path"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	// Body is sent as is; Content-Type defaults to application/json when it
	// starts with { or [.
	Body   string        `yaml:"body" json:"body,omitempty"`
	Expect JourneyExpect `yaml:"expect" json:"expect"`
	// Extract maps a variable name to a JSON path in the response body
	// (a.b[0].c) or to "header:Name" for a response header. A value that
	// is missing fails the step.
	Extract map[string]string `yaml:"extract" json:"extract,omitempty"`
}

// JourneyExpect is what a step's response must satisfy.
type JourneyExpect struct {
	// Status is the expected status code; 0 accepts any status below 400.
	Status int `yaml:"status" json:"status,omitempty"`
	// JSON maps a JSON path to its expected value, compared as a string
	// (numbers without exponent, true, false, null); "*" only requires the
	// field to be present.
	JSON map[string]string `yaml:"json" json:"json,omitempty"`
	// BodyContains must appear in the response body.
	BodyContains string `yaml:"body_contains" json:"body_contains,omitempty"`
	// MaxLatency, when set, fails a step answered more slowly.
	MaxLatency Duration `yaml:"max_latency" json:"max_latency,omitempty"`
}

// LoadSpec is a production-like load comparison: the twin and the stable
// version are driven side by side at the same rate and request mix, and
// the twin fails when its latency or error rate is worse beyond the limits.
type LoadSpec struct {
	// Rate is requests per second sent to each side.
	Rate float64 `yaml:"rate" json:"rate"`
	// Duration of the comparison. Default 30s.
	Duration Duration `yaml:"duration" json:"duration,omitempty"`
	// Mix is the request mix; default GET / only. MixFromTraffic builds
	// one from the router's recorded traffic.
	Mix []LoadMix `yaml:"mix" json:"mix,omitempty"`
	// MaxP95Ratio fails the twin when its p95 exceeds this many times
	// stable's. Default 1.5.
	MaxP95Ratio float64 `yaml:"max_p95_ratio" json:"max_p95_ratio,omitempty"`
	// MaxP99Ratio, the same for p99. Default 2.
	MaxP99Ratio float64 `yaml:"max_p99_ratio" json:"max_p99_ratio,omitempty"`
	// MaxErrorRate ("1%") fails the twin when its error rate (5xx and
	// requests with no answer) exceeds stable's by more than this. Default 1%.
	MaxErrorRate string `yaml:"max_error_rate" json:"max_error_rate,omitempty"`
	// LatencySlack: latency differences smaller than this never fail,
	// because on a fast service the ratio of two sub-millisecond figures
	// is noise. Default 5ms.
	LatencySlack Duration `yaml:"latency_slack" json:"latency_slack,omitempty"`
	// Connections per side: how many requests may be in flight at once.
	// Default 64.
	Connections int `yaml:"connections" json:"connections,omitempty"`
}

// LoadMix is one kind of request and its share of the mix.
type LoadMix struct {
	Method string  `yaml:"method" json:"method"`
	Path   string  `yaml:"path" json:"path"`
	Share  float64 `yaml:"share" json:"share"`
}

// ConstraintSource is a file (or a directory of WordPress plugins or
// themes) declaring constraints: composer-json, package-json, gemfile,
// gemspec, wp-headers or gomod.
type ConstraintSource struct {
	Type string `yaml:"type" json:"type"`
	Path string `yaml:"path" json:"path"`
}

// SchemaSpec is a schema-drift check: the live schema at DSN against the
// one the migrations produce on a throw-away database (or an expected
// schema file).
type SchemaSpec struct {
	// DSN is postgres://… or sqlite:PATH. It may name an environment
	// variable instead, as ${NAME}, to keep passwords out of the config.
	DSN        string `yaml:"dsn" json:"dsn"`
	Migrations string `yaml:"migrations" json:"migrations,omitempty"`
	Expected   string `yaml:"expected" json:"expected,omitempty"`
	// Pending, when set, is a directory of the candidate's migrations not
	// yet applied: a throw-away copy of the live database is migrated with
	// them, and the copy (not the live database) is compared with the
	// expected schema (Migrations, which then include the pending ones, or
	// Expected): do the migrations take this database where the release
	// expects?
	Pending string `yaml:"pending" json:"pending,omitempty"`
}
