// Package osv reads vulnerability records in the OSV format
// (https://ossf.github.io/osv-schema, schema 1.x) and decides which
// components they affect, evaluating ranges exactly as the schema's
// "Evaluation" section says.
//
// The types follow the schema field by field; where a field is required
// by the schema its comment says so, and Parse rejects records that lack it.
package osv

import (
	"encoding/json"
	"time"
)

// RangeType says how the versions of a Range's events are ordered.
//
// See https://ossf.github.io/osv-schema/#affectedrangestype-field.
type RangeType string

const (
	// RangeSemVer ranges hold SemVer 2.0.0 versions without a leading
	// "v", ordered by SemVer precedence whatever the ecosystem.
	RangeSemVer RangeType = "SEMVER"
	// RangeEcosystem ranges hold versions in the package ecosystem's own
	// syntax and ordering (PEP 440 for PyPI, dpkg for Debian…).
	RangeEcosystem RangeType = "ECOSYSTEM"
	// RangeGit ranges hold full Git commit hashes of Repo. They need the
	// repository's commit graph and are never evaluated against package
	// versions here.
	RangeGit RangeType = "GIT"
)

// Entry is one OSV record: one vulnerability as one database describes it.
//
// See https://ossf.github.io/osv-schema/#id-modified-fields.
type Entry struct {
	// SchemaVersion is the OSV schema version the record follows, such as
	// "1.3.1". Optional; absent means 1.0.0.
	SchemaVersion string `json:"schema_version,omitempty"`
	// ID identifies the record in its database, "<DB>-<ENTRYID>" such as
	// GO-2022-0969 or GHSA-69cg-p879-7622. Required.
	ID string `json:"id"`
	// Modified is when the record was last changed, RFC 3339 in UTC.
	// Required.
	Modified time.Time `json:"modified"`
	// Published is when the record was first published. Optional.
	Published time.Time `json:"published,omitempty"`
	// Withdrawn, when set, is when the record was withdrawn: a withdrawn
	// record is kept for history but affects nothing. Optional.
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	// Aliases are IDs of the same vulnerability in other databases (a
	// CVE, a GHSA). Aliases are symmetric and transitive. Optional.
	Aliases []string `json:"aliases,omitempty"`
	// Upstream are IDs of vulnerabilities this one derives from, as a
	// distribution's advisory derives from the upstream CVE. Optional.
	Upstream []string `json:"upstream,omitempty"`
	// Related are IDs of closely related but different vulnerabilities;
	// symmetric, not transitive, and never merged. Optional.
	Related []string `json:"related,omitempty"`
	// Summary is a one-line English summary, plain text. Optional.
	Summary string `json:"summary,omitempty"`
	// Details is an English description in CommonMark. Optional.
	Details string `json:"details,omitempty"`
	// Severity scores the whole vulnerability; it must be absent when
	// any Affected entry carries its own Severity. Optional.
	Severity []Severity `json:"severity,omitempty"`
	// Affected lists the affected packages and their versions. Optional in
	// the schema (a record may be informational), but without it the
	// record affects nothing.
	Affected []AffectedPackage `json:"affected,omitempty"`
	// References link to advisories, reports, fixes. Optional.
	References []Reference `json:"references,omitempty"`
	// Credits name who found, reported or fixed it. Optional.
	Credits []Credit `json:"credits,omitempty"`
	// DatabaseSpecific is the database's own extra data, kept as JSON.
	// Optional.
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`

	// Digest is the SHA-256 of the record as Parse read it, in hex: it
	// tells a changed record from an unchanged one even when a database
	// does not move "modified" (the Go database's exports zero it).
	Digest string `json:"-"`
}

// Severity is one quantitative score.
//
// See https://ossf.github.io/osv-schema/#severity-field.
type Severity struct {
	// Type is the scoring method: CVSS_V2, CVSS_V3, CVSS_V4 or Ubuntu.
	// Required.
	Type string `json:"type"`
	// Score is the score in that method, for CVSS the vector string.
	// Required.
	Score string `json:"score"`
}

// AffectedPackage is one object of the schema's "affected" array: an
// affected package and the versions of it that are affected, those listed
// in Versions and those inside any of Ranges.
//
// See https://ossf.github.io/osv-schema/#affected-fields.
type AffectedPackage struct {
	// Package identifies the package. Required, except in entries that
	// only carry GIT ranges.
	Package Package `json:"package"`
	// Severity scores the vulnerability for this package only. Optional.
	Severity []Severity `json:"severity,omitempty"`
	// Ranges are affected version ranges. Optional.
	Ranges []Range `json:"ranges,omitempty"`
	// Versions enumerates affected versions in the ecosystem's syntax.
	// Optional.
	Versions []string `json:"versions,omitempty"`
	// EcosystemSpecific is the ecosystem's extra data (for Go: affected
	// packages and symbols), kept as JSON. Optional.
	EcosystemSpecific json.RawMessage `json:"ecosystem_specific,omitempty"`
	// DatabaseSpecific is the database's extra data, kept as JSON.
	// Optional.
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Package names a package in an ecosystem.
//
// See https://ossf.github.io/osv-schema/#affectedpackage-field.
type Package struct {
	// Ecosystem is the OSV ecosystem, possibly with a ":suffix" scoping it
	// to a release or repository: "Go", "PyPI", "Debian:12",
	// "Maven:https://maven.google.com". Required.
	Ecosystem string `json:"ecosystem"`
	// Name is the package's name in that ecosystem: a Go module path, a
	// PEP 503-normalised PyPI name, Maven's groupId:artifactId, a Debian
	// source package. Required.
	Name string `json:"name"`
	// PURL is the package URL without a version. Optional.
	PURL string `json:"purl,omitempty"`
}

// Range is one timeline of events over one ordering of versions.
//
// See https://ossf.github.io/osv-schema/#affectedranges-field.
type Range struct {
	// Type says how event versions are ordered. Required.
	Type RangeType `json:"type"`
	// Repo is the repository URL, as git clone takes it. Required for GIT
	// ranges, ignored otherwise.
	Repo string `json:"repo,omitempty"`
	// Events are the status changes. Required, with at least one
	// Introduced. They may come in any order; evaluation sorts them.
	Events []Event `json:"events"`
	// DatabaseSpecific is the database's extra data for the range; it
	// never changes evaluation. Optional.
	DatabaseSpecific json.RawMessage `json:"database_specific,omitempty"`
}

// Event is one status change in a Range. Exactly one field is set.
//
// See https://ossf.github.io/osv-schema/#affectedrangesevents-fields.
type Event struct {
	// Introduced is the first affected version; "0" sorts before every
	// version.
	Introduced string `json:"introduced,omitempty"`
	// Fixed is the first version no longer affected.
	Fixed string `json:"fixed,omitempty"`
	// LastAffected is the last affected version; versions after it are
	// taken as unaffected. A range has Fixed or LastAffected, not both.
	LastAffected string `json:"last_affected,omitempty"`
	// Limit bounds the range from above: only versions below some limit
	// can be affected. A version containing "*" is infinity.
	Limit string `json:"limit,omitempty"`
}

// Reference is a link to more information.
//
// See https://ossf.github.io/osv-schema/#references-field.
type Reference struct {
	// Type is ADVISORY, ARTICLE, DETECTION, DISCUSSION, REPORT, FIX,
	// INTRODUCED, GIT, PACKAGE, EVIDENCE or WEB. Required.
	Type string `json:"type"`
	// URL is the fully-qualified link. Required.
	URL string `json:"url"`
}

// Credit names someone who helped find, confirm or fix the vulnerability.
//
// See https://ossf.github.io/osv-schema/#credits-fields.
type Credit struct {
	// Name is the person or organisation. Required.
	Name string `json:"name"`
	// Contact lists ways to reach them (URLs, mailto:). Optional.
	Contact []string `json:"contact,omitempty"`
	// Type is their role: FINDER, REPORTER, ANALYST, COORDINATOR,
	// REMEDIATION_DEVELOPER, REMEDIATION_REVIEWER, REMEDIATION_VERIFIER,
	// TOOL, SPONSOR or OTHER. Optional.
	Type string `json:"type,omitempty"`
}

// IDs returns the record's ID followed by its aliases.
func (e *Entry) IDs() []string {
	return append([]string{e.ID}, e.Aliases...)
}
