package config

import (
	"fmt"

	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/notify"
	"github.com/upfactory/upfactory/provider"
)

func setDefaults(c *upfactory.Config, baseDir string) {
	setDefault(&c.Server.Listen, upfactory.DefaultListen)
	setDefault(&c.Server.DataDir, upfactory.DefaultDataDir)
	c.Server.DataDir = resolve(baseDir, c.Server.DataDir)
	setDefault(&c.Server.TickInterval, upfactory.Duration(upfactory.DefaultTickInterval))
	setDefault(&c.Server.Lease, upfactory.Duration(upfactory.DefaultLease))
	for _, s := range c.Services {
		if s == nil {
			continue
		}
		t := &s.Target
		setDefault(&t.Replicas, 1)
		setDefault(&t.Readiness.Path, upfactory.DefaultReadinessPath)
		setDefault(&t.Readiness.Timeout, upfactory.Duration(upfactory.DefaultReadyTimeout))
		setDefault(&t.Readiness.Interval, upfactory.Duration(upfactory.DefaultReadyInterval))
		setDefault(&t.StopTimeout, upfactory.Duration(upfactory.DefaultStopTimeout))
		t.Dir = resolve(baseDir, t.Dir)
		if s.Flags.Path != "" {
			s.Flags.Path = resolve(baseDir, s.Flags.Path)
		}
		r := &s.Router
		if r.TLS != nil {
			if r.TLS.Cert != "" {
				r.TLS.Cert = resolve(baseDir, r.TLS.Cert)
			}
			if r.TLS.Key != "" {
				r.TLS.Key = resolve(baseDir, r.TLS.Key)
			}
		}
		setDefault(&r.Type, "builtin")
		setDefault(&r.Cookie, upfactory.DefaultCookie)
		setDefault(&r.DrainTimeout, upfactory.Duration(upfactory.DefaultDrainTimeout))
		if cs := s.Strategy.Canary; cs != nil {
			setDefault(&cs.RollbackWindow, upfactory.Duration(upfactory.DefaultRollbackWindow))
			setDefault(&cs.KeepFailedFor, upfactory.Duration(upfactory.DefaultKeepFailedFor))
		}
		if rs := s.Strategy.Rolling; rs != nil {
			setDefault(&rs.MaxSurge, 1)
			setDefault(&rs.KeepFailedFor, upfactory.Duration(upfactory.DefaultKeepFailedFor))
			rs.Replicas = max(t.Replicas, 1)
		}
		if bg := s.Strategy.BlueGreen; bg != nil {
			setDefault(&bg.RollbackWindow, upfactory.Duration(upfactory.DefaultRollbackWindow))
			setDefault(&bg.KeepFailedFor, upfactory.Duration(upfactory.DefaultKeepFailedFor))
		}
		setDefault(&s.Preflight.MaxAge, upfactory.Duration(upfactory.DefaultPreflightMaxAge))
		for _, c := range []*upfactory.PreflightCommand{s.Preflight.Backups, s.Preflight.Tagged} {
			if c != nil {
				setDefault(&c.Timeout, upfactory.Duration(upfactory.DefaultPreflightTimeout))
				c.Dir = resolve(baseDir, c.Dir)
			}
		}
		for i := range s.Preflight.Items {
			if it := &s.Preflight.Items[i]; len(it.Command) > 0 {
				setDefault(&it.Timeout, upfactory.Duration(upfactory.DefaultPreflightTimeout))
				it.Dir = resolve(baseDir, it.Dir)
			}
		}
		setDefault(&s.Drill.MaxAge, upfactory.Duration(upfactory.DefaultDrillMaxAge))
		setDefault(&s.Drill.MaxRollback, upfactory.Duration(upfactory.DefaultDrillMaxRollback))
		setDefault(&s.Drill.Speed, 1.0)
		setDefault(&s.Verification.Window, upfactory.Duration(upfactory.DefaultVerificationWindow))
		setDefault(&s.Verification.OnRegression, upfactory.OnRegressionRollback)
		setDefault(&s.Analysis.Interval, upfactory.Duration(upfactory.DefaultInterval))
		setDefault(&s.Analysis.MinSamples, upfactory.DefaultMinSamples)
		analysisDefaults(&s.Analysis)
		for _, st := range s.Strategy.Steps() { // the steps share their pointers with the strategy
			if m := st.Mirror; m != nil {
				setDefault(&m.Sample, "100%")
				setDefault(&m.MaxMismatch, "1%")
				setDefault(&m.MinCompared, 20)
			}
		}
	}
	intakeDefaults(c, baseDir)
}

func setDefault[T comparable](field *T, value T) {
	var zero T
	if *field == zero {
		*field = value
	}
}

// resolve makes a relative path relative to the config file's directory
// rather than to wherever the server happens to be started.
func resolve(baseDir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(baseDir, p)
}

// at returns where path is written, or where its nearest written parent is.
func (l *loader) at(path string) pos {
	for {
		if p, ok := l.pos[path]; ok {
			return p
		}
		if path == "" {
			return pos{}
		}
		path = l.parentOf(path)
	}
}

// isBad reports whether path or a parent already has a decoding problem,
// after which complaints about its contents are only noise.
func (l *loader) isBad(path string) bool {
	for {
		if l.bad[path] {
			return true
		}
		if path == "" {
			return false
		}
		path = l.parentOf(path)
	}
}

func (l *loader) parentOf(path string) string {
	if p, ok := l.parent[path]; ok {
		return p
	}
	// Paths never written in the file are a written path plus plain names
	// and indexes, so cutting at the last separator walks up.
	return path[:max(strings.LastIndexAny(path, ".["), 0)]
}

// has reports whether the key at path is written in the file.
func (l *loader) has(path string) bool {
	_, ok := l.pos[path]
	return ok
}

func (l *loader) report(path string, format string, args ...any) {
	if l.isBad(path) {
		return
	}
	p := l.at(path)
	l.probs = append(l.probs, Problem{File: l.file, Line: p.line, Column: p.col, Key: path, Message: fmt.Sprintf(format, args...)})
}

func (l *loader) validate(c *upfactory.Config) {
	if err := upfactory.CheckAddr(c.Server.Listen, false); err != nil {
		l.report("server.listen", "%v", err)
	}
	if c.Server.Lease < upfactory.Duration(300*time.Millisecond) {
		l.report("server.lease", "must be at least 300ms: a leader renews it every third of it")
	}
	if c.Server.TickInterval <= 0 {
		l.report("server.tick_interval", "must be more than 0")
	}
	if len(c.Services) == 0 {
		l.report("services", "no services: list at least one under services:")
	}
	known := map[string]bool{}
	for _, s := range c.Services {
		if s != nil {
			known[s.Name] = true
		}
	}
	l.intake(c)
	l.economics(c)
	l.notifiers(c)
	l.store(c)
	l.cfg = c
	if c.Prometheus != nil {
		for _, err := range c.Prometheus.Validate() {
			l.report("prometheus", "%s", strings.TrimPrefix(err.Error(), "prometheus: "))
		}
	}
	type listener struct{ addr, path, service string }
	names := map[string]string{}
	var listeners []listener
	for i, s := range c.Services {
		p := fmt.Sprintf("services[%d]", i)
		if s == nil {
			l.report(p, "empty service")
			continue
		}
		l.service(p, s)
		l.serviceMap(p, s, known)
		if first, dup := names[s.Name]; dup && s.Name != "" {
			l.report(p+".name", "duplicate service name %q; first used at %s", s.Name, l.where(first))
		} else {
			names[s.Name] = p + ".name"
		}
		if s.Router.Listen == "" || upfactory.CheckAddr(s.Router.Listen, false) != nil {
			continue
		}
		lp := p + ".router.listen"
		if collide(s.Router.Listen, c.Server.Listen) {
			l.report(lp, "%s is also server.listen, the API's address", s.Router.Listen)
		}
		for _, o := range listeners {
			if collide(s.Router.Listen, o.addr) {
				l.report(lp, "%s is also the router address of service %q (%s)", s.Router.Listen, o.service, l.where(o.path))
				break
			}
		}
		listeners = append(listeners, listener{s.Router.Listen, lp, s.Name})
	}
}

// where names the place of path for a message that points at a second one.
func (l *loader) where(path string) string {
	if p := l.at(path); p.line > 0 {
		return fmt.Sprintf("line %d", p.line)
	}
	return path
}

var serviceNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func (l *loader) service(p string, s *upfactory.Service) {
	switch {
	case s.Name == "":
		l.report(p+".name", "required")
	case !serviceNameRE.MatchString(s.Name):
		l.report(p+".name", "invalid service name %q: use lowercase letters, digits and '-', starting and ending with a letter or digit (it is used in URLs and file names)", s.Name)
	}
	if s.Tier < 0 {
		l.report(p+".tier", "must be 0 or more, got %d", s.Tier)
	}
	l.line(p, s)
	if !s.Delivered() && s.StableVersion == "" && s.Router.Listen == "" && s.Strategy.Kind() == "" &&
		!l.has(p+".target") && !l.has(p+".router") && !l.has(p+".strategy") && !l.has(p+".analysis") {
		// Intake-only: upfactory reads its inventory but does not deliver it.
		return
	}
	if s.StableVersion == "" {
		l.report(p+".stable_version", "required: the version that runs before any rollout")
	} else if err := upfactory.ValidVersion(s.StableVersion); err != nil {
		l.report(p+".stable_version", "%s", upfactory.ErrorMessage(err))
	}
	l.target(p+".target", s)
	l.router(p+".router", s)
	steps := l.strategy(p+".strategy", &s.Strategy)
	l.flags(p, s)
	if s.Strategy.Rolling != nil && s.Target.Type != "" && !provider.Owns(s.Target.Type) {
		l.report(p+".strategy.rolling", "a rolling update replaces instances upfactory starts: it needs a target that starts them (exec), not %s", s.Target.Type)
	}
	l.analysis(p+".analysis", s, steps)
}

func (l *loader) target(p string, s *upfactory.Service) {
	t := &s.Target
	if t.Type == "" {
		l.report(p+".type", "required: %s", strings.Join(provider.TargetTypes(), " or "))
	} else if tt, err := provider.LookupTarget(t.Type); err != nil {
		l.report(p+".type", "%s", upfactory.ErrorMessage(err))
	} else if tt.Validate != nil {
		tt.Validate(s, l.section(p))
	}
	if t.Replicas < 1 || t.Replicas > 64 {
		l.report(p+".replicas", "must be between 1 and 64, got %d", t.Replicas)
	}
	if !strings.HasPrefix(t.Readiness.Path, "/") {
		l.report(p+".readiness.path", "must start with /, got %q", t.Readiness.Path)
	}
}

// section is where a provider reports on its section at p.
func (l *loader) section(p string) provider.Problems { return provider.Prefixed(problems{l}, p) }

// problems is the loader as a provider's Problems, with full keys.
type problems struct{ l *loader }

func (x problems) Report(key, format string, args ...any) { x.l.report(key, format, args...) }
func (x problems) Has(key string) bool                    { return x.l.has(key) }
func (x problems) Reported(key string) bool               { return x.l.isBad(key) }
func (x problems) CheckFiles() bool                       { return x.l.checkFiles }
func (x problems) Config() *upfactory.Config              { return x.l.cfg }

func (l *loader) router(p string, s *upfactory.Service) {
	r := &s.Router
	if rt, err := provider.LookupRouter(r.Type); err != nil {
		l.report(p+".type", "%s", upfactory.ErrorMessage(err))
	} else if rt.Validate != nil {
		rt.Validate(s, l.section(p))
	} else if r.API != "" || r.Token != "" {
		l.report(p+".api", "only a standalone router has a control API; a %s router is driven in-process", r.Type)
	}
	if r.Listen == "" {
		l.report(p+".listen", "required: the address users' traffic arrives on, such as 127.0.0.1:8080")
	} else if err := upfactory.CheckAddr(r.Listen, false); err != nil {
		l.report(p+".listen", "%v", err)
	}
	if !upfactory.IsToken(r.Cookie) {
		l.report(p+".cookie", "invalid cookie name %q: use letters, digits and !#$%%&'*+-.^_`|~", r.Cookie)
	}
}

var stepKinds = []string{"weight", "analysis", "approval", "pause", "mirror", "flag"}

// strategy checks the canary steps and returns how many analysis steps
// there are, which decides whether checks are required.
func (l *loader) strategy(p string, s *upfactory.Strategy) (analysisSteps int) {
	switch {
	case boolCount(s.Canary != nil, s.BlueGreen != nil, s.Rolling != nil) > 1:
		l.report(p, "one strategy at a time: canary, blue_green or rolling")
		return 0
	case s.BlueGreen != nil:
		return l.blueGreen(p+".blue_green", s.BlueGreen)
	case s.Rolling != nil:
		rs, rp := s.Rolling, p+".rolling"
		if rs.MaxSurge < 1 {
			l.report(rp+".max_surge", "must be 1 or more, got %d", rs.MaxSurge)
		}
		if rs.MaxUnavailable < 0 || rs.MaxUnavailable >= max(rs.Replicas, 1) {
			l.report(rp+".max_unavailable", "must be from 0 to one less than the replicas (%d), got %d", max(rs.Replicas, 1), rs.MaxUnavailable)
		}
		if a := rs.Analysis; a != nil {
			if a.Duration <= 0 {
				l.report(rp+".analysis.duration", "must be more than 0: how long each batch is measured")
			}
			return 1
		}
		return 0
	}
	cs := s.Canary
	cp := p + ".canary"
	if cs == nil {
		l.report(cp, "required: a canary, blue_green or rolling strategy")
		return 0
	}
	sp := cp + ".steps"
	if len(cs.Steps) == 0 {
		l.report(sp, "needs at least one step")
		return 0
	}
	lastWeight, lastWeightPath, reached, weightsOK := -1, "", false, true
	for i, st := range cs.Steps {
		p := fmt.Sprintf("%s[%d]", sp, i)
		given := l.step(p, st)
		switch {
		case st.Weight != nil:
			w := *st.Weight
			if w < 0 || w > 100 {
				l.report(p+".weight", "must be between 0 and 100, got %d", w)
				weightsOK = false
			}
			lastWeight, lastWeightPath = w, p+".weight"
			reached = reached || w == 100
		case given[0]:
			l.report(p+".weight", "needs a number from 0 to 100")
			weightsOK = false
		}
		if st.Analysis != nil {
			analysisSteps++
		}
	}
	switch {
	case !weightsOK:
		// The weight out of range is the problem to fix first.
	case !reached:
		l.report(sp, "steps never reach weight: 100; the rollout could not complete")
	case lastWeight != 100:
		l.report(lastWeightPath, "the last weight step is %d, but a rollout ends at its last weight, so it must be 100", lastWeight)
	}
	return analysisSteps
}

// blueGreen checks a blue-green strategy: its pre- and post-promotion
// steps take no weight, since promotion moves all traffic at once.
func (l *loader) blueGreen(p string, bg *upfactory.BlueGreenStrategy) (analysisSteps int) {
	for _, part := range []struct {
		key   string
		steps []upfactory.Step
	}{{"pre_promotion", bg.PrePromotion}, {"post_promotion", bg.PostPromotion}} {
		for i, st := range part.steps {
			sp := fmt.Sprintf("%s.%s[%d]", p, part.key, i)
			given := l.step(sp, st)
			if given[0] {
				l.report(sp+".weight", "a blue-green strategy takes no weight steps: promotion moves all traffic at once (use a canary strategy to shift it gradually)")
			}
			if st.Analysis != nil {
				analysisSteps++
			}
		}
	}
	if !bg.AutoPromotion && bg.PromotionRole == "" {
		bg.PromotionRole = "approver"
	}
	if bg.Preview != "" {
		if err := upfactory.CheckAddr(bg.Preview, false); err != nil {
			l.report(p+".preview", "%v", err)
		}
	}
	return analysisSteps
}

// step checks what one step of any strategy says, and reports which
// kinds it was given (in stepKinds order).
func (l *loader) step(p string, st upfactory.Step) []bool {
	given := []bool{
		st.Weight != nil || l.has(p+".weight"),
		st.Analysis != nil || l.has(p+".analysis"),
		st.Approval != nil || l.has(p+".approval"),
		st.Pause != nil || l.has(p+".pause"),
		st.Mirror != nil || l.has(p+".mirror"),
		st.Flag != nil || l.has(p+".flag"),
	}
	var kinds []string
	for k, g := range given {
		if g {
			kinds = append(kinds, stepKinds[k])
		}
	}
	switch len(kinds) {
	case 1:
	case 0:
		if !l.unknown[p] { // a misspelt kind is already reported
			l.report(p, "a step needs one of weight, analysis, approval, pause, mirror or flag; got none")
		}
	default:
		l.report(p, "a step has exactly one of weight, analysis, approval, pause, mirror or flag; got %s", andList(kinds))
	}
	if st.Analysis != nil && st.Analysis.Duration <= 0 {
		l.report(p+".analysis.duration", "must be more than 0: how long the canary is measured at this weight")
	}
	if st.Mirror != nil {
		l.mirror(p+".mirror", st.Mirror)
	}
	if st.Approval != nil && st.Approval.Role == "" {
		l.report(p+".approval.role", "required: who may approve")
	}
	if f := st.Flag; f != nil {
		if f.Name == "" {
			l.report(p+".flag.name", "required: the flag's key in the flag file")
		}
		if f.Percent < 0 || f.Percent > 100 {
			l.report(p+".flag.percent", "must be between 0 and 100, got %d", f.Percent)
		}
	}
	return given
}

// collide reports whether two listen addresses would compete for the same
// socket: the same port on the same host, or on every interface.
func collide(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return false
	}
	na, err1 := strconv.ParseUint(pa, 10, 16)
	nb, err2 := strconv.ParseUint(pb, 10, 16)
	if err1 != nil || err2 != nil || na != nb || na == 0 {
		return false
	}
	wildcard := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	return ha == hb || wildcard(ha) || wildcard(hb)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func andList(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// line checks what the factory line reads of a service: preflight items
// and the drill's tuning.
func (l *loader) line(p string, s *upfactory.Service) {
	seen := map[string]bool{}
	for _, n := range upfactory.StandardPreflightItems {
		seen[n] = true
	}
	for i, it := range s.Preflight.Items {
		ip := fmt.Sprintf("%s.preflight.items[%d]", p, i)
		switch {
		case it.Name == "":
			l.report(ip+".name", "required")
		case seen[it.Name]:
			l.report(ip+".name", "%q is already an item of the checklist (the standard items are %s)", it.Name, andList(upfactory.StandardPreflightItems))
		}
		seen[it.Name] = true
		switch {
		case len(it.Command) > 0 && it.Confirm:
			l.report(ip, "set command or confirm: true, not both")
		case len(it.Command) == 0 && !it.Confirm:
			l.report(ip, "needs a command (argv) that checks it, or confirm: true for a person to confirm it")
		}
	}
	for key, c := range map[string]*upfactory.PreflightCommand{"backups": s.Preflight.Backups, "release_tagged": s.Preflight.Tagged} {
		if c != nil && len(c.Command) == 0 {
			l.report(p+".preflight."+key+".command", "required: the argv that checks it")
		}
	}
	for i, name := range s.Verification.Checks {
		var verifiable []string
		found := false
		for _, c := range s.Analysis.Checks {
			if c.Verifiable() {
				verifiable = append(verifiable, c.ID())
				found = found || c.ID() == name
			}
		}
		if !found {
			l.report(fmt.Sprintf("%s.verification.checks[%d]", p, i), "%q is not a limit check of a traffic metric of this service; verification can judge: %s", name, orNone(verifiable))
		}
	}
	switch v := s.Verification; {
	case v.OnRegression != upfactory.OnRegressionRollback && v.OnRegression != upfactory.OnRegressionIncident:
		l.report(p+".verification.on_regression", "want rollback or incident, got %q", v.OnRegression)
	case v.Window < 0:
		l.report(p+".verification.window", "must be positive, got %s", v.Window)
	}
	if s.Drill.Speed < 1 && l.has(p+".drill.speed") {
		l.report(p+".drill.speed", "must be 1 or more (it divides pauses and analysis durations), got %g", s.Drill.Speed)
	}
}

// economics checks the cost model: without a section, the documented
// defaults, each labelled an assumption; with one, the currency and every
// price given, none negative.
func (l *loader) economics(c *upfactory.Config) {
	if !l.has("economics") {
		c.Economics = upfactory.DefaultEconomics()
		return
	}
	e := &c.Economics
	d := upfactory.DefaultEconomics()
	for _, key := range upfactory.EconomicsPrices {
		if !l.has("economics." + key) {
			l.report("economics."+key, "required in an economics section (a price in your currency; the default model is %s %s)", d.Currency, defaultPrice(d, key))
		}
	}
	for _, p := range []struct {
		key string
		v   float64
	}{{"downtime_per_minute", e.DowntimePerMinute}, {"cpu_hour", e.CPUHour}, {"gib_hour", e.GiBHour}, {"breach_cost", e.BreachCost}} {
		if p.v < 0 {
			l.report("economics."+p.key, "must not be negative, got %g", p.v)
		}
	}
	if l.has("economics.currency") && strings.TrimSpace(e.Currency) == "" {
		l.report("economics.currency", "must not be empty")
	}
	e.Assumed = nil
	if !l.has("economics.detection_without_canary") {
		e.DetectionWithoutCanary = d.DetectionWithoutCanary
		e.Assumed = append(e.Assumed, "detection_without_canary")
	} else if e.DetectionWithoutCanary <= 0 {
		l.report("economics.detection_without_canary", "must be more than 0")
	}
	if !l.has("economics.slo_percent") {
		e.SLOPercent = d.SLOPercent
		e.Assumed = append(e.Assumed, "slo_percent")
	} else if e.SLOPercent <= 0 || e.SLOPercent >= 100 {
		l.report("economics.slo_percent", "want a percentage between 0 and 100 exclusive, such as 99.9; got %g", e.SLOPercent)
	}
}

func defaultPrice(d upfactory.Economics, key string) string {
	switch key {
	case "downtime_per_minute":
		return fmt.Sprintf("%g per minute of downtime", d.DowntimePerMinute)
	case "cpu_hour":
		return fmt.Sprintf("%g per CPU-hour", d.CPUHour)
	case "gib_hour":
		return fmt.Sprintf("%g per GiB-hour", d.GiBHour)
	case "breach_cost":
		return fmt.Sprintf("%g per breach", d.BreachCost)
	}
	return "as its currency"
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none (add a check of error_rate, a latency percentile or request_rate with max or max_vs_baseline)"
	}
	return strings.Join(s, ", ")
}

// notifiers checks where rollout events go: a known type, an http(s) URL,
// a secret written as ${NAME} (never in the file), known events, one name
// each.
func (l *loader) notifiers(c *upfactory.Config) {
	seen := map[string]bool{}
	for i := range c.Notifiers {
		n := &c.Notifiers[i]
		p := fmt.Sprintf("notifiers[%d]", i)
		setDefault(&n.Name, fmt.Sprintf("%s-%d", n.Type, i+1))
		setDefault(&n.Timeout, upfactory.Duration(upfactory.DefaultNotifyTimeout))
		if seen[n.Name] {
			l.report(p+".name", "%q names another notifier already", n.Name)
		}
		seen[n.Name] = true
		if _, err := provider.LookupNotifier(n.Type); err != nil {
			l.report(p+".type", "%s", upfactory.ErrorMessage(err))
		}
		if u, err := url.Parse(n.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.report(p+".url", "want an http or https URL")
		}
		if n.Secret != "" {
			if name, ok := upfactory.EnvRef(n.Secret); !ok || !upfactory.ValidEnvName(name) {
				l.report(p+".secret", "write it as ${NAME} and set the environment variable NAME: a secret stays out of the config file")
			}
		}
		for j, e := range n.Events {
			if !slices.Contains(notify.EventNames, e) {
				l.report(fmt.Sprintf("%s.events[%d]", p, j), "unknown event %q: want one of %s", e, strings.Join(notify.EventNames, ", "))
			}
		}
		if n.Timeout <= 0 {
			l.report(p+".timeout", "must be more than 0")
		}
	}
}

// flags checks where a service's flags live, which its flag steps need.
func (l *loader) flags(p string, s *upfactory.Service) {
	uses := false
	for _, st := range s.Strategy.Steps() {
		uses = uses || st.Flag != nil
	}
	f := &s.Flags
	if f.Type == "" {
		if uses {
			l.report(p+".flags", "required by the flag steps: {type: flagd-file, path: FILE} that flagd or an OpenFeature flagd provider reads")
		}
		return
	}
	fs, err := provider.LookupFlagStore(f.Type)
	if err != nil {
		l.report(p+".flags.type", "%s", upfactory.ErrorMessage(err))
	} else if fs.Validate != nil {
		fs.Validate(s, l.section(p+".flags"))
	}
}

func boolCount(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// store checks where the store is: a PostgreSQL DSN without a password
// written in the file.
func (l *loader) store(c *upfactory.Config) {
	dsn := c.Store.DSN
	if dsn == "" {
		return
	}
	if name, ok := upfactory.EnvRef(dsn); ok {
		if !upfactory.ValidEnvName(name) {
			l.report("store.dsn", "${%s} is not an environment variable name", name)
		}
		return
	}
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		switch {
		case err != nil:
			l.report("store.dsn", "not a URL such as postgres://upfactory@db.internal:5432/upfactory: %v", strings.ReplaceAll(err.Error(), dsn, "the DSN"))
		case u.Scheme != "postgres" && u.Scheme != "postgresql":
			l.report("store.dsn", "want a postgres:// URL, got %s://", u.Scheme)
		default:
			if _, ok := u.User.Password(); ok {
				l.report("store.dsn", "has a password: write the DSN as ${NAME} and set the environment variable NAME, or give the password in PGPASSWORD or ~/.pgpass")
			}
		}
		return
	}
	for _, f := range strings.Fields(dsn) {
		k, _, ok := strings.Cut(f, "=")
		if !ok {
			l.report("store.dsn", "want a postgres:// URL or key=value pairs such as host=db.internal dbname=upfactory")
			return
		}
		if strings.EqualFold(k, "password") {
			l.report("store.dsn", "has a password: write the DSN as ${NAME} and set the environment variable NAME, or give the password in PGPASSWORD or ~/.pgpass")
		}
	}
}
