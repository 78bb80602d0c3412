package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"golang.org/x/mod/semver"
)

// record is the part of an OSV record this program reads.
type record struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases"`
	Withdrawn string   `json:"withdrawn"`
	Affected  []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string  `json:"type"`
			Events []event `json:"events"`
		} `json:"ranges"`
		Versions []string `json:"versions"`
	} `json:"affected"`
}

type event struct {
	Introduced   string `json:"introduced,omitempty"`
	Fixed        string `json:"fixed,omitempty"`
	LastAffected string `json:"last_affected,omitempty"`
	Limit        string `json:"limit,omitempty"`
}

func (e event) String() string {
	switch {
	case e.Introduced != "":
		return "introduced:" + e.Introduced
	case e.Fixed != "":
		return "fixed:" + e.Fixed
	case e.LastAffected != "":
		return "last_affected:" + e.LastAffected
	case e.Limit != "":
		return "limit:" + e.Limit
	}
	return "?"
}

// readZip reads every record of an OSV zip export, sorted by ID.
func readZip(path string) ([]*record, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	var out []*record
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".json") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		r := new(record)
		if err := json.Unmarshal(b, r); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// goSemver turns a Go vulndb version ("1.2.3", "0.0.0-2019…",
// "2.7.0-rc.0+incompatible") or an SBOM version ("v1.2.3") into the form
// golang.org/x/mod/semver orders ("v1.2.3"). Standard library versions
// ("go1.21.3") become "v1.21.3". "" when it is not a semantic version.
func goSemver(v string) string {
	v = strings.TrimPrefix(v, "go")
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) {
		return ""
	}
	return v
}

// reference evaluates, independently of upfactory and osv-scanner, whether
// version ver of Go module pkg is affected by r, following the OSV
// schema's "Evaluation" section: a version is affected when it is in an
// affected entry's versions list or inside any of its SEMVER ranges; in a
// range, events sorted by version, introduced opens, fixed closes at the
// fixed version, last_affected closes just after it, limit bounds from
// above; withdrawn records affect nothing. why explains the answer with
// the entry and events that decided it.
func reference(r *record, pkg, ver string) (affected bool, why string) {
	if r.Withdrawn != "" {
		return false, "withdrawn " + r.Withdrawn
	}
	v := goSemver(ver)
	var notes []string
	for i, a := range r.Affected {
		if a.Package.Ecosystem != "Go" || a.Package.Name != pkg {
			continue
		}
		for _, lv := range a.Versions {
			if lv == ver || goSemver(lv) == v && v != "" {
				return true, fmt.Sprintf("affected[%d].versions lists %s", i, lv)
			}
		}
		for j, rg := range a.Ranges {
			if rg.Type != "SEMVER" && rg.Type != "ECOSYSTEM" {
				continue
			}
			if v == "" {
				notes = append(notes, fmt.Sprintf("version %q is not semver", ver))
				continue
			}
			if in, ev := inRange(rg.Events, v); in {
				return true, fmt.Sprintf("affected[%d].ranges[%d] %s: %s", i, j, rg.Type, ev)
			}
			notes = append(notes, fmt.Sprintf("affected[%d].ranges[%d] %s", i, j, eventsString(rg.Events)))
		}
	}
	if len(notes) == 0 {
		return false, "no affected entry names Go package " + pkg
	}
	return false, "outside " + strings.Join(notes, "; ")
}

func eventsString(evs []event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = e.String()
	}
	return "[" + strings.Join(s, " ") + "]"
}

// inRange is the OSV "Evaluation" pseudocode for one range, v in
// golang.org/x/mod/semver form. It returns the events as context.
func inRange(evs []event, v string) (bool, string) {
	type ev struct {
		kind, ver string
	}
	var list []ev
	var limits []string
	for _, e := range evs {
		switch {
		case e.Introduced != "":
			list = append(list, ev{"introduced", e.Introduced})
		case e.Fixed != "":
			list = append(list, ev{"fixed", e.Fixed})
		case e.LastAffected != "":
			list = append(list, ev{"last_affected", e.LastAffected})
		case e.Limit != "":
			limits = append(limits, e.Limit)
		}
	}
	cmp := func(a, b string) int {
		if a == b {
			return 0
		}
		if a == "0" {
			return -1
		}
		if b == "0" {
			return 1
		}
		return semver.Compare(goSemver(a), goSemver(b))
	}
	sort.SliceStable(list, func(i, j int) bool { return cmp(list[i].ver, list[j].ver) < 0 })
	if len(limits) > 0 {
		below := false
		for _, l := range limits {
			if l == "*" || semver.Compare(v, goSemver(l)) < 0 {
				below = true
			}
		}
		if !below {
			return false, ""
		}
	}
	affected := false
	for _, e := range list {
		switch e.kind {
		case "introduced":
			if e.ver == "0" || semver.Compare(v, goSemver(e.ver)) >= 0 {
				affected = true
			}
		case "fixed":
			if semver.Compare(v, goSemver(e.ver)) >= 0 {
				affected = false
			}
		case "last_affected":
			if semver.Compare(v, goSemver(e.ver)) > 0 {
				affected = false
			}
		}
	}
	return affected, eventsString(evs)
}
