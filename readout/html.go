// The HTML readout is one self-contained page an executive can open,
// forward or print: no script, no fetched font, stylesheet or image, an
// inline stylesheet with the system fonts, and each before/after chart
// drawn as inline SVG. Everything the readout says comes from the records
// (service names, reasons) and is escaped by html/template; the geometry
// of the charts is computed here, in Go, so the template only prints.

package readout

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// HTML renders the readout as one HTML5 page. The same readout gives the
// same bytes.
func HTML(r *Readout) string {
	var b strings.Builder
	// The template is fixed and the page holds only strings and slices,
	// so executing it cannot fail on any readout: an error is a bug here.
	if err := pageTemplate.Execute(&b, newPage(r)); err != nil {
		panic(fmt.Sprintf("readout: rendering html: %v", err))
	}
	return b.String()
}

// page is the readout as the template prints it: every text cleaned,
// every number formatted, every chart laid out.
type page struct {
	From, To       string // as people read them
	FromISO, ToISO string // for <time datetime>
	Summary        []stat
	Sections       []pageSection
}

type stat struct{ Name, Value string }

type pageSection struct {
	Heading, Text string
	Figures       []pageFigure
	Charts        []pageChart
}

type pageFigure struct{ Name, Value, Sources string }

type pageChart struct {
	ID, Title, Desc string
	Width, Height   string
	Groups          []pageGroup
	Sources         []string // "label: #12, #15", one per bar that has sources
}

type pageGroup struct {
	Label, Tip    string // Label is cut to fit; Tip is whole, with the sources
	LabelY        string
	Before, After pageBar
}

type pageBar struct{ X, Y, Width, Height, TextX, TextY, Value string }

// Chart geometry, in viewBox units: the pair of bars sits under its label,
// the longest bar spans barMax, its value is written after its end.
const (
	chartWidth = 640
	barX       = 8
	barMax     = 440
	barHeight  = 14
	legendH    = 30 // the legend above the first group
	groupH     = 56 // label, two bars, and the gap to the next group
	labelRunes = 60 // longer labels are cut in the chart, whole in the tooltip
	textGap    = 6  // between a bar's end and its value
	textRise   = 11 // from a bar's top to its value's baseline
	beforeY    = 18 // from a group's top to its before bar
	afterY     = 34 // from a group's top to its after bar
	labelY     = 13 // from a group's top to its label's baseline
	chartPad   = 4  // under the last group
)

func newPage(r *Readout) page {
	p := page{
		From:    r.Period.From.UTC().Format("2006-01-02 15:04"),
		To:      r.Period.To.UTC().Format("2006-01-02 15:04 MST"),
		FromISO: r.Period.From.UTC().Format(time.RFC3339),
		ToISO:   r.Period.To.UTC().Format(time.RFC3339),
	}
	if r.HasData {
		p.Summary = summary(r)
	}
	for i, s := range r.Sections {
		ps := pageSection{Heading: clean(s.Heading), Text: clean(s.Text)}
		if r.HasData {
			for _, f := range s.Figures {
				ps.Figures = append(ps.Figures, pageFigure{Name: clean(f.Name), Value: shown(f), Sources: sources(f.Sources)})
			}
			for j, c := range s.Charts {
				if len(c.Bars) > 0 {
					ps.Charts = append(ps.Charts, layout(c, fmt.Sprintf("chart-%d-%d", i+1, j+1)))
				}
			}
		}
		p.Sections = append(p.Sections, ps)
	}
	return p
}

// summary is the DORA block. A lead time or a time to restore of zero
// means nothing was measured, not an instant: it says so.
func summary(r *Readout) []stat {
	d := r.DORA
	lead, restore := shown(Figure{Value: d.LeadTimeSeconds, Unit: "seconds"}), shown(Figure{Value: d.TimeToRestore, Unit: "seconds"})
	if d.Deployments == 0 && d.LeadTimeSeconds == 0 {
		lead = "no deployment"
	}
	if d.TimeToRestore == 0 {
		restore = "no incident restored"
	}
	return []stat{
		{"Deployments", strconv.Itoa(d.Deployments)},
		{"Lead time (median)", lead},
		{"Change failure rate", shown(Figure{Value: d.ChangeFailureRate, Unit: "ratio"})},
		{"Time to restore (median)", restore},
		{"Regressions caught", strconv.Itoa(r.RegressionsCaught)},
	}
}

// layout draws c: bar lengths are scaled to the largest finite positive
// value of the chart; a negative, NaN or infinite value draws no bar but
// keeps its label.
func layout(c Chart, id string) pageChart {
	top := 0.0
	for _, b := range c.Bars {
		top = max(top, drawable(b.Before), drawable(b.After))
	}
	length := func(v float64) float64 {
		if top == 0 {
			return 0
		}
		return drawable(v) / top * barMax
	}
	bar := func(v float64, y float64) pageBar {
		w := length(v)
		return pageBar{X: num(barX), Y: num(y), Width: num(w), Height: num(barHeight), TextX: num(barX + w + textGap), TextY: num(y + textRise),
			Value: shown(Figure{Value: v, Unit: c.Unit})}
	}
	pc := pageChart{ID: id, Title: clean(c.Title), Width: num(chartWidth), Height: num(legendH + float64(len(c.Bars))*groupH + chartPad)}
	var desc []string
	for i, b := range c.Bars {
		y := legendH + float64(i)*groupH
		label := clean(b.Label)
		g := pageGroup{Label: cut(label, labelRunes), LabelY: num(y + labelY), Before: bar(b.Before, y+beforeY), After: bar(b.After, y+afterY)}
		g.Tip = fmt.Sprintf("%s: before %s, after %s", label, g.Before.Value, g.After.Value)
		desc = append(desc, g.Tip)
		if len(b.Sources) > 0 {
			g.Tip += "; sources " + sources(b.Sources)
			pc.Sources = append(pc.Sources, label+": "+sources(b.Sources))
		}
		pc.Groups = append(pc.Groups, g)
	}
	pc.Desc = strings.Join(desc, ". ") + "."
	return pc
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// drawable is the length v can be drawn with: none unless finite and positive.
func drawable(v float64) float64 {
	if !finite(v) || v < 0 {
		return 0
	}
	return v
}

// notANumber stands for a NaN or an infinity, which value would print as such.
const notANumber = "n/a"

// shown is value(f), except for a value that is not a number.
func shown(f Figure) string {
	if !finite(f.Value) {
		return notANumber
	}
	f.Unit = clean(f.Unit)
	return value(f)
}

// num writes a coordinate with at most two decimals.
func num(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// sources writes log-entry sequence numbers as "#12, #15".
func sources(seqs []int64) string {
	if len(seqs) == 0 {
		return "—"
	}
	s := make([]string, len(seqs))
	for i, q := range seqs {
		s[i] = "#" + strconv.FormatInt(q, 10)
	}
	return strings.Join(s, ", ")
}

// clean replaces what no HTML or SVG text may hold (invalid UTF-8,
// control characters, surrogates) with U+FFFD, so the page stays well
// formed whatever the records say.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r >= 0x7f && r <= 0x9f, r >= 0xd800 && r <= 0xdfff, r == 0xfffe, r == 0xffff:
			return utf8.RuneError
		}
		return r
	}, s)
}

func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

var pageTemplate = template.Must(template.New("readout").Parse(pageHTML))

// pageHTML is written as well-formed XML as well as HTML5 (void elements
// closed, no bare ampersand), so that tests can parse it without an HTML
// parser.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>Executive readout, {{.From}} – {{.To}}</title>
<style>
:root { color-scheme: light; }
body { margin: 0; color: #1d2329; background: #fff; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 48rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
h1 { font-size: 1.75rem; line-height: 1.2; margin: 0; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.5rem; padding-bottom: 0.25rem; border-bottom: 1px solid #d0d7de; }
.period { margin: 0.25rem 0 1.5rem; color: #57606a; }
.summary { display: grid; grid-template-columns: repeat(auto-fit, minmax(8.5rem, 1fr)); gap: 0.5rem; margin: 0; }
.summary div { border: 1px solid #d0d7de; border-radius: 6px; padding: 0.5rem 0.75rem; }
.summary dt { font-size: 0.8rem; color: #57606a; }
.summary dd { margin: 0; font-size: 1.2rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.table { overflow-x: auto; }
table { width: 100%; border-collapse: collapse; margin: 0.75rem 0; font-size: 0.95rem; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { font-weight: 600; color: #57606a; }
td.value { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
th.value { text-align: right; }
td.sources { color: #57606a; font-size: 0.85rem; }
figure { margin: 1rem 0; }
figcaption { font-weight: 600; }
svg { display: block; width: 100%; height: auto; }
.chart-sources { margin: 0.25rem 0 0; color: #57606a; font-size: 0.8rem; }
@media print {
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  section, figure, .summary div { break-inside: avoid; }
  h2 { break-after: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  @page { margin: 1.5cm; }
}
</style>
</head>
<body>
<main>
<header>
<h1>Executive readout</h1>
<p class="period"><time datetime="{{.FromISO}}">{{.From}}</time> – <time datetime="{{.ToISO}}">{{.To}}</time></p>
</header>
{{- if .Summary}}
<dl class="summary" aria-label="Delivery summary">
{{- range .Summary}}
<div><dt>{{.Name}}</dt><dd>{{.Value}}</dd></div>
{{- end}}
</dl>
{{- end}}
{{- range .Sections}}
<section>
<h2>{{.Heading}}</h2>
<p>{{.Text}}</p>
{{- if .Figures}}
<div class="table">
<table>
<thead><tr><th scope="col">Figure</th><th scope="col" class="value">Value</th><th scope="col">Sources (log entries)</th></tr></thead>
<tbody>
{{- range .Figures}}
<tr><td>{{.Name}}</td><td class="value">{{.Value}}</td><td class="sources">{{.Sources}}</td></tr>
{{- end}}
</tbody>
</table>
</div>
{{- end}}
{{- range .Charts}}
<figure>
<figcaption>{{.Title}}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {{.Width}} {{.Height}}" aria-labelledby="{{.ID}}-title {{.ID}}-desc" font-size="12">
<title id="{{.ID}}-title">{{.Title}}</title>
<desc id="{{.ID}}-desc">{{.Desc}}</desc>
<g class="legend">
<rect x="8" y="6" width="12" height="12" fill="#E69F00"/><text x="26" y="16">before</text>
<rect x="88" y="6" width="12" height="12" fill="#0072B2"/><text x="106" y="16">after</text>
</g>
{{- range .Groups}}
<g class="group">
<title>{{.Tip}}</title>
<text x="8" y="{{.LabelY}}" font-size="13" font-weight="600" fill="#1d2329">{{.Label}}</text>
<rect class="bar before" x="{{.Before.X}}" y="{{.Before.Y}}" width="{{.Before.Width}}" height="{{.Before.Height}}" fill="#E69F00"/>
<text x="{{.Before.TextX}}" y="{{.Before.TextY}}" fill="#1d2329">{{.Before.Value}}</text>
<rect class="bar after" x="{{.After.X}}" y="{{.After.Y}}" width="{{.After.Width}}" height="{{.After.Height}}" fill="#0072B2"/>
<text x="{{.After.TextX}}" y="{{.After.TextY}}" fill="#1d2329">{{.After.Value}}</text>
</g>
{{- end}}
</svg>
{{- if .Sources}}
<p class="chart-sources">Sources (log entries): {{range $i, $s := .Sources}}{{if $i}}; {{end}}{{$s}}{{end}}</p>
{{- end}}
</figure>
{{- end}}
</section>
{{- end}}
</main>
</body>
</html>
`
