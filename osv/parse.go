package osv

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// MaxRecordSize bounds one record read by ReadDir or ReadZip; the largest
// OSV records (Linux kernel, Debian) are a few hundred KiB.
const MaxRecordSize = 32 << 20

// ParseError says where in which record parsing failed and what was
// expected there.
type ParseError struct {
	// Source names the record: a file name, a zip member, a URL.
	Source string
	// Path is the JSON path of the offending value, "affected[0].ranges[1]",
	// or empty when the document itself is malformed.
	Path string
	// Offset is the byte offset of the error, or -1 when unknown.
	Offset int64
	// Line and Column locate Offset, from 1; 0 when unknown.
	Line, Column int
	// Err says what was expected.
	Err error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "parsing OSV record %s", e.Source)
	if e.Path != "" {
		fmt.Fprintf(&b, " at %s", e.Path)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d, column %d, offset %d)", e.Line, e.Column, e.Offset)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse decodes and validates one OSV record. source names it in errors.
// The error is a *ParseError giving the JSON path or the line and column,
// and what was expected. Unknown fields are allowed, as the schema allows
// them.
func Parse(data []byte, source string) (*Entry, error) {
	e := new(Entry)
	type entryFields Entry
	var w struct {
		*entryFields
		// Modified is required, and the zero time is a valid value (the Go
		// database writes 0001-01-01T00:00:00Z), so its presence is
		// checked through a pointer.
		Modified *time.Time `json:"modified"`
	}
	w.entryFields = (*entryFields)(e)
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, jsonError(data, source, err)
	}
	sum := sha256.Sum256(data)
	e.Digest = hex.EncodeToString(sum[:])
	fail := func(path, format string, args ...any) (*Entry, error) {
		return nil, &ParseError{Source: source, Path: path, Offset: -1, Err: fmt.Errorf(format, args...)}
	}
	if strings.TrimSpace(e.ID) == "" {
		return fail("id", "expected a non-empty string (id is required)")
	}
	if w.Modified == nil {
		return fail("modified", "expected an RFC 3339 time (modified is required)")
	}
	e.Modified = *w.Modified
	for i, s := range e.Severity {
		if s.Type == "" || s.Score == "" {
			return fail(fmt.Sprintf("severity[%d]", i), "expected both type and score")
		}
	}
	for i, a := range e.Affected {
		p := fmt.Sprintf("affected[%d]", i)
		gitOnly := len(a.Ranges) > 0
		for _, r := range a.Ranges {
			gitOnly = gitOnly && r.Type == RangeGit
		}
		if !gitOnly && (strings.TrimSpace(a.Package.Ecosystem) == "" || strings.TrimSpace(a.Package.Name) == "") {
			return fail(p+".package", "expected ecosystem and name (required unless every range is GIT)")
		}
		for j, s := range a.Severity {
			if s.Type == "" || s.Score == "" {
				return fail(fmt.Sprintf("%s.severity[%d]", p, j), "expected both type and score")
			}
		}
		for j, r := range a.Ranges {
			rp := fmt.Sprintf("%s.ranges[%d]", p, j)
			switch r.Type {
			case RangeSemVer, RangeEcosystem:
			case RangeGit:
				if r.Repo == "" {
					return fail(rp+".repo", "expected the repository URL (required for GIT ranges)")
				}
			default:
				return fail(rp+".type", "expected SEMVER, ECOSYSTEM or GIT, got %q", r.Type)
			}
			if len(r.Events) == 0 {
				return fail(rp+".events", "expected at least one event")
			}
			introduced := false
			for k, ev := range r.Events {
				n := 0
				for _, v := range []string{ev.Introduced, ev.Fixed, ev.LastAffected, ev.Limit} {
					if v != "" {
						n++
					}
				}
				if n != 1 {
					return fail(fmt.Sprintf("%s.events[%d]", rp, k),
						"expected exactly one of introduced, fixed, last_affected, limit with a non-empty version, got %d", n)
				}
				introduced = introduced || ev.Introduced != ""
			}
			if !introduced {
				return fail(rp+".events", "expected at least one introduced event")
			}
		}
	}
	for i, r := range e.References {
		if r.Type == "" || r.URL == "" {
			return fail(fmt.Sprintf("references[%d]", i), "expected both type and url")
		}
	}
	for i, c := range e.Credits {
		if c.Name == "" {
			return fail(fmt.Sprintf("credits[%d].name", i), "expected a non-empty name")
		}
	}
	return e, nil
}

func jsonError(data []byte, source string, err error) error {
	pe := &ParseError{Source: source, Offset: -1, Err: err}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tim *time.ParseError
	switch {
	case errors.As(err, &syn):
		pe.Offset = syn.Offset
		if strings.Contains(syn.Error(), "unexpected end") {
			pe.Err = errors.New("expected a complete JSON object, the input ends early")
		} else {
			pe.Err = fmt.Errorf("expected a JSON object: %v", syn)
		}
	case errors.As(err, &typ):
		pe.Offset = typ.Offset
		// The embedded struct Parse decodes through is not part of the path.
		pe.Path = strings.TrimPrefix(typ.Field, "entryFields.")
		if pe.Path == "" {
			pe.Err = fmt.Errorf("expected a JSON object, got %s", typ.Value)
		} else {
			pe.Err = fmt.Errorf("expected %s, got %s", typeName(typ.Type.String()), typ.Value)
		}
	case errors.As(err, &tim):
		pe.Err = fmt.Errorf("expected an RFC 3339 time such as 2022-09-12T20:23:06Z: %v", tim)
	}
	if pe.Offset >= 0 && pe.Offset <= int64(len(data)) {
		before := data[:pe.Offset]
		pe.Line = bytes.Count(before, []byte("\n")) + 1
		pe.Column = int(pe.Offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	}
	return pe
}

func typeName(t string) string {
	switch {
	case strings.HasPrefix(t, "[]"):
		return "an array"
	case t == "string", t == "osv.RangeType":
		return "a string"
	case t == "time.Time":
		return "an RFC 3339 time string"
	case strings.HasPrefix(t, "osv."), strings.HasPrefix(t, "struct"):
		return "an object"
	}
	return t
}

// Problem is one record that could not be read; reading went on without it.
type Problem struct {
	// Source is the file or zip member.
	Source string
	// Err is what went wrong, usually a *ParseError.
	Err error
}

func (p Problem) Error() string { return p.Err.Error() }

// ReadDir reads every *.json file under dir (recursively), one at a time.
// A malformed record becomes a Problem and is skipped; the error is for
// failures to read the directory itself.
func ReadDir(dir string) ([]*Entry, []Problem, error) {
	var entries []*Entry
	var problems []Problem
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".json") {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		f, err := os.Open(p)
		if err != nil {
			problems = append(problems, Problem{rel, err})
			return nil
		}
		defer f.Close()
		e, err := readRecord(f, rel)
		if err != nil {
			problems = append(problems, Problem{rel, err})
			return nil
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return entries, problems, fmt.Errorf("reading OSV directory %s: %w", dir, err)
	}
	return entries, problems, nil
}

// ReadZip reads every *.json member of an OSV zip export (such as
// osv-vulnerabilities' all.zip), one member at a time, in the zip's order.
// A malformed record becomes a Problem naming the member and is skipped;
// the error is for a zip that cannot be opened.
func ReadZip(name string) ([]*Entry, []Problem, error) {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return nil, nil, fmt.Errorf("reading OSV zip %s: %w", name, err)
	}
	defer zr.Close()
	entries := make([]*Entry, 0, len(zr.File))
	var problems []Problem
	var buf bytes.Buffer
	for _, f := range zr.File {
		if f.FileInfo().IsDir() || !strings.EqualFold(path.Ext(f.Name), ".json") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			problems = append(problems, Problem{f.Name, err})
			continue
		}
		buf.Reset()
		_, err = buf.ReadFrom(io.LimitReader(rc, MaxRecordSize+1))
		rc.Close()
		if err == nil && buf.Len() > MaxRecordSize {
			err = fmt.Errorf("record larger than %d bytes", MaxRecordSize)
		}
		if err != nil {
			problems = append(problems, Problem{f.Name, fmt.Errorf("reading %s: %w", f.Name, err)})
			continue
		}
		e, err := Parse(buf.Bytes(), f.Name)
		if err != nil {
			problems = append(problems, Problem{f.Name, err})
			continue
		}
		entries = append(entries, e)
	}
	return slices.Clip(entries), problems, nil
}

func readRecord(r io.Reader, source string) (*Entry, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxRecordSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", source, err)
	}
	if len(data) > MaxRecordSize {
		return nil, fmt.Errorf("reading %s: record larger than %d bytes", source, MaxRecordSize)
	}
	return Parse(data, source)
}
