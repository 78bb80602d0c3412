package epss_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory/epss"
	"github.com/upfactory/upfactory/internal/corpus"
)

var exampleScores = []epss.Score{
	{CVE: "CVE-1999-0001", EPSS: 0.00383, Percentile: 0.73075},
	{CVE: "CVE-1999-0002", EPSS: 0.01328, Percentile: 0.85996},
	{CVE: "CVE-1999-0003", EPSS: 0.04409, Percentile: 0.92440},
	{CVE: "CVE-1999-0004", EPSS: 0.00917, Percentile: 0.82963},
	{CVE: "CVE-1999-0005", EPSS: 0.91963, Percentile: 0.99214},
}

func TestParseCorpusExample(t *testing.T) {
	data, err := os.ReadFile(corpus.File(t, "epss/example-1.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"plain", data},
		{"gzip", gzipped(t, data)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := MustParse(t, "example-1.csv", tt.data)
			if len(problems) != 0 {
				t.Errorf("problems: %v", problems)
			}
			if s.ModelVersion != "v2023.03.01" {
				t.Errorf("ModelVersion = %q, want v2023.03.01", s.ModelVersion)
			}
			if want := time.Date(2025, 2, 20, 0, 0, 0, 0, time.UTC); !s.ScoreDate.Equal(want) {
				t.Errorf("ScoreDate = %v, want %v", s.ScoreDate, want)
			}
			if s.Len() != len(exampleScores) {
				t.Errorf("Len() = %d, want %d", s.Len(), len(exampleScores))
			}
			for _, want := range exampleScores {
				got, ok := s.Get(want.CVE)
				if !ok {
					t.Errorf("Get(%s) not found", want.CVE)
					continue
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Get(%s) mismatch (-want +got):\n%s", want.CVE, diff)
				}
			}
			if got, ok := s.Get("cve-1999-0005"); !ok || got.EPSS != 0.91963 {
				t.Errorf(`Get("cve-1999-0005") = %+v, %v: lookups ignore case`, got, ok)
			}
			if _, ok := s.Get("CVE-2099-0001"); ok {
				t.Error("Get(CVE-2099-0001) found a score that is not in the file")
			}
		})
	}
}

const comment = "#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000\n"
const header = "cve,epss,percentile\n"

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name    string
		body    string // after the comment and header lines, so data starts on line 3
		want    []epss.Problem
		wantLen int
	}{
		{"good rows, CRLF and blank lines", "CVE-2023-0001,0.1,0.5\r\n\nCVE-2023-0002,0,1\n", nil, 2},
		{"value above 1", "CVE-2023-0001,1.5,0.5\nCVE-2023-0002,0.1,0.2\n",
			[]epss.Problem{{Line: 3, Message: "CVE-2023-0001: epss 1.5 is outside [0, 1]"}}, 1},
		{"negative percentile", "CVE-2023-0001,0.1,-0.01\n",
			[]epss.Problem{{Line: 3, Message: "CVE-2023-0001: percentile -0.01 is outside [0, 1]"}}, 0},
		{"NaN", "CVE-2023-0001,NaN,0.5\n",
			[]epss.Problem{{Line: 3, Message: "CVE-2023-0001: epss NaN is outside [0, 1]"}}, 0},
		{"not a number", "CVE-2023-0002,0.1,0.2\nCVE-2023-0001,high,0.5\n",
			[]epss.Problem{{Line: 4, Message: `CVE-2023-0001: epss "high" is not a number`}}, 1},
		{"bad CVE ID", "GHSA-xxxx-yyyy-zzzz,0.1,0.5\n",
			[]epss.Problem{{Line: 3, Message: `cve "GHSA-xxxx-yyyy-zzzz" is not CVE-YYYY-NNNN`}}, 0},
		{"missing column", "CVE-2023-0001,0.1\n",
			[]epss.Problem{{Line: 3, Message: `2 columns, expected 3 ("cve,epss,percentile")`}}, 0},
		{"repeated CVE keeps the first", "CVE-2023-0001,0.1,0.5\ncve-2023-0001,0.9,0.9\n",
			[]epss.Problem{{Line: 4, Message: "CVE-2023-0001 repeats an earlier row; the first one is kept"}}, 1},
		{"broken quoting, then a good row", "CVE-2023-0001,0.1\"x,0.5\nCVE-2023-0002,0.1,0.2\n",
			[]epss.Problem{{Line: 3, Message: `bare " in non-quoted-field`}}, 1},
		{"quoted fields are fine", "\"CVE-2023-0001\",\"0.1\",\"0.5\"\n", nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := MustParse(t, "scores.csv", []byte(comment+header+tt.body))
			if diff := cmp.Diff(tt.want, problems); diff != "" {
				t.Errorf("problems mismatch (-want +got):\n%s", diff)
			}
			if s.Len() != tt.wantLen {
				t.Errorf("Len() = %d, want %d", s.Len(), tt.wantLen)
			}
		})
	}
}

func TestParseStoredValues(t *testing.T) {
	s, _ := MustParse(t, "scores.csv", []byte(comment+header+"CVE-2023-12345,0.00042,0.05\n"))
	got, ok := s.Get("CVE-2023-12345")
	if diff := cmp.Diff(epss.Score{CVE: "CVE-2023-12345", EPSS: 0.00042, Percentile: 0.05}, got); !ok || diff != "" {
		t.Errorf("Get mismatch (-want +got):\n%s", diff)
	}
}

func TestParseComment(t *testing.T) {
	tests := []struct {
		name    string
		comment string
		model   string
		date    time.Time
		problem string // start of the problem's message, if one
	}{
		{"none", "", "", time.Time{}, ""},
		{"FIRST format", comment, "v2023.03.01", time.Date(2023, 3, 7, 0, 0, 0, 0, time.UTC), ""},
		{"RFC 3339", "#model_version:v2025.03.14,score_date:2025-03-20T00:00:00Z\n", "v2025.03.14", time.Date(2025, 3, 20, 0, 0, 0, 0, time.UTC), ""},
		{"bare date", "#model_version:v2022.01.01,score_date:2022-02-04\n", "v2022.01.01", time.Date(2022, 2, 4, 0, 0, 0, 0, time.UTC), ""},
		{"bad date", "#model_version:v2023.03.01,score_date:yesterday\n", "v2023.03.01", time.Time{}, `comment line: score_date "yesterday" is not a date`},
		{"not key:value", "#hello\n", "", time.Time{}, `comment line: "hello" is not key:value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems := MustParse(t, "scores.csv", []byte(tt.comment+header+"CVE-2023-0001,0.1,0.5\n"))
			if s.ModelVersion != tt.model || !s.ScoreDate.Equal(tt.date) {
				t.Errorf("ModelVersion %q, ScoreDate %v; want %q, %v", s.ModelVersion, s.ScoreDate, tt.model, tt.date)
			}
			switch {
			case tt.problem == "" && len(problems) != 0:
				t.Errorf("problems %v, want none", problems)
			case tt.problem != "" && (len(problems) != 1 || problems[0].Line != 1 || !strings.HasPrefix(problems[0].Message, tt.problem)):
				t.Errorf("problems %v, want one on line 1 starting %q", problems, tt.problem)
			}
			if s.Len() != 1 {
				t.Errorf("Len() = %d, want 1: a bad comment does not lose the scores", s.Len())
			}
		})
	}
}

func TestParseColumnsByName(t *testing.T) {
	s, problems := MustParse(t, "scores.csv", []byte("\ufeffpercentile,CVE,model,epss\n0.5,CVE-2023-0001,x,0.25\n"))
	if len(problems) != 0 {
		t.Fatalf("problems: %v", problems)
	}
	if got, _ := s.Get("CVE-2023-0001"); got.EPSS != 0.25 || got.Percentile != 0.5 {
		t.Errorf("Get = %+v, want epss 0.25 percentile 0.5", got)
	}
}

func TestParseNotEPSS(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"line 1: no header", `expected "cve,epss,percentile"`}},
		{"comment only", []byte(comment), []string{"line 2: no header"}},
		{"missing header", []byte(comment + "CVE-2023-0001,0.1,0.5\n"), []string{"line 2", `expected header "cve,epss,percentile", got "CVE-2023-0001,0.1,0.5"`}},
		{"KEV JSON", []byte(`{"catalogVersion":"2025.08.25","vulnerabilities":[]}`), []string{"line 1", "expected header"}},
		{"wrong columns", []byte("cve,score\n"), []string{`got "cve,score"`}},
		{"gzip of nothing", gzipped(t, nil), []string{"no header"}},
		{"broken gzip header", []byte{0x1f, 0x8b, 0x00}, []string{"gzip"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, problems, err := epss.Parse("feeds/epss_scores-current.csv", bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("Parse = %d scores, %v; want an error", s.Len(), problems)
			}
			for _, w := range append(tt.want, "feeds/epss_scores-current.csv") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestParseTruncatedGzip(t *testing.T) {
	gz := gzipped(t, generate(1000))
	_, _, err := epss.Parse("epss.csv.gz", bytes.NewReader(gz[:len(gz)/2]))
	if err == nil || !strings.Contains(err.Error(), "epss.csv.gz") {
		t.Fatalf("Parse of a truncated gzip stream: error %v, want one naming the file", err)
	}
}

func TestParseBoundsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 1500 {
		fmt.Fprintf(&b, "CVE-2023-%05d,2,0.5\n", i)
	}
	_, problems := MustParse(t, "bad.csv", []byte(b.String()))
	if len(problems) != 1001 {
		t.Fatalf("%d problems, want 1000 and a summary", len(problems))
	}
	if last := problems[1000]; last != (epss.Problem{Message: "500 more problems not listed"}) {
		t.Errorf("last problem %+v", last)
	}
	if p := problems[999]; p.Line != 1001 {
		t.Errorf("1000th problem on line %d, want 1001", p.Line)
	}
}

func TestGetOnNil(t *testing.T) {
	var s *epss.Scores
	if _, ok := s.Get("CVE-2023-0001"); ok || s.Len() != 0 {
		t.Error("nil Scores has scores")
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(comment + header + "CVE-2023-0001,0.1,0.5\nCVE-2023-0002,1.5,0.5\n"))
	f.Add([]byte(header + "\"CVE-2023-0001\",\"0.1\",0.5\n\"unterminated,0.1\n"))
	f.Add(gzipped(f, []byte(comment+header+"CVE-2023-0001,0.1,0.5\n")))
	f.Add([]byte("#\n"))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, problems, err := epss.Parse("fuzz.csv", bytes.NewReader(data))
		if err != nil {
			if s != nil || problems != nil {
				t.Fatalf("scores or problems returned with error %v", err)
			}
			return
		}
		if len(problems) > 1001 {
			t.Fatalf("%d problems, want at most 1001", len(problems))
		}
		for _, p := range problems {
			if p.Message == "" || p.Line < 0 {
				t.Fatalf("problem %+v", p)
			}
		}
		// Every score found is in range and found again under its own ID.
		for _, line := range strings.Split(string(data), "\n") {
			id, _, _ := strings.Cut(line, ",")
			sc, ok := s.Get(strings.Trim(id, `"`))
			if !ok {
				continue
			}
			if sc.CVE != strings.ToUpper(sc.CVE) || sc.EPSS < 0 || sc.EPSS > 1 || sc.Percentile < 0 || sc.Percentile > 1 {
				t.Fatalf("score %+v", sc)
			}
		}
	})
}

// BenchmarkParse parses a generated file the size of a full daily export
// (~250,000 rows), plain and gzip-compressed.
func BenchmarkParse(b *testing.B) {
	plain := generate(250_000)
	for _, bb := range []struct {
		name string
		data []byte
	}{
		{"plain", plain},
		{"gzip", gzipped(b, plain)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.SetBytes(int64(len(plain)))
			b.ReportAllocs()
			for b.Loop() {
				s, problems, err := epss.Parse("epss_scores.csv", bytes.NewReader(bb.data))
				if err != nil || len(problems) != 0 || s.Len() != 250_000 {
					b.Fatalf("Parse: %d scores, %d problems, %v", s.Len(), len(problems), err)
				}
			}
		})
	}
}

// generate writes an EPSS file of n rows shaped like FIRST's.
func generate(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 32)
	b.WriteString(comment + header)
	for i := range n {
		year := 1999 + i%27
		e := float64((i*7919)%100000) / 100000
		p := float64((i*104729)%100000) / 100000
		fmt.Fprintf(&b, "CVE-%d-%05d,%.5f,%.5f\n", year, i, e, p)
	}
	return b.Bytes()
}

func gzipped(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func MustParse(tb testing.TB, name string, data []byte) (*epss.Scores, []epss.Problem) {
	tb.Helper()
	s, problems, err := epss.Parse(name, bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("Parse(%s): %v", name, err)
	}
	return s, problems
}
