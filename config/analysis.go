package config

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

// analysisDefaults fills what an analysis section leaves out.
func analysisDefaults(a *upfactory.AnalysisSpec) {
	setDefault(&a.Alpha, upfactory.DefaultAlpha)
	setDefault(&a.Score.Pass, upfactory.DefaultScorePass)
	setDefault(&a.Score.Marginal, upfactory.DefaultScoreMarginal)
	setDefault(&a.MaxErrors, upfactory.DefaultMaxErrors)
	for i := range a.Checks {
		c := &a.Checks[i]
		setDefault(&c.Provider, upfactory.ProviderBuiltin)
		if c.Provider == upfactory.ProviderProbe {
			setDefault(&c.Metric, upfactory.MetricProbeFailures)
		}
		setDefault(&c.Weight, 1)
		if c.Judge != nil {
			setDefault(&c.Judge.Tolerance, "10%")
		}
	}
}

func (l *loader) analysis(p string, s *upfactory.Service, analysisSteps int) {
	a := &s.Analysis
	if a.Interval <= 0 {
		l.report(p+".interval", "must be more than 0")
	}
	if a.MinSamples < 1 {
		l.report(p+".min_samples", "must be at least 1, got %d", a.MinSamples)
	}
	if !(a.Alpha > 0 && a.Alpha < 0.5) {
		l.report(p+".alpha", "must be more than 0 and less than 0.5, such as 0.05 (the chance of failing a rollout that is no worse)")
	}
	if a.MaxErrors < 1 {
		l.report(p+".max_consecutive_errors", "must be at least 1, got %d", a.MaxErrors)
	}
	sc := a.Score
	switch {
	case !(sc.Pass > 0 && sc.Pass <= 100):
		l.report(p+".score.pass", "must be more than 0 and at most 100, got %g", sc.Pass)
	case !(sc.Marginal >= 0 && sc.Marginal <= sc.Pass):
		l.report(p+".score.marginal", "must be from 0 to pass (%g), got %g", sc.Pass, sc.Marginal)
	}
	if analysisSteps > 0 && len(a.Checks) == 0 {
		l.report(p+".checks", "the strategy has analysis steps but there are no checks, so they would always pass")
	}
	names := map[string]int{}
	for i := range a.Checks {
		cp := fmt.Sprintf("%s.checks[%d]", p, i)
		c := &a.Checks[i]
		l.check(cp, s, c, analysisSteps)
		// Two limit checks of one metric may go unnamed, as before names
		// existed; judged and named ones are told apart by name.
		id := c.ID()
		if id == "" {
			continue
		}
		if first, dup := names[id]; dup && (c.Name != "" || c.Judged() || a.Checks[first].Name != "" || a.Checks[first].Judged()) {
			l.report(cp+".name", "two checks are called %q (the first at %s): give each a name", id, l.where(fmt.Sprintf("%s.checks[%d]", p, first)))
		} else if !dup {
			names[id] = i
		}
	}
}

func (l *loader) check(p string, s *upfactory.Service, c *upfactory.Check, analysisSteps int) {
	mp, err := provider.LookupMetric(c.Provider)
	if err != nil {
		l.report(p+".provider", "%s", upfactory.ErrorMessage(err))
		return
	}
	unit, ok := mp.Validate(s, c, l.section(p))
	if !ok {
		return
	}
	if c.Provider != upfactory.ProviderBuiltin && c.Metric == "" && c.Name == "" {
		l.report(p+".name", "required: a name for the check (or a metric)")
	}
	for _, key := range slices.Sorted(maps.Keys(provider.MetricKeys())) {
		if typ := provider.MetricKeys()[key]; typ != c.Provider && l.has(p+"."+key) {
			l.report(p+"."+key, "only provider %s takes a %s", typ, key)
		}
	}
	if c.Timeout < 0 {
		l.report(p+".timeout", "must not be negative")
	}
	switch c.Direction {
	case "", upfactory.DirectionHigherIsWorse, upfactory.DirectionLowerIsWorse:
	default:
		l.report(p+".direction", "must be %s or %s, got %q", upfactory.DirectionHigherIsWorse, upfactory.DirectionLowerIsWorse, c.Direction)
	}
	if !(c.Weight > 0) || math.IsInf(c.Weight, 0) {
		l.report(p+".weight", "must be more than 0, got %g", c.Weight)
	}
	if c.For < 0 {
		l.report(p+".for", "must not be negative")
	}

	maxVs, minVs := l.has(p+".max_vs_baseline") || c.MaxVsBaseline != 0, l.has(p+".min_vs_baseline") || c.MinVsBaseline != 0
	limits := c.Max != "" || c.Min != "" || maxVs || minVs
	if c.Judge != nil {
		l.judge(p, c, unit, limits, analysisSteps)
		return
	}
	if c.Critical {
		l.report(p+".critical", "only judged checks take critical: a check with a limit always fails the rollout alone")
	}
	if !limits {
		l.report(p, "needs a limit (max, min, max_vs_baseline or min_vs_baseline) or judge:")
	}
	if c.Metric == upfactory.MetricEndpointErrors && c.Provider == upfactory.ProviderBuiltin && (c.Min != "" || maxVs || minVs) {
		l.report(p, "endpoint_errors is already a rise over the stable version: it takes max only")
	}
	if maxVs && !(c.MaxVsBaseline > 0) {
		l.report(p+".max_vs_baseline", "must be more than 0, such as 1.3 (canary at most 30%% above stable)")
	}
	if minVs && !(c.MinVsBaseline > 0) {
		l.report(p+".min_vs_baseline", "must be more than 0, such as 0.9 (canary at least 90%% of stable)")
	}
	if c.Max != "" {
		if v, err := parseLimit(unit, c.Max); err != nil {
			l.report(p+".max", "%v", err)
		} else {
			c.Limit = v
		}
	}
	if c.Min != "" {
		if v, err := parseLimit(unit, c.Min); err != nil {
			l.report(p+".min", "%v", err)
		} else {
			c.Floor = v
		}
	}
}

func (l *loader) judge(p string, c *upfactory.Check, unit string, limits bool, analysisSteps int) {
	jp := p + ".judge"
	if limits {
		l.report(jp, "a judged check has no max, min, max_vs_baseline or min_vs_baseline: the judge's tolerance is its bar")
	}
	if c.For != 0 {
		l.report(p+".for", "a judged check has no for: the judge's repeated looks decide when a shift is real")
	}
	if analysisSteps == 0 {
		l.report(jp, "judged checks look during analysis steps, and the strategy has none")
	}
	if c.Provider == upfactory.ProviderBuiltin {
		switch c.Metric {
		case upfactory.MetricRequestRate, upfactory.MetricEndpointErrors:
			l.report(jp, "%s cannot be judged: give it a max instead", c.Metric)
		}
	}
	j := c.Judge
	if v, err := upfactory.ParsePercent(j.Tolerance); err != nil {
		l.report(jp+".tolerance", "%v", err)
	} else if !(v >= 0) || math.IsInf(v, 0) {
		l.report(jp+".tolerance", "must not be negative, got %s", j.Tolerance)
	} else {
		j.ToleranceRatio = v
	}
	if j.Floor != "" {
		if v, err := parseLimit(unit, j.Floor); err != nil {
			l.report(jp+".floor", "%v", err)
		} else {
			j.FloorValue = v
		}
	} else {
		switch unit {
		case "duration":
			j.FloorValue = 0.001
		case "ratio":
			j.FloorValue = 0.005
		}
	}
	if j.MinSamples < 0 {
		l.report(jp+".min_samples", "must not be negative, got %d", j.MinSamples)
	}
}

func (l *loader) mirror(p string, m *upfactory.MirrorSpec) {
	if m.Duration <= 0 {
		l.report(p+".duration", "must be more than 0: how long requests are copied to the canary")
	}
	if v, err := upfactory.ParsePercent(m.Sample); err != nil {
		l.report(p+".sample", "%v", err)
	} else if !(v > 0 && v <= 1) {
		l.report(p+".sample", "must be more than 0%% and at most 100%%, got %s", m.Sample)
	} else {
		m.SampleRatio = v
	}
	if v, err := upfactory.ParsePercent(m.MaxMismatch); err != nil {
		l.report(p+".max_mismatch", "%v", err)
	} else if !(v >= 0 && v <= 1) {
		l.report(p+".max_mismatch", "must be from 0%% to 100%%, got %s", m.MaxMismatch)
	} else {
		m.MismatchLimit = v
	}
	for i, meth := range m.Methods {
		if !upfactory.IsToken(meth) || strings.ToUpper(meth) != meth {
			l.report(fmt.Sprintf("%s.methods[%d]", p, i), "%q is not an HTTP method such as GET", meth)
		}
	}
	if m.MaxBody < 0 {
		l.report(p+".max_body", "must not be negative")
	}
	if m.MinCompared < 1 {
		l.report(p+".min_compared", "must be at least 1, got %d", m.MinCompared)
	}
}

// parseLimit reads a limit in the metric's unit and returns it in the base
// unit the analysis compares against: a fraction, seconds, requests per
// second, cores or bytes. A metric of unknown unit (one a Prometheus query
// or a command defines) takes "1.5%" as 0.015, a duration as seconds, and a
// plain number as is.
func parseLimit(unit, text string) (float64, error) {
	text = strings.TrimSpace(text)
	switch unit {
	case "ratio":
		v, err := upfactory.ParsePercent(text)
		if err != nil {
			return 0, err
		}
		if !(v >= 0 && v <= 1) {
			return 0, fmt.Errorf("%s is outside 0%%–100%%", text)
		}
		return v, nil
	case "duration":
		d, err := time.ParseDuration(text)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q: want a number with a unit, such as 800ms", text)
		}
		if d <= 0 {
			return 0, fmt.Errorf("must be more than 0, got %s", text)
		}
		return d.Seconds(), nil
	case "bytes":
		b, err := humanize.ParseBytes(text)
		if err != nil {
			return 0, fmt.Errorf("invalid size %q: want bytes with a unit, such as 512MiB", text)
		}
		return float64(b), nil
	case "rate":
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("invalid rate %q: want requests per second, such as 50", text)
		}
		if v < 0 {
			return 0, fmt.Errorf("must not be negative, got %s", text)
		}
		return v, nil
	case "cores":
		return parseNumber(text)
	case "":
		if strings.HasSuffix(text, "%") {
			return upfactory.ParsePercent(text)
		}
		if d, err := time.ParseDuration(text); err == nil && strings.IndexFunc(text, isUnitLetter) >= 0 {
			return d.Seconds(), nil
		}
		v, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf("invalid limit %q: want a number, a percentage (1.5%%) or a duration (800ms)", text)
		}
		return v, nil
	}
	return 0, fmt.Errorf("unknown unit %q", unit)
}

func isUnitLetter(r rune) bool { return r >= 'a' && r <= 'z' || r == 'µ' }

func parseNumber(text string) (float64, error) {
	v, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("invalid number %q: want a number such as 50 or 1.5", text)
	}
	if v < 0 {
		return 0, fmt.Errorf("must not be negative, got %s", text)
	}
	return v, nil
}
