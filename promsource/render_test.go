package promsource_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/upfactory/upfactory/promsource"
)

func TestRender(t *testing.T) {
	v := promsource.Vars{Service: "checkout", Version: "1.2.0", Pool: "canary", Window: 90 * time.Second}
	for _, tc := range []struct {
		name, expr string
		vars       promsource.Vars
		want       string
	}{
		{"service", `up{job="{{.Service}}"}`, v, `up{job="checkout"}`},
		{"version", `x{version="{{.Version}}"}`, v, `x{version="1.2.0"}`},
		{"pool", `x{pool="{{.Pool}}"}`, v, `x{pool="canary"}`},
		{"window 90s", `rate(x[{{.Window}}])`, v, `rate(x[1m30s])`},
		{"window 36h", `[{{.Window}}]`, promsource.Vars{Window: 36 * time.Hour}, `[1d12h]`},
		{"window 1500ms", `[{{.Window}}]`, promsource.Vars{Window: 1500 * time.Millisecond}, `[1s500ms]`},
		{"window below a millisecond", `[{{.Window}}]`, promsource.Vars{Window: 1500 * time.Microsecond}, `[1ms]`},
		{"window zero", `[{{.Window}}]`, promsource.Vars{}, `[0s]`},
		{"all", `sum(rate(r{job="{{.Service}}",version="{{.Version}}",pool="{{.Pool}}"}[{{.Window}}]))`, v,
			`sum(rate(r{job="checkout",version="1.2.0",pool="canary"}[1m30s]))`},
		{"quote and backslash escaped", `x{v="{{.Version}}"}`, promsource.Vars{Version: `1"} or vector(1) #\`},
			`x{v="1\"} or vector(1) #\\"}`},
		{"newline escaped", `x{v="{{.Version}}"}`, promsource.Vars{Version: "a\nb"}, `x{v="a\nb"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := promsource.Render(tc.expr, tc.vars)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.expr, got, tc.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, expr string
		vars       promsource.Vars
		want       []string // substrings of the error
	}{
		{"unknown field", `x{v="{{.Versoin}}"}`, promsource.Vars{}, []string{`x{v=\"{{.Versoin}}\"}`, "Versoin"}},
		{"unclosed action", `x{v="{{.Version"}`, promsource.Vars{}, []string{"parsing query template", `{{.Version`}},
		{"negative window", `[{{.Window}}]`, promsource.Vars{Window: -time.Second}, []string{"negative", "-1s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := promsource.Render(tc.expr, tc.vars)
			if err == nil {
				t.Fatalf("Render(%q): no error", tc.expr)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

var renderedSelector = regexp.MustCompile(`^x\{s="((?:[^"\\]|\\.)*)",v="((?:[^"\\]|\\.)*)",p="((?:[^"\\]|\\.)*)"\}\[([0-9a-z]+)\]$`)

// FuzzRender checks that any template is handled without a panic, that no
// value can escape its PromQL string, and that the window parses back as
// the same Prometheus duration.
func FuzzRender(f *testing.F) {
	f.Add(`rate(x[{{.Window}}])`, "checkout", "1.2.0", "canary", int64(90_000))
	f.Add(`{{.Service`, `a"b`, `c\d`, "\n", int64(0))
	f.Add(`{{range .}}{{end}}`, "", "", "", int64(1))
	f.Add(`{{template "x"}}`, "ü", "\xff", "`", int64(36*3600_000))
	f.Fuzz(func(t *testing.T, expr, service, version, pool string, windowMs int64) {
		if windowMs < 0 || windowMs > int64(100*365*24*time.Hour/time.Millisecond) {
			t.Skip()
		}
		v := promsource.Vars{Service: service, Version: version, Pool: pool, Window: time.Duration(windowMs) * time.Millisecond}
		_, _ = promsource.Render(expr, v) // must not panic

		got, err := promsource.Render(`x{s="{{.Service}}",v="{{.Version}}",p="{{.Pool}}"}[{{.Window}}]`, v)
		if err != nil {
			t.Fatal(err)
		}
		m := renderedSelector.FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("a value escaped its string: %q", got)
		}
		for i, want := range []string{service, version, pool} {
			back, err := strconv.Unquote(`"` + m[i+1] + `"`)
			if err != nil || back != want {
				t.Errorf("value %q rendered as %q, which reads back as %q (%v)", want, m[i+1], back, err)
			}
		}
		d, err := model.ParseDuration(m[4])
		if err != nil {
			t.Fatalf("window %s rendered as %q, which Prometheus does not parse: %v", v.Window, m[4], err)
		}
		if time.Duration(d) != v.Window {
			t.Errorf("window %s rendered as %q = %s", v.Window, m[4], time.Duration(d))
		}
	})
}
