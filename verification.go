package upfactory

import "time"

// Log actions that end a rollout other than by completing it, and those
// of post-release verification. The line, DORA and risk scoring's history
// read them.
const (
	ActionRollbackAutomatic    = "rollback.automatic"    // a check, the score or the mirror failed during the rollout
	ActionRollbackManual       = "rollback.manual"       // a person rolled back, during the rollout or within the rollback window
	ActionRollbackVerification = "rollback.verification" // post-release verification saw a regression while the previous version was warm
	ActionAbort                = "rollout.abort"
	ActionFailed               = "rollout.failed"
	ActionCompleted            = "rollout.completed"
	ActionVerificationPassed   = "verification.passed"
	ActionVerificationFailed   = "verification.regression"
)

// EndsRollout reports whether action ends a rollout without delivering
// it, or takes a delivered one back.
func EndsRollout(action string) bool {
	switch action {
	case ActionRollbackAutomatic, ActionRollbackManual, ActionRollbackVerification, ActionAbort, ActionFailed:
		return true
	}
	return false
}

// Regression reports whether action records a regression found by a
// check rather than a person's decision.
func Regression(action string) bool {
	return action == ActionRollbackAutomatic || action == ActionRollbackVerification || action == ActionVerificationFailed
}

// On-regression choices of post-release verification.
const (
	OnRegressionRollback = "rollback"
	OnRegressionIncident = "incident"
)

// DefaultVerificationWindow is how long a version at 100% keeps being
// compared with the baseline.
const DefaultVerificationWindow = 30 * time.Minute

// VerificationSpec is post-release verification: after 100%, the new
// version keeps being compared with the baseline, the stable version's
// figures when the rollout started.
type VerificationSpec struct {
	// Window is how long. Default 30m; "0s" with Off turns it off.
	Window Duration `yaml:"window" json:"window"`
	// OnRegression is rollback (while the previous version is warm;
	// otherwise an incident only) or incident. Default rollback.
	OnRegression string `yaml:"on_regression" json:"on_regression"`
	// Checks names the service's checks verification judges (their
	// names, or metrics for unnamed ones); empty: every limit check of a
	// traffic metric.
	Checks []string `yaml:"checks" json:"checks,omitempty"`
	// Off turns verification off: 100% ends the rollout's checks.
	Off bool `yaml:"off" json:"off,omitempty"`
}

// Figures are what one version served over a span: the baseline of a
// rollout and what verification measures after it. CPU and memory are
// known only for targets that report instance usage (exec).
type Figures struct {
	Version   string    `json:"version"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Requests  int64     `json:"requests"`
	Errors5xx int64     `json:"errors_5xx"`
	Errors4xx int64     `json:"errors_4xx"`
	// Rate is requests per second over the span.
	Rate float64 `json:"rate"`
	// P50, P95 and P99 are latencies in seconds.
	P50 float64 `json:"p50_seconds"`
	P95 float64 `json:"p95_seconds"`
	P99 float64 `json:"p99_seconds"`
	// Usage says CPUSecondsPer1k and MiBSecondsPer1k were measured.
	Usage bool `json:"usage"`
	// CPUSecondsPer1k is the CPU time the version's instances used per
	// 1,000 requests they answered.
	CPUSecondsPer1k float64 `json:"cpu_seconds_per_1k,omitempty"`
	// MiBSecondsPer1k is their resident memory held over time (MiB × s)
	// per 1,000 requests: what memory costs, per unit of work.
	MiBSecondsPer1k float64 `json:"mib_seconds_per_1k,omitempty"`
	// Conversion holds, by check ID, each conversion check's funnel over
	// the span, where the router counts routes.
	Conversion map[string]Funnel `json:"conversion,omitempty"`
}

// Funnel is a conversion's counts: Events successful numerator answers
// for N denominator requests.
type Funnel struct {
	N      int64 `json:"n"`
	Events int64 `json:"events"`
}

// Rate is Events / N; 0 without requests.
func (f Funnel) Rate() float64 {
	if f.N == 0 {
		return 0
	}
	return float64(f.Events) / float64(f.N)
}

// ErrorRate is the share of requests answered 5xx.
func (f Figures) ErrorRate() float64 {
	if f.Requests == 0 {
		return 0
	}
	return float64(f.Errors5xx) / float64(f.Requests)
}

// Stats gives f as the traffic statistics the checks read.
func (f Figures) Stats() TrafficStats {
	sec := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	return TrafficStats{Version: f.Version, Window: f.To.Sub(f.From), Requests: f.Requests, Errors5xx: f.Errors5xx,
		Errors4xx: f.Errors4xx, Rate: f.Rate, P50: sec(f.P50), P95: sec(f.P95), P99: sec(f.P99)}
}

// Verification is where post-release verification of a completed
// rollout stands.
type Verification struct {
	// Until is when the window closes.
	Until   time.Time `json:"until"`
	Verdict Verdict   `json:"verdict"` // Pending, Pass or Fail
	// At is the latest measurement.
	At time.Time `json:"at,omitzero"`
	// Latest is what the new version served since 100%.
	Latest *Figures `json:"latest,omitempty"`
	// Checks are the service's checks that compare with a baseline
	// figure, judged on Latest against the rollout's Baseline.
	Checks []CheckStatus `json:"checks,omitempty"`
	Reason string        `json:"reason,omitempty"`
	// RolledBack says the previous version took the traffic back.
	RolledBack bool `json:"rolled_back,omitempty"`
}

// Verifiable reports whether post-release verification can judge c: a
// limit check of a traffic metric the router measures, whose figures the
// baseline records.
func (c Check) Verifiable() bool {
	if c.Judged() || c.Provider != ProviderBuiltin && c.Provider != "" {
		return false
	}
	switch c.Metric {
	case MetricErrorRate, MetricErrorRate4xx, MetricP50Latency, MetricP95Latency, MetricP99Latency, MetricRequestRate, MetricConversion:
		return true
	}
	return false
}
