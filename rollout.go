package upfactory

import (
	"context"
	"time"
)

// Phase is where a rollout stands. The names are part of the CLI's JSON
// contract for scripts.
type Phase string

const (
	PhaseProgressing      Phase = "Progressing"
	PhasePaused           Phase = "Paused"
	PhaseAwaitingApproval Phase = "AwaitingApproval"
	PhaseCompleted        Phase = "Completed"
	PhaseRolledBack       Phase = "RolledBack"
	PhaseAborted          Phase = "Aborted"
	PhaseFailed           Phase = "Failed"
)

// Done reports whether the phase is final: no step will run again.
func (p Phase) Done() bool {
	switch p {
	case PhaseCompleted, PhaseRolledBack, PhaseAborted, PhaseFailed:
		return true
	}
	return false
}

// WaitsForPerson reports whether the rollout cannot go on until a person
// acts: an approval gate, or a pause (by step, by command, or marginal,
// inconclusive or unmeasurable analysis).
func (p Phase) WaitsForPerson() bool {
	return p == PhasePaused || p == PhaseAwaitingApproval
}

// Verdict is the outcome of one check or of one analysis. NoData and
// Inconclusive are not Pass and not Fail: they halt advancement.
type Verdict string

const (
	VerdictPending      Verdict = "Pending"
	VerdictPass         Verdict = "Pass"
	VerdictFail         Verdict = "Fail"
	VerdictNoData       Verdict = "NoData"
	VerdictInconclusive Verdict = "Inconclusive"
	VerdictError        Verdict = "Error"
)

// Rollout is the state of one attempt to move a service from its stable
// version to a canary version. It is persisted before anything acts on it,
// so a restarted server resumes the same step.
type Rollout struct {
	ID            string    `json:"id"`
	Service       string    `json:"service"`
	StableVersion string    `json:"stable_version"`
	CanaryVersion string    `json:"canary_version"`
	Phase         Phase     `json:"phase"`
	StepIndex     int       `json:"step_index"`
	CanaryWeight  int       `json:"canary_weight"`
	Message       string    `json:"message"`
	StartedBy     string    `json:"started_by"`
	StartedAt     time.Time `json:"started_at"`
	StepStartedAt time.Time `json:"step_started_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	FinishedAt    time.Time `json:"finished_at,omitzero"`
	// Candidates are the upgrades the rollout delivers (candidate IDs),
	// the service's own release first.
	Candidates []string `json:"candidates,omitempty"`
	// CanaryReady is set once every canary instance passed readiness.
	CanaryReady bool `json:"canary_ready"`
	// ReadyDeadline is when the canary must be ready or the rollout fails.
	ReadyDeadline time.Time `json:"ready_deadline,omitzero"`
	// PausedFrom is the phase to return to on resume.
	PausedFrom Phase         `json:"paused_from,omitempty"`
	Approvals  []Approval    `json:"approvals,omitempty"`
	Checks     []CheckStatus `json:"checks,omitempty"`
	// Score is the latest weighted score of the judged checks.
	Score *ScoreStatus `json:"score,omitempty"`
	// Mirror is what the latest mirror step measured.
	Mirror *MirrorReport `json:"mirror,omitempty"`
	// KeepCanaryUntil keeps a rolled-back canary's instances for inspection.
	KeepCanaryUntil time.Time `json:"keep_canary_until,omitzero"`
	// Baseline is what the stable version served before the rollout
	// started: what post-release verification compares with.
	Baseline *Figures `json:"baseline,omitempty"`
	// Verification is post-release verification, once at 100%.
	Verification *Verification `json:"verification,omitempty"`
	// Samples are the judged checks' samples of the current analysis step
	// that no provider keeps (probe, exec, CPU and memory), by check
	// index, so that a restarted server judges the step on all of them.
	Samples map[int]JudgedSamples `json:"samples,omitempty"`
	// LastLook is when the checks were last measured, or when the
	// schedule of looks last began (a step's start), so that a restarted
	// server keeps the interval rather than starting it over.
	LastLook time.Time `json:"last_look,omitzero"`
	// Flags are the percents the rollout's flag steps set, by flag name.
	Flags map[string]int `json:"flags,omitempty"`
	// HeldBy is why the rollout waits before its next expansion (a
	// freeze that began while it ran); empty when nothing holds it.
	HeldBy string `json:"held_by,omitempty"`
}

// JudgedSamples are one judged check's per-interval samples of both
// versions since Since, the start of its analysis step.
type JudgedSamples struct {
	Since    time.Time `json:"since"`
	Canary   []float64 `json:"canary"`
	Baseline []float64 `json:"baseline"`
}

// Approval is a named person's go-ahead at an approval gate.
type Approval struct {
	Step    int       `json:"step"`
	Role    string    `json:"role"`
	By      string    `json:"by"`
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// Measurement is one observation of a metric for the canary and the stable
// version over one interval.
type Measurement struct {
	At            time.Time `json:"at"`
	Window        Duration  `json:"window"`
	Canary        float64   `json:"canary"`
	Baseline      float64   `json:"baseline"`
	CanaryCount   int64     `json:"canary_count"`
	BaselineCount int64     `json:"baseline_count"`
	Verdict       Verdict   `json:"verdict"`
	Reason        string    `json:"reason,omitempty"`
	// Since is when a judged check's cumulative samples begin: the start
	// of the analysis step.
	Since time.Time `json:"since,omitzero"`
	// Judgement holds the statistics behind a judged check's verdict.
	Judgement *Judgement `json:"judgement,omitempty"`
}

// Judgement is one look of the statistical judge at a check: the test,
// the shift estimate and its interval, in the metric's base unit.
type Judgement struct {
	// Look is the Look-th of Planned looks of the analysis step.
	Look    int `json:"look"`
	Planned int `json:"planned"`
	// Canary and Baseline are medians, or rates for proportions.
	U      float64 `json:"u"`
	PValue float64 `json:"p_value"`
	Alpha  float64 `json:"alpha"`
	// Shift is canary − baseline with its interval at this look's level;
	// Allowed is the largest acceptable worse-direction shift.
	Shift     float64 `json:"shift"`
	ShiftLow  float64 `json:"shift_low"`
	ShiftHigh float64 `json:"shift_high"`
	RelShift  float64 `json:"rel_shift"`
	Allowed   float64 `json:"allowed"`
}

// ScoreStatus is the weighted score of the judged checks at one look.
type ScoreStatus struct {
	At      time.Time `json:"at"`
	Score   float64   `json:"score"`
	Verdict Verdict   `json:"verdict"`
	Reason  string    `json:"reason"`
}

// CheckStatus is the running state of one check during a rollout.
type CheckStatus struct {
	Name     string  `json:"name"`
	Metric   string  `json:"metric"`
	Provider string  `json:"provider"`
	Rule     string  `json:"rule"`
	Status   Verdict `json:"status"`
	// Looks counts the judge's looks with data since LooksFrom, the start
	// of the analysis step they belong to.
	Looks     int       `json:"looks,omitempty"`
	LooksFrom time.Time `json:"looks_from,omitzero"`
	// Errors counts the measurements in a row that could not be taken.
	Errors int `json:"errors,omitempty"`
	// BreachSince is the start of the current run of breaching measurements.
	BreachSince time.Time    `json:"breach_since,omitzero"`
	Last        *Measurement `json:"last,omitempty"`
	Reason      string       `json:"reason,omitempty"`
}

// ServiceState is everything upfactory remembers about one service: which
// version is stable, the previous one kept warm, the current or last
// rollout, and the instances it started. It is saved as one record.
type ServiceState struct {
	Service         string    `json:"service"`
	StableVersion   string    `json:"stable_version"`
	PreviousVersion string    `json:"previous_version,omitempty"`
	PreviousUntil   time.Time `json:"previous_until,omitzero"`
	Rollout         *Rollout  `json:"rollout,omitempty"`
	// Instances are those the target started, for re-adoption after a restart.
	Instances []Instance `json:"instances,omitempty"`
	// Rev is the record's revision, for optimistic concurrency.
	Rev int64 `json:"rev"`
}

// InstanceState is the health of one instance.
type InstanceState string

const (
	InstanceStarting  InstanceState = "Starting"
	InstanceReady     InstanceState = "Ready"
	InstanceUnhealthy InstanceState = "Unhealthy"
	InstanceStopped   InstanceState = "Stopped"
	InstanceFailed    InstanceState = "Failed" // never became ready before its deadline
)

// HealthState says whether users can reach what a service should serve.
type HealthState string

const (
	HealthHealthy  HealthState = "Healthy"
	HealthStarting HealthState = "Starting" // instances on their way, none ready yet
	HealthDegraded HealthState = "Degraded" // a version that should take traffic has no ready instance
)

// Health is a service's health with the reason when it is not Healthy.
type Health struct {
	State  HealthState `json:"state"`
	Reason string      `json:"reason,omitempty"`
}

// Instance is one running copy of a version.
type Instance struct {
	ID        string        `json:"id"`
	Service   string        `json:"service"`
	Version   string        `json:"version"`
	Addr      string        `json:"addr"` // host:port it serves on
	PID       int           `json:"pid,omitempty"`
	State     InstanceState `json:"state"`
	StartedAt time.Time     `json:"started_at"`
	Restarts  int           `json:"restarts,omitempty"`
	LogPath   string        `json:"log_path,omitempty"`
	Reason    string        `json:"reason,omitempty"` // why it is Unhealthy or Failed
}

// LogEntry is one decision in the operation log. Entries are appended,
// never updated or deleted; each carries the hash of the one before it.
type LogEntry struct {
	Seq      int64          `json:"seq"`
	Time     time.Time      `json:"time"`
	Actor    string         `json:"actor"`   // a person's name, or "system"
	Action   string         `json:"action"`  // rollout.start, step.advance, rollback.automatic…
	Service  string         `json:"service"` // may be empty for server-wide events
	Subject  string         `json:"subject"` // what the action is about: a version, an instance, a step
	Reason   string         `json:"reason,omitempty"`
	Values   map[string]any `json:"values,omitempty"`
	PrevHash string         `json:"prev_hash"`
	Hash     string         `json:"hash"`
}

// ActorSystem is the actor of decisions upfactory takes by itself.
const ActorSystem = "system"

// LogFilter selects log entries.
type LogFilter struct {
	Service  string
	AfterSeq int64 // entries with Seq > AfterSeq
	Limit    int   // 0: no limit
	// Newest takes the newest Limit entries instead of the oldest; they
	// are still returned in Seq order.
	Newest bool
}

// LogVerification is the result of checking the hash chain.
type LogVerification struct {
	OK      bool   `json:"ok"`
	Entries int64  `json:"entries"`
	BadSeq  int64  `json:"bad_seq,omitempty"` // first entry that does not verify
	Problem string `json:"problem,omitempty"`
}

// Store persists service state and the operation log.
type Store interface {
	// State returns the stored state of service. ENOTFOUND when none was saved.
	State(ctx context.Context, service string) (*ServiceState, error)
	// Save writes st and appends entries in one transaction. ECONFLICT when
	// st.Rev is not the stored revision (someone saved in between). On
	// success st.Rev is the new revision and entries have Seq, PrevHash and
	// Hash filled in.
	Save(ctx context.Context, st *ServiceState, entries []LogEntry) error
	// AppendLog appends entries that change no state (an instance restart).
	AppendLog(ctx context.Context, entries []LogEntry) error
	// Log returns entries in Seq order.
	Log(ctx context.Context, f LogFilter) ([]LogEntry, error)
	// VerifyLog checks the whole hash chain and names the first bad entry.
	VerifyLog(ctx context.Context) (*LogVerification, error)
	Close() error
}

// Pool is the set of ready instances of one version and the share of new
// requests it gets.
type Pool struct {
	Version string   `json:"version"`
	Weight  int      `json:"weight"` // 0–100; the weights of all pools add up to 100
	Addrs   []string `json:"addrs"`
}

// Router sends users' traffic to versions by weight.
type Router interface {
	// SetPools replaces the pools at once. A pool or address absent from
	// pools gets no new requests; its in-flight requests finish.
	SetPools(ctx context.Context, pools []Pool) error
	// Pools returns the pools in force.
	Pools(ctx context.Context) ([]Pool, error)
	// Drain waits until no request is in flight to addr, or ctx is done.
	Drain(ctx context.Context, addr string) error
}

// Target starts, watches and stops the instances of a service's versions.
type Target interface {
	// Start launches n new instances of version and returns them in state
	// Starting; they become Ready (or Failed at the readiness deadline) in
	// the background. EINVALID for a version the target cannot run.
	Start(ctx context.Context, version string, n int) ([]Instance, error)
	// Stop stops one instance (SIGTERM, then SIGKILL after the stop timeout).
	Stop(ctx context.Context, id string) error
	// Adopt takes over instances recorded before a restart: live ones are
	// kept, dead ones are reported Stopped.
	Adopt(ctx context.Context, insts []Instance) error
	// Instances returns every instance the target knows, with current health.
	Instances(ctx context.Context) ([]Instance, error)
	// Close stops supervising; with stopAll it stops every instance too.
	Close(ctx context.Context, stopAll bool) error
}

// TrafficStats summarizes the requests one version served over a window.
type TrafficStats struct {
	Version   string        `json:"version"`
	Window    time.Duration `json:"window"`
	Requests  int64         `json:"requests"`
	Errors5xx int64         `json:"errors_5xx"` // 5xx answers, and requests no instance could take
	Errors4xx int64         `json:"errors_4xx"`
	Rate      float64       `json:"rate"` // requests per second
	P50       time.Duration `json:"p50"`
	P95       time.Duration `json:"p95"`
	P99       time.Duration `json:"p99"`
}

// MetricSource gives traffic statistics per version over a trailing window.
type MetricSource interface {
	Stats(version string, window time.Duration, now time.Time) TrafficStats
}

// VersionChecker is implemented by targets that can tell, before anything
// starts, whether they can run a version (an allow-list, a binary per version).
type VersionChecker interface {
	// CheckVersion returns EINVALID, saying why, for a version the target cannot run.
	CheckVersion(ctx context.Context, version string) error
}
