package cvss_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory/cvss"
)

// The worked examples of "CVSS v3.1: Examples" (FIRST), base vectors and
// scores as published there.
func TestParseV31SpecExamples(t *testing.T) {
	tests := []struct {
		name   string
		vector string
		base   float64
		sev    string
	}{
		{"CVE-2013-1937 phpMyAdmin reflected XSS", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM"},
		{"CVE-2013-0375 MySQL stored SQL injection", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4, "MEDIUM"},
		{"CVE-2014-3566 SSLv3 POODLE", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1, "LOW"},
		{"CVE-2012-1516 VMware guest to host escape", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9, "CRITICAL"},
		{"CVE-2009-0783 Apache Tomcat XML parser", "CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:L/I:L/A:L", 4.2, "MEDIUM"},
		{"CVE-2012-0384 Cisco IOS command injection", "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8, "HIGH"},
		{"CVE-2015-1098 Apple iWork denial of service", "CVSS:3.1/AV:L/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.8, "HIGH"},
		{"CVE-2014-0160 OpenSSL Heartbleed", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "HIGH"},
		{"CVE-2014-6271 GNU Bash Shellshock", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"},
		{"CVE-2008-1447 DNS cache poisoning", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:H/A:N", 6.8, "MEDIUM"},
		{"CVE-2014-2005 Sophos Disk Encryption bypass", "CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8, "MEDIUM"},
		{"CVE-2010-0467 Joomla directory traversal", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:L/I:N/A:N", 5.8, "MEDIUM"},
		{"CVE-2012-1342 Cisco ASA ACL bypass", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:L/A:N", 5.8, "MEDIUM"},
		{"CVE-2013-6014 Juniper proxy ARP", "CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:H", 9.3, "CRITICAL"},
		{"CVE-2012-5376 Chrome IPC sandbox escape", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:H/I:H/A:H", 9.6, "CRITICAL"},
		{"CVE-2016-1645 Chrome PDFium", "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:H/I:H/A:H", 8.8, "HIGH"},
		{"CVE-2016-0128 Windows SAM Badlock", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:N", 6.8, "MEDIUM"},
		{"CVE-2016-2118 Samba Badlock", "CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:H/I:H/A:H", 7.5, "HIGH"},
		{"CVE-2011-1265 Bluetooth stack", "CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8, "HIGH"},
		{"CVE-2004-0230 TCP reset", "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:N/A:L", 3.7, "LOW"},
		{"no impact", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0, "NONE"},
		// Temporal and environmental metrics do not change the base score.
		{"temporal and environmental groups ignored", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U/CR:L/MAV:P", 9.8, "CRITICAL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustParse(t, tt.vector)
			want := cvss.Score{Version: "3.1", Vector: tt.vector, Base: tt.base, Severity: tt.sev}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.vector, diff)
			}
		})
	}
}

func TestParseV30(t *testing.T) {
	tests := []struct {
		vector string
		base   float64
		sev    string
	}{
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8, "CRITICAL"},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1, "MEDIUM"},
		{"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5, "HIGH"},
	}
	for _, tt := range tests {
		got := MustParse(t, tt.vector)
		want := cvss.Score{Version: "3.0", Vector: tt.vector, Base: tt.base, Severity: tt.sev}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.vector, diff)
		}
	}
}

// Examples of the CVSS v2 guide (section 3.3) and common NVD vectors; the
// bands are the NVD's, since the v2 guide defines none.
func TestParseV20(t *testing.T) {
	tests := []struct {
		name   string
		vector string
		base   float64
		sev    string
	}{
		{"all partial", "AV:N/AC:L/Au:N/C:P/I:P/A:P", 7.5, "HIGH"},
		{"CVE-2002-0392 Apache chunked encoding", "AV:N/AC:L/Au:N/C:N/I:N/A:C", 7.8, "HIGH"},
		{"CVE-2003-0818 Windows ASN.1", "AV:N/AC:L/Au:N/C:C/I:C/A:C", 10.0, "HIGH"},
		{"CVE-2003-0062 NOD32 local overflow", "AV:L/AC:H/Au:N/C:C/I:C/A:C", 6.2, "MEDIUM"},
		{"reflected XSS", "AV:N/AC:M/Au:N/C:N/I:P/A:N", 4.3, "MEDIUM"},
		{"no impact is LOW in v2", "AV:N/AC:L/Au:N/C:N/I:N/A:N", 0.0, "LOW"},
		{"temporal group ignored", "AV:N/AC:L/Au:N/C:P/I:P/A:P/E:U/RL:OF/RC:UC", 7.5, "HIGH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustParse(t, tt.vector)
			want := cvss.Score{Version: "2.0", Vector: tt.vector, Base: tt.base, Severity: tt.sev}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.vector, diff)
			}
		})
	}
}

// CVSS v4.0 base vectors with the scores of FIRST's v4.0 calculator
// (cvss40.js, the code behind first.org/cvss/calculator/4-0).
//
// Known difference: go-cvss computes severity distances with integer levels
// where the calculator uses 0.1-step floats, so a score that lands on a
// half-step in exact arithmetic can round the other way. Run over all
// 104,976 base vectors, 72 differ, each by exactly 0.1 with go-cvss higher
// (the last row here is one; testdata/v40-first.txt lists them all). Rows
// marked known are asserted within 0.1, the others exactly.
func TestParseV40(t *testing.T) {
	tests := []struct {
		name   string
		vector string
		first  float64 // FIRST calculator
		known  bool    // go-cvss is 0.1 away from first
	}{
		{"network, all high on vulnerable system", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, false},
		{"everything high", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0, false},
		{"no impact", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0, false},
		{"low privileges", "CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.7, false},
		{"remote denial of service", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:H/SC:N/SI:N/SA:N", 8.7, false},
		{"information disclosure", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N", 8.7, false},
		{"reflected XSS", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:L/SA:N", 5.1, false},
		{"local privilege escalation", "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.5, false},
		{"low confidentiality", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 6.9, false},
		{"attack requirements present", "CVSS:4.0/AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.2, false},
		{"physical, everything hard", "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", 1.0, false},
		{"local with subsequent impact", "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L", 5.2, false},
		{"half-step rounding", "CVSS:4.0/AV:N/AC:L/AT:P/PR:H/UI:A/VC:L/VI:L/VA:L/SC:H/SI:H/SA:H", 4.9, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MustParse(t, tt.vector)
			if got.Version != "4.0" || got.Vector != tt.vector {
				t.Errorf("Parse(%q) = version %q vector %q, want 4.0 and the vector as given", tt.vector, got.Version, got.Vector)
			}
			d := math.Abs(got.Base - tt.first)
			if d > 0.1+1e-9 {
				t.Errorf("Parse(%q).Base = %.1f, FIRST calculator %.1f: more than 0.1 apart", tt.vector, got.Base, tt.first)
			}
			switch off := d > 1e-9; {
			case off && !tt.known:
				t.Errorf("Parse(%q).Base = %.1f, FIRST calculator %.1f: not a known rounding difference", tt.vector, got.Base, tt.first)
			case !off && tt.known:
				t.Logf("Parse(%q).Base = %.1f now equals the FIRST calculator: the known difference is gone, unmark the row", tt.vector, got.Base)
			}
			if want := referenceSeverity("4.0", got.Base); got.Severity != want {
				t.Errorf("Parse(%q).Severity = %s for %.1f, want %s", tt.vector, got.Severity, got.Base, want)
			}
		})
	}
}

// TestParseV40AgainstFIRST replays testdata/v40-first.txt: go-cvss must
// equal the FIRST calculator everywhere except on the 72 known half-step
// vectors, where it is exactly 0.1 higher.
func TestParseV40AgainstFIRST(t *testing.T) {
	f, err := os.Open("testdata/v40-first.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows, higher int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		vector, score, ok := strings.Cut(line, " ")
		first, err := strconv.ParseFloat(score, 64)
		if !ok || err != nil {
			t.Fatalf("bad testdata line %q", line)
		}
		rows++
		got := MustParse(t, vector)
		switch d := got.Base - first; {
		case math.Abs(d) < 1e-9:
		case math.Abs(d-0.1) < 1e-9:
			higher++
		default:
			t.Errorf("Parse(%q).Base = %.1f, FIRST calculator %.1f", vector, got.Base, first)
		}
		if want := referenceSeverity("4.0", got.Base); got.Severity != want {
			t.Errorf("Parse(%q).Severity = %s for %.1f, want %s", vector, got.Severity, got.Base, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if rows != 281 || higher != 72 {
		t.Errorf("%d rows, %d scored 0.1 above FIRST; want 281 and the 72 known (a go-cvss upgrade? update the testdata and this comment)", rows, higher)
	}
}

// Threat, environmental and supplemental metrics are validated but the base
// score is CVSS-B, computed from the base metrics alone.
func TestParseV40BaseIgnoresOtherGroups(t *testing.T) {
	tests := []struct{ vector, base string }{
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H/E:U", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H"},
		{"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L/E:P/CR:H/IR:M/AR:H/MAV:A/MAT:P/MPR:N/MVI:H/MVA:N/MSI:H/MSA:N/S:N/V:C/U:Amber",
			"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L"},
		{"CVSS:4.0/AV:N/AC:H/AT:N/PR:H/UI:N/VC:N/VI:N/VA:H/SC:H/SI:H/SA:H/CR:L/IR:L/AR:L", "CVSS:4.0/AV:N/AC:H/AT:N/PR:H/UI:N/VC:N/VI:N/VA:H/SC:H/SI:H/SA:H"},
	}
	for _, tt := range tests {
		full, base := MustParse(t, tt.vector), MustParse(t, tt.base)
		if full.Base != base.Base || full.Severity != base.Severity {
			t.Errorf("Parse(%q) = %.1f %s, want the base vector's %.1f %s", tt.vector, full.Base, full.Severity, base.Base, base.Severity)
		}
	}
}

func TestSeverityBands(t *testing.T) {
	// One vector per band boundary side, so each band is entered once.
	tests := []struct {
		vector string
		sev    string
	}{
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "NONE"},
		{"CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", "LOW"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "MEDIUM"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "HIGH"},
		{"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "CRITICAL"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", "NONE"},
		{"CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", "LOW"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N", "MEDIUM"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "HIGH"},
		{"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "CRITICAL"},
		{"AV:L/AC:H/Au:M/C:P/I:N/A:N", "LOW"},
		{"AV:N/AC:M/Au:N/C:N/I:P/A:N", "MEDIUM"},
		{"AV:N/AC:L/Au:N/C:C/I:C/A:C", "HIGH"},
	}
	for _, tt := range tests {
		got := MustParse(t, tt.vector)
		if got.Severity != tt.sev {
			t.Errorf("Parse(%q) = %.1f %s, want severity %s", tt.vector, got.Base, got.Severity, tt.sev)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name   string
		vector string
		want   []string // substrings of the error
	}{
		{"empty", "", []string{"unknown format", `"CVSS:3.1/"`}},
		{"not a vector", "9.8", []string{`"9.8"`, "unknown format"}},
		{"lower-case prefix", "cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", []string{"unknown format"}},
		{"unsupported version", "CVSS:5.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", []string{`unsupported version "5.0"`, `"CVSS:4.0/"`}},
		{"v2 with a prefix", "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P", []string{`unsupported version "2.0"`, "bare CVSS v2.0 vector"}},
		{"v3.1 missing metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", []string{"v3.1", "base metric A is not defined", "expected a CVSS v3.1 vector"}},
		{"v3.1 bad value", "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", []string{`invalid value "X" for metric AV`, "AV:[N|A|L|P]"}},
		{"v3.1 unknown metric", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/ZZ:1", []string{`unknown metric "ZZ"`}},
		{"v3.1 repeated metric", "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", []string{"AV metric abbreviation defined multiple times"}},
		{"v3.1 trailing slash", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", []string{`"" is not METRIC:VALUE`}},
		{"v3.0 bad value", "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q", []string{`invalid value "Q" for metric A`, "expected a CVSS v3.0 vector"}},
		{"v2 missing metric", "AV:N/AC:L/Au:N/C:P/I:P", []string{"v2.0", "missing base metrics", "Au:[M|S|N]"}},
		{"v2 bad value", "AV:N/AC:L/Au:N/C:P/I:P/A:H", []string{`invalid value "H" for metric A`}},
		{"v2 out of order", "AC:L/AV:N/Au:N/C:P/I:P/A:P", []string{"unknown format"}},
		{"v2 metrics out of order", "AV:N/Au:N/AC:L/C:P/I:P/A:P", []string{"out of order"}},
		{"v4 missing metric", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N", []string{"v4.0", "CVSS:4.0/AV:[N|A|L|P]"}},
		{"v4 bad value", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:Q/VI:H/VA:H/SC:N/SI:N/SA:N", []string{`invalid value "Q" for metric VC`}},
		{"v4 v3 metrics", "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", []string{"v4.0", "expected a CVSS v4.0 vector"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cvss.Parse(tt.vector)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want an error", tt.vector, got)
			}
			msg := err.Error()
			for _, w := range append(tt.want, "expected") {
				if !strings.Contains(msg, w) {
					t.Errorf("Parse(%q) error %q does not say %q", tt.vector, msg, w)
				}
			}
			if got != (cvss.Score{}) {
				t.Errorf("Parse(%q) returned %+v with its error, want the zero Score", tt.vector, got)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N/E:U/RL:O/RC:U",
		"CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
		"AV:N/AC:L/Au:N/C:P/I:P/A:P",
		"AV:N/AC:L/Au:N/C:P/I:P/A:P/E:U/RL:OF/RC:UC/CDP:H/TD:H/CR:H/IR:H/AR:H",
		"CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
		"CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:P/VC:N/VI:H/VA:H/SC:N/SI:L/SA:L/E:P/CR:H/IR:M/AR:H/MAV:A/MAT:P/MPR:N/MVI:H/MVA:N/MSI:H/MSA:N/S:N/V:C/U:Amber",
		"CVSS:5.0/", "", "AV:", "CVSS:4.0", "CVSS:3.1/AV:N/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, vector string) {
		s, err := cvss.Parse(vector)
		if err != nil {
			if s != (cvss.Score{}) {
				t.Fatalf("Parse(%q) returned %+v with error %v", vector, s, err)
			}
			return
		}
		if s.Base < 0 || s.Base > 10 || math.IsNaN(s.Base) {
			t.Fatalf("Parse(%q).Base = %v, out of [0, 10]", vector, s.Base)
		}
		if r := math.Round(s.Base*10) / 10; r != s.Base {
			t.Fatalf("Parse(%q).Base = %v, not one decimal", vector, s.Base)
		}
		if want := referenceSeverity(s.Version, s.Base); s.Severity != want {
			t.Fatalf("Parse(%q) = %.1f %s, want severity %s", vector, s.Base, s.Severity, want)
		}
		if s.Vector != vector {
			t.Fatalf("Parse(%q).Vector = %q", vector, s.Vector)
		}
	})
}

func ExampleParse() {
	s, err := cvss.Parse("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N")
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Version, s.Base, s.Severity)
	// Output: 3.1 6.1 MEDIUM
}

func MustParse(tb testing.TB, vector string) cvss.Score {
	tb.Helper()
	s, err := cvss.Parse(vector)
	if err != nil {
		tb.Fatalf("Parse(%q): %v", vector, err)
	}
	return s
}

// referenceSeverity restates the specifications' rating tables, written
// apart from the package's so that a slip in one shows in the other.
func referenceSeverity(version string, base float64) string {
	tenths := int(math.Round(base * 10))
	if version == "2.0" {
		switch {
		case tenths <= 39:
			return "LOW"
		case tenths <= 69:
			return "MEDIUM"
		default:
			return "HIGH"
		}
	}
	switch {
	case tenths == 0:
		return "NONE"
	case tenths <= 39:
		return "LOW"
	case tenths <= 69:
		return "MEDIUM"
	case tenths <= 89:
		return "HIGH"
	default:
		return "CRITICAL"
	}
}
