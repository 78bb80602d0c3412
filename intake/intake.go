// Package intake is stage 1 of the factory: it reads the advisory feeds
// (OSV databases, CISA KEV, FIRST EPSS) and the release notes named in
// upfactory.yaml, reads every service's inventory, matches them, and
// stores upgrade candidates with their risk score.
//
// A run ingests only what is new or changed: url feeds are fetched with
// conditional requests (an unchanged feed is not downloaded again), and
// advisory records are compared by ID and content digest with what the
// store already holds (not by "modified" alone: the Go database's exports
// zero it); only new, changed and removed records are written. Candidates are keyed by component, ecosystem and current
// version, so a run that finds the same thing rewrites nothing a person
// did: first-seen times and acknowledgements stay.
//
// Bad input never stops a run: a malformed record, SBOM, lockfile or notes
// file becomes a Problem naming its file and record, and the rest goes on.
// A run whose OSV feeds yield no record at all fails before writing
// anything, because every candidate would then look resolved. A service
// whose inventory cannot be read keeps its previous candidates.
package intake

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/epss"
	"github.com/upfactory/upfactory/inventory"
	"github.com/upfactory/upfactory/kev"
	"github.com/upfactory/upfactory/notes"
	"github.com/upfactory/upfactory/osv"
	"github.com/upfactory/upfactory/risk"
	"github.com/upfactory/upfactory/scan"
)

// Store is what a run reads and writes.
type Store interface {
	upfactory.IntakeStore
	Log(ctx context.Context, f upfactory.LogFilter) ([]upfactory.LogEntry, error)
	State(ctx context.Context, service string) (*upfactory.ServiceState, error)
}

// Options configure a run.
type Options struct {
	Config *upfactory.Config
	Store  Store
	// Trigger says who started the run: cli, schedule or api.
	Trigger string
	// Fetcher downloads url feeds; nil uses a cache under the data
	// directory's feeds/ and http.DefaultClient's transport.
	Fetcher *Fetcher
	// Progress, when set, is told what the run is doing, one line at a time.
	Progress func(msg string)
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Problem is something the run could not use; it went on without it.
type Problem = scan.Problem

// FeedStatus says where one feed was read from and how.
type FeedStatus struct {
	Kind     string `json:"kind"` // osv, kev, epss, notes
	Location string `json:"location"`
	// Status is local, downloaded, not modified or cached.
	Status  string `json:"status"`
	Records int    `json:"records"`
}

// Report is the outcome of a run.
type Report struct {
	Run   upfactory.IntakeRun `json:"run"`
	Feeds []FeedStatus        `json:"feeds"`
	// Candidates are the open candidates after the run, by descending risk.
	Candidates []*upfactory.Candidate `json:"candidates"`
	// New, Changed and Resolved are candidate IDs.
	New      []string  `json:"new"`
	Changed  []string  `json:"changed"`
	Resolved []string  `json:"resolved"`
	Problems []Problem `json:"problems"`
	// Timings are the seconds each phase took.
	Timings Timings `json:"timings"`
}

// Timings are the seconds each phase of a run took: reading the feeds
// (and indexing the advisories), reading the stored candidates, reading the
// inventories, matching components with advisories, building and scoring
// candidates, and storing the result.
type Timings struct {
	Feeds     float64 `json:"feeds"`
	Previous  float64 `json:"previous"`
	Inventory float64 `json:"inventory"`
	Match     float64 `json:"match"`
	Build     float64 `json:"build"`
	Store     float64 `json:"store"`
}

// Run runs intake once and stores its result.
func Run(ctx context.Context, opts Options) (*Report, error) {
	cfg := opts.Config
	if cfg == nil || opts.Store == nil {
		return nil, errors.New("intake: a config and a store are required")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	fetcher := opts.Fetcher
	if fetcher == nil {
		fetcher = &Fetcher{Dir: filepath.Join(cfg.Server.DataDir, "feeds")}
	}
	rep := &Report{Problems: []Problem{}, Feeds: []FeedStatus{}}
	rep.Run.Started = now().UTC()
	mark := time.Now()
	lap := func(d *float64) {
		t := time.Now()
		*d = t.Sub(mark).Seconds()
		mark = t
	}
	rep.Run.Trigger = opts.Trigger

	// Feeds.
	entries, err := readOSV(ctx, cfg.Feeds.OSV, fetcher, rep)
	if err != nil {
		return nil, err
	}
	ix := osv.NewIndex(entries)
	rep.Run.Records = len(entries)
	progress(fmt.Sprintf("advisories: %d records from %d OSV feed(s)", len(entries), len(cfg.Feeds.OSV)))
	var enr scan.Enrichment
	if src := cfg.Feeds.KEV; src != nil {
		enr.KEV = readKEV(ctx, *src, fetcher, rep)
	}
	if src := cfg.Feeds.EPSS; src != nil {
		enr.EPSS = readEPSS(ctx, *src, fetcher, rep)
	}
	var loaded []loadedNotes
	for _, src := range cfg.Feeds.ReleaseNotes {
		if ln, ok := readNotes(ctx, src, fetcher, rep); ok {
			loaded = append(loaded, ln)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lap(&rep.Timings.Feeds)

	// Inventories, read in parallel: they are many small files. A service
	// whose inventory cannot be read keeps the components its open
	// candidates were found in: not seeing them is not knowing they are gone.
	prev, err := opts.Store.Candidates(ctx, upfactory.CandidateFilter{})
	if err != nil {
		return nil, err
	}
	lap(&rep.Timings.Previous)
	inv := readInventories(ctx, cfg.Services, rep)
	keepPrevious(inv, prev)
	if err := addReleases(ctx, opts.Store, cfg, inv); err != nil {
		return nil, err
	}
	for _, sc := range inv {
		rep.Run.Components += len(sc.components)
	}
	progress(fmt.Sprintf("inventory: %d components in %d services", rep.Run.Components, len(inv)))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lap(&rep.Timings.Inventory)

	// Match each distinct component once.
	findings := match(ix, inv, enr, rep)
	progress(fmt.Sprintf("match: %d components with advisories", len(findings)))
	lap(&rep.Timings.Match)

	b := &builder{
		index:      ix,
		enrich:     enr,
		notes:      loaded,
		stateful:   map[string]bool{},
		services:   map[string]*upfactory.Service{},
		dependents: map[string][]string{},
		history:    map[string]history{},
	}
	var werrs []error
	b.weights, werrs = risk.WithOverrides(cfg.Risk.Weights)
	if len(werrs) > 0 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "risk weights: %v", errors.Join(werrs...))
	}
	for _, n := range append(slices.Clone(wellKnownStateful), cfg.Intake.Stateful...) {
		b.stateful[strings.ToLower(strings.TrimSpace(n))] = true
	}
	for _, s := range cfg.Services {
		b.services[s.Name] = s
		for _, d := range s.DependsOn {
			b.dependents[d] = append(b.dependents[d], s.Name)
		}
	}
	outcomes, err := opts.Store.Log(ctx, upfactory.LogFilter{})
	if err != nil {
		return nil, err
	}
	b.history, b.componentFailed = histories(outcomes)
	cands, probs := b.build(inv, findings)
	rep.Problems = append(rep.Problems, probs...)
	progress(fmt.Sprintf("build: %d candidates scored", len(cands)))
	lap(&rep.Timings.Build)

	// What changed since the stored state.
	stored, err := opts.Store.AdvisoryDigests(ctx)
	if err != nil {
		return nil, err
	}
	upsert, remove := diffAdvisories(entries, stored, &rep.Run)
	finished := now().UTC()
	for _, c := range cands {
		c.LastSeen = finished
	}
	entriesLog := compare(cands, prev, rep, finished)
	write, unchanged := dirty(cands, prev)

	rep.Run.Finished = finished
	rep.Run.Candidates = len(cands)
	rep.Run.CandidatesNew = len(rep.New)
	rep.Run.CandidatesChanged = len(rep.Changed)
	rep.Run.CandidatesResolved = len(rep.Resolved)
	rep.Run.Problems = len(rep.Problems)
	entriesLog = append(entriesLog, upfactory.LogEntry{
		Time: finished, Actor: upfactory.ActorSystem, Action: "intake.run", Subject: opts.Trigger,
		Reason: fmt.Sprintf("%d records (%d new, %d changed, %d removed); %d candidates (%d new, %d changed, %d resolved); %d problems",
			rep.Run.Records, rep.Run.AdvisoriesNew, rep.Run.AdvisoriesChanged, rep.Run.AdvisoriesRemoved,
			rep.Run.Candidates, rep.Run.CandidatesNew, rep.Run.CandidatesChanged, rep.Run.CandidatesResolved, rep.Run.Problems),
	})
	if err := opts.Store.SaveIntake(ctx, &rep.Run, upsert, remove, write, unchanged, entriesLog); err != nil {
		return nil, err
	}
	progress(fmt.Sprintf("candidates: %d open (%d new, %d changed, %d resolved)",
		rep.Run.Candidates, rep.Run.CandidatesNew, rep.Run.CandidatesChanged, rep.Run.CandidatesResolved))
	rep.Candidates = asStored(cands, prev)
	lap(&rep.Timings.Store)
	return rep, nil
}

// maxProblemsInError is how many problems an error that ends a run lists.
const maxProblemsInError = 10

func readOSV(ctx context.Context, srcs []upfactory.FeedSource, f *Fetcher, rep *Report) ([]*osv.Entry, error) {
	byID := map[string]*osv.Entry{}
	var order []string
	firstProblem := len(rep.Problems)
	for _, src := range srcs {
		before := len(rep.Problems)
		p, fetched, err := f.local(ctx, src.Path, src.URL)
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{Kind: "feed", Source: feedLoc(src), Message: err.Error()})
			continue
		}
		noteFetch(rep, "osv", feedLoc(src), fetched)
		var es []*osv.Entry
		var probs []osv.Problem
		fi, err := os.Stat(p)
		switch {
		case err != nil:
		case fi.IsDir():
			es, probs, err = osv.ReadDir(p)
		case isZip(p):
			es, probs, err = osv.ReadZip(p)
		default:
			var data []byte
			if data, err = os.ReadFile(p); err == nil {
				var e *osv.Entry
				if e, err = osv.Parse(data, p); err == nil {
					es = []*osv.Entry{e}
				}
			}
		}
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{Kind: "feed", Source: feedLoc(src), Message: err.Error()})
		}
		for _, pr := range probs {
			rep.Problems = append(rep.Problems, Problem{Kind: "advisory", Source: feedLoc(src) + "#" + pr.Source, Message: pr.Err.Error()})
		}
		rep.Feeds[len(rep.Feeds)-1].Records = len(es)
		if len(es) == 0 && len(rep.Problems) == before {
			rep.Problems = append(rep.Problems, Problem{Kind: "feed", Source: feedLoc(src), Message: "holds no OSV record"})
		}
		for _, e := range es {
			// The same record in two feeds: the later modification wins,
			// else the first feed.
			if old, ok := byID[e.ID]; ok {
				if e.Modified.After(old.Modified) {
					byID[e.ID] = e
				}
				continue
			}
			byID[e.ID] = e
			order = append(order, e.ID)
		}
	}
	if len(srcs) > 0 && len(byID) == 0 {
		// The run ends here, with no report to show them: the problems go
		// into the error itself.
		probs := rep.Problems[firstProblem:]
		var lines []string
		for _, p := range probs[:min(len(probs), maxProblemsInError)] {
			lines = append(lines, "  "+p.String())
		}
		if len(probs) > maxProblemsInError {
			lines = append(lines, fmt.Sprintf("  … and %d more", len(probs)-maxProblemsInError))
		}
		return nil, upfactory.Errorf(upfactory.EUNAVAILABLE,
			"no advisory could be read from the %d OSV feed(s); nothing was changed:\n%s", len(srcs), strings.Join(lines, "\n"))
	}
	out := make([]*osv.Entry, len(order))
	for i, id := range order {
		out[i] = byID[id]
	}
	return out, nil
}

func noteFetch(rep *Report, kind, loc string, f Fetched) {
	rep.Feeds = append(rep.Feeds, FeedStatus{Kind: kind, Location: redactLoc(loc), Status: f.Status})
	if f.Err != nil {
		rep.Problems = append(rep.Problems, Problem{Kind: "feed", Source: redactLoc(loc),
			Message: fmt.Sprintf("%v; using the copy fetched %s", f.Err, f.Fetched.Format(time.RFC3339))})
	}
}

// feedLoc is where a feed is read, as problems and reports may show it:
// a URL without its query string, which may carry a token.
func feedLoc(src upfactory.FeedSource) string { return redactLoc(src.Location()) }

func redactLoc(loc string) string {
	if strings.Contains(loc, "://") {
		return redact(loc)
	}
	return loc
}

func readKEV(ctx context.Context, src upfactory.FeedSource, f *Fetcher, rep *Report) *kev.Catalog {
	p, fetched, err := f.local(ctx, src.Path, src.URL)
	if err == nil {
		noteFetch(rep, "kev", feedLoc(src), fetched)
		var data []byte
		if data, err = os.ReadFile(p); err == nil {
			cat, probs, perr := kev.Parse(feedLoc(src), data)
			for _, pr := range probs {
				rep.Problems = append(rep.Problems, Problem{Kind: "kev", Source: feedLoc(src), Message: pr.String()})
			}
			if perr == nil {
				rep.Feeds[len(rep.Feeds)-1].Records = len(cat.Entries)
				return cat
			}
			err = perr
		}
	}
	rep.Problems = append(rep.Problems, Problem{Kind: "kev", Source: redactLoc(feedLoc(src)), Message: err.Error()})
	return nil
}

func readEPSS(ctx context.Context, src upfactory.FeedSource, f *Fetcher, rep *Report) *epss.Scores {
	p, fetched, err := f.local(ctx, src.Path, src.URL)
	if err == nil {
		noteFetch(rep, "epss", feedLoc(src), fetched)
		var r *os.File
		if r, err = os.Open(p); err == nil {
			scores, probs, perr := epss.Parse(feedLoc(src), r)
			r.Close()
			if len(probs) > 0 {
				rep.Problems = append(rep.Problems, Problem{Kind: "epss", Source: feedLoc(src),
					Message: fmt.Sprintf("%d lines skipped (first: %s)", len(probs), probs[0])})
			}
			if perr == nil {
				rep.Feeds[len(rep.Feeds)-1].Records = scores.Len()
				return scores
			}
			err = perr
		}
	}
	rep.Problems = append(rep.Problems, Problem{Kind: "epss", Source: redactLoc(feedLoc(src)), Message: err.Error()})
	return nil
}

func readNotes(ctx context.Context, src upfactory.ReleaseNotesSource, f *Fetcher, rep *Report) (loadedNotes, bool) {
	loc := feedLoc(src.Feed())
	p, fetched, err := f.local(ctx, src.Path, src.URL)
	if err == nil {
		noteFetch(rep, "notes", loc, fetched)
		var data []byte
		if data, err = os.ReadFile(p); err == nil {
			var cl *notes.Changelog
			if cl, err = notes.Parse(redactLoc(loc), data); err == nil {
				for _, pr := range cl.Problems {
					rep.Problems = append(rep.Problems, Problem{Kind: "notes", Source: fmt.Sprintf("%s:%d", pr.File, pr.Line), Message: pr.Message})
				}
				rep.Feeds[len(rep.Feeds)-1].Records = len(cl.Releases)
				return loadedNotes{src: src, changelog: cl, file: redactLoc(loc)}, true
			}
		}
	}
	rep.Problems = append(rep.Problems, Problem{Kind: "notes", Source: redactLoc(loc), Message: err.Error()})
	return loadedNotes{}, false
}

// readInventories reads every service's inventory, a few files at a time.
func readInventories(ctx context.Context, services []*upfactory.Service, rep *Report) []serviceComponents {
	out := make([]serviceComponents, len(services))
	probs := make([][]Problem, len(services))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0)*2)
	for i, s := range services {
		out[i].service = s
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			for _, src := range s.Inventory {
				comps, ps, err := inventory.Read(ctx, src, "")
				for _, p := range ps {
					probs[i] = append(probs[i], Problem{Kind: "inventory", Source: s.Name + ": " + problemPlace(p), Message: p.Message})
				}
				if err != nil {
					out[i].failed = true
					probs[i] = append(probs[i], Problem{Kind: "inventory", Source: s.Name + ": " + src.Type + " " + src.Path,
						Message: err.Error() + "; the service keeps its previous candidates"})
					continue
				}
				out[i].components = append(out[i].components, comps...)
			}
		})
	}
	wg.Wait()
	for _, ps := range probs {
		rep.Problems = append(rep.Problems, ps...)
	}
	return out
}

// problemPlace is where an inventory problem is: file, line, record.
func problemPlace(p inventory.Problem) string {
	place := p.File
	if p.Line > 0 {
		place += fmt.Sprintf(":%d", p.Line)
	}
	if p.Path != "" {
		place += "#" + p.Path
	}
	return place
}

// match evaluates each distinct component once and assesses its findings.
func match(ix *osv.Index, inv []serviceComponents, enr scan.Enrichment, rep *Report) map[compKey][]scan.Finding {
	seen := map[compKey]bool{}
	var comps []upfactory.Component
	for _, sc := range inv {
		for _, c := range sc.components {
			k := keyOf(c)
			if !seen[k] {
				seen[k] = true
				comps = append(comps, c)
			}
		}
	}
	// Evaluate and assess in chunks, on every core; the index is read-only.
	n := runtime.GOMAXPROCS(0)
	size := (len(comps) + n - 1) / max(n, 1)
	type result struct {
		found []scan.Finding
		probs []osv.MatchProblem
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		lo, hi := min(i*size, len(comps)), min((i+1)*size, len(comps))
		wg.Go(func() {
			found, probs := ix.Evaluate(comps[lo:hi])
			results[i] = result{scan.Assess(found, enr), probs}
		})
	}
	wg.Wait()
	var assessed []scan.Finding
	for _, r := range results {
		for _, p := range r.probs {
			rep.Problems = append(rep.Problems, Problem{Kind: "match", Source: p.Component.Source, Message: p.Error()})
		}
		assessed = append(assessed, r.found...)
	}
	out := map[compKey][]scan.Finding{}
	for _, f := range assessed {
		k := compKey{f.Ecosystem, osv.NormalizeName(f.Ecosystem, f.Package), f.Version}
		out[k] = append(out[k], f)
	}
	return out
}

// histories reads the outcomes on record: per service, its failed
// rollouts (rolled back on its checks, failed, a regression after 100%,
// or an incident a person linked to one of its upgrades) and whether a
// rollback was drilled (a passing drill, or a rollback by hand); per
// component, the failed rollouts that carried it (from the line's
// entries, which name each upgrade's component and rollout).
func histories(entries []upfactory.LogEntry) (map[string]history, map[string]int) {
	byService := map[string]history{}
	carried := map[string][]string{} // rollout → components
	failedRollouts := map[string]bool{}
	fail := func(service, rollout string) {
		if rollout != "" && failedRollouts[rollout] {
			return // one failure per rollout: a verification regression and its rollback, say
		}
		failedRollouts[rollout] = rollout != ""
		h := byService[service]
		h.failed++
		byService[service] = h
	}
	for _, e := range entries {
		rollout, _ := e.Values["rollout"].(string)
		switch e.Action {
		case upfactory.ActionRollbackAutomatic, upfactory.ActionFailed, upfactory.ActionVerificationFailed, upfactory.ActionRollbackVerification:
			fail(e.Service, rollout)
		case "incident.open":
			// A person's incident linked to an upgrade; the automatic ones
			// (source_seq) repeat a rollback counted already.
			if up, _ := e.Values["upgrade"].(string); up != "" && e.Values["source_seq"] == nil {
				fail(e.Service, "incident:"+up)
			}
		case upfactory.ActionRollbackManual:
			h := byService[e.Service]
			h.drilled = true
			byService[e.Service] = h
		case "drill":
			if passed, _ := e.Values["passed"].(bool); passed {
				h := byService[e.Service]
				h.drilled = true
				byService[e.Service] = h
			}
		case "upgrade.stage":
			if c, _ := e.Values["component"].(string); c != "" && rollout != "" && !slices.Contains(carried[rollout], c) {
				carried[rollout] = append(carried[rollout], c)
			}
		}
	}
	byComponent := map[string]int{}
	for rollout, failed := range failedRollouts {
		if failed {
			for _, c := range carried[rollout] {
				byComponent[c]++
			}
		}
	}
	return byService, byComponent
}

// diffAdvisories counts what is new, changed and gone, and returns what to
// write.
func diffAdvisories(entries []*osv.Entry, stored map[string]upfactory.AdvisoryDigest, run *upfactory.IntakeRun) ([]upfactory.AdvisoryDigest, []string) {
	var upsert []upfactory.AdvisoryDigest
	present := map[string]bool{}
	for _, e := range entries {
		if e.Withdrawn != nil {
			continue
		}
		present[e.ID] = true
		d := upfactory.AdvisoryDigest{ID: e.ID, Digest: e.Digest, Modified: e.Modified.UTC().Format(time.RFC3339)}
		old, ok := stored[e.ID]
		switch {
		case !ok:
			run.AdvisoriesNew++
		case old.Digest != d.Digest:
			run.AdvisoriesChanged++
		default:
			continue
		}
		upsert = append(upsert, d)
	}
	var remove []string
	for id := range stored {
		if !present[id] {
			remove = append(remove, id)
		}
	}
	slices.Sort(remove)
	run.AdvisoriesRemoved = len(remove)
	return upsert, remove
}

// addReleases adds, to each delivered service with release notes of its
// own (a release_notes entry whose component is the service's name), the
// service itself at the version it runs: its stable version in the store,
// else in the config. So a new release of an app flows through intake like
// any other upgrade. Its ecosystem is the notes entry's, else SemVer.
func addReleases(ctx context.Context, st Store, cfg *upfactory.Config, inv []serviceComponents) error {
	for i := range inv {
		s := inv[i].service
		if !s.Delivered() {
			continue
		}
		var src *upfactory.ReleaseNotesSource
		for j := range cfg.Feeds.ReleaseNotes {
			if cfg.Feeds.ReleaseNotes[j].Component == s.Name {
				src = &cfg.Feeds.ReleaseNotes[j]
				break
			}
		}
		if src == nil {
			continue
		}
		current, where := s.StableVersion, "stable_version in the config"
		state, err := st.State(ctx, s.Name)
		switch {
		case err == nil && state.StableVersion != "":
			current, where = state.StableVersion, "stable version in the store"
		case err != nil && upfactory.ErrorCode(err) != upfactory.ENOTFOUND:
			return err
		}
		eco := src.Ecosystem
		if eco == "" {
			eco = "SemVer"
		}
		inv[i].components = append(inv[i].components, upfactory.Component{Name: s.Name, Ecosystem: eco, Version: current,
			Layer: upfactory.LayerApp, Source: "service " + s.Name + ": " + where})
	}
	return nil
}

// keepPrevious gives each service whose inventory could not be read the
// components of its open candidates, as they were.
func keepPrevious(inv []serviceComponents, prev []*upfactory.Candidate) {
	for i := range inv {
		sc := &inv[i]
		if !sc.failed {
			continue
		}
		have := map[compKey]bool{}
		for _, c := range sc.components {
			have[keyOf(c)] = true
		}
		for _, p := range prev {
			if !slices.Contains(p.Services, sc.service.Name) {
				continue
			}
			c := upfactory.Component{Name: p.Component, Ecosystem: p.Ecosystem, Version: p.Current, Layer: p.Layer,
				Source: "as in the previous run (inventory unreadable)"}
			if !have[keyOf(c)] {
				have[keyOf(c)] = true
				sc.components = append(sc.components, c)
			}
		}
	}
}

// compare fills the report's New, Changed and Resolved and returns the log
// entries for them.
func compare(cands, prev []*upfactory.Candidate, rep *Report, at time.Time) []upfactory.LogEntry {
	before := map[string]*upfactory.Candidate{}
	for _, p := range prev {
		before[p.ID] = p
	}
	var entries []upfactory.LogEntry
	now := map[string]bool{}
	for _, c := range cands {
		now[c.ID] = true
		p, ok := before[c.ID]
		switch {
		case !ok:
			rep.New = append(rep.New, c.ID)
			entries = append(entries, candidateEntry(c, "candidate.new", at,
				fmt.Sprintf("%s %s → %s in %s; %d advisories; risk %.1f", c.Component, c.Current, orNone(c.Recommended),
					strings.Join(c.Services, ", "), len(c.Advisories), c.Risk.Total)))
		case fingerprint(p) != fingerprint(c):
			rep.Changed = append(rep.Changed, c.ID)
			entries = append(entries, candidateEntry(c, "candidate.changed", at,
				fmt.Sprintf("recommended %s → %s, advisories %d → %d, risk %.1f → %.1f",
					orNone(p.Recommended), orNone(c.Recommended), len(p.Advisories), len(c.Advisories), p.Risk.Total, c.Risk.Total)))
		}
	}
	for _, p := range prev {
		if !now[p.ID] {
			rep.Resolved = append(rep.Resolved, p.ID)
			entries = append(entries, candidateEntry(p, "candidate.resolved", at,
				fmt.Sprintf("%s %s is no longer in any inventory at that version, or its advisories are gone", p.Component, p.Current)))
		}
	}
	return entries
}

// dirty splits cands into those to write and the IDs of those stored
// exactly as they are.
func dirty(cands, prev []*upfactory.Candidate) (write []*upfactory.Candidate, unchanged []string) {
	before := map[string]*upfactory.Candidate{}
	for _, p := range prev {
		before[p.ID] = p
	}
	for _, c := range cands {
		if p, ok := before[c.ID]; ok && sameStored(p, c) {
			unchanged = append(unchanged, c.ID)
			continue
		}
		write = append(write, c)
	}
	return write, unchanged
}

// sameStored reports whether a and b differ only in what the store keeps
// apart from a candidate's data: times, acknowledgement and status.
func sameStored(a, b *upfactory.Candidate) bool {
	strip := func(c *upfactory.Candidate) []byte {
		x := *c
		x.FirstSeen, x.LastSeen, x.ResolvedAt, x.Ack, x.Status = time.Time{}, time.Time{}, nil, nil, ""
		data, err := json.Marshal(&x)
		if err != nil {
			return nil
		}
		return data
	}
	da, db := strip(a), strip(b)
	return da != nil && bytes.Equal(da, db)
}

// asStored returns cands as the store now holds them: first seen and
// acknowledged as before, with their status; by descending risk, then ID.
func asStored(cands, prev []*upfactory.Candidate) []*upfactory.Candidate {
	before := map[string]*upfactory.Candidate{}
	for _, p := range prev {
		before[p.ID] = p
	}
	out := make([]*upfactory.Candidate, len(cands))
	for i, c := range cands {
		x := *c
		x.FirstSeen = c.LastSeen
		if p, ok := before[c.ID]; ok {
			x.FirstSeen, x.Ack = p.FirstSeen, p.Ack
		}
		x.ResolvedAt = nil
		x.Status = x.ComputeStatus()
		out[i] = &x
	}
	slices.SortFunc(out, func(a, b *upfactory.Candidate) int {
		if c := cmp.Compare(b.Risk.Total, a.Risk.Total); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// fingerprint is what makes a candidate different for a person reading
// it: versions, services, advisories and their fixes, breaking items,
// highlights and risk.
func fingerprint(c *upfactory.Candidate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|%t|%s|%s|%d|%.1f", c.Recommended, c.FixVersion, c.NewestInMajor, c.Latest, c.FixComplete,
		strings.Join(c.Services, ","), c.BreakingDigest, len(c.Highlights), c.Risk.Total)
	for _, a := range c.Advisories {
		fmt.Fprintf(&b, "|%s:%s", a.ID, strings.Join(a.Fixed, ","))
	}
	return b.String()
}

func candidateEntry(c *upfactory.Candidate, action string, at time.Time, reason string) upfactory.LogEntry {
	return upfactory.LogEntry{Time: at, Actor: upfactory.ActorSystem, Action: action, Subject: c.ID, Reason: reason,
		Values: map[string]any{"component": c.Component, "ecosystem": c.Ecosystem, "current": c.Current,
			"recommended": c.Recommended, "risk": c.Risk.Total}}
}

func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}

// Ack acknowledges the breaking items of candidate id on behalf of by.
func Ack(ctx context.Context, st upfactory.IntakeStore, id, by string, at time.Time) (*upfactory.Candidate, error) {
	if strings.TrimSpace(by) == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "say who acknowledges: --as NAME")
	}
	c, err := st.Candidate(ctx, id)
	if err != nil {
		return nil, err
	}
	n := 0
	for _, h := range c.Highlights {
		if h.Kind == string(notes.KindBreaking) {
			n++
		}
	}
	entry := upfactory.LogEntry{Time: at, Actor: by, Action: "candidate.ack", Subject: id,
		Reason: fmt.Sprintf("%d breaking item(s) of %s %s → %s acknowledged", n, c.Component, c.Current, c.Recommended),
		Values: map[string]any{"digest": c.BreakingDigest}}
	return st.AckCandidate(ctx, id, upfactory.CandidateAck{By: by, At: at, Digest: c.BreakingDigest}, entry)
}
