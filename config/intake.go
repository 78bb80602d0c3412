package config

import (
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/robfig/cron/v3"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/inventory"
	"github.com/upfactory/upfactory/policy"
	"github.com/upfactory/upfactory/probe"
	"github.com/upfactory/upfactory/provider"
	"github.com/upfactory/upfactory/risk"
)

// Schedule parses an intake schedule: five cron fields (minute hour
// day-of-month month day-of-week) or a descriptor such as @daily or
// @every 6h. Times are in the server's local time zone.
func Schedule(spec string) (cron.Schedule, error) {
	return cron.ParseStandard(spec)
}

// intakeDefaults resolves the relative paths of the intake parts of c
// against baseDir.
func intakeDefaults(c *upfactory.Config, baseDir string) {
	for _, s := range c.Services {
		if s == nil {
			continue
		}
		for i := range s.Inventory {
			if s.Inventory[i].Path != "" {
				s.Inventory[i].Path = resolve(baseDir, s.Inventory[i].Path)
			}
		}
		cs := &s.Compat
		for i := range cs.Constraints {
			if cs.Constraints[i].Path != "" {
				cs.Constraints[i].Path = resolve(baseDir, cs.Constraints[i].Path)
			}
		}
		for i := range cs.Checks {
			cs.Checks[i].Dir = resolve(baseDir, cs.Checks[i].Dir)
		}
		if sc := cs.Schema; sc != nil {
			if sc.Migrations != "" {
				sc.Migrations = resolve(baseDir, sc.Migrations)
			}
			if sc.Expected != "" {
				sc.Expected = resolve(baseDir, sc.Expected)
			}
			if sc.Pending != "" {
				sc.Pending = resolve(baseDir, sc.Pending)
			}
		}
	}
	f := &c.Feeds
	for i := range f.OSV {
		resolveFeed(baseDir, &f.OSV[i])
	}
	if f.KEV != nil {
		resolveFeed(baseDir, f.KEV)
	}
	if f.EPSS != nil {
		resolveFeed(baseDir, f.EPSS)
	}
	for i := range f.ReleaseNotes {
		if f.ReleaseNotes[i].Path != "" {
			f.ReleaseNotes[i].Path = resolve(baseDir, f.ReleaseNotes[i].Path)
		}
	}
}

func resolveFeed(baseDir string, f *upfactory.FeedSource) {
	if f.Path != "" {
		f.Path = resolve(baseDir, f.Path)
	}
}

// serviceMap checks a service's place in the service map and its inventory.
func (l *loader) serviceMap(p string, s *upfactory.Service, names map[string]bool) {
	seen := map[string]bool{}
	for i, d := range s.DependsOn {
		dp := fmt.Sprintf("%s.depends_on[%d]", p, i)
		switch {
		case d == s.Name:
			l.report(dp, "a service cannot depend on itself")
		case !names[d]:
			l.report(dp, "no service is named %q", d)
		case seen[d]:
			l.report(dp, "%q is listed twice", d)
		}
		seen[d] = true
	}
	if ts := s.TrafficShare; math.IsNaN(ts) || ts < 0 || ts > 1 {
		l.report(p+".traffic_share", "must be between 0 and 1 (a share of all user traffic, such as 0.4), got %v", ts)
	}
	for i, src := range s.Inventory {
		if err := inventory.Validate(src); err != nil {
			l.report(fmt.Sprintf("%s.inventory[%d]", p, i), "%v", err)
		}
	}
	l.compat(p+".compat", &s.Compat)
}

// compatTypes are the constraint sources the compatibility stage reads.
var compatTypes = []string{"composer-json", "package-json", "gemfile", "gemspec", "wp-headers", "gomod"}

func (l *loader) compat(p string, c *upfactory.CompatSpec) {
	for i, src := range c.Constraints {
		sp := fmt.Sprintf("%s.constraints[%d]", p, i)
		if !slices.Contains(compatTypes, src.Type) {
			l.report(sp+".type", "%q is not one of %s", src.Type, strings.Join(compatTypes, ", "))
		}
		if src.Path == "" {
			l.report(sp+".path", "required: the file (or, for wp-headers, a plugins or themes directory)")
		}
	}
	for _, err := range probe.Validate(*c) {
		key, msg, ok := strings.Cut(err.Error(), ": ")
		if !ok {
			key, msg = "", err.Error()
		}
		l.report(joinKeyPath(p, key), "%s", msg)
	}
	if sc := c.Schema; sc != nil {
		if sc.DSN == "" {
			l.report(p+".schema.dsn", "required: postgres://… or sqlite:PATH (or ${ENV_VAR})")
		}
		if (sc.Migrations == "") == (sc.Expected == "") {
			l.report(p+".schema", "give migrations (a directory of .sql files) or expected (a schema file), one of them")
		}
	}
}

// joinKeyPath appends a relative key ("checks[0]", "load.rate") to p.
func joinKeyPath(p, key string) string {
	switch {
	case key == "":
		return p
	case strings.HasPrefix(key, "["):
		return p + key
	}
	return p + "." + key
}

// intake checks feeds, intake and risk.
func (l *loader) intake(c *upfactory.Config) {
	f := c.Feeds
	for i, src := range f.OSV {
		l.feed(fmt.Sprintf("feeds.osv[%d]", i), src)
	}
	if f.KEV != nil {
		l.feed("feeds.kev", *f.KEV)
	}
	if f.EPSS != nil {
		l.feed("feeds.epss", *f.EPSS)
	}
	for i, rn := range f.ReleaseNotes {
		p := fmt.Sprintf("feeds.release_notes[%d]", i)
		if strings.TrimSpace(rn.Component) == "" {
			l.report(p+".component", "required: the component's name as inventories give it")
		}
		l.feed(p, rn.Feed())
	}
	if spec := c.Intake.Schedule; spec != "" {
		if _, err := Schedule(spec); err != nil {
			l.report("intake.schedule", "%v: want five cron fields (minute hour day-of-month month day-of-week), such as \"0 6 * * *\", or @daily, @hourly, @every 6h", err)
		}
	}
	for i, name := range c.Intake.Stateful {
		if strings.TrimSpace(name) == "" {
			l.report(fmt.Sprintf("intake.stateful[%d]", i), "empty component name")
		}
	}
	for _, err := range policy.Validate(c.Policies) {
		key, msg, _ := strings.Cut(err.Error(), ": ")
		l.report(key, "%s", msg)
	}
	if len(c.Risk.Weights) > 0 {
		for _, k := range sortedKeys(c.Risk.Weights) {
			var w risk.Weights
			if err := w.Set(k, 0); err != nil {
				l.report(provider.JoinKey("risk.weights", k), "%v", err)
			}
		}
		_, errs := risk.WithOverrides(c.Risk.Weights)
		for _, err := range errs {
			if !strings.HasPrefix(err.Error(), "unknown risk weight") {
				l.report("risk.weights", "%v", err)
			}
		}
	}
}

// feed checks that exactly one of path and url is set, and that a url is
// an absolute http(s) URL.
func (l *loader) feed(p string, f upfactory.FeedSource) {
	switch {
	case f.Path == "" && f.URL == "":
		l.report(p, "give a path (a local file or directory) or a url")
	case f.Path != "" && f.URL != "":
		l.report(p, "give a path or a url, not both")
	case f.URL != "":
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.report(p+".url", "want an absolute http or https URL, got %q", f.URL)
		} else if u.User != nil {
			l.report(p+".url", "must not carry credentials: they would end up in logs and the store")
		}
	}
}
