package upfactory

import "time"

// Config is the whole of upfactory.yaml after decoding and validation.
type Config struct {
	Server   ServerConfig `yaml:"server" json:"server"`
	Services []*Service   `yaml:"services" json:"services"`
	Feeds    FeedsConfig  `yaml:"feeds" json:"feeds"`
	Intake   IntakeConfig `yaml:"intake" json:"intake"`
	Risk     RiskConfig   `yaml:"risk" json:"risk"`
	Policies PolicyConfig `yaml:"policies" json:"policies"`
}

// Service returns the service named name, or nil.
func (c *Config) Service(name string) *Service {
	for _, s := range c.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// ServerConfig configures the control plane.
type ServerConfig struct {
	// Listen is the API address. Default 127.0.0.1:7070: loopback unless told otherwise.
	Listen string `yaml:"listen" json:"listen"`
	// DataDir holds the SQLite database and instance logs. Default ./.upfactory.
	DataDir string `yaml:"data_dir" json:"data_dir"`
	// TickInterval is how often the engine re-evaluates each rollout. Default 250ms.
	TickInterval Duration `yaml:"tick_interval" json:"tick_interval"`
}

// Service is one deployable thing with an owner, a place in the service
// map and a delivery strategy.
//
// A service without a target is intake-only: upfactory reads its
// inventory and proposes upgrades for it, but does not deliver it, so it
// needs no stable version, router, strategy or analysis.
type Service struct {
	Name          string   `yaml:"name" json:"name"`
	Owner         string   `yaml:"owner" json:"owner"`
	Tier          int      `yaml:"tier" json:"tier"`
	CriticalPaths []string `yaml:"critical_paths" json:"critical_paths,omitempty"`
	// DependsOn names the services this one calls: the edges of the
	// service map that make up a blast radius.
	DependsOn []string `yaml:"depends_on" json:"depends_on,omitempty"`
	// TrafficShare is the share (0–1) of user traffic the service serves.
	TrafficShare float64 `yaml:"traffic_share" json:"traffic_share,omitempty"`
	// Inventory lists where the service's components are read.
	Inventory     []InventorySource `yaml:"inventory" json:"inventory,omitempty"`
	StableVersion string            `yaml:"stable_version" json:"stable_version,omitempty"`
	Target        TargetSpec        `yaml:"target" json:"target"`
	Router        RouterSpec        `yaml:"router" json:"router"`
	Strategy      Strategy          `yaml:"strategy" json:"strategy"`
	Analysis      AnalysisSpec      `yaml:"analysis" json:"analysis"`
	// Compat is what the compatibility stage checks for this service.
	Compat CompatSpec `yaml:"compat" json:"compat"`
}

// Delivered reports whether upfactory delivers the service (it has a
// target) rather than only taking in its inventory.
func (s *Service) Delivered() bool { return s.Target.Type != "" }

// TargetSpec says how the instances of a version are started and found.
type TargetSpec struct {
	// Type is "exec" (processes upfactory starts and supervises) or
	// "static" (addresses that already serve each version).
	Type string `yaml:"type" json:"type"`
	// Command (exec) is the argv of one instance. Each element is a Go
	// template with {{.Port}}, {{.Version}}, {{.Service}}, {{.Index}}. It is
	// executed directly, never through a shell.
	Command []string `yaml:"command" json:"command,omitempty"`
	// Env (exec) adds environment variables; values are templates too.
	Env map[string]string `yaml:"env" json:"env,omitempty"`
	// Dir (exec) is the working directory; default the config file's directory.
	Dir string `yaml:"dir" json:"dir,omitempty"`
	// Versions (exec: optional allow-list; static: required) maps each
	// version to its addresses (static) or to nothing (exec allow-list).
	Versions map[string][]string `yaml:"versions" json:"versions,omitempty"`
	// Replicas is the number of instances per version (exec). Default 1.
	Replicas int `yaml:"replicas" json:"replicas"`
	// Readiness is the HTTP check an instance must pass before it gets traffic.
	Readiness Readiness `yaml:"readiness" json:"readiness"`
	// StopTimeout is how long an instance gets after SIGTERM before SIGKILL. Default 10s.
	StopTimeout Duration `yaml:"stop_timeout" json:"stop_timeout"`
}

// Readiness is an HTTP GET that must answer 2xx.
type Readiness struct {
	Path     string   `yaml:"path" json:"path"`         // default /healthz
	Timeout  Duration `yaml:"timeout" json:"timeout"`   // deadline for a new instance to become ready; default 30s
	Interval Duration `yaml:"interval" json:"interval"` // poll interval; default 200ms
}

// RouterSpec says how traffic reaches the versions.
type RouterSpec struct {
	// Type is "builtin": upfactory's own reverse proxy.
	Type string `yaml:"type" json:"type"`
	// Listen is the address users' traffic arrives on.
	Listen string `yaml:"listen" json:"listen"`
	// Sticky keeps a client on the version it first got, with a cookie.
	Sticky bool `yaml:"sticky" json:"sticky"`
	// Cookie names the sticky cookie. Default upfactory_version.
	Cookie string `yaml:"cookie" json:"cookie,omitempty"`
	// DrainTimeout bounds how long a removed instance may finish its
	// in-flight requests before it is stopped. Default 30s.
	DrainTimeout Duration `yaml:"drain_timeout" json:"drain_timeout"`
}

// Strategy is how a new version replaces the stable one.
type Strategy struct {
	Canary *CanaryStrategy `yaml:"canary" json:"canary,omitempty"`
}

// CanaryStrategy walks Steps in order.
type CanaryStrategy struct {
	Steps []Step `yaml:"steps" json:"steps"`
	// RollbackWindow keeps the previous version warm and routable after a
	// rollout completes, so rollback is a switch. Default 10m.
	RollbackWindow Duration `yaml:"rollback_window" json:"rollback_window"`
	// KeepFailedFor keeps the instances of a rolled-back canary for
	// inspection (reachable with the X-Upfactory-Version header) until
	// `rollout cleanup` or this timeout. Default 30m.
	KeepFailedFor Duration `yaml:"keep_failed_for" json:"keep_failed_for"`
}

// Step is one step of a canary strategy: exactly one field is set.
type Step struct {
	Weight   *int          `yaml:"weight" json:"weight,omitempty"`
	Analysis *AnalysisStep `yaml:"analysis" json:"analysis,omitempty"`
	Approval *ApprovalStep `yaml:"approval" json:"approval,omitempty"`
	Pause    *PauseStep    `yaml:"pause" json:"pause,omitempty"`
}

// Kind names the step's kind: weight, analysis, approval or pause.
func (s Step) Kind() string {
	switch {
	case s.Weight != nil:
		return "weight"
	case s.Analysis != nil:
		return "analysis"
	case s.Approval != nil:
		return "approval"
	case s.Pause != nil:
		return "pause"
	}
	return ""
}

// AnalysisStep holds the rollout at its weight for Duration while every
// check is evaluated; it passes when the checks pass at its end.
type AnalysisStep struct {
	Duration Duration `yaml:"duration" json:"duration"`
}

// ApprovalStep waits for a named person to approve.
type ApprovalStep struct {
	Role string `yaml:"role" json:"role"`
}

// PauseStep waits for Duration, or for `resume`/`promote` when Duration is zero.
type PauseStep struct {
	Duration Duration `yaml:"duration" json:"duration"`
}

// AnalysisSpec is the set of checks that guard every step of a rollout
// while the canary takes traffic.
type AnalysisSpec struct {
	// Interval between two measurements. Default 5s.
	Interval Duration `yaml:"interval" json:"interval"`
	// MinSamples is the fewest canary requests a measurement needs to count;
	// below it the measurement is NoData. Default 20.
	MinSamples int     `yaml:"min_samples" json:"min_samples"`
	Checks     []Check `yaml:"checks" json:"checks"`
}

// Check is one tripwire: a metric of the canary with a limit, absolute
// (Max) or relative to the stable version (MaxVsBaseline), that must hold.
type Check struct {
	Metric string `yaml:"metric" json:"metric"`
	// Max is the absolute limit, written in the metric's unit: a
	// percentage for rates ("1%"), a duration for latencies ("800ms").
	Max string `yaml:"max" json:"max,omitempty"`
	// MaxVsBaseline is the largest allowed ratio canary/stable, such as 1.3.
	MaxVsBaseline float64 `yaml:"max_vs_baseline" json:"max_vs_baseline,omitempty"`
	// For is how long a breach must last before the check fails. Zero: the
	// first breaching measurement fails it.
	For Duration `yaml:"for" json:"for,omitempty"`
	// Limit is Max in the metric's base unit (a fraction, or seconds); set by validation.
	Limit float64 `yaml:"-" json:"limit,omitempty"`
}

// Metric kinds known to the built-in provider.
const (
	MetricErrorRate    = "error_rate"     // share of responses with status 5xx (or no response)
	MetricErrorRate4xx = "error_rate_4xx" // share of responses with status 4xx
	MetricP50Latency   = "p50_latency"
	MetricP95Latency   = "p95_latency"
	MetricP99Latency   = "p99_latency"
	MetricRequestRate  = "request_rate" // requests per second
)

// MetricUnit tells how a metric's limit is written: "ratio", "duration" or
// "rate". It returns "" for an unknown metric.
func MetricUnit(metric string) string {
	switch metric {
	case MetricErrorRate, MetricErrorRate4xx:
		return "ratio"
	case MetricP50Latency, MetricP95Latency, MetricP99Latency:
		return "duration"
	case MetricRequestRate:
		return "rate"
	}
	return ""
}

// Defaults used when the config leaves a field empty.
const (
	DefaultListen         = "127.0.0.1:7070"
	DefaultDataDir        = ".upfactory"
	DefaultCookie         = "upfactory_version"
	DefaultReadinessPath  = "/healthz"
	DefaultReadyTimeout   = 30 * time.Second
	DefaultReadyInterval  = 200 * time.Millisecond
	DefaultStopTimeout    = 10 * time.Second
	DefaultDrainTimeout   = 30 * time.Second
	DefaultRollbackWindow = 10 * time.Minute
	DefaultKeepFailedFor  = 30 * time.Minute
	DefaultInterval       = 5 * time.Second
	DefaultMinSamples     = 20
	DefaultTickInterval   = 250 * time.Millisecond
)
