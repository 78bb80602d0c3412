package readout_test

import (
	"encoding/xml"
	"errors"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/upfactory/upfactory/readout"
)

// charted is the readout of history() with a chart in its last section.
func charted() *readout.Readout {
	r := readout.Build(history())
	last := &r.Sections[len(r.Sections)-1]
	last.Charts = []readout.Chart{{Title: "p95 latency per service", Unit: "seconds", Bars: []readout.Bar{
		{Label: "shop", Before: 0.8, After: 0.4, Sources: []int64{30, 40}},
		{Label: "checkout", Before: 1.2, After: 1.1, Sources: []int64{41}},
	}}}
	return r
}

// page is the parsed HTML: the text of its headings, the cells of its
// table rows, and the bars of each of its charts.
type page struct {
	h1, h2, paras []string
	rows          [][]string
	charts        [][]bar
}

type bar struct {
	class         string
	width, height float64
}

var svgPart = regexp.MustCompile(`(?s)<svg[ >].*?</svg>`)

// mustParse parses out as XML, which the page is written to be as well as
// HTML5, and each of its <svg> parts on its own. Every attribute of an SVG
// must be free of NaN and infinities, and every bar of finite,
// non-negative size.
func mustParse(tb testing.TB, out string) page {
	tb.Helper()
	var p page
	var text *string // the heading or cell being read
	var row []string
	d := xml.NewDecoder(strings.NewReader(out))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("page is not well formed: %v\n%s", err, out)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "h1":
				p.h1 = append(p.h1, "")
				text = &p.h1[len(p.h1)-1]
			case "h2":
				p.h2 = append(p.h2, "")
				text = &p.h2[len(p.h2)-1]
			case "p":
				p.paras = append(p.paras, "")
				text = &p.paras[len(p.paras)-1]
			case "tr":
				row = []string{}
			case "td", "th":
				row = append(row, "")
				text = &row[len(row)-1]
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "h1", "h2", "p", "td", "th":
				text = nil
			case "tr":
				p.rows = append(p.rows, row)
			}
		case xml.CharData:
			if text != nil {
				*text += string(t)
			}
		}
	}
	for _, s := range svgPart.FindAllString(out, -1) {
		p.charts = append(p.charts, mustParseSVG(tb, s))
	}
	return p
}

func mustParseSVG(tb testing.TB, s string) []bar {
	tb.Helper()
	var bars []bar
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return bars
		}
		if err != nil {
			tb.Fatalf("svg is not well formed: %v\n%s", err, s)
		}
		e, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		for _, a := range e.Attr {
			if strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf") {
				tb.Errorf("<%s %s=%q>", e.Name.Local, a.Name.Local, a.Value)
			}
		}
		if e.Name.Local != "rect" || !strings.HasPrefix(attr(e, "class"), "bar ") {
			continue
		}
		b := bar{class: strings.TrimPrefix(attr(e, "class"), "bar ")}
		for _, v := range []struct {
			name string
			to   *float64
		}{{"width", &b.width}, {"height", &b.height}, {"x", new(float64)}, {"y", new(float64)}} {
			f, err := strconv.ParseFloat(attr(e, v.name), 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
				tb.Errorf("bar %s=%q: want a finite non-negative number", v.name, attr(e, v.name))
			}
			*v.to = f
		}
		bars = append(bars, b)
	}
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestHTMLHeadingsFiguresAndSources(t *testing.T) {
	r := charted()
	out := readout.HTML(r)
	p := mustParse(t, out)
	if !slices.Equal(p.h1, []string{"Executive readout"}) {
		t.Errorf("h1 %q", p.h1)
	}
	if !strings.Contains(out, "2026-11-01 00:00 – 2026-11-02 00:00 UTC") {
		t.Errorf("the period is not written as in the markdown readout")
	}
	var headings []string
	for _, s := range r.Sections {
		headings = append(headings, s.Heading)
		if !slices.Contains(p.paras, s.Text) {
			t.Errorf("%s: text %q missing", s.Heading, s.Text)
		}
		for _, f := range s.Figures {
			var want []string
			for _, q := range f.Sources {
				want = append(want, "#"+strconv.FormatInt(q, 10))
			}
			if !slices.ContainsFunc(p.rows, func(row []string) bool {
				return len(row) == 3 && row[0] == f.Name && row[2] == strings.Join(want, ", ")
			}) {
				t.Errorf("no row for %s with sources %s in %q", f.Name, strings.Join(want, ", "), p.rows)
			}
		}
	}
	if !slices.Equal(p.h2, headings) {
		t.Errorf("h2 %q, want %q", p.h2, headings)
	}
	for _, want := range [][]string{
		{"upgrades delivered", "1 upgrades", "#40"},
		{"lead time (median)", "2h0m0s", "#40"},
		{"change failure rate", "0%", "#40"},
		{"time to restore (median)", "6m0s", "#12"},
	} {
		if !slices.ContainsFunc(p.rows, func(row []string) bool { return slices.Equal(row, want) }) {
			t.Errorf("no row %q in %q", want, p.rows)
		}
	}
	for _, want := range []string{"<dt>Deployments</dt><dd>1</dd>", "<dt>Regressions caught</dt><dd>1</dd>", "<dt>Lead time (median)</dt><dd>2h0m0s</dd>",
		"<title>shop: before 800ms, after 400ms; sources #30, #40</title>", "shop: #30, #40; checkout: #41", `role="img"`, `viewBox="0 0 `} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if len(p.charts) != 1 || len(p.charts[0]) != 4 {
		t.Errorf("charts %v: want one of two before/after pairs", p.charts)
	}
}

func TestHTMLEscapesWhatTheRecordsSay(t *testing.T) {
	r := charted()
	attack := `<script>alert(1)</script>`
	r.Sections[0].Text = attack
	r.Sections[1].Heading = `</h2><SCRIPT src=x>`
	r.Sections[1].Figures[0].Name = `<img src=x onerror=alert(1)>`
	c := &r.Sections[3].Charts[0]
	c.Title, c.Unit = `</title><script>`, `"><script>`
	c.Bars[0].Label = `</text></svg><script>alert(1)</script>`
	out := readout.HTML(r)
	if strings.Contains(strings.ToLower(out), "<script") || strings.Contains(out, "<img") {
		t.Errorf("unescaped markup from the records:\n%s", out)
	}
	if !strings.Contains(out, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("the section text is not shown escaped")
	}
	p := mustParse(t, out)
	if p.h2[0] != readout.WhatChanged || p.h2[1] != `</h2><SCRIPT src=x>` {
		t.Errorf("headings %q", p.h2)
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	out := readout.HTML(charted())
	rest := strings.ReplaceAll(out, `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, no := range []string{"http://", "https://", "<script", "<link", "<img", "@import", "url(", "//"} {
		if strings.Contains(rest, no) {
			t.Errorf("page holds %q", no)
		}
	}
	for _, want := range []string{"<!DOCTYPE html>", `<meta charset="utf-8"/>`, `name="viewport"`, "<style>", "@media print", "max-width", "system-ui"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHTMLBarsAreScaledToTheChartsLargestValue(t *testing.T) {
	for _, tc := range []struct {
		name          string
		before, after float64
		other         float64 // a second bar's before and after
		want          [2]float64
	}{
		{"half", 10, 5, 0, [2]float64{1, 0.5}},
		{"half of another bar", 10, 5, 20, [2]float64{0.5, 0.25}},
		{"all zero", 0, 0, 0, [2]float64{0, 0}},
		{"negative draws nothing", -3, 6, 0, [2]float64{0, 1}},
		{"NaN draws nothing", math.NaN(), 6, 0, [2]float64{0, 1}},
		{"infinity draws nothing", math.Inf(1), 6, 3, [2]float64{0, 1}},
		{"all not numbers", math.NaN(), math.Inf(-1), math.NaN(), [2]float64{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := charted()
			r.Sections[3].Charts = []readout.Chart{{Title: "cost", Unit: "USD", Bars: []readout.Bar{
				{Label: "shop", Before: tc.before, After: tc.after, Sources: []int64{7}},
				{Label: "other", Before: tc.other, After: tc.other},
			}}}
			p := mustParse(t, readout.HTML(r))
			if len(p.charts) != 1 || len(p.charts[0]) != 4 {
				t.Fatalf("charts %v", p.charts)
			}
			bars := p.charts[0]
			if bars[0].class != "before" || bars[1].class != "after" {
				t.Fatalf("bars %v: want before then after", bars)
			}
			full := 0.0
			for _, b := range bars {
				full = max(full, b.width)
				if b.height <= 0 {
					t.Errorf("bar %v has no height", b)
				}
			}
			if tc.want != [2]float64{0, 0} && full == 0 {
				t.Fatalf("no bar drawn: %v", bars)
			}
			for i, want := range tc.want {
				if got := bars[i].width; math.Abs(got-want*full) > 0.01 {
					t.Errorf("%s bar %.2f long, want %.2f of the longest %.2f", bars[i].class, got, want, full)
				}
			}
		})
	}
}

func TestHTMLWritesNoNaNOrInfinity(t *testing.T) {
	r := charted()
	r.Sections[0].Figures[0].Value = math.NaN()
	r.Sections[0].Figures[1].Value = math.Inf(1)
	r.Sections[3].Figures[0].Value = math.Inf(-1) // a ratio
	r.Sections[3].Figures[1].Value = math.NaN()   // seconds
	r.Sections[3].Charts = append(r.Sections[3].Charts, readout.Chart{Title: "cost", Unit: "USD", Bars: []readout.Bar{
		{Label: "shop", Before: math.NaN(), After: math.Inf(1)},
		{Label: "api", Before: math.Inf(-1), After: -3},
	}}, readout.Chart{Title: "share", Unit: "ratio", Bars: []readout.Bar{{Label: "shop", Before: math.NaN(), After: math.Inf(1)}}})
	r.DORA = readout.DORA{Deployments: 2, LeadTimeSeconds: math.NaN(), ChangeFailureRate: math.Inf(1), TimeToRestore: math.Inf(-1)}
	out := readout.HTML(r)
	for _, no := range []string{"NaN", "Inf"} {
		if strings.Contains(out, no) {
			t.Errorf("page holds %q", no)
		}
	}
	if !strings.Contains(out, ">-3.00 USD</text>") {
		t.Errorf("a negative value keeps its label")
	}
	if p := mustParse(t, out); len(p.charts) != 3 {
		t.Errorf("%d charts, want 3", len(p.charts))
	}
}

func TestHTMLOfAnEmptyPeriodHasNoTableNorChart(t *testing.T) {
	x := history()
	x.From, x.To = at(100), at(200)
	x.Keys.HasData = false
	x.Keys.Deployments.Value = 0
	r := readout.Build(x)
	if r.HasData {
		t.Fatal("the period is not empty")
	}
	r.Sections[0].Charts = []readout.Chart{{Title: "nothing", Bars: []readout.Bar{{Label: "shop"}}}}
	out := readout.HTML(r)
	for _, no := range []string{"<table", "<svg", "<dl"} {
		if strings.Contains(out, no) {
			t.Errorf("an empty period shows %q", no)
		}
	}
	p := mustParse(t, out)
	if len(p.h2) != 4 || strings.Count(out, "Nothing is on record") != 4 {
		t.Errorf("an empty period says so under each heading: %q", p.h2)
	}
}

func TestHTMLIsDeterministic(t *testing.T) {
	a, b := readout.HTML(charted()), readout.HTML(charted())
	if a != b {
		t.Error("two renders of one readout differ")
	}
}

func FuzzHTML(f *testing.F) {
	f.Add("What changed", "<script>alert(1)</script>", "shop", "USD", 10.0, 5.0, int64(12), true)
	f.Add("", "", "", "seconds", math.NaN(), math.Inf(1), int64(-1), true)
	f.Add("\x00\xff<", "]]>&amp;", "</svg>", "ratio", -1.0, 1e308, int64(0), false)
	f.Fuzz(func(t *testing.T, heading, text, label, unit string, before, after float64, seq int64, hasData bool) {
		r := &readout.Readout{HasData: hasData, RegressionsCaught: int(seq),
			DORA: readout.DORA{Deployments: int(seq), LeadTimeSeconds: before, ChangeFailureRate: after, TimeToRestore: before}}
		r.Period.From, r.Period.To = t0, at(float64(seq%1000))
		r.Sections = []readout.Section{{Heading: heading, Text: text,
			Figures: []readout.Figure{{Name: label, Value: before, Unit: unit, Sources: []int64{seq}}, {Name: text, Value: after, Unit: unit}},
			Charts: []readout.Chart{{Title: heading, Unit: unit, Bars: []readout.Bar{
				{Label: label, Before: before, After: after, Sources: []int64{seq, seq + 1}},
				{Label: text, Before: after, After: before},
			}}},
		}}
		out := readout.HTML(r)
		if strings.Contains(strings.ToLower(out), "<script") {
			t.Fatalf("unescaped script:\n%s", out)
		}
		p := mustParse(t, out)
		if want := map[bool]int{true: 1}[hasData]; len(p.charts) != want {
			t.Fatalf("%d charts, want %d", len(p.charts), want)
		}
	})
}
