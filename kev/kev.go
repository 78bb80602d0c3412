// Package kev reads CISA's Known Exploited Vulnerabilities catalog, so risk
// scoring can tell which CVEs are being exploited in the wild.
package kev

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Catalog is one release of the KEV catalog.
type Catalog struct {
	// Version is catalogVersion, e.g. "2025.08.25".
	Version string
	// Released is dateReleased; zero if it was missing or malformed (a
	// Problem says so).
	Released time.Time
	// Count is the catalog's own count field, the number of entries it
	// claims to hold; len(Entries) is the number that were usable.
	Count int
	// Entries holds the usable entries by CVE ID, upper-case.
	Entries map[string]Entry
}

// Entry is one known exploited vulnerability. Field comments give the
// schema's property names.
type Entry struct {
	CVE           string // cveID, upper-case: CVE-YYYY-NNNN...
	VendorProject string // vendorProject
	Product       string // product
	Name          string // vulnerabilityName
	// DateAdded (dateAdded) and DueDate (dueDate) are calendar dates, at
	// midnight UTC.
	DateAdded        time.Time
	DueDate          time.Time
	ShortDescription string // shortDescription
	RequiredAction   string // requiredAction
	// KnownRansomwareCampaignUse is "Known" or "Unknown" as CISA writes it.
	KnownRansomwareCampaignUse string
	Notes                      string   // notes
	CWEs                       []string // cwes, e.g. "CWE-502"
}

// Problem is a part of the catalog that Parse could not use. An entry with
// a problem is left out of Entries.
type Problem struct {
	// Index is the entry's position in the vulnerabilities array, or -1
	// for a problem with the catalog's own fields.
	Index int
	// CVE is the entry's cveID as written, if it had one.
	CVE     string
	Message string
}

func (p Problem) String() string {
	switch {
	case p.Index < 0:
		return "catalog: " + p.Message
	case p.CVE != "":
		return fmt.Sprintf("vulnerabilities[%d] (%s): %s", p.Index, p.CVE, p.Message)
	default:
		return fmt.Sprintf("vulnerabilities[%d]: %s", p.Index, p.Message)
	}
}

// cveID follows the schema's pattern, with the year and number digits only.
var cveID = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,19}$`)

const dateLayout = "2006-01-02"

// expected says what a catalog looks like, in errors about input that is not one.
const expected = "a KEV catalog: a JSON object with catalogVersion, dateReleased, count and a vulnerabilities array"

type rawCatalog struct {
	CatalogVersion  *string           `json:"catalogVersion"`
	DateReleased    *string           `json:"dateReleased"`
	Count           *int              `json:"count"`
	Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
}

type rawEntry struct {
	CVEID                      string   `json:"cveID"`
	VendorProject              string   `json:"vendorProject"`
	Product                    string   `json:"product"`
	VulnerabilityName          string   `json:"vulnerabilityName"`
	DateAdded                  string   `json:"dateAdded"`
	ShortDescription           string   `json:"shortDescription"`
	RequiredAction             string   `json:"requiredAction"`
	DueDate                    string   `json:"dueDate"`
	KnownRansomwareCampaignUse string   `json:"knownRansomwareCampaignUse"`
	Notes                      string   `json:"notes"`
	CWEs                       []string `json:"cwes"`
}

// Parse reads a KEV catalog (known_exploited_vulnerabilities.json) named
// name, which is used in errors only. An entry without a valid cveID,
// dateAdded or dueDate, or whose fields have the wrong JSON types, is left
// out and reported as a Problem, as is a repeated cveID (the first one is
// kept) and a count that differs from the number of entries. The error is
// for input that is not a catalog at all.
func Parse(name string, data []byte) (*Catalog, []Problem, error) {
	var raw rawCatalog
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("parsing kev catalog %s: expected %s: %w", name, expected, err)
	}
	switch {
	case raw.Vulnerabilities == nil:
		return nil, nil, fmt.Errorf("parsing kev catalog %s: no vulnerabilities array: expected %s", name, expected)
	case raw.CatalogVersion == nil:
		return nil, nil, fmt.Errorf("parsing kev catalog %s: no catalogVersion: expected %s", name, expected)
	}

	c := &Catalog{Version: *raw.CatalogVersion, Entries: make(map[string]Entry, len(raw.Vulnerabilities))}
	var problems []Problem
	switch {
	case raw.DateReleased == nil:
		problems = append(problems, Problem{Index: -1, Message: "dateReleased is missing"})
	default:
		t, err := time.Parse(time.RFC3339, *raw.DateReleased)
		if err != nil {
			problems = append(problems, Problem{Index: -1, Message: fmt.Sprintf("dateReleased %q is not an RFC 3339 date-time", *raw.DateReleased)})
		}
		c.Released = t
	}
	switch {
	case raw.Count == nil:
		problems = append(problems, Problem{Index: -1, Message: "count is missing"})
	case *raw.Count != len(raw.Vulnerabilities):
		c.Count = *raw.Count
		problems = append(problems, Problem{Index: -1, Message: fmt.Sprintf("count is %d but the catalog lists %d vulnerabilities", *raw.Count, len(raw.Vulnerabilities))})
	default:
		c.Count = *raw.Count
	}

	for i, msg := range raw.Vulnerabilities {
		e, p := parseEntry(msg)
		if p != "" {
			problems = append(problems, Problem{Index: i, CVE: e.CVE, Message: p})
			continue
		}
		if _, dup := c.Entries[e.CVE]; dup {
			problems = append(problems, Problem{Index: i, CVE: e.CVE, Message: "repeats an earlier entry's cveID; the first one is kept"})
			continue
		}
		c.Entries[e.CVE] = e
	}
	return c, problems, nil
}

// parseEntry returns the entry and, if it cannot be used, why not.
func parseEntry(msg json.RawMessage) (Entry, string) {
	if bytes.Equal(bytes.TrimSpace(msg), []byte("null")) {
		return Entry{}, "is null, expected an object"
	}
	var r rawEntry
	if err := json.Unmarshal(msg, &r); err != nil {
		// Keep the cveID for the problem when only another field is wrong.
		var id struct {
			CVEID string `json:"cveID"`
		}
		_ = json.Unmarshal(msg, &id)
		return Entry{CVE: id.CVEID}, "not a KEV entry: " + err.Error()
	}
	e := Entry{
		CVE:                        strings.ToUpper(strings.TrimSpace(r.CVEID)),
		VendorProject:              r.VendorProject,
		Product:                    r.Product,
		Name:                       r.VulnerabilityName,
		ShortDescription:           r.ShortDescription,
		RequiredAction:             r.RequiredAction,
		KnownRansomwareCampaignUse: r.KnownRansomwareCampaignUse,
		Notes:                      r.Notes,
		CWEs:                       r.CWEs,
	}
	if r.CVEID == "" {
		return e, "cveID is missing"
	}
	if !cveID.MatchString(e.CVE) {
		return Entry{CVE: r.CVEID}, fmt.Sprintf("cveID %q is not CVE-YYYY-NNNN", r.CVEID)
	}
	var err error
	if e.DateAdded, err = parseDate(r.DateAdded); err != nil {
		return e, "dateAdded " + err.Error()
	}
	if e.DueDate, err = parseDate(r.DueDate); err != nil {
		return e, "dueDate " + err.Error()
	}
	return e, ""
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("is missing")
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a YYYY-MM-DD date", s)
	}
	return t, nil
}

// Has reports whether cve is in the catalog, and its entry. The ID is
// matched case-insensitively.
func (c *Catalog) Has(cve string) (Entry, bool) {
	if c == nil {
		return Entry{}, false
	}
	e, ok := c.Entries[strings.ToUpper(strings.TrimSpace(cve))]
	return e, ok
}
