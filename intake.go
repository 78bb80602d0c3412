package upfactory

import (
	"context"
	"time"
)

// InventorySource is one entry of a service's inventory in upfactory.yaml,
// such as {type: cyclonedx, path: sboms/checkout.cdx.json}. Name, Ecosystem,
// Version and Layer are used only by type "component", which declares one
// component by hand.
type InventorySource struct {
	// Type is the format: cyclonedx, spdx, gomod, package-lock,
	// composer-lock, gemfile-lock, requirements, poetry-lock, wp-plugins,
	// wp-themes or component.
	Type string `json:"type" yaml:"type"`
	// Path is the file, relative to the directory of the config file
	// unless absolute. Unused for type "component".
	Path string `json:"path,omitempty" yaml:"path"`

	Name      string `json:"name,omitempty" yaml:"name"`
	Ecosystem string `json:"ecosystem,omitempty" yaml:"ecosystem"`
	Version   string `json:"version,omitempty" yaml:"version"`
	Layer     string `json:"layer,omitempty" yaml:"layer"`
}

// FeedSource is where a feed is read: a local file or directory (Path), or
// an HTTP(S) URL fetched with caching and conditional requests. Exactly one
// is set.
type FeedSource struct {
	Path string `json:"path,omitempty" yaml:"path"`
	URL  string `json:"url,omitempty" yaml:"url"`
}

// Location is the path or the URL, whichever is set.
func (f FeedSource) Location() string {
	if f.Path != "" {
		return f.Path
	}
	return f.URL
}

// ReleaseNotesSource is the changelog of one component.
type ReleaseNotesSource struct {
	// Component is the component's name as inventories give it
	// (github.com/prometheus/prometheus, lodash, akismet).
	Component string `json:"component" yaml:"component"`
	// Ecosystem narrows the match when the same name exists in several
	// ecosystems; empty matches the name in any.
	Ecosystem string `json:"ecosystem,omitempty" yaml:"ecosystem"`
	Path      string `json:"path,omitempty" yaml:"path"`
	URL       string `json:"url,omitempty" yaml:"url"`
}

// Feed is the ReleaseNotesSource's file or URL as a FeedSource.
func (r ReleaseNotesSource) Feed() FeedSource { return FeedSource{Path: r.Path, URL: r.URL} }

// FeedsConfig lists the advisory and release-note feeds intake reads.
type FeedsConfig struct {
	// OSV are OSV databases: directories of records, zip exports such as
	// osv.dev's all.zip, or single record files.
	OSV []FeedSource `json:"osv,omitempty" yaml:"osv"`
	// KEV is CISA's known_exploited_vulnerabilities.json.
	KEV *FeedSource `json:"kev,omitempty" yaml:"kev"`
	// EPSS is FIRST's daily EPSS CSV, plain or gzip.
	EPSS *FeedSource `json:"epss,omitempty" yaml:"epss"`
	// ReleaseNotes are changelogs of components.
	ReleaseNotes []ReleaseNotesSource `json:"release_notes,omitempty" yaml:"release_notes"`
}

// IntakeConfig configures the intake stage.
type IntakeConfig struct {
	// Schedule is a five-field cron expression ("0 6 * * *") or a
	// descriptor (@daily, @every 6h) on which serve runs intake; empty for
	// none.
	Schedule string `json:"schedule,omitempty" yaml:"schedule"`
	// Stateful names components that keep state (databases, queues,
	// caches), in addition to the well-known ones upfactory recognises.
	Stateful []string `json:"stateful,omitempty" yaml:"stateful"`
}

// RiskConfig tunes risk scoring.
type RiskConfig struct {
	// Weights overrides default weights by name (cvss, epss, kev, kev_floor,
	// services, tier, migrations…); see `upfactory risk weights`.
	Weights map[string]float64 `json:"weights,omitempty" yaml:"weights"`
}

// Candidate is one upgrade intake proposes: a component at one version,
// wherever it runs, to be moved to a version that fixes its advisories or
// brings its newer releases.
type Candidate struct {
	// ID is stable across runs: it is derived from the component's
	// ecosystem, name and current version.
	ID        string `json:"id"`
	Component string `json:"component"`
	Ecosystem string `json:"ecosystem"`
	Layer     string `json:"layer,omitempty"`
	Current   string `json:"current"`
	// FixVersion is the lowest version that fixes every matched advisory
	// that has a known fix; empty when there is none. FixComplete is false
	// when some advisory has no fix at all.
	FixVersion  string `json:"fix_version,omitempty"`
	FixComplete bool   `json:"fix_complete"`
	// NewestInMajor is the newest known release in Current's major version
	// that no known advisory affects; empty when none is known newer than
	// Current.
	NewestInMajor string `json:"newest_in_major,omitempty"`
	// Latest is the newest release known, in any major.
	Latest string `json:"latest,omitempty"`
	// Recommended is the version to move to: NewestInMajor when it
	// includes every fix, else FixVersion; for a candidate without
	// advisories (release notes only), NewestInMajor, else Latest (a new
	// major). Empty when advisories have no fix and no newer unaffected
	// release is known. Never a pre-release nor a Go pseudo-version for a
	// Current that is a release: when the only fix is one, Recommended is
	// the lowest known release above it that no advisory affects, or
	// empty, with RecommendedNote saying why.
	Recommended     string `json:"recommended"`
	RecommendedNote string `json:"recommended_note,omitempty"`
	// Services are the services that run the component at Current, sorted.
	Services []string `json:"services"`
	// Sources say where the component was found: service, file and line
	// or JSON pointer; the first MaxSources of them, SourcesTotal in all.
	Sources      []string    `json:"sources"`
	SourcesTotal int         `json:"sources_total"`
	Advisories   []Advisory  `json:"advisories"`
	Highlights   []Highlight `json:"highlights"`
	// NotesFile is the changelog the highlights come from.
	NotesFile string    `json:"notes_file,omitempty"`
	Risk      RiskScore `json:"risk"`
	// BreakingDigest identifies the breaking highlights; an
	// acknowledgement covers the breaking items it was given for, so new
	// ones need a new one. Empty when there are none.
	BreakingDigest string `json:"breaking_digest,omitempty"`
	// Ack is the latest acknowledgement of breaking items, if any.
	Ack *CandidateAck `json:"ack,omitempty"`

	FirstSeen  time.Time  `json:"first_seen"`
	LastSeen   time.Time  `json:"last_seen"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// Status is derived: see the Candidate* constants.
	Status string `json:"status"`
}

// MaxSources is how many places a candidate lists: enough to find the
// component, not every one of a fleet's (the inventories stay the record).
const MaxSources = 50

// Candidate statuses.
const (
	// CandidateReady can leave intake for compatibility testing.
	CandidateReady = "ready"
	// CandidateNeedsAck has breaking items nobody has acknowledged yet.
	CandidateNeedsAck = "needs_ack"
	// CandidateResolved no longer applies: the component moved on or the
	// advisories were withdrawn.
	CandidateResolved = "resolved"
)

// ComputeStatus derives the status from the other fields.
func (c *Candidate) ComputeStatus() string {
	switch {
	case c.ResolvedAt != nil:
		return CandidateResolved
	case c.BreakingDigest != "" && (c.Ack == nil || c.Ack.Digest != c.BreakingDigest):
		return CandidateNeedsAck
	}
	return CandidateReady
}

// CandidateAck records that someone read the breaking items of a candidate.
type CandidateAck struct {
	By     string    `json:"by"`
	At     time.Time `json:"at"`
	Digest string    `json:"digest"`
}

// Advisory is one vulnerability a candidate fixes, with what is known about
// its exploitability.
type Advisory struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases"`
	Summary string   `json:"summary,omitempty"`
	// Fixed are the versions that fix the ranges Current is in.
	Fixed      []string `json:"fixed"`
	CVSSVector string   `json:"cvss_vector,omitempty"`
	// CVSSScore is the base score computed from CVSSVector.
	CVSSScore *float64 `json:"cvss_score"`
	Severity  string   `json:"severity"`
	KEV       bool     `json:"kev"`
	// KEVVia says how the KEV listing was found when not by the
	// advisory's own IDs: "related CVE-…".
	KEVVia string   `json:"kev_via,omitempty"`
	EPSS   *float64 `json:"epss"`
	URL    string   `json:"url,omitempty"`
}

// Highlight is a release-note entry someone must read before the upgrade.
type Highlight struct {
	// Kind is breaking, deprecation, migration or security.
	Kind    string `json:"kind"`
	Version string `json:"version"`
	Text    string `json:"text"`
	// Why says what marked it: a section heading, a tag or the wording.
	Why  string `json:"why,omitempty"`
	File string `json:"file"`
	Line int    `json:"line"`
}

// RiskScore is a risk score 0–100 with every factor behind it.
type RiskScore struct {
	Total          float64 `json:"total"`
	Exploitability float64 `json:"exploitability"`
	BlastRadius    float64 `json:"blast_radius"`
	Reversibility  float64 `json:"reversibility"`
	// Axis weights, normalised to sum to 1.
	ExploitabilityShare float64      `json:"exploitability_share"`
	BlastRadiusShare    float64      `json:"blast_radius_share"`
	ReversibilityShare  float64      `json:"reversibility_share"`
	Factors             []RiskFactor `json:"factors"`
	Formula             string       `json:"formula"`
}

// RiskFactor is one input of a risk score, with how much it weighed.
type RiskFactor struct {
	Axis   string  `json:"axis"`
	Name   string  `json:"name"`
	Input  string  `json:"input"`
	Value  float64 `json:"value"`
	Weight float64 `json:"weight"`
	Share  float64 `json:"share"`
	Points float64 `json:"points"`
	Reason string  `json:"reason"`
}

// IntakeRun is the record of one intake: what was read, what changed.
type IntakeRun struct {
	ID       int64     `json:"id"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Trigger  string    `json:"trigger"` // cli, schedule or api

	Records            int `json:"records"`             // advisory records read, withdrawn ones included
	AdvisoriesNew      int `json:"advisories_new"`      // not seen before
	AdvisoriesChanged  int `json:"advisories_changed"`  // seen with other content
	AdvisoriesRemoved  int `json:"advisories_removed"`  // gone or withdrawn since the last run
	Components         int `json:"components"`          // component instances across services
	Candidates         int `json:"candidates"`          // open candidates after the run
	CandidatesNew      int `json:"candidates_new"`      // first seen in this run
	CandidatesChanged  int `json:"candidates_changed"`  // seen before, now different
	CandidatesResolved int `json:"candidates_resolved"` // open before, gone now
	Problems           int `json:"problems"`
}

// AdvisoryDigest is what the store keeps of an advisory record to tell new
// and changed records from ones already ingested.
type AdvisoryDigest struct {
	ID       string `json:"id"`
	Digest   string `json:"digest"`
	Modified string `json:"modified"`
	Source   string `json:"source"`
}

// CandidateFilter selects candidates.
type CandidateFilter struct {
	// Resolved includes resolved candidates.
	Resolved bool
	Service  string
}

// IntakeStore keeps what intake found.
type IntakeStore interface {
	// AdvisoryDigests returns the digests of the advisories stored, by ID.
	AdvisoryDigests(ctx context.Context) (map[string]AdvisoryDigest, error)
	// SaveIntake stores one run in one transaction: upserts the new and
	// changed advisory digests, deletes removed, upserts candidates (keeping
	// their FirstSeen and acknowledgements), marks the candidates whose IDs
	// are in unchanged as seen at run.Finished without rewriting them,
	// marks open candidates in neither list resolved, records run (filling
	// its ID) and appends entries to the operation log.
	SaveIntake(ctx context.Context, run *IntakeRun, upsert []AdvisoryDigest, remove []string, candidates []*Candidate, unchanged []string, entries []LogEntry) error
	// Candidates returns candidates by descending risk, then ID.
	Candidates(ctx context.Context, f CandidateFilter) ([]*Candidate, error)
	// Candidate returns one candidate; ENOTFOUND when there is none.
	Candidate(ctx context.Context, id string) (*Candidate, error)
	// AckCandidate records ack for candidate id with the log entry, in one
	// transaction. ENOTFOUND for an unknown candidate; ECONFLICT when
	// ack.Digest is not the candidate's BreakingDigest any more.
	AckCandidate(ctx context.Context, id string, ack CandidateAck, entry LogEntry) (*Candidate, error)
	// IntakeRuns returns the latest runs, newest first.
	IntakeRuns(ctx context.Context, limit int) ([]*IntakeRun, error)
}
