package measure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/argtmpl"
	"github.com/upfactory/upfactory/provider"
)

// The metric providers this package measures with.
func init() {
	provider.RegisterMetric(provider.Metric{Type: upfactory.ProviderBuiltin, Validate: validateBuiltin})
	provider.RegisterMetric(provider.Metric{Type: upfactory.ProviderPrometheus, Validate: validatePrometheus, Keys: []string{"query"}})
	provider.RegisterMetric(provider.Metric{Type: upfactory.ProviderProbe, Validate: validateProbe, Keys: []string{"journey"}})
	provider.RegisterMetric(provider.Metric{Type: upfactory.ProviderExec, Validate: validateExec, Keys: []string{"command"}})
}

// BuiltinMetrics are the metrics the router and the exec target measure.
var BuiltinMetrics = []string{
	upfactory.MetricErrorRate, upfactory.MetricErrorRate4xx,
	upfactory.MetricP50Latency, upfactory.MetricP95Latency, upfactory.MetricP99Latency,
	upfactory.MetricRequestRate, upfactory.MetricEndpointErrors, upfactory.MetricConversion,
	upfactory.MetricCPU, upfactory.MetricMemory,
}

var probeMetrics = []string{upfactory.MetricProbeFailures, upfactory.MetricProbeLatency}

func validateBuiltin(svc *upfactory.Service, c *upfactory.Check, p provider.Problems) (string, bool) {
	switch {
	case c.Metric == "":
		p.Report("metric", "required; one of: %s", strings.Join(BuiltinMetrics, ", "))
		return "", false
	case !slices.Contains(BuiltinMetrics, c.Metric):
		p.Report("metric", "unknown metric %q; the builtin provider knows: %s (use provider: prometheus or exec for others)", c.Metric, strings.Join(BuiltinMetrics, ", "))
		return "", false
	}
	switch c.Metric {
	case upfactory.MetricConversion:
		for _, f := range []struct{ key, v string }{{"numerator", c.Numerator}, {"denominator", c.Denominator}} {
			if err := upfactory.CheckRoute(f.v); err != nil {
				p.Report(f.key, "%v", err)
			}
		}
	case upfactory.MetricCPU, upfactory.MetricMemory:
		if svc.Target.Type != "exec" {
			p.Report("metric", "%s is read from the processes of an exec target; this service's target is %q (use provider: prometheus)", c.Metric, svc.Target.Type)
		}
	default:
		if r, err := provider.LookupRouter(svc.Router.Type); err == nil && !r.Counts {
			p.Report("metric", "%s is counted by upfactory's own router (builtin or standalone); this service's router, %s, keeps its own counts: use provider: prometheus", c.Metric, svc.Router.Type)
		}
	}
	if c.Metric != upfactory.MetricConversion && (c.Numerator != "" || c.Denominator != "") {
		p.Report("numerator", "only the conversion metric takes numerator and denominator")
	}
	return upfactory.MetricUnit(c.Metric), true
}

func validatePrometheus(_ *upfactory.Service, c *upfactory.Check, p provider.Problems) (string, bool) {
	switch {
	case strings.TrimSpace(c.Query) == "":
		p.Report("query", "required: a PromQL template giving one series per version, such as sum(rate(http_requests_total{version=\"{{.Version}}\",code=~\"5..\"}[{{.Window}}])) / sum(rate(http_requests_total{version=\"{{.Version}}\"}[{{.Window}}]))")
	case p.Config() != nil && p.Config().Prometheus == nil:
		p.Report("provider", "provider prometheus needs a top-level prometheus: section with its address")
	}
	if msg := argtmpl.Fields(c.Query, "Service", "Version", "Pool", "Window"); msg != "" {
		p.Report("query", "%s", msg)
	}
	return upfactory.MetricUnit(c.Metric), true
}

func validateProbe(svc *upfactory.Service, c *upfactory.Check, p provider.Problems) (string, bool) {
	if !slices.Contains(probeMetrics, c.Metric) {
		p.Report("metric", "the probe provider measures %s; got %q", strings.Join(probeMetrics, " or "), c.Metric)
	}
	var known []string
	for _, j := range svc.Compat.Journeys {
		known = append(known, j.Name)
	}
	switch {
	case c.Journey == "":
		p.Report("journey", "required: the name of one of compat.journeys")
	case !slices.Contains(known, c.Journey):
		p.Report("journey", "no journey %q in compat.journeys (known: %s)", c.Journey, strings.Join(known, ", "))
	}
	return upfactory.MetricUnit(c.Metric), true
}

func validateExec(_ *upfactory.Service, c *upfactory.Check, p provider.Problems) (string, bool) {
	if len(c.Command) == 0 || c.Command[0] == "" {
		p.Report("command", "required: the argv of a command that prints the metric's value for one version")
	}
	for i, a := range c.Command {
		if msg := argtmpl.Fields(a, "Service", "Version", "Pool", "Addr"); msg != "" {
			p.Report(fmt.Sprintf("command[%d]", i), "%s", msg)
		}
	}
	return upfactory.MetricUnit(c.Metric), true
}
