// Package notes reads a component's changelog and picks out, for an upgrade
// from one version to another, the entries a person must read and acknowledge.
//
// It knows four layouts (Keep a Changelog, Prometheus-style tagged bullets,
// concatenated GitHub release notes and WordPress readme.txt), reads them line
// by line so that every entry and every highlight cites the line it came
// from, and never needs the network or a Markdown library.
//
// Classification is conservative on purpose: a false "breaking" costs one
// acknowledgement, a missed one costs an outage. So a Prometheus [CHANGE]
// bullet is breaking unless its wording makes it something more specific,
// wording rules run on every entry whatever its section (a bug fix that says
// "no longer" is still highlighted), and prose paragraphs between headings
// are entries too, because upgrade instructions often live there. See
// Classify for the exact order of the rules.
package notes

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Format is the layout of a changelog, detected by Parse.
type Format string

// The layouts Parse recognises.
const (
	FormatKeepAChangelog  Format = "keepachangelog"   // "## [1.2.0] - 2024-01-01", "### Added"
	FormatPrometheus      Format = "prometheus"       // "## 2.53.0 / 2024-06-16", "* [CHANGE] …"
	FormatGitHubRelease   Format = "github-release"   // "# v1.2.0", "## What's Changed"
	FormatWordPressReadme Format = "wordpress-readme" // "== Changelog ==", "= 6.4.1 ="
)

// Kind says why an entry matters to whoever performs the upgrade.
type Kind string

// The kinds of entries. Every kind but KindOther is a highlight.
const (
	KindBreaking    Kind = "breaking"
	KindDeprecation Kind = "deprecation"
	KindMigration   Kind = "migration"
	KindSecurity    Kind = "security"
	KindOther       Kind = "other"
)

// Changelog is one parsed changelog file.
type Changelog struct {
	File     string
	Format   Format
	Releases []Release // in file order, which is usually newest first
	Problems []Problem // malformed headings skipped, unclosed code fences or comments
}

// Release is one version's notes. An "Unreleased" section is kept as a
// Release whose Version is "Unreleased"; Between never returns it.
type Release struct {
	Version string // as written, without brackets: "1.2.0", "v1.2.0", "Unreleased"
	Date    string // "2024-01-01" when the heading carries one, else ""
	Line    int    // 1-based line of the heading
	Entries []Entry
}

// Entry is one bullet (with its continuation lines and nested bullets) or
// one prose paragraph.
type Entry struct {
	Line int // 1-based line where the entry starts
	// Section is the heading the entry sits under ("Added", "Removed",
	// "Breaking Changes", "Upgrade Notice") or, in the Prometheus layout, the
	// bullet's tag without brackets ("CHANGE", "SECURITY"); "" for none.
	Section string
	// Text is the entry without its bullet marker (and, in the Prometheus
	// layout, without its tag). Continuation lines are joined with a space,
	// nested bullets with a newline.
	Text string
	Kind Kind
}

// Highlight is an entry a person must read before the upgrade, with where it
// was found and which rule made it one.
type Highlight struct {
	Kind    Kind
	Version string
	Text    string
	File    string
	Line    int
	Marker  string // "[SECURITY] tag", "**Breaking:** marker", "Removed section", "wording: 'no longer'"
}

// Problem is a part of the file that could not be read and was skipped.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message) }

// Parse reads a changelog, detecting its format. A file without any
// recognisable release heading is an error; a malformed release heading is
// recorded as a Problem and the notes under it are skipped. Text before the
// first release, fenced code, HTML comments and link definitions are not
// entries. Parse never panics, whatever the input.
func Parse(file string, data []byte) (*Changelog, error) {
	lines := splitLines(data)
	c := &Changelog{File: file}
	p := &parser{c: c, cur: -1}
	var expected string
	if isWordPress(lines) {
		c.Format = FormatWordPressReadme
		p.wordpress(lines)
		expected = `"= 1.2.3 =" or "= 1.2.3 - 2024-01-01 =" version lines under "== Changelog =="`
	} else {
		c.Format = detectMarkdown(lines)
		p.markdown(lines)
		expected = `release headings like "## [1.2.0] - 2024-01-01", "## 2.53.0 / 2024-06-16" or "## v1.2.0"`
	}
	if len(c.Releases) == 0 {
		msg := fmt.Sprintf("parsing changelog %s: no release headings found (expected %s)", file, expected)
		if len(c.Problems) > 0 {
			msg += fmt.Sprintf("; %d malformed, the first at line %d: %s", len(c.Problems), c.Problems[0].Line, c.Problems[0].Message)
		}
		return nil, errors.New(msg)
	}
	for i := range c.Releases {
		for j := range c.Releases[i].Entries {
			e := &c.Releases[i].Entries[j]
			e.Kind, _ = Classify(e.Section, e.Text)
		}
	}
	return c, nil
}

// IsUnreleased reports whether a release is the "Unreleased" section.
func (r Release) IsUnreleased() bool { return strings.EqualFold(r.Version, "unreleased") }

// Between returns the releases r with from < r <= to, in file order, leaving
// out Unreleased. Neither from nor to needs to appear in the changelog.
// compare orders two versions (negative, zero, positive) in the component's
// ecosystem; an error from it, or from > to, is returned as an error rather
// than silently dropping notes.
func (c *Changelog) Between(from, to string, compare func(a, b string) (int, error)) ([]Release, error) {
	d, err := compare(from, to)
	if err != nil {
		return nil, fmt.Errorf("comparing %q with %q: %w", from, to, err)
	}
	if d > 0 {
		return nil, fmt.Errorf("selecting release notes of %s: from %q is newer than to %q", c.File, from, to)
	}
	var out []Release
	for _, r := range c.Releases {
		if r.IsUnreleased() {
			continue
		}
		lo, err := compare(from, r.Version)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: comparing release %q with %q: %w", c.File, r.Line, r.Version, from, err)
		}
		hi, err := compare(r.Version, to)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: comparing release %q with %q: %w", c.File, r.Line, r.Version, to, err)
		}
		if lo < 0 && hi <= 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// Highlights returns the breaking, deprecation, migration and security
// entries of releases, each citing file and its line. Entries are classified
// again with Classify so that the Marker says which rule fired; an entry
// whose Kind was set by hand to something Classify does not find keeps its
// Kind with the marker "entry kind".
func Highlights(releases []Release, file string) []Highlight {
	var out []Highlight
	for _, r := range releases {
		for _, e := range r.Entries {
			k, marker := Classify(e.Section, e.Text)
			if k == KindOther && e.Kind != "" && e.Kind != KindOther {
				k, marker = e.Kind, "entry kind"
			}
			if k == KindOther {
				continue
			}
			out = append(out, Highlight{Kind: k, Version: r.Version, Text: e.Text, File: file, Line: e.Line, Marker: marker})
		}
	}
	return out
}

func splitLines(data []byte) []string {
	s := strings.TrimPrefix(string(data), "\ufeff")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// parser accumulates releases and entries; cur indexes the release being
// filled (-1: none, so lines are ignored).
type parser struct {
	c       *Changelog
	cur     int
	section string
	open    bool // the last entry of the current release may still grow
	bullet  bool // the open entry is a bullet (else a paragraph)
	indent  int  // indentation of the open bullet
	blank   bool // a blank line came after the open entry
	tags    bool // strip Prometheus-style [TAG]s into Section
}

func (p *parser) problem(line int, format string, args ...any) {
	p.c.Problems = append(p.c.Problems, Problem{File: p.c.File, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) startRelease(version, date string, line int) {
	p.c.Releases = append(p.c.Releases, Release{Version: version, Date: date, Line: line})
	p.cur = len(p.c.Releases) - 1
	p.section = ""
	p.open = false
}

func (p *parser) stop() {
	p.cur = -1
	p.open = false
}

var (
	bulletRe = regexp.MustCompile(`^([ \t]*)(?:[-*+]|\d{1,9}[.)])[ \t]+(\S.*)$`)
	tagRe    = regexp.MustCompile(`^\[([A-Za-z][A-Za-z ]*)\]:?\s*(.*)$`)
)

// body handles a line that is neither a heading nor blank, inside a release.
func (p *parser) body(line int, raw string) {
	if p.cur < 0 {
		return
	}
	r := &p.c.Releases[p.cur]
	text := strings.TrimSpace(raw)
	if m := bulletRe.FindStringSubmatch(raw); m != nil {
		ind := indentOf(m[1])
		if p.open && p.bullet && ind >= p.indent+2 {
			e := &r.Entries[len(r.Entries)-1]
			e.Text += "\n" + text
			p.blank = false
			return
		}
		section, t := p.section, strings.TrimSpace(m[2])
		if p.tags {
			if tm := tagRe.FindStringSubmatch(t); tm != nil && strings.TrimSpace(tm[2]) != "" {
				section, t = strings.ToUpper(strings.TrimSpace(tm[1])), strings.TrimSpace(tm[2])
			}
		}
		r.Entries = append(r.Entries, Entry{Line: line, Section: section, Text: t})
		p.open, p.bullet, p.indent, p.blank = true, true, ind, false
		return
	}
	if p.open && (!p.blank || (p.bullet && indentOf(leading(raw)) >= p.indent+2)) {
		e := &r.Entries[len(r.Entries)-1]
		e.Text += " " + text
		p.blank = false
		return
	}
	r.Entries = append(r.Entries, Entry{Line: line, Section: p.section, Text: text})
	p.open, p.bullet, p.indent, p.blank = true, false, 0, false
}

// blankLine ends a paragraph; a bullet may still take indented continuation.
func (p *parser) blankLine() {
	if p.open && !p.bullet {
		p.open = false
	}
	p.blank = true
}

func leading(s string) string { return s[:len(s)-len(strings.TrimLeft(s, " \t"))] }

func indentOf(ws string) int {
	n := 0
	for _, r := range ws {
		if r == '\t' {
			n += 4
		} else {
			n++
		}
	}
	return n
}

var (
	versionTok = `v?\d[0-9A-Za-z.\-+]*`
	bracketRe  = regexp.MustCompile(`^\[([^\]]*)\](\([^)]*\))?(.*)$`)
	versionRe  = regexp.MustCompile(`^(` + versionTok + `)(.*)$`)
	exactVerRe = regexp.MustCompile(`^` + versionTok + `$`)
	dateRe     = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)
	prefixRe   = regexp.MustCompile(`(?i)^(release|version)\s+`)
)

// parseVersionHeading reads "[1.2.0] - 2024-01-01", "1.2.0 / 2024-01-01",
// "v1.2.0 (2024-01-01)", "Unreleased" and the like. looks reports whether the
// text is an attempt at one, so that a failed attempt becomes a Problem.
func parseVersionHeading(text string) (version, date string, ok, looks bool, why string) {
	t := strings.TrimSpace(prefixRe.ReplaceAllString(strings.TrimSpace(text), ""))
	if t == "" {
		return "", "", false, false, ""
	}
	lower := strings.ToLower(t)
	if lower == "unreleased" || lower == "[unreleased]" || strings.HasPrefix(lower, "[unreleased]") || strings.HasPrefix(lower, "unreleased ") {
		return "Unreleased", "", true, true, ""
	}
	looks = t[0] == '[' || (t[0] >= '0' && t[0] <= '9') || (len(t) > 1 && (t[0] == 'v' || t[0] == 'V') && t[1] >= '0' && t[1] <= '9')
	if !looks {
		return "", "", false, false, ""
	}
	var rest string
	if t[0] == '[' {
		m := bracketRe.FindStringSubmatch(t)
		if m == nil {
			return "", "", false, true, "unclosed '[' in release heading"
		}
		inner := strings.TrimSpace(m[1])
		if !exactVerRe.MatchString(inner) {
			return "", "", false, true, fmt.Sprintf("%q in brackets is not a version", inner)
		}
		version, rest = inner, m[3]
	} else {
		m := versionRe.FindStringSubmatch(t)
		if m == nil {
			return "", "", false, true, "release heading without a version"
		}
		version, rest = m[1], m[2]
	}
	rest = strings.TrimSpace(rest)
	if rest != "" && !strings.ContainsAny(rest[:1], "-–—/([:") && !strings.HasPrefix(rest, "–") && !strings.HasPrefix(rest, "—") {
		return "", "", false, true, fmt.Sprintf("unexpected %q after version %q (expected a date like \" - 2024-01-01\" or \" / 2024-01-01\")", rest, version)
	}
	return version, dateRe.FindString(rest), true, true, ""
}

var (
	headingRe = regexp.MustCompile(`^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$`)
	fenceRe   = regexp.MustCompile("^ {0,3}(```|~~~)")
	setextRe  = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	skipRe    = regexp.MustCompile(`^(\[[^\]]+\]:\s*\S|\*\*Full Changelog\*\*|<!--.*-->\s*$|(?:[-*_][ \t]*){3,}$|=+$)`)
)

func (p *parser) markdown(lines []string) {
	p.tags = p.c.Format == FormatPrometheus
	level := 0                  // heading level of releases, set by the first one
	inFence, fenceLine := "", 0 // inside ``` or ~~~, opened at fenceLine
	inComment, commentLine := false, 0
	heading := func(n, lv int, text, raw string) {
		p.open = false
		// A well-formed version heading starts a release at any level, since
		// conventional-changelog puts patch releases one level below minor
		// ones; a malformed one is a Problem only at the release level, so
		// that "### 2.0 upgrade guide" stays a section.
		v, d, ok, looks, why := parseVersionHeading(text)
		switch {
		case ok:
			if level == 0 || lv < level {
				level = lv
			}
			p.startRelease(v, d, n)
			return
		case looks && (lv <= level || level == 0 && lv <= 2):
			p.problem(n, "malformed release heading %q: %s; skipped up to the next release heading", raw, why)
			p.stop()
			return
		}
		p.section = text
	}
	for i := 0; i < len(lines); i++ {
		raw, n := lines[i], i+1
		trimmed := strings.TrimSpace(raw)
		switch {
		case inFence != "":
			if strings.HasPrefix(trimmed, inFence) {
				inFence = ""
			}
			continue
		case inComment:
			inComment = !strings.Contains(raw, "-->")
			continue
		}
		if m := fenceRe.FindStringSubmatch(raw); m != nil {
			inFence, fenceLine = m[1], n
			continue
		}
		if strings.HasPrefix(trimmed, "<!--") && !strings.Contains(trimmed, "-->") {
			inComment, commentLine = true, n
			continue
		}
		if trimmed == "" {
			p.blankLine()
			continue
		}
		if m := headingRe.FindStringSubmatch(raw); m != nil {
			heading(n, len(m[1]), strings.TrimSpace(strings.TrimRight(m[2], "#")), trimmed)
			continue
		}
		// A setext heading: one line of text underlined with === or ---. Only
		// version-like or short title-like lines count, so that a sentence
		// above a "---" rule stays an entry.
		if i+1 < len(lines) && !(p.open && !p.blank) && !bulletRe.MatchString(raw) && indentOf(leading(raw)) < 4 {
			if m := setextRe.FindStringSubmatch(lines[i+1]); m != nil && setextHeading(trimmed) {
				lv := 2
				if m[1][0] == '=' {
					lv = 1
				}
				heading(n, lv, trimmed, trimmed+" / "+strings.TrimSpace(lines[i+1]))
				i++
				continue
			}
		}
		if p.cur < 0 || skipRe.MatchString(trimmed) {
			continue
		}
		p.body(n, raw)
	}
	// An unclosed fence or comment hides everything after it: say so, since
	// the notes it swallowed may be the ones that matter.
	if inFence != "" {
		p.problem(fenceLine, "code fence %s is never closed; the rest of the file was read as code", inFence)
	}
	if inComment {
		p.problem(commentLine, "HTML comment is never closed; the rest of the file was read as a comment")
	}
}

func setextHeading(text string) bool {
	if _, _, _, looks, _ := parseVersionHeading(text); looks {
		return true
	}
	return len(strings.Fields(text)) <= 4 && !strings.ContainsAny(text[len(text)-1:], ".!?:;,")
}

var (
	kacHeadRe   = regexp.MustCompile(`^#{1,3}\s+\[[^\]]+\]`)
	kacSecRe    = regexp.MustCompile(`^#{2,4}\s+(Added|Changed|Deprecated|Removed|Fixed|Security)\s*$`)
	promHeadRe  = regexp.MustCompile(`^#{1,3}\s+v?\d\S*\s+/\s+\d{4}-\d{2}-\d{2}`)
	promTagRe   = regexp.MustCompile(`^\s*[-*]\s+\[(CHANGE|FEATURE|ENHANCEMENT|BUGFIX|SECURITY|PERF|BREAKING)\]`)
	ghHeadRe    = regexp.MustCompile(`^#{1,3}\s+(?:Release\s+)?v\d`)
	ghMarkersRe = regexp.MustCompile(`(?i)^(#{1,4}\s+what's changed|\*\*full changelog\*\*|#{1,4}\s+new contributors)`)
)

// detectMarkdown scores the evidence for each Markdown layout; plain
// "## 1.2.0" headings with nothing else count as Keep a Changelog.
func detectMarkdown(lines []string) Format {
	var kac, prom, gh int
	for _, l := range lines {
		switch {
		case kacHeadRe.MatchString(l):
			kac += 3
		case kacSecRe.MatchString(l):
			kac++
		case promHeadRe.MatchString(l):
			prom += 3
		case promTagRe.MatchString(l):
			prom++
		case ghHeadRe.MatchString(l):
			gh += 3
		case ghMarkersRe.MatchString(l):
			gh += 2
		}
		if strings.Contains(l, "keepachangelog.com") {
			kac += 5
		}
	}
	switch {
	case prom > kac && prom >= gh:
		return FormatPrometheus
	case gh > kac && gh > prom:
		return FormatGitHubRelease
	}
	return FormatKeepAChangelog
}

var (
	wpSectionRe = regexp.MustCompile(`^\s*==\s*([^=].*?)\s*==\s*$`)
	wpVersionRe = regexp.MustCompile(`^\s*=\s*([^=].*?)\s*=\s*$`)
)

func isWordPress(lines []string) bool {
	for _, l := range lines {
		if m := wpSectionRe.FindStringSubmatch(l); m != nil && strings.EqualFold(m[1], "changelog") {
			return true
		}
	}
	return false
}

// wordpress reads the "== Changelog ==" and "== Upgrade Notice ==" sections
// of a readme.txt. An upgrade notice joins the release of the same version,
// or becomes a release of its own when the changelog lacks that version.
func (p *parser) wordpress(lines []string) {
	const none, changelog, upgrade = 0, 1, 2
	state := none
	for i, raw := range lines {
		n := i + 1
		if strings.TrimSpace(raw) == "" {
			p.blankLine()
			continue
		}
		if m := wpSectionRe.FindStringSubmatch(raw); m != nil && !strings.HasPrefix(strings.TrimSpace(raw), "===") {
			p.stop()
			switch strings.ToLower(m[1]) {
			case "changelog":
				state = changelog
			case "upgrade notice":
				state = upgrade
			default:
				state = none
			}
			continue
		}
		if state == none {
			continue
		}
		if m := wpVersionRe.FindStringSubmatch(raw); m != nil && !strings.HasPrefix(strings.TrimSpace(raw), "==") {
			v, d, ok, _, why := parseVersionHeading(m[1])
			if !ok {
				if why == "" {
					why = "not a version"
				}
				p.problem(n, "malformed version line %q: %s; skipped up to the next version line", strings.TrimSpace(raw), why)
				p.stop()
				continue
			}
			if state == changelog {
				p.startRelease(v, d, n)
				p.section = "Changelog"
				continue
			}
			p.cur = -1
			for j, r := range p.c.Releases {
				if r.Version == v {
					p.cur = j
					break
				}
			}
			if p.cur < 0 {
				p.startRelease(v, d, n)
			}
			p.section = "Upgrade Notice"
			p.open = false
			continue
		}
		p.body(n, raw)
	}
}
