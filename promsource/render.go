package promsource

import (
	"fmt"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
)

// Vars are the values a query template may use.
type Vars struct {
	// Service is the service under rollout.
	Service string
	// Version is the version whose series the query selects.
	Version string
	// Pool is "stable" or "canary".
	Pool string
	// Window is the trailing window of range selectors such as
	// rate(x[{{.Window}}]); it renders as a PromQL duration (90s as 1m30s).
	Window time.Duration
}

// templateData is what a template sees: label values escaped for a PromQL
// double-quoted string, the window as a PromQL duration.
type templateData struct {
	Service, Version, Pool, Window string
}

// Render executes expr, a text/template, with v. Service, Version and Pool
// are escaped for use inside a PromQL double-quoted string
// (version="{{.Version}}"), so a quote or backslash in a value cannot end the
// string early. Window is written as Prometheus writes durations (1m30s,
// 1h, 1d), to the millisecond. A reference to a field that does not exist
// is an error.
func Render(expr string, v Vars) (string, error) {
	if v.Window < 0 {
		return "", fmt.Errorf("rendering query %q: window %s is negative", expr, v.Window)
	}
	t, err := template.New("query").Option("missingkey=error").Parse(expr)
	if err != nil {
		return "", fmt.Errorf("parsing query template %q: %w", expr, err)
	}
	data := templateData{
		Service: escapeLabelValue(v.Service),
		Version: escapeLabelValue(v.Version),
		Pool:    escapeLabelValue(v.Pool),
		Window:  FormatDuration(v.Window),
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("rendering query template %q: %w", expr, err)
	}
	return b.String(), nil
}

// FormatDuration writes d as a PromQL duration: 90s as 1m30s, 36h as 1d12h,
// 1500ms as 1s500ms. Prometheus durations stop at milliseconds, so anything
// finer is dropped; zero is 0s.
func FormatDuration(d time.Duration) string {
	return model.Duration(d.Truncate(time.Millisecond)).String()
}

// escapeLabelValue escapes s for the inside of a PromQL double-quoted
// string. PromQL strings take Go's escapes, so Go's quoting is exact.
func escapeLabelValue(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
