package upfactory

import (
	"os"
	"time"
)

// Config is the whole of upfactory.yaml after decoding and validation.
type Config struct {
	Server   ServerConfig `yaml:"server" json:"server"`
	Services []*Service   `yaml:"services" json:"services"`
	Feeds    FeedsConfig  `yaml:"feeds" json:"feeds"`
	Intake   IntakeConfig `yaml:"intake" json:"intake"`
	Risk     RiskConfig   `yaml:"risk" json:"risk"`
	Policies PolicyConfig `yaml:"policies" json:"policies"`
	// Prometheus is where checks with provider: prometheus query.
	Prometheus *PrometheusConfig `yaml:"prometheus" json:"prometheus,omitempty"`
	// Economics prices the readout's figures.
	Economics Economics `yaml:"economics" json:"economics"`
	// Roles tunes who may do what (four eyes).
	Roles RolesConfig `yaml:"roles" json:"roles,omitzero"`
	// Notifiers receive rollout events from the operation log.
	Notifiers []NotifierSpec `yaml:"notifiers" json:"notifiers,omitempty"`
	// Store says where state and the operation log are kept.
	Store StoreConfig `yaml:"store" json:"-"`
}

// StoreConfig says where the store is: SQLite in the data directory (the
// default, for one server) or PostgreSQL (for several).
type StoreConfig struct {
	// DSN is a PostgreSQL connection string, postgres://… or key=value
	// pairs. A password is never written in the file: the whole DSN may
	// be ${NAME}, read from the environment, or the password come from
	// PGPASSWORD or ~/.pgpass, as libpq's do. Empty: SQLite.
	DSN string `yaml:"dsn"`
}

// ResolvedDSN is the DSN with ${NAME} read from the environment.
func (s StoreConfig) ResolvedDSN() string {
	if name, ok := EnvRef(s.DSN); ok {
		return os.Getenv(name)
	}
	return s.DSN
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
	// Lease is how long the leader among the servers sharing the store
	// leads without renewing: a follower takes over within it when the
	// leader dies. Default 10s.
	Lease Duration `yaml:"lease" json:"lease"`
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

	// Owners overrides Owner for single stages of the service's upgrades.
	Owners StageOwners `yaml:"owners" json:"owners,omitzero"`
	// OnCall is who is on call for the service during rollouts.
	OnCall string `yaml:"on_call" json:"on_call,omitempty"`
	// Comms is where rollouts are announced: a channel, a list, a page.
	Comms string `yaml:"comms" json:"comms,omitempty"`
	// FailureModes are the service's top failure modes, most likely first.
	FailureModes []string `yaml:"failure_modes" json:"failure_modes,omitempty"`
	// Stateful names the service's stateful parts (databases, queues).
	Stateful []string `yaml:"stateful" json:"stateful,omitempty"`
	// Gates turns gates off for this service; all are on by default.
	Gates     GateSwitches  `yaml:"gates" json:"gates,omitzero"`
	Preflight PreflightSpec `yaml:"preflight" json:"preflight,omitzero"`
	Drill     DrillSpec     `yaml:"drill" json:"drill,omitzero"`
	// Flags is where the service's feature flags live, for flag steps.
	Flags FlagsSpec `yaml:"flags" json:"flags,omitzero"`
	// Verification compares the new version with the baseline after 100%.
	Verification VerificationSpec `yaml:"verification" json:"verification,omitzero"`
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
	// Image (kubernetes) is the container image of a version, a template
	// with {{.Version}} and {{.Service}}: registry.example.com/shop:{{.Version}}.
	Image string `yaml:"image" json:"image,omitempty"`
	// Namespace (kubernetes) holds the service's Deployments and Services.
	Namespace string `yaml:"namespace" json:"namespace,omitempty"`
	// Port (kubernetes) is the port the container listens on.
	Port int `yaml:"port" json:"port,omitempty"`
	// Kubeconfig (kubernetes) is the cluster's kubeconfig file; default
	// KUBECONFIG, ~/.kube/config, or the pod's service account.
	Kubeconfig string `yaml:"kubeconfig" json:"kubeconfig,omitempty"`
}

// Readiness is an HTTP GET that must answer 2xx.
type Readiness struct {
	Path     string   `yaml:"path" json:"path"`         // default /healthz
	Timeout  Duration `yaml:"timeout" json:"timeout"`   // deadline for a new instance to become ready; default 30s
	Interval Duration `yaml:"interval" json:"interval"` // poll interval; default 200ms
}

// RouterSpec says how traffic reaches the versions.
type RouterSpec struct {
	// Type is "builtin" (upfactory's own reverse proxy, inside serve) or
	// "standalone" (the same proxy in its own process, `upfactory
	// router`, which keeps serving while serve is down) or "haproxy" (a
	// user's HAProxy, driven through its runtime API).
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
	// API (standalone) is where the standalone router's control API
	// answers: `upfactory router` serves it, serve drives the router there.
	API string `yaml:"api" json:"api,omitempty"`
	// Token (standalone) authenticates serve to that API, written
	// ${NAME} and read from the environment. Required unless API is on
	// loopback.
	Token string `yaml:"token" json:"-"`
	// TLS (builtin, standalone) terminates TLS on listen with this
	// certificate, HTTP/2 and HTTP/1.1 by ALPN; a renewed certificate is
	// read again at the next handshake, without dropping a connection.
	// Without it the router speaks HTTP/1.1 and cleartext HTTP/2 (h2c).
	TLS *TLSSpec `yaml:"tls" json:"tls,omitempty"`
	// Socket (haproxy) is the path of HAProxy's admin socket (`stats
	// socket PATH level admin`), and Backend the backend whose servers
	// upfactory adds, weighs, drains and removes through it.
	Socket  string `yaml:"socket" json:"socket,omitempty"`
	Backend string `yaml:"backend" json:"backend,omitempty"`
	// Route (gateway) is the Gateway API HTTPRoute whose backend weights
	// send the traffic to each version's Service, in the target's
	// namespace.
	Route string `yaml:"route" json:"route,omitempty"`
}

// TLSSpec names a PEM certificate (with its chain) and its key.
type TLSSpec struct {
	Cert string `yaml:"cert" json:"cert"`
	Key  string `yaml:"key" json:"key"`
}

// Strategy is how a new version replaces the stable one: exactly one of
// its fields is set.
type Strategy struct {
	Canary    *CanaryStrategy    `yaml:"canary" json:"canary,omitempty"`
	BlueGreen *BlueGreenStrategy `yaml:"blue_green" json:"blue_green,omitempty"`
	Rolling   *RollingStrategy   `yaml:"rolling" json:"rolling,omitempty"`
}

// RollingStrategy replaces the instances of the stable version a batch
// (MaxSurge instances) at a time: each new instance is ready before an
// old one is drained and stopped, traffic follows the instances, and the
// analysis, when set, runs between batches. A failure reverses the
// batches done: the old version's instances come back and the new ones
// stop. No old instance stays warm after the last batch.
type RollingStrategy struct {
	// MaxSurge is how many new instances start at once. Default 1.
	MaxSurge int `yaml:"max_surge" json:"max_surge"`
	// MaxUnavailable is how many instances may be not ready during the
	// update: old ones stop that much ahead of their replacements. Default
	// 0: an old instance stops only once its replacement serves.
	MaxUnavailable int           `yaml:"max_unavailable" json:"max_unavailable"`
	Analysis       *AnalysisStep `yaml:"analysis" json:"analysis,omitempty"`
	KeepFailedFor  Duration      `yaml:"keep_failed_for" json:"keep_failed_for"`
	// Replicas is the service's instance count, set by config loading.
	Replicas int `yaml:"-" json:"-"`
}

// BlueGreenStrategy starts the new version (green) at full size beside
// the stable one (blue), reachable with the X-Upfactory-Version header
// only; runs the pre-promotion steps against it (mirrored traffic,
// journeys, analysis, pauses); promotes it by one switch of all traffic,
// once every green instance is ready — by itself with AutoPromotion, or
// at an approval gate; runs the post-promotion steps at 100% while blue
// stays warm, and backs out by one switch. Blue stays routable for the
// rollback window, then stops.
type BlueGreenStrategy struct {
	AutoPromotion bool `yaml:"auto_promotion" json:"auto_promotion"`
	// Preview, when set, is a second listener of the router (host:port)
	// that sends every request to green, for people and probes to try it
	// before promotion.
	Preview string `yaml:"preview" json:"preview,omitempty"`
	// PromotionRole may promote when AutoPromotion is off. Default approver.
	PromotionRole  string   `yaml:"promotion_role" json:"promotion_role,omitempty"`
	PrePromotion   []Step   `yaml:"pre_promotion" json:"pre_promotion,omitempty"`
	PostPromotion  []Step   `yaml:"post_promotion" json:"post_promotion,omitempty"`
	RollbackWindow Duration `yaml:"rollback_window" json:"rollback_window"`
	KeepFailedFor  Duration `yaml:"keep_failed_for" json:"keep_failed_for"`
}

// Kind names the strategy: canary or blue_green; "" when none is set.
func (s Strategy) Kind() string {
	switch {
	case s.Canary != nil:
		return "canary"
	case s.BlueGreen != nil:
		return "blue_green"
	case s.Rolling != nil:
		return "rolling"
	}
	return ""
}

// Steps are the steps a rollout walks. A blue-green strategy's are its
// pre-promotion steps at weight 0, the promotion (an approval unless it
// promotes by itself, then weight 100: one switch) and its
// post-promotion steps at 100%.
func (s Strategy) Steps() []Step {
	switch {
	case s.Canary != nil:
		return s.Canary.Steps
	case s.BlueGreen != nil:
		bg := s.BlueGreen
		steps := append([]Step(nil), bg.PrePromotion...)
		if !bg.AutoPromotion {
			role := bg.PromotionRole
			if role == "" {
				role = "approver"
			}
			steps = append(steps, Step{Approval: &ApprovalStep{Role: role}})
		}
		all := 100
		steps = append(steps, Step{Weight: &all})
		return append(steps, bg.PostPromotion...)
	case s.Rolling != nil:
		// One weight step per batch, the share of instances replaced.
		n, b := max(s.Rolling.Replicas, 1), max(s.Rolling.MaxSurge, 1)
		var steps []Step
		for done := b; ; done += b {
			w := 100 * min(done, n) / n
			steps = append(steps, Step{Weight: &w})
			if done >= n {
				return steps
			}
			if a := s.Rolling.Analysis; a != nil {
				steps = append(steps, Step{Analysis: a})
			}
		}
	}
	return nil
}

// Instances is how many instances of the new version a rolling update at
// weight runs (the rest are the stable version's), and whether the
// strategy counts instances at all.
func (s Strategy) Instances(weight int) (int, bool) {
	if s.Rolling == nil {
		return 0, false
	}
	n := max(s.Rolling.Replicas, 1)
	return (weight*n + 99) / 100, true
}

// RollbackWindow is how long the previous version stays warm after 100%.
func (s Strategy) RollbackWindow() Duration {
	switch {
	case s.Canary != nil:
		return s.Canary.RollbackWindow
	case s.BlueGreen != nil:
		return s.BlueGreen.RollbackWindow
	}
	return 0
}

// KeepFailedFor is how long a rolled-back version's instances are kept.
func (s Strategy) KeepFailedFor() Duration {
	switch {
	case s.Canary != nil:
		return s.Canary.KeepFailedFor
	case s.BlueGreen != nil:
		return s.BlueGreen.KeepFailedFor
	case s.Rolling != nil:
		return s.Rolling.KeepFailedFor
	}
	return 0
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
	Mirror   *MirrorSpec   `yaml:"mirror" json:"mirror,omitempty"`
	Flag     *FlagStep     `yaml:"flag" json:"flag,omitempty"`
}

// FlagStep turns a feature flag on for Percent of users (by their
// targeting key), under the same checks as a weight; a rollback sets
// every flag the rollout ramped back to 0 at once.
type FlagStep struct {
	Name    string `yaml:"name" json:"name"`
	Percent int    `yaml:"percent" json:"percent"`
}

// FlagsSpec is where a service's feature flags are kept: a flagd
// flag-definition file (type flagd-file) that flagd, or an OpenFeature
// SDK's flagd provider in file mode, reads.
type FlagsSpec struct {
	Type string `yaml:"type" json:"type,omitempty"`
	Path string `yaml:"path" json:"path,omitempty"`
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
	case s.Mirror != nil:
		return "mirror"
	case s.Flag != nil:
		return "flag"
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
	// Alpha is the false-positive budget of one whole rollout: the chance
	// that judged checks fail a canary no worse than its baseline, over
	// all their looks at every analysis step. Default 0.05.
	Alpha float64 `yaml:"alpha" json:"alpha,omitempty"`
	// Score sets the pass and marginal thresholds of the weighted score of
	// judged checks. Default pass 95, marginal 75.
	Score ScoreSpec `yaml:"score" json:"score"`
	// MaxErrors is how many measurements in a row a check may fail to take
	// (a provider down, a query that errors) before the rollout pauses.
	// Default 3.
	MaxErrors int `yaml:"max_consecutive_errors" json:"max_consecutive_errors,omitempty"`
}

// ScoreSpec holds the thresholds of the analysis score, out of 100.
type ScoreSpec struct {
	Pass     float64 `yaml:"pass" json:"pass"`
	Marginal float64 `yaml:"marginal" json:"marginal"`
}

// Check is one metric of the canary and how it is judged: against a limit,
// absolute (Max, Min) or relative to the stable version (MaxVsBaseline,
// MinVsBaseline), that must hold at every measurement; or, with Judge, by
// a statistical comparison of canary and baseline samples at every look of
// an analysis step.
type Check struct {
	// Name identifies the check in status, the log and the score. Default
	// the metric; two checks of one metric need names.
	Name   string `yaml:"name" json:"name,omitempty"`
	Metric string `yaml:"metric" json:"metric"`
	// Provider measures the metric: builtin (the router and the exec
	// target; default), prometheus, probe or exec.
	Provider string `yaml:"provider" json:"provider,omitempty"`
	// Query (prometheus) is a PromQL template with {{.Service}},
	// {{.Version}}, {{.Pool}} and {{.Window}} giving one series per version.
	Query string `yaml:"query" json:"query,omitempty"`
	// Journey (probe) names a journey of the service's compat.journeys,
	// run against one canary and one stable instance at every interval.
	Journey string `yaml:"journey" json:"journey,omitempty"`
	// Command (exec) prints the metric's value for one version. Each
	// element is a template with {{.Service}}, {{.Version}}, {{.Pool}} and
	// {{.Addr}} (one instance's host:port); it runs directly, never
	// through a shell.
	Command []string `yaml:"command" json:"command,omitempty"`
	// Timeout bounds one probe journey or exec command. Default the interval.
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Numerator and Denominator (builtin conversion) are routes, such as
	// "POST /checkout" and "GET /cart": conversion is the numerator's
	// successful answers over the denominator's requests.
	Numerator   string `yaml:"numerator" json:"numerator,omitempty"`
	Denominator string `yaml:"denominator" json:"denominator,omitempty"`
	// Max is the absolute limit, written in the metric's unit: a
	// percentage for rates ("1%"), a duration for latencies ("800ms"),
	// bytes for memory ("512MiB"), a number otherwise.
	Max string `yaml:"max" json:"max,omitempty"`
	// Min is the absolute floor, for metrics where lower is worse.
	Min string `yaml:"min" json:"min,omitempty"`
	// MaxVsBaseline is the largest allowed ratio canary/stable, such as 1.3.
	MaxVsBaseline float64 `yaml:"max_vs_baseline" json:"max_vs_baseline,omitempty"`
	// MinVsBaseline is the smallest allowed ratio canary/stable, such as 0.9.
	MinVsBaseline float64 `yaml:"min_vs_baseline" json:"min_vs_baseline,omitempty"`
	// For is how long a breach must last before the check fails. Zero: the
	// first breaching measurement fails it.
	For Duration `yaml:"for" json:"for,omitempty"`
	// Judge compares canary and baseline samples statistically instead of
	// against a limit.
	Judge *JudgeSpec `yaml:"judge" json:"judge,omitempty"`
	// Critical judged checks fail the analysis alone; the others add to
	// the weighted score. Limit checks always fail the rollout alone.
	Critical bool `yaml:"critical" json:"critical,omitempty"`
	// Weight in the score. Default 1.
	Weight float64 `yaml:"weight" json:"weight,omitempty"`
	// Direction is higher_is_worse or lower_is_worse. Default by metric:
	// lower is worse for conversion and request_rate.
	Direction string `yaml:"direction" json:"direction,omitempty"`

	// Limit and Floor are Max and Min in the metric's base unit (a
	// fraction, seconds, bytes); set by validation.
	Limit float64 `yaml:"-" json:"limit,omitempty"`
	Floor float64 `yaml:"-" json:"floor,omitempty"`
}

// ID is the check's name, or its metric when it has none.
func (c Check) ID() string {
	if c.Name != "" {
		return c.Name
	}
	return c.Metric
}

// Judged reports whether the check is judged statistically.
func (c Check) Judged() bool { return c.Judge != nil }

// LowerIsWorse reports whether the metric gets worse as it falls.
func (c Check) LowerIsWorse() bool {
	switch c.Direction {
	case DirectionLowerIsWorse:
		return true
	case DirectionHigherIsWorse:
		return false
	}
	return c.Metric == MetricConversion || c.Metric == MetricRequestRate
}

// Directions of a check.
const (
	DirectionHigherIsWorse = "higher_is_worse"
	DirectionLowerIsWorse  = "lower_is_worse"
)

// JudgeSpec tunes the statistical judge of one check.
type JudgeSpec struct {
	// Tolerance is the worse-direction shift accepted, relative to the
	// baseline: "10%" accepts a canary 10% slower. Default 10%.
	Tolerance string `yaml:"tolerance" json:"tolerance,omitempty"`
	// Floor is the smallest shift always accepted, in the metric's unit:
	// "5ms", "0.5%". It keeps a near-zero baseline from making any change
	// a regression. Default 1ms for latencies, 0.5% for rates, 0 otherwise.
	Floor string `yaml:"floor" json:"floor,omitempty"`
	// MinSamples is the fewest samples on each side for a verdict.
	// Default the analysis' min_samples for per-request metrics, 5 for
	// per-interval ones (prometheus, probe, exec, cpu, memory).
	MinSamples int `yaml:"min_samples" json:"min_samples,omitempty"`

	// ToleranceRatio and FloorValue are set by validation, in base units.
	ToleranceRatio float64 `yaml:"-" json:"tolerance_ratio,omitempty"`
	FloorValue     float64 `yaml:"-" json:"floor_value,omitempty"`
}

// Providers of a check's measurements.
const (
	ProviderBuiltin    = "builtin"
	ProviderPrometheus = "prometheus"
	ProviderProbe      = "probe"
	ProviderExec       = "exec"
)

// Metric kinds known to the built-in provider.
const (
	MetricErrorRate    = "error_rate"     // share of responses with status 5xx (or no response)
	MetricErrorRate4xx = "error_rate_4xx" // share of responses with status 4xx
	MetricP50Latency   = "p50_latency"
	MetricP95Latency   = "p95_latency"
	MetricP99Latency   = "p99_latency"
	MetricRequestRate  = "request_rate" // requests per second
	// MetricEndpointErrors is the largest rise, over the routes, of the
	// canary's 5xx rate above the stable version's on the same route.
	MetricEndpointErrors = "endpoint_errors"
	// MetricConversion is the share of the denominator route's requests
	// matched by successful answers of the numerator route.
	MetricConversion = "conversion"
	// MetricCPU is the CPU cores an exec instance uses; MetricMemory its
	// resident memory in bytes.
	MetricCPU    = "cpu"
	MetricMemory = "memory"
)

// Metrics of the probe provider: the share of journeys that failed, and
// their duration.
const (
	MetricProbeFailures = "failure_rate"
	MetricProbeLatency  = "latency"
)

// MetricUnit tells how a built-in or probe metric's limit is written:
// "ratio", "duration", "rate", "cores" or "bytes". It returns "" for a metric
// it does not know, such as one a Prometheus query defines.
func MetricUnit(metric string) string {
	switch metric {
	case MetricErrorRate, MetricErrorRate4xx, MetricEndpointErrors, MetricConversion, MetricProbeFailures:
		return "ratio"
	case MetricP50Latency, MetricP95Latency, MetricP99Latency, MetricProbeLatency:
		return "duration"
	case MetricRequestRate:
		return "rate"
	case MetricCPU:
		return "cores"
	case MetricMemory:
		return "bytes"
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
	DefaultLease          = 10 * time.Second
	DefaultAlpha          = 0.05
	DefaultScorePass      = 95
	DefaultScoreMarginal  = 75
	DefaultMaxErrors      = 3
)
