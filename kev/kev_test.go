package kev_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory/internal/corpus"
	"github.com/upfactory/upfactory/kev"
)

const catalogFile = "kev/known_exploited_vulnerabilities.json"

func TestParseCorpusCatalog(t *testing.T) {
	data, err := os.ReadFile(corpus.File(t, catalogFile))
	if err != nil {
		t.Fatal(err)
	}
	c, problems, err := kev.Parse("known_exploited_vulnerabilities.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("problems in the published catalog: %v", problems)
	}
	if c.Version != "2025.08.25" {
		t.Errorf("Version = %q, want 2025.08.25", c.Version)
	}
	if want := time.Date(2025, 8, 25, 17, 4, 19, 979600000, time.UTC); !c.Released.Equal(want) {
		t.Errorf("Released = %v, want %v", c.Released, want)
	}
	if len(c.Entries) != 1404 || c.Count != 1404 {
		t.Errorf("len(Entries) = %d, Count = %d, want 1404 and 1404", len(c.Entries), c.Count)
	}

	// Count against the raw JSON, independently of the package.
	var raw struct {
		Count           int               `json:"count"`
		Vulnerabilities []json.RawMessage `json:"vulnerabilities"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Count != len(c.Entries) || len(raw.Vulnerabilities) != len(c.Entries) {
		t.Errorf("count field %d, %d vulnerabilities, %d entries parsed: want all equal", raw.Count, len(raw.Vulnerabilities), len(c.Entries))
	}

	tests := []struct {
		lookup string
		want   kev.Entry
	}{
		{"CVE-2021-44228", kev.Entry{
			CVE:                        "CVE-2021-44228",
			VendorProject:              "Apache",
			Product:                    "Log4j2",
			Name:                       "Apache Log4j2 Remote Code Execution Vulnerability",
			DateAdded:                  date(2021, 12, 10),
			DueDate:                    date(2021, 12, 24),
			ShortDescription:           "Apache Log4j2 contains a vulnerability where JNDI features do not protect against attacker-controlled JNDI-related endpoints, allowing for remote code execution.",
			RequiredAction:             "For all affected software assets for which updates exist, the only acceptable remediation actions are: 1) Apply updates; OR 2) remove affected assets from agency networks. Temporary mitigations using one of the measures provided at https://www.cisa.gov/uscert/ed-22-02-apache-log4j-recommended-mitigation-measures are only acceptable until updates are available.",
			KnownRansomwareCampaignUse: "Known",
			Notes:                      "https://nvd.nist.gov/vuln/detail/CVE-2021-44228",
			CWEs:                       []string{"CWE-20", "CWE-400", "CWE-502"},
		}},
		// Lower-case lookup of the last entry in the file.
		{"cve-2020-29583", kev.Entry{
			CVE:                        "CVE-2020-29583",
			VendorProject:              "Zyxel",
			Product:                    "Multiple Products",
			Name:                       "Zyxel Multiple Products Use of Hard-Coded Credentials Vulnerability",
			DateAdded:                  date(2021, 11, 3),
			DueDate:                    date(2022, 5, 3),
			ShortDescription:           `Zyxel firewalls (ATP, USG, VM) and AP Controllers (NXC2500 and NXC5500) contain a use of hard-coded credentials vulnerability in an undocumented account ("zyfwp") with an unchangeable password.`,
			RequiredAction:             "Apply updates per vendor instructions.",
			KnownRansomwareCampaignUse: "Unknown",
			Notes:                      "https://nvd.nist.gov/vuln/detail/CVE-2020-29583",
			CWEs:                       []string{"CWE-522"},
		}},
	}
	for _, tt := range tests {
		got, ok := c.Has(tt.lookup)
		if !ok {
			t.Errorf("Has(%q) = false, want true", tt.lookup)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Has(%q) mismatch (-want +got):\n%s", tt.lookup, diff)
		}
	}
	if _, ok := c.Has("CVE-1999-0001"); ok {
		t.Error(`Has("CVE-1999-0001") = true, want false`)
	}

	var ransomware int
	for id, e := range c.Entries {
		if id != e.CVE || id != strings.ToUpper(id) {
			t.Errorf("entry keyed %q has CVE %q", id, e.CVE)
		}
		// No ordering check: 15 entries added on 2021-11-03 carry the earlier
		// due dates of the emergency directives that first listed them
		// (CVE-2020-1472: due 2020-09-21), and they must be kept.
		if e.DateAdded.IsZero() || e.DueDate.IsZero() {
			t.Errorf("%s: dateAdded %v, dueDate %v", id, e.DateAdded, e.DueDate)
		}
		if e.KnownRansomwareCampaignUse == "Known" {
			ransomware++
		}
	}
	if ransomware != 293 {
		t.Errorf("%d entries with known ransomware use, want 293", ransomware)
	}
}

// entry renders one vulnerability object, with fields replaced or removed
// (a nil value removes it).
func entry(t testing.TB, with map[string]any) string {
	t.Helper()
	e := map[string]any{
		"cveID":                      "CVE-2024-0001",
		"vendorProject":              "Acme",
		"product":                    "Widget",
		"vulnerabilityName":          "Acme Widget Remote Code Execution Vulnerability",
		"dateAdded":                  "2024-01-02",
		"shortDescription":           "Widget runs what it is sent.",
		"requiredAction":             "Apply updates per vendor instructions.",
		"dueDate":                    "2024-01-23",
		"knownRansomwareCampaignUse": "Unknown",
		"notes":                      "",
		"cwes":                       []string{"CWE-94"},
	}
	for k, v := range with {
		if v == nil {
			delete(e, k)
			continue
		}
		e[k] = v
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func catalog(count int, entries ...string) []byte {
	return []byte(`{"title":"CISA Catalog of Known Exploited Vulnerabilities","catalogVersion":"2024.01.02",` +
		`"dateReleased":"2024-01-02T15:00:00.123Z","count":` + itoa(count) + `,"vulnerabilities":[` + strings.Join(entries, ",") + `]}`)
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestParseProblems(t *testing.T) {
	good := entry(t, nil)
	tests := []struct {
		name     string
		data     []byte
		want     []kev.Problem
		wantCVEs []string
	}{
		{"all good", catalog(1, good), nil, []string{"CVE-2024-0001"}},
		{"lower-case cveID is normalised", catalog(1, entry(t, map[string]any{"cveID": "cve-2024-0001"})), nil, []string{"CVE-2024-0001"}},
		{"missing cveID", catalog(2, good, entry(t, map[string]any{"cveID": nil})),
			[]kev.Problem{{Index: 1, Message: "cveID is missing"}}, []string{"CVE-2024-0001"}},
		{"malformed cveID", catalog(2, good, entry(t, map[string]any{"cveID": "CVE-24-1"})),
			[]kev.Problem{{Index: 1, CVE: "CVE-24-1", Message: `cveID "CVE-24-1" is not CVE-YYYY-NNNN`}}, []string{"CVE-2024-0001"}},
		{"bad dateAdded", catalog(2, good, entry(t, map[string]any{"cveID": "CVE-2024-0002", "dateAdded": "2024-13-01"})),
			[]kev.Problem{{Index: 1, CVE: "CVE-2024-0002", Message: `dateAdded "2024-13-01" is not a YYYY-MM-DD date`}}, []string{"CVE-2024-0001"}},
		{"missing dueDate", catalog(2, good, entry(t, map[string]any{"cveID": "CVE-2024-0002", "dueDate": nil})),
			[]kev.Problem{{Index: 1, CVE: "CVE-2024-0002", Message: "dueDate is missing"}}, []string{"CVE-2024-0001"}},
		{"US-style date", catalog(2, good, entry(t, map[string]any{"cveID": "CVE-2024-0002", "dueDate": "01/23/2024"})),
			[]kev.Problem{{Index: 1, CVE: "CVE-2024-0002", Message: `dueDate "01/23/2024" is not a YYYY-MM-DD date`}}, []string{"CVE-2024-0001"}},
		{"repeated cveID keeps the first", catalog(2, good, entry(t, map[string]any{"product": "Other"})),
			[]kev.Problem{{Index: 1, CVE: "CVE-2024-0001", Message: "repeats an earlier entry's cveID; the first one is kept"}}, []string{"CVE-2024-0001"}},
		{"count disagrees", catalog(3, good),
			[]kev.Problem{{Index: -1, Message: "count is 3 but the catalog lists 1 vulnerabilities"}}, []string{"CVE-2024-0001"}},
		{"null entry", catalog(2, good, "null"),
			[]kev.Problem{{Index: 1, Message: "is null, expected an object"}}, []string{"CVE-2024-0001"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems, err := kev.Parse("test.json", tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, problems); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
			var got []string
			for id := range c.Entries {
				got = append(got, id)
			}
			if diff := cmp.Diff(tt.wantCVEs, got); diff != "" {
				t.Errorf("entries mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Problems that carry JSON decoding messages are checked by their start.
func TestParseWrongTypes(t *testing.T) {
	data := catalog(3, entry(t, nil),
		entry(t, map[string]any{"cveID": "CVE-2024-0002", "cwes": "CWE-79"}),
		`"CVE-2024-0003"`)
	c, problems, err := kev.Parse("test.json", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Entries) != 1 || len(problems) != 2 {
		t.Fatalf("%d entries, problems %v: want 1 entry and 2 problems", len(c.Entries), problems)
	}
	if p := problems[0]; p.Index != 1 || p.CVE != "CVE-2024-0002" || !strings.HasPrefix(p.Message, "not a KEV entry: ") {
		t.Errorf("problem %+v, want index 1, CVE-2024-0002, not a KEV entry", p)
	}
	if p := problems[1]; p.Index != 2 || p.CVE != "" || !strings.HasPrefix(p.Message, "not a KEV entry: ") {
		t.Errorf("problem %+v, want index 2, not a KEV entry", p)
	}
	if s := problems[0].String(); !strings.HasPrefix(s, "vulnerabilities[1] (CVE-2024-0002): not a KEV entry") {
		t.Errorf("String() = %q", s)
	}
}

func TestParseCatalogFieldProblems(t *testing.T) {
	data := []byte(`{"catalogVersion":"x","dateReleased":"yesterday","vulnerabilities":[]}`)
	c, problems, err := kev.Parse("test.json", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []kev.Problem{
		{Index: -1, Message: `dateReleased "yesterday" is not an RFC 3339 date-time`},
		{Index: -1, Message: "count is missing"},
	}
	if diff := cmp.Diff(want, problems); diff != "" {
		t.Errorf("problems mismatch (-want +got):\n%s", diff)
	}
	if !c.Released.IsZero() || c.Version != "x" || len(c.Entries) != 0 {
		t.Errorf("catalog %+v", c)
	}
}

func TestParseNotACatalog(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "unexpected end of JSON input"},
		{"HTML error page", "<html>503</html>", "invalid character"},
		{"array", `[{"cveID":"CVE-2024-0001"}]`, "cannot unmarshal array"},
		{"OSV record", `{"id":"GO-2024-0001","affected":[]}`, "no vulnerabilities array"},
		{"no version", `{"vulnerabilities":[]}`, "no catalogVersion"},
		{"vulnerabilities not an array", `{"catalogVersion":"1","vulnerabilities":{}}`, "cannot unmarshal object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, problems, err := kev.Parse("feeds/kev.json", []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse = %+v, %v, want an error", c, problems)
			}
			for _, w := range []string{"feeds/kev.json", "expected a KEV catalog", tt.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if c != nil {
				t.Errorf("catalog %+v returned with the error", c)
			}
		})
	}
}

func TestHasOnNilCatalog(t *testing.T) {
	var c *kev.Catalog
	if _, ok := c.Has("CVE-2021-44228"); ok {
		t.Error("nil catalog has an entry")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(catalog(1, entry(f, nil)))
	f.Add(catalog(2, entry(f, nil), entry(f, map[string]any{"cveID": "cve-2024-12345", "dateAdded": "2024-02-30"})))
	f.Add([]byte(`{"catalogVersion":"1","vulnerabilities":[null,1,"x",{}]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, problems, err := kev.Parse("fuzz.json", data)
		if err != nil {
			if c != nil || problems != nil {
				t.Fatalf("catalog or problems returned with error %v", err)
			}
			return
		}
		for id, e := range c.Entries {
			if id != e.CVE || id != strings.ToUpper(id) || !strings.HasPrefix(id, "CVE-") {
				t.Fatalf("entry keyed %q has CVE %q", id, e.CVE)
			}
			if e.DateAdded.IsZero() || e.DueDate.IsZero() {
				t.Fatalf("%s has a zero date", id)
			}
			if got, ok := c.Has(strings.ToLower(id)); !ok || got.CVE != id {
				t.Fatalf("Has(%q) = %v, %v", strings.ToLower(id), got.CVE, ok)
			}
		}
		for _, p := range problems {
			if p.Message == "" || p.Index < -1 {
				t.Fatalf("problem %+v", p)
			}
		}
	})
}

func date(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
