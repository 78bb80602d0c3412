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
	// failed), else pass.
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
	default:
		r.Outcome = CompatPass
	}
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
