package osv

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/upfactory/upfactory/version"
)

// Affected reports whether version of the package (ecosystem, name) is
// affected by e, evaluating as the OSV schema's "Evaluation" section says:
// the version is affected when it is listed in an affected entry's
// Versions, or lies in any of its SEMVER or ECOSYSTEM ranges.
//
//   - Withdrawn records affect nothing.
//   - Package names compare by the ecosystem's convention: PEP 503
//     normalisation for PyPI (Foo_Bar == foo-bar), case-insensitively for
//     NuGet and Packagist, exactly otherwise.
//   - Ecosystems: a record whose ecosystem has a ":suffix" ("Debian:12",
//     "Maven:https://maven.google.com") matches only that exact suffix; a
//     record without a suffix matches every suffix of its base ecosystem,
//     since the schema makes the suffix an optional narrowing ("Debian"
//     means every Debian release).
//   - SEMVER ranges are ordered by SemVer 2.0.0 whatever the ecosystem (for
//     Go, by Go's semver, which is the same ordering and accepts "v" and
//     "go1.21.3"); ECOSYSTEM ranges by version.For(ecosystem); GIT ranges
//     are skipped, as package versions are not commits, and do not hide
//     the other ranges of the same entry.
//   - In a range, events are sorted by version ("0" before all, ties:
//     introduced first); walking them, introduced makes the version
//     affected, fixed at or below it and last_affected below it make it
//     unaffected; when limit events exist the version must be below one
//     of them ("*" is infinity).
//
// fixed lists, for each range the version lies in, the first fixed version
// above it, deduplicated and in ascending order: upgrading to the highest
// of them leaves every matched range. It is empty when no fix is known.
//
// err is non-nil only when the answer is unknown: no range or list says
// the version is affected and some range could not be evaluated (its
// ecosystem has no ordering here, or a version does not parse).
func Affected(e *Entry, ecosystem, name, ver string) (affected bool, fixed []string, err error) {
	return affectedWith(e, ecosystem, name, ver, prepareEvents)
}

// prepareFunc returns a range's events parsed in s and in evaluation order.
type prepareFunc func(r *Range, s version.Scheme) ([]event, error)

func prepareEvents(r *Range, s version.Scheme) ([]event, error) { return prepare(s, r.Events) }

func affectedWith(e *Entry, ecosystem, name, ver string, prep prepareFunc) (affected bool, fixed []string, err error) {
	if e == nil || e.Withdrawn != nil {
		return false, nil, nil
	}
	var errs []error
	var fixes []string
	var scheme version.Scheme
	for i := range e.Affected {
		a := &e.Affected[i]
		if !PackageMatches(a.Package, ecosystem, name) {
			continue
		}
		hit, fx, err := evalAffected(a, ecosystem, ver, prep)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s affected[%d]: %w", e.ID, i, err))
		}
		if hit {
			affected = true
			fixes = append(fixes, fx...)
		}
	}
	if !affected {
		return false, nil, errors.Join(errs...)
	}
	if len(fixes) > 1 {
		scheme = schemeFor(ecosystem)
		sortVersions(scheme, fixes)
	}
	return true, slices.Compact(fixes), nil
}

// evalAffected evaluates one affected entry for ver.
func evalAffected(a *AffectedPackage, ecosystem, ver string, prep prepareFunc) (bool, []string, error) {
	hit := false
	var errs []error
	var fixes []string
	eco := schemeFor(ecosystem)
	if len(a.Versions) > 0 {
		var v version.Version
		if eco != nil {
			v, _ = eco.Parse(ver)
		}
		for _, lv := range a.Versions {
			if lv == ver {
				hit = true
				break
			}
			if v != nil {
				if w, err := eco.Parse(lv); err == nil && v.Compare(w) == 0 {
					hit = true
					break
				}
			}
		}
	}
	for j := range a.Ranges {
		r := &a.Ranges[j]
		var s version.Scheme
		switch r.Type {
		case RangeGit:
			continue
		case RangeSemVer:
			s = version.SemVer()
			if strings.EqualFold(version.Base(ecosystem), "Go") {
				s = eco
			}
		case RangeEcosystem:
			var err error
			if s, err = version.For(a.Package.Ecosystem); err != nil {
				errs = append(errs, fmt.Errorf("ranges[%d]: %w", j, err))
				continue
			}
		default:
			errs = append(errs, fmt.Errorf("ranges[%d]: unknown range type %q", j, r.Type))
			continue
		}
		v, err := s.Parse(ver)
		if err != nil {
			errs = append(errs, fmt.Errorf("ranges[%d]: %w", j, err))
			continue
		}
		evs, err := prep(r, s)
		if err != nil {
			errs = append(errs, fmt.Errorf("ranges[%d]: %w", j, err))
			continue
		}
		in, fix := inEvents(v, evs)
		if in {
			hit = true
			if fix != "" {
				fixes = append(fixes, fix)
			}
		}
	}
	return hit, fixes, errors.Join(errs...)
}

func schemeFor(ecosystem string) version.Scheme {
	s, err := version.For(ecosystem)
	if err != nil {
		return nil
	}
	return s
}

type event struct {
	kind int // order among events at the same version
	raw  string
	v    version.Version // nil for introduced "0" and limit "*"
}

const (
	evIntroduced = iota
	evLastAffected
	evFixed
	evLimit
)

// InRange evaluates one range's events in scheme s for ver, as the OSV
// schema's IncludedInRanges and BeforeLimits do. fix is the first fixed
// version above ver when ver is in the range, or "".
func InRange(s version.Scheme, events []Event, ver string) (in bool, fix string, err error) {
	v, err := s.Parse(ver)
	if err != nil {
		return false, "", err
	}
	evs, err := prepare(s, events)
	if err != nil {
		return false, "", err
	}
	in, fix = inEvents(v, evs)
	return in, fix, nil
}

// prepare parses events in s and sorts them in evaluation order.
func prepare(s version.Scheme, events []Event) ([]event, error) {
	evs := make([]event, 0, len(events))
	for _, e := range events {
		var ev event
		switch {
		case e.Introduced != "":
			ev = event{kind: evIntroduced, raw: e.Introduced}
		case e.Fixed != "":
			ev = event{kind: evFixed, raw: e.Fixed}
		case e.LastAffected != "":
			ev = event{kind: evLastAffected, raw: e.LastAffected}
		case e.Limit != "":
			ev = event{kind: evLimit, raw: e.Limit}
		default:
			continue
		}
		special := (ev.kind == evIntroduced && ev.raw == "0") || (ev.kind == evLimit && strings.Contains(ev.raw, "*"))
		if !special {
			var err error
			if ev.v, err = s.Parse(ev.raw); err != nil {
				return nil, fmt.Errorf("event version: %w", err)
			}
		}
		evs = append(evs, ev)
	}
	slices.SortStableFunc(evs, compareEvents)
	return evs, nil
}

// inEvents evaluates prepared events for v.
func inEvents(v version.Version, evs []event) (in bool, fix string) {
	// BeforeLimits: with no limit events an implicit "*" applies.
	limited, below := false, false
	for _, ev := range evs {
		if ev.kind != evLimit {
			continue
		}
		limited = true
		if ev.v == nil || v.Compare(ev.v) < 0 {
			below = true
		}
	}
	if limited && !below {
		return false, ""
	}
	for _, ev := range evs {
		switch ev.kind {
		case evIntroduced:
			if ev.v == nil || v.Compare(ev.v) >= 0 {
				in = true
			}
		case evFixed:
			if v.Compare(ev.v) >= 0 {
				in = false
			}
		case evLastAffected:
			if v.Compare(ev.v) > 0 {
				in = false
			}
		}
	}
	if in {
		for _, ev := range evs {
			if ev.kind == evFixed && v.Compare(ev.v) < 0 {
				return true, ev.raw
			}
		}
	}
	return in, ""
}

func compareEvents(a, b event) int {
	switch {
	case a.v == nil && b.v == nil:
	case a.v == nil: // "0" before everything, "*" after
		if a.kind == evLimit {
			return 1
		}
		return -1
	case b.v == nil:
		if b.kind == evLimit {
			return -1
		}
		return 1
	default:
		if c := a.v.Compare(b.v); c != 0 {
			return c
		}
	}
	return a.kind - b.kind
}

// sortVersions sorts vs by s, unparsable ones last in string order. Each
// version is parsed once.
func sortVersions(s version.Scheme, vs []string) {
	if s == nil {
		slices.Sort(vs)
		return
	}
	type parsed struct {
		raw string
		v   version.Version // nil when it does not parse
	}
	ps := make([]parsed, len(vs))
	for i, raw := range vs {
		ps[i].raw = raw
		if v, err := s.Parse(raw); err == nil {
			ps[i].v = v
		}
	}
	slices.SortStableFunc(ps, func(a, b parsed) int {
		switch {
		case a.v != nil && b.v != nil:
			if c := a.v.Compare(b.v); c != 0 {
				return c
			}
		case a.v != nil:
			return -1
		case b.v != nil:
			return 1
		}
		return strings.Compare(a.raw, b.raw)
	})
	for i := range ps {
		vs[i] = ps[i].raw
	}
}

// PackageMatches reports whether the record's package p names the
// package (ecosystem, name), with the ecosystem and name rules described
// at Affected.
func PackageMatches(p Package, ecosystem, name string) bool {
	if !EcosystemMatches(p.Ecosystem, ecosystem) {
		return false
	}
	base := version.Base(ecosystem)
	return NormalizeName(base, p.Name) == NormalizeName(base, name)
}

// EcosystemMatches reports whether a record's ecosystem covers a
// component's: the same base name (case-insensitively), and the same
// suffix unless the record has none.
func EcosystemMatches(record, component string) bool {
	rb, rs, rHas := strings.Cut(record, ":")
	cb, cs, _ := strings.Cut(component, ":")
	if !strings.EqualFold(strings.TrimSpace(rb), strings.TrimSpace(cb)) {
		return false
	}
	return !rHas || rs == cs
}

var pep503 = regexp.MustCompile(`[-_.]+`)

// NormalizeName returns name as the ecosystem compares package names:
// PEP 503 for PyPI (lower case, runs of "-_." become "-"), lower case for
// NuGet and Packagist, unchanged elsewhere.
func NormalizeName(ecosystem, name string) string {
	switch strings.ToLower(version.Base(ecosystem)) {
	case "pypi":
		return pep503.ReplaceAllString(strings.ToLower(strings.TrimSpace(name)), "-")
	case "nuget", "packagist":
		return strings.ToLower(strings.TrimSpace(name))
	}
	return name
}
