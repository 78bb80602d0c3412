// Package probe runs the runtime compatibility checks of stage 3 against a
// staging twin: the service's check commands, user-journey HTTP scripts,
// critical paths first with fail-fast, and a side-by-side load comparison.
package probe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

// The configuration types are the root package's, so that upfactory.yaml
// can hold them.
type (
	Config  = upfactory.CompatSpec
	Check   = upfactory.CompatCheck
	Journey = upfactory.Journey
	Step    = upfactory.JourneyStep
	Expect  = upfactory.JourneyExpect
	Load    = upfactory.LoadSpec
	// MixEntry is one kind of request and its share of the mix.
	MixEntry = upfactory.LoadMix
)

// Outcome is how an item ended. Fail means the twin answered wrongly;
// error means the answer could not be had (a timeout, a refused
// connection, a command that would not start), which is never a pass.
type Outcome string

const (
	Pass    Outcome = "pass"
	Fail    Outcome = "fail"
	Error   Outcome = "error"
	Skipped Outcome = "skipped"
)

// Kinds of result.
const (
	KindCheck   = "check"
	KindJourney = "journey"
	KindLoad    = "load"
)

// MaxOutput is how much of a check's output, or of a failing response
// body, a result keeps: the last MaxOutput bytes.
const MaxOutput = 64 << 10

// Result is what one check, journey or load comparison found.
type Result struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	Tags    []string `json:"tags,omitempty"`
	Outcome Outcome  `json:"outcome"`
	Reason  string   `json:"reason,omitempty"`
	// Output is the check's combined stdout and stderr, or the body of the
	// response that failed a journey, truncated to its last MaxOutput bytes.
	Output   string        `json:"output,omitempty"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration"`
	Steps    []StepResult  `json:"steps,omitempty"`
	// Measures holds the load comparison's figures: latencies in
	// milliseconds, rates as fractions.
	Measures map[string]float64 `json:"measures,omitempty"`
}

// StepResult is what one journey step did.
type StepResult struct {
	Name    string  `json:"name"`
	Method  string  `json:"method"`
	Path    string  `json:"path"` // after {{var}} expansion
	Outcome Outcome `json:"outcome"`
	Reason  string  `json:"reason,omitempty"`
	Status  int     `json:"status,omitempty"`
	// Headers are the request headers sent, with Authorization,
	// Proxy-Authorization and Cookie values replaced by "[redacted]".
	Headers map[string]string `json:"headers,omitempty"`
	Latency time.Duration     `json:"latency"`
	// Extracted names the variables the step set; their values are not
	// kept, as they are often tokens.
	Extracted []string `json:"extracted,omitempty"`
}

// Validate returns every problem in c at once.
func Validate(c Config) []error {
	var errs []error
	for i, ch := range c.Checks {
		at := fmt.Sprintf("checks[%d]", i)
		if ch.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", at))
		}
		if len(ch.Command) == 0 || ch.Command[0] == "" {
			errs = append(errs, fmt.Errorf("%s: command is required (an argv list, not run through a shell)", at))
		}
		if ch.Timeout < 0 {
			errs = append(errs, fmt.Errorf("%s: timeout must not be negative", at))
		}
	}
	for i, j := range c.Journeys {
		at := fmt.Sprintf("journeys[%d]", i)
		if j.Name == "" {
			errs = append(errs, fmt.Errorf("%s: name is required", at))
		}
		if len(j.Steps) == 0 {
			errs = append(errs, fmt.Errorf("%s: at least one step is required", at))
		}
		for k, s := range j.Steps {
			at := fmt.Sprintf("%s.steps[%d]", at, k)
			if !strings.HasPrefix(s.Path, "/") {
				errs = append(errs, fmt.Errorf("%s: path %q must start with /", at, s.Path))
			}
			for p := range s.Expect.JSON {
				if _, err := parsePath(p); err != nil {
					errs = append(errs, fmt.Errorf("%s.expect.json: %w", at, err))
				}
			}
			for name, p := range s.Extract {
				if _, ok := strings.CutPrefix(p, "header:"); ok {
					continue
				}
				if _, err := parsePath(p); err != nil {
					errs = append(errs, fmt.Errorf("%s.extract.%s: %w", at, name, err))
				}
			}
		}
	}
	if c.Load != nil {
		errs = append(errs, validateLoad(*c.Load)...)
	}
	return errs
}

// critical tags put an item on the critical path.
var critical = []string{"auth", "payment", "integration"}

// IsCritical reports whether tags put an item on the critical path.
func IsCritical(tags []string) bool {
	return slices.ContainsFunc(tags, func(t string) bool {
		return slices.Contains(critical, strings.ToLower(strings.TrimSpace(t)))
	})
}

// Item is a check or a journey in running order; exactly one of Check and
// Journey is set.
type Item struct {
	Check   *Check
	Journey *Journey
}

// Kind is KindCheck or KindJourney.
func (it Item) Kind() string {
	if it.Check != nil {
		return KindCheck
	}
	return KindJourney
}

// Name is the check's or journey's name.
func (it Item) Name() string {
	if it.Check != nil {
		return it.Check.Name
	}
	return it.Journey.Name
}

// Tags are the check's or journey's tags.
func (it Item) Tags() []string {
	if it.Check != nil {
		return it.Check.Tags
	}
	return it.Journey.Tags
}

// Critical reports whether the item is on the critical path.
func (it Item) Critical() bool { return IsCritical(it.Tags()) }

// Order puts the checks, then the journeys, in running order: items tagged
// auth, payment or integration first, and otherwise the order given.
func Order(checks []Check, journeys []Journey) []Item {
	items := make([]Item, 0, len(checks)+len(journeys))
	for i := range checks {
		items = append(items, Item{Check: &checks[i]})
	}
	for i := range journeys {
		items = append(items, Item{Journey: &journeys[i]})
	}
	sort.SliceStable(items, func(a, b int) bool { return items[a].Critical() && !items[b].Critical() })
	return items
}

// Plan is one compatibility run.
type Plan struct {
	Config
	// TwinURL is the base URL of the candidate version running in the twin.
	TwinURL string
	// StableURL is the base URL of the stable version, needed by Load.
	StableURL string
	// Client sends the journeys' requests; nil means a client with
	// http.DefaultTransport. Each journey gets its own cookie jar.
	Client *http.Client
}

// Run runs the plan's checks and journeys against the twin in Order, then
// the load comparison. After the first critical-path item that fails or
// errs, everything left is skipped.
func Run(ctx context.Context, plan Plan) []Result {
	client := plan.Client
	if client == nil {
		client = &http.Client{}
	}
	var results []Result
	stopped := ""
	skip := func(kind, name string, tags []string) Result {
		reason := "a critical-path item failed: " + stopped
		if stopped == "" {
			reason = "run cancelled: " + context.Cause(ctx).Error()
		}
		return Result{Kind: kind, Name: name, Tags: tags, Outcome: Skipped, Reason: reason, Started: time.Now()}
	}
	for _, it := range Order(plan.Checks, plan.Journeys) {
		if stopped != "" || ctx.Err() != nil {
			results = append(results, skip(it.Kind(), it.Name(), it.Tags()))
			continue
		}
		var r Result
		if it.Check != nil {
			r = RunCheck(ctx, *it.Check, plan.TwinURL)
		} else {
			r = RunJourney(ctx, client, plan.TwinURL, *it.Journey)
		}
		results = append(results, r)
		if it.Critical() && (r.Outcome == Fail || r.Outcome == Error) {
			stopped = it.Name()
		}
	}
	if plan.Load != nil {
		if stopped != "" || ctx.Err() != nil {
			results = append(results, skip(KindLoad, "load", nil))
		} else {
			results = append(results, CompareLoad(ctx, *plan.Load, plan.TwinURL, plan.StableURL))
		}
	}
	return results
}

// errTimeout marks a deadline of our own running out, as opposed to the
// caller cancelling.
var errTimeout = errors.New("timed out")
