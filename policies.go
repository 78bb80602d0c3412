package upfactory

import (
	"context"
	"time"
)

// PolicyConfig is the policies section of upfactory.yaml: change windows
// and freezes. The package policy evaluates them.
type PolicyConfig struct {
	Windows []ChangeWindow `yaml:"windows" json:"windows,omitempty"`
	Freezes []Freeze       `yaml:"freezes" json:"freezes,omitempty"`
}

// ChangeWindow is when upgrades may be rolled out.
type ChangeWindow struct {
	Name string `yaml:"name" json:"name"`
	// Cron is when the window opens (five fields or a descriptor), in
	// TimeZone; Duration is how long it stays open.
	Cron     string   `yaml:"cron" json:"cron"`
	Duration Duration `yaml:"duration" json:"duration"`
	TimeZone string   `yaml:"timezone" json:"timezone,omitempty"`
	// MaxUpgrades is the most unrelated upgrades the window may bundle;
	// upgrades of the same component, or fixing the same advisory, count
	// once. Default 3.
	MaxUpgrades int `yaml:"max_upgrades" json:"max_upgrades"`
}

// Freeze is a period when no rollout may start: a date range (From, To)
// or a recurring one (Cron and Duration), in TimeZone.
type Freeze struct {
	Name string `yaml:"name" json:"name"`
	// From and To are dates (2006-01-02) or date-times (2006-01-02T15:04);
	// a date To includes that whole day.
	From     string   `yaml:"from" json:"from,omitempty"`
	To       string   `yaml:"to" json:"to,omitempty"`
	Cron     string   `yaml:"cron" json:"cron,omitempty"`
	Duration Duration `yaml:"duration" json:"duration,omitempty"`
	TimeZone string   `yaml:"timezone" json:"timezone,omitempty"`
	Reason   string   `yaml:"reason" json:"reason,omitempty"`
}

// PolicyOverride lets one policy violation pass: a named approver with a
// reason. It is logged.
type PolicyOverride struct {
	ID     string    `json:"id"` // the violation's ID
	By     string    `json:"by"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// WindowPlan is the candidates planned for one change window, in order.
type WindowPlan struct {
	Window string `json:"window"`
	// Manual is true when someone set the order by hand; else the order
	// is the patch order (OS → runtime → dependencies → app, then risk).
	Manual       bool      `json:"manual"`
	CandidateIDs []string  `json:"candidate_ids"`
	UpdatedBy    string    `json:"updated_by,omitempty"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// PolicyStore keeps window plans and policy overrides.
type PolicyStore interface {
	// Plans returns every stored plan by window name.
	Plans(ctx context.Context) ([]WindowPlan, error)
	// SavePlan replaces the plan of p.Window and appends entry, in one
	// transaction.
	SavePlan(ctx context.Context, p WindowPlan, entry LogEntry) error
	// Overrides returns every override, oldest first.
	Overrides(ctx context.Context) ([]PolicyOverride, error)
	// AddOverride records o and appends entry, in one transaction.
	// EINVALID without a name or a reason.
	AddOverride(ctx context.Context, o PolicyOverride, entry LogEntry) error
}
