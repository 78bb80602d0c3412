package upfactory

import (
	"context"
	"time"
)

// LatencyBucket is one bucket of a latency histogram: Count requests took
// about Seconds (the bucket's midpoint).
type LatencyBucket struct {
	Seconds float64 `json:"seconds"`
	Count   int64   `json:"count"`
}

// Distribution is every request one version answered from From to To:
// the counts by outcome and the latency histogram, from which the judge
// draws its per-request samples.
type Distribution struct {
	Version   string    `json:"version"`
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Requests  int64     `json:"requests"`
	Errors4xx int64     `json:"errors_4xx"`
	Errors5xx int64     `json:"errors_5xx"`
	// Latency holds the non-empty buckets, ascending by Seconds; their
	// counts add up to Requests.
	Latency []LatencyBucket `json:"latency,omitempty"`
}

// RouteStats counts the requests of one version to one route: a method
// and a path whose identifier-like segments are folded ("GET /orders/:id").
type RouteStats struct {
	Route     string `json:"route"`
	Requests  int64  `json:"requests"`
	Errors4xx int64  `json:"errors_4xx"`
	Errors5xx int64  `json:"errors_5xx"`
}

// SampleSource is implemented by the built-in router: it keeps what each
// version served second by second, so an analysis can take everything since
// it began rather than a trailing window.
type SampleSource interface {
	// Distribution covers the whole seconds from from to to, both included.
	Distribution(version string, from, to time.Time) Distribution
	// Routes gives the per-route counts over the same span, busiest first.
	Routes(version string, from, to time.Time) []RouteStats
}

// InstanceUsage is what one running instance has consumed so far.
type InstanceUsage struct {
	ID      string    `json:"id"`
	Version string    `json:"version"`
	At      time.Time `json:"at"`
	// CPUSeconds is the user and system CPU time the process used since it
	// started; two readings give the cores it used in between.
	CPUSeconds float64 `json:"cpu_seconds"`
	// RSSBytes is its resident memory now.
	RSSBytes int64 `json:"rss_bytes"`
}

// UsageReporter is implemented by targets that can read the resource use
// of the instances they run (the exec target, from /proc).
type UsageReporter interface {
	Usage(ctx context.Context) ([]InstanceUsage, error)
}

// MirrorSpec is a mirror step: for Duration, a sample of live requests is
// copied to the canary while users still get the stable version's answers,
// and the canary's answers are compared with theirs.
type MirrorSpec struct {
	Duration Duration `yaml:"duration" json:"duration"`
	// Sample is the share of eligible requests copied, written "50%". Default 100%.
	Sample string `yaml:"sample" json:"sample,omitempty"`
	// Methods copied. Default GET, HEAD, OPTIONS: methods a preview can
	// answer without acting on anything.
	Methods []string `yaml:"methods" json:"methods,omitempty"`
	// MaxBody is the largest request body copied, in bytes. Default 65536.
	MaxBody int64 `yaml:"max_body" json:"max_body,omitempty"`
	// MaxMismatch is the largest share of compared copies whose status
	// class may differ from the user's answer, written "1%". Default 1%.
	MaxMismatch string `yaml:"max_mismatch" json:"max_mismatch,omitempty"`
	// MinCompared is the fewest compared copies the step needs to pass.
	// Default 20.
	MinCompared int `yaml:"min_compared" json:"min_compared,omitempty"`

	// SampleRatio and MismatchLimit are Sample and MaxMismatch as
	// fractions; set by validation.
	SampleRatio   float64 `yaml:"-" json:"sample_ratio,omitempty"`
	MismatchLimit float64 `yaml:"-" json:"mismatch_limit,omitempty"`
}

// MirrorReport is what mirroring to a canary measured.
type MirrorReport struct {
	Version string `json:"version"`
	Active  bool   `json:"active"`
	// Mirrored copies were sent; Compared were answered by the canary;
	// Errors were not (refused, reset, timed out); Dropped were not sent
	// (too many in flight, body too big or unread).
	Mirrored int64 `json:"mirrored"`
	Compared int64 `json:"compared"`
	Errors   int64 `json:"errors"`
	Dropped  int64 `json:"dropped"`
	// Mismatches are compared copies whose status class differs from the
	// user's answer; Worse are those where the user got 2xx–4xx and the
	// canary 5xx.
	Mismatches int64 `json:"mismatches"`
	Worse      int64 `json:"worse"`
	// PrimaryP95 and MirrorP95 are over the compared copies.
	PrimaryP95 Duration `json:"primary_p95"`
	MirrorP95  Duration `json:"mirror_p95"`
	// Top lists the pairs of classes and routes that mismatched most:
	// "2xx→5xx ×12", "GET /cart ×9".
	Top []string `json:"top,omitempty"`
}

// Mirrorer is implemented by routers that can copy traffic to a version
// without letting it answer users.
type Mirrorer interface {
	// Mirror starts copying requests to version's addrs as spec says, or
	// stops mirroring when addrs is empty.
	Mirror(ctx context.Context, version string, addrs []string, spec MirrorSpec) error
	// MirrorReport returns what mirroring to version measured.
	MirrorReport(version string) MirrorReport
}
