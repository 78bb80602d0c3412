package upfactory

import (
	"context"
	"time"
)

// Stage is where an upgrade stands on the line. The names are part of the
// JSON contract.
type Stage string

const (
	StageIntake       Stage = "intake"
	StageRisk         Stage = "risk"
	StageCompat       Stage = "compat"
	StageCanary       Stage = "canary"
	StageProgressive  Stage = "progressive"
	StageVerification Stage = "verification"
	StageDone         Stage = "done"
	StageRolledBack   Stage = "rolled_back"
	StageDismissed    Stage = "dismissed"
)

// LineStages are the stages an upgrade moves through, in order; it ends
// in StageDone, or leaves the line as StageRolledBack or StageDismissed.
var LineStages = []Stage{StageIntake, StageRisk, StageCompat, StageCanary, StageProgressive, StageVerification, StageDone}

// Final reports whether an upgrade in stage s has left the line.
func (s Stage) Final() bool {
	return s == StageDone || s == StageRolledBack || s == StageDismissed
}

// StageRecord is one stage an upgrade entered: when, by whose action and
// why, when it left and how.
type StageRecord struct {
	Stage     Stage     `json:"stage"`
	EnteredAt time.Time `json:"entered_at"`
	LeftAt    time.Time `json:"left_at,omitzero"`
	// Outcome says how the stage ended: passed, rolled back, dismissed…
	Outcome string `json:"outcome,omitempty"`
	Actor   string `json:"actor"`
	Reason  string `json:"reason"`
	// Seq is the operation-log entry that recorded the entry into the stage.
	Seq int64 `json:"seq"`
}

// Upgrade is one item on the line: a candidate delivered to one service.
type Upgrade struct {
	// ID is the service and the candidate: "checkout/c-1a2b3c4d"; a retry
	// after a rollback gets "#2", "#3".
	ID          string `json:"id"`
	CandidateID string `json:"candidate"`
	Service     string `json:"service"`
	Component   string `json:"component"`
	Layer       string `json:"layer,omitempty"`
	From        string `json:"from"`
	To          string `json:"to"`
	// Version is the service's release that delivers the upgrade, once a
	// rollout names it; RolloutID is that rollout.
	Version   string `json:"version,omitempty"`
	RolloutID string `json:"rollout_id,omitempty"`
	Stage     Stage  `json:"stage"`
	// Risk is the candidate's risk score when the upgrade last moved.
	Risk   float64       `json:"risk"`
	Stages []StageRecord `json:"stages"`
	// RollbackUntil is how long the previous version stays warm after the
	// rollout reached 100%: the verification stage lasts at least as long.
	RollbackUntil time.Time `json:"rollback_until,omitzero"`
	// Confirmed is set when intake on the new inventory no longer finds
	// the candidate for the service (for the service's own release: when
	// it became the stable version): the delivery is confirmed.
	Confirmed bool `json:"confirmed,omitempty"`
	// VerifyUntil is when post-release verification of its rollout ends;
	// Verification its outcome: passed, or regression.
	VerifyUntil  time.Time `json:"verify_until,omitzero"`
	Verification string    `json:"verification,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Current returns the record of the stage the upgrade is in.
func (u *Upgrade) Current() *StageRecord {
	if len(u.Stages) == 0 {
		return nil
	}
	return &u.Stages[len(u.Stages)-1]
}

// UpgradeFilter selects upgrades.
type UpgradeFilter struct {
	Service string
	// Closed includes upgrades that left the line.
	Closed bool
}

// StageOwners names who owns each stage of a service's upgrades; an empty
// one falls back to the service's owner.
type StageOwners struct {
	Intake       string `yaml:"intake" json:"intake,omitempty"`
	Risk         string `yaml:"risk" json:"risk,omitempty"`
	Compat       string `yaml:"compat" json:"compat,omitempty"`
	Canary       string `yaml:"canary" json:"canary,omitempty"`
	Progressive  string `yaml:"progressive" json:"progressive,omitempty"`
	Verification string `yaml:"verification" json:"verification,omitempty"`
}

// StageOwner returns who owns stage st of s's upgrades.
func (s *Service) StageOwner(st Stage) string {
	o := map[Stage]string{StageIntake: s.Owners.Intake, StageRisk: s.Owners.Risk, StageCompat: s.Owners.Compat,
		StageCanary: s.Owners.Canary, StageProgressive: s.Owners.Progressive, StageVerification: s.Owners.Verification}[st]
	if o == "" {
		return s.Owner
	}
	return o
}

// GateSwitches turns a service's gates off; every gate is on unless set
// to false here.
type GateSwitches struct {
	Notes     *bool `yaml:"notes" json:"notes,omitempty"`
	Compat    *bool `yaml:"compat" json:"compat,omitempty"`
	Freeze    *bool `yaml:"freeze" json:"freeze,omitempty"`
	Window    *bool `yaml:"window" json:"window,omitempty"`
	Preflight *bool `yaml:"preflight" json:"preflight,omitempty"`
	Drill     *bool `yaml:"drill" json:"drill,omitempty"`
}

// On reports whether gate name is on.
func (g GateSwitches) On(name string) bool {
	p := map[string]*bool{"notes": g.Notes, "compat": g.Compat, "freeze": g.Freeze, "window": g.Window,
		"preflight": g.Preflight, "drill": g.Drill}[name]
	return p == nil || *p
}

// PreflightSpec is a service's go/no-go checklist. The standard items
// (on call, comms, rollback plan, config snapshot, staging dry-run, and
// failure modes for tier 1) are always checked; Backups and Tagged are
// commands; Items are the service's own.
type PreflightSpec struct {
	// MaxAge is how long a GO stays good for the gate. Default 24h.
	MaxAge Duration `yaml:"max_age" json:"max_age,omitempty"`
	// Backups verifies the backups by a restore.
	Backups *PreflightCommand `yaml:"backups" json:"backups,omitempty"`
	// Tagged checks the current release is tagged.
	Tagged *PreflightCommand   `yaml:"release_tagged" json:"release_tagged,omitempty"`
	Items  []PreflightItemSpec `yaml:"items" json:"items,omitempty"`
}

// PreflightCommand is a command that checks one item: exit 0 passes. It
// runs directly (argv, never a shell) with UPFACTORY_SERVICE and
// UPFACTORY_VERSION set.
type PreflightCommand struct {
	Command []string `yaml:"command" json:"command"`
	// Dir is the working directory; default the config file's directory.
	Dir string `yaml:"dir" json:"dir,omitempty"`
	// Timeout bounds it; running out is NO-GO. Default 60s.
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
}

// PreflightItemSpec is one of the service's own items: checked by a
// command, or confirmed by a named person.
type PreflightItemSpec struct {
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description" json:"description,omitempty"`
	Command     []string `yaml:"command" json:"command,omitempty"`
	Dir         string   `yaml:"dir" json:"dir,omitempty"`
	Timeout     Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Confirm says a person confirms the item: upfactory preflight confirm.
	Confirm bool `yaml:"confirm" json:"confirm,omitempty"`
}

// Defaults of the line.
const (
	DefaultPreflightMaxAge  = 24 * time.Hour
	DefaultPreflightTimeout = 60 * time.Second
	DefaultDrillMaxAge      = 30 * 24 * time.Hour
	DefaultDrillMaxRollback = 5 * time.Second
)

// StandardPreflightItems are the items every checklist has, in order.
var StandardPreflightItems = []string{"on_call", "comms", "rollback_plan", "config_snapshot", "backups", "release_tagged", "staging_dry_run", "failure_modes"}

// Preflight verdicts and item statuses.
const (
	PreflightGo   = "GO"
	PreflightNoGo = "NO-GO"

	ItemPass = "pass"
	ItemFail = "fail"
	ItemInfo = "info" // listed for people to read; does not hold the rollout
)

// PreflightItem is one item's outcome.
type PreflightItem struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason"`
	By     string `json:"by"`
	Output string `json:"output"`
}

// PreflightResult is one evaluation of a service's checklist for a version.
type PreflightResult struct {
	ID      int64           `json:"id"`
	Service string          `json:"service"`
	Version string          `json:"version"`
	At      time.Time       `json:"at"`
	By      string          `json:"by"`
	Verdict string          `json:"verdict"`
	Items   []PreflightItem `json:"items"`
	// Line is the one-line outcome: GO, or NO-GO: and every reason.
	Line string `json:"line"`
}

// PreflightConfirmation is a person's word on one item, for one version.
type PreflightConfirmation struct {
	Service string    `json:"service"`
	Version string    `json:"version"`
	Item    string    `json:"item"`
	By      string    `json:"by"`
	Note    string    `json:"note,omitempty"`
	At      time.Time `json:"at"`
}

// DrillSpec tunes a service's rollback drill.
type DrillSpec struct {
	// MaxAge is how long a passing drill stays good for the gate. Default 720h (30 days).
	MaxAge Duration `yaml:"max_age" json:"max_age,omitempty"`
	// MaxRollback is the longest a rollback may take to reach weight 0. Default 5s.
	MaxRollback Duration `yaml:"max_rollback" json:"max_rollback,omitempty"`
	// Speed divides the strategy's pauses and analysis durations. Default 1.
	Speed float64 `yaml:"speed" json:"speed,omitempty"`
}

// DrillResult is one rollback drill of a service.
type DrillResult struct {
	ID      int64     `json:"id"`
	Service string    `json:"service"`
	Version string    `json:"version"`
	Stable  string    `json:"stable"`
	Started time.Time `json:"started"`
	At      time.Time `json:"at"` // finished
	By      string    `json:"by"`
	Passed  bool      `json:"passed"`
	Reason  string    `json:"reason"`
	// RollbackSeconds is from the rollback decision to weight 0 on the router.
	RollbackSeconds float64 `json:"rollback_seconds"`
	FailedRequests  int64   `json:"failed_requests"`
	Requests        int64   `json:"requests"`
}

// ConfigSnapshot is a service's config as it was when a rollout started.
type ConfigSnapshot struct {
	Service   string    `json:"service"`
	Version   string    `json:"version"`
	RolloutID string    `json:"rollout_id,omitempty"`
	At        time.Time `json:"at"`
	SHA256    string    `json:"sha256"`
	// Config is the service's section as JSON.
	Config string `json:"config"`
}

// LineStore keeps the line: upgrades and what the gates read.
type LineStore interface {
	// Upgrades returns upgrades, oldest first.
	Upgrades(ctx context.Context, f UpgradeFilter) ([]*Upgrade, error)
	// LineCursor is the last log entry the line was derived up to.
	LineCursor(ctx context.Context) (int64, error)
	// SaveLine writes upgrades, appends entries and moves the cursor from
	// from to to, in one transaction. ECONFLICT when the stored cursor is
	// not from: someone else moved the line in between.
	SaveLine(ctx context.Context, from, to int64, upgrades []*Upgrade, entries []LogEntry) error
	// AddCandidate stores a candidate that a rollout named and intake had
	// not found (a service's own release) and appends entry. Intake does
	// not resolve it; ResolveCandidate does.
	AddCandidate(ctx context.Context, c *Candidate, entry LogEntry) error
	ResolveCandidate(ctx context.Context, id string, at time.Time) error

	SavePreflight(ctx context.Context, r *PreflightResult, entry LogEntry) error
	// Preflights returns a service's results for version ("" for any), newest first.
	Preflights(ctx context.Context, service, version string, limit int) ([]*PreflightResult, error)
	AddConfirmation(ctx context.Context, c PreflightConfirmation, entry LogEntry) error
	Confirmations(ctx context.Context, service, version string) ([]PreflightConfirmation, error)

	SaveDrill(ctx context.Context, r *DrillResult, entry LogEntry) error
	// Drills returns a service's drills, newest first.
	Drills(ctx context.Context, service string, limit int) ([]*DrillResult, error)

	SaveSnapshot(ctx context.Context, s ConfigSnapshot) error
	// Snapshots returns a service's snapshots, newest first.
	Snapshots(ctx context.Context, service string, limit int) ([]ConfigSnapshot, error)
}
