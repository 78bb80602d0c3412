// Package comms writes what the people around a rollout read: the
// customer-facing maintenance note of an upgrade (Markdown or HTML, from
// a template the user may replace), and the status feed of maintenance
// windows and rollouts, as JSON with the fields of Statuspage's scheduled
// maintenances and as Atom (written with gorilla/feeds). Everything here
// is pure: the caller gathers the facts.
package comms

import (
	"bytes"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io"
	"slices"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/gorilla/feeds"
)

// Note is what a maintenance note says.
type Note struct {
	Service string
	From    string // the version users have now
	Version string // the version they get
	// Start and End bound the maintenance; zero when not planned.
	Start, End time.Time
	// Changes are what users may notice, from the release notes.
	Changes []string
	// Impact is what users should expect during the change.
	Impact string
	// Contact is where to ask.
	Contact string
}

// DefaultNoteMarkdown is the note's default template (text/template).
const DefaultNoteMarkdown = `# Scheduled maintenance: {{.Service}}

{{if .Start.IsZero}}We are updating {{.Service}} from {{.From}} to {{.Version}}.{{else}}**When:** {{.Start.UTC.Format "Monday 2 January 2006, 15:04"}}{{if not .End.IsZero}} – {{.End.UTC.Format "15:04"}}{{end}} UTC

We are updating {{.Service}} from {{.From}} to {{.Version}}.{{end}}

**What to expect:** {{.Impact}}
{{- if .Changes}}

**What changes for you:**
{{range .Changes}}
- {{.}}{{end}}
{{- end}}
{{- if .Contact}}

**Questions:** {{.Contact}}
{{- end}}
`

// DefaultNoteHTML is the note's default HTML template (html/template).
const DefaultNoteHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Scheduled maintenance: {{.Service}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;line-height:1.5;padding:0 1rem}</style></head>
<body>
<h1>Scheduled maintenance: {{.Service}}</h1>
{{if not .Start.IsZero}}<p><strong>When:</strong> {{.Start.UTC.Format "Monday 2 January 2006, 15:04"}}{{if not .End.IsZero}} – {{.End.UTC.Format "15:04"}}{{end}} UTC</p>{{end}}
<p>We are updating {{.Service}} from {{.From}} to {{.Version}}.</p>
<p><strong>What to expect:</strong> {{.Impact}}</p>
{{if .Changes}}<p><strong>What changes for you:</strong></p>
<ul>{{range .Changes}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Contact}}<p><strong>Questions:</strong> {{.Contact}}</p>{{end}}
</body></html>
`

// DefaultImpact is what a progressive rollout means for users.
const DefaultImpact = "no downtime is expected: traffic moves to the new version gradually, under watch, and goes back at once if anything looks wrong."

// Markdown writes n with tmpl (DefaultNoteMarkdown when empty).
func Markdown(n Note, tmpl string) (string, error) {
	if tmpl == "" {
		tmpl = DefaultNoteMarkdown
	}
	t, err := texttemplate.New("note").Option("missingkey=error").Parse(tmpl)
	return execute(t, err, n)
}

// HTML writes n with tmpl (DefaultNoteHTML when empty), escaped.
func HTML(n Note, tmpl string) (string, error) {
	if tmpl == "" {
		tmpl = DefaultNoteHTML
	}
	t, err := htmltemplate.New("note").Option("missingkey=error").Parse(tmpl)
	return execute(t, err, n)
}

// execute runs a parsed note template; parseErr is its parsing's error.
func execute(t interface{ Execute(io.Writer, any) error }, parseErr error, n Note) (string, error) {
	if parseErr != nil {
		return "", fmt.Errorf("note template: %w", parseErr)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, n); err != nil {
		return "", fmt.Errorf("note template: %w", err)
	}
	return b.String(), nil
}

// Statuses of a scheduled maintenance, as Statuspage names them.
const (
	Scheduled  = "scheduled"
	InProgress = "in_progress"
	Verifying  = "verifying"
	Completed  = "completed"
)

// Maintenance is one scheduled maintenance: a change window with its
// upgrades, or a rollout.
type Maintenance struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	Status         string    `json:"status"`
	ScheduledFor   time.Time `json:"scheduled_for"`
	ScheduledUntil time.Time `json:"scheduled_until,omitzero"`
	Components     []string  `json:"components"`
	Body           string    `json:"body"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Feed is the status feed.
type Feed struct {
	UpdatedAt             time.Time     `json:"updated_at"`
	ScheduledMaintenances []Maintenance `json:"scheduled_maintenances"`
}

// Sort orders the maintenances newest first, then by ID.
func (f *Feed) Sort() {
	slices.SortFunc(f.ScheduledMaintenances, func(a, b Maintenance) int {
		if c := b.ScheduledFor.Compare(a.ScheduledFor); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// Atom writes the feed as Atom: one entry per maintenance, its status in
// the title. self is the feed's own URL.
func Atom(f Feed, self string) (string, error) {
	af := &feeds.Feed{Title: "upfactory: maintenance and rollouts", Link: &feeds.Link{Href: self}, Id: self,
		Description: "Scheduled maintenance windows and the rollouts of the services upfactory delivers", Updated: f.UpdatedAt}
	for _, m := range f.ScheduledMaintenances {
		af.Items = append(af.Items, &feeds.Item{
			Id:          self + "#" + m.ID,
			Title:       fmt.Sprintf("[%s] %s", m.Status, m.Name),
			Link:        &feeds.Link{Href: self + "#" + m.ID},
			Description: html.EscapeString(m.Body), // the summary is HTML: the body is text
			Created:     m.ScheduledFor,
			Updated:     m.UpdatedAt,
		})
	}
	return af.ToAtom()
}
