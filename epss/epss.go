// Package epss reads FIRST's daily EPSS scores (the probability that a CVE
// is exploited in the next 30 days), so risk scoring can weigh findings.
package epss

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Scores is one day's EPSS file.
type Scores struct {
	// ModelVersion is the model_version of the file's comment line, e.g.
	// "v2023.03.01"; empty when the file has none.
	ModelVersion string
	// ScoreDate is the score_date of the comment line; zero when absent.
	ScoreDate time.Time
	byCVE     map[string]Score
}

// Score is the EPSS score of one CVE.
type Score struct {
	CVE string // upper-case
	// EPSS is the probability of exploitation activity in the next 30
	// days, and Percentile the share of CVEs scored at or below it; both
	// in [0, 1].
	EPSS, Percentile float64
}

// Problem is a line of the file that Parse could not use and skipped.
type Problem struct {
	Line    int // 1-based, counting the comment line; 0 for the summary of problems left out
	Message string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Message)
}

// maxProblems bounds the problems kept, so that a file that is garbage
// from some line on does not grow a second copy of itself in memory.
const maxProblems = 1000

const expectedHeader = `"cve,epss,percentile"`

var cveID = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)

// Parse reads an EPSS CSV file named name (used in errors only), plain or
// gzip-compressed (told apart by the gzip magic bytes): an optional comment
// line "#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000",
// the header cve,epss,percentile (columns found by name, others ignored),
// then one row per CVE. It streams: memory is the scores kept, not the file.
//
// A row with a malformed CVE ID, a value that is not a number in [0, 1],
// missing columns or broken CSV quoting, or a CVE already seen (the first
// is kept), is skipped and reported as a Problem; past 1,000 problems, one
// last Problem with Line 0 counts the rest. A malformed comment line is a
// Problem too. Input without the header, or that cannot be read (a
// truncated gzip stream), is an error.
func Parse(name string, r io.Reader) (*Scores, []Problem, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, nil, fmt.Errorf("reading epss scores %s: gzip: %w", name, err)
		}
		defer gz.Close()
		br = bufio.NewReaderSize(gz, 64<<10)
	}

	s := &Scores{byCVE: make(map[string]Score)}
	p := &problems{}
	line := 0 // lines consumed before the CSV reader starts
	if first, err := br.Peek(1); err == nil && first[0] == '#' {
		comment, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, nil, fmt.Errorf("reading epss scores %s: line 1: %w", name, err)
		}
		line = 1
		if msg := s.parseComment(comment); msg != "" {
			p.add(1, msg)
		}
	}

	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return nil, nil, fmt.Errorf("parsing epss scores %s: line %d: no header: expected %s", name, line+1, expectedHeader)
	case errors.As(err, &pe):
		return nil, nil, fmt.Errorf("parsing epss scores %s: line %d: expected header %s: %w", name, line+pe.StartLine, expectedHeader, pe.Err)
	case err != nil:
		return nil, nil, fmt.Errorf("reading epss scores %s: line %d: %w", name, line+1, err)
	}
	col, ok := columns(header)
	if !ok {
		got := strings.Join(header, ",")
		if len(got) > 80 {
			got = got[:80] + "..."
		}
		return nil, nil, fmt.Errorf("parsing epss scores %s: line %d: expected header %s, got %q", name, line+1, expectedHeader, got)
	}
	width := max(col.cve, col.epss, col.percentile) + 1

	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			if !errors.As(err, &pe) {
				return nil, nil, fmt.Errorf("reading epss scores %s: %w", name, err)
			}
			p.add(line+pe.StartLine, pe.Err.Error())
			continue
		}
		n, _ := cr.FieldPos(0)
		n += line
		if len(rec) < width {
			p.add(n, fmt.Sprintf("%d columns, expected %d (%s)", len(rec), width, expectedHeader))
			continue
		}
		sc, msg := parseRow(rec[col.cve], rec[col.epss], rec[col.percentile])
		if msg != "" {
			p.add(n, msg)
			continue
		}
		if _, dup := s.byCVE[sc.CVE]; dup {
			p.add(n, sc.CVE+" repeats an earlier row; the first one is kept")
			continue
		}
		s.byCVE[sc.CVE] = sc
	}
	return s, p.list(), nil
}

func parseRow(cve, epss, pct string) (Score, string) {
	sc := Score{CVE: strings.ToUpper(strings.TrimSpace(cve))}
	if !cveID.MatchString(sc.CVE) {
		return sc, fmt.Sprintf("cve %q is not CVE-YYYY-NNNN", cve)
	}
	var msg string
	if sc.EPSS, msg = probability("epss", epss); msg != "" {
		return sc, sc.CVE + ": " + msg
	}
	if sc.Percentile, msg = probability("percentile", pct); msg != "" {
		return sc, sc.CVE + ": " + msg
	}
	return sc, ""
}

func probability(column, s string) (float64, string) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("%s %q is not a number", column, s)
	case math.IsNaN(v) || v < 0 || v > 1:
		return 0, fmt.Sprintf("%s %s is outside [0, 1]", column, s)
	}
	return v, ""
}

// parseComment reads "#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000"
// and returns what was wrong with it, if anything.
func (s *Scores) parseComment(comment string) string {
	body := strings.TrimSpace(strings.TrimPrefix(comment, "#"))
	var bad []string
	for _, kv := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			bad = append(bad, fmt.Sprintf("%q is not key:value", kv))
			continue
		}
		switch strings.TrimSpace(k) {
		case "model_version":
			s.ModelVersion = strings.TrimSpace(v)
		case "score_date":
			t, err := parseScoreDate(strings.TrimSpace(v))
			if err != nil {
				bad = append(bad, fmt.Sprintf("score_date %q is not a date", v))
				continue
			}
			s.ScoreDate = t
		}
	}
	if bad != nil {
		return "comment line: " + strings.Join(bad, "; ") + `: expected "#model_version:v2023.03.01,score_date:2023-03-07T00:00:00+0000"`
	}
	return ""
}

// parseScoreDate accepts FIRST's "2023-03-07T00:00:00+0000" and, as older
// files and copies have them, RFC 3339 and a bare date.
func parseScoreDate(v string) (time.Time, error) {
	var err error
	for _, layout := range []string{"2006-01-02T15:04:05-0700", time.RFC3339, "2006-01-02"} {
		var t time.Time
		if t, err = time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, err
}

type columnIndex struct{ cve, epss, percentile int }

func columns(header []string) (columnIndex, bool) {
	c := columnIndex{-1, -1, -1}
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "cve":
			c.cve = i
		case "epss":
			c.epss = i
		case "percentile":
			c.percentile = i
		}
	}
	return c, c.cve >= 0 && c.epss >= 0 && c.percentile >= 0
}

type problems struct {
	kept    []Problem
	dropped int
}

func (p *problems) add(line int, msg string) {
	if len(p.kept) >= maxProblems {
		p.dropped++
		return
	}
	p.kept = append(p.kept, Problem{Line: line, Message: msg})
}

func (p *problems) list() []Problem {
	if p.dropped > 0 {
		return append(p.kept, Problem{Message: fmt.Sprintf("%d more problems not listed", p.dropped)})
	}
	return p.kept
}

// Get returns the score of cve, matched case-insensitively.
func (s *Scores) Get(cve string) (Score, bool) {
	if s == nil {
		return Score{}, false
	}
	sc, ok := s.byCVE[strings.ToUpper(strings.TrimSpace(cve))]
	return sc, ok
}

// Len is the number of CVEs scored.
func (s *Scores) Len() int {
	if s == nil {
		return 0
	}
	return len(s.byCVE)
}
