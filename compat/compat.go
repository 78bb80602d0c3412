// Package compat is stage 3 of the factory: a candidate is checked against
// every service it affects, and every dependent component, check and probe
// of those services, giving a matrix of cells that pass, fail, are skipped
// or err, each with its reason.
//
// Static cells come from the constraints dependent components declare
// (package constraint). Runtime cells come from a staging twin: the
// candidate version started by the service's target on separate ports,
// then the service's check commands, user-journey probes and a load
// comparison against the stable version (package probe), critical paths
// first and fail-fast. A schema cell compares the live schema with the one
// the migrations produce. A run is stored and reused while neither the
// candidate nor the services' compatibility inputs change.
package compat

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/module"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/constraint"
	"github.com/upfactory/upfactory/probe"
)

// Store is what a run reads and writes.
type Store interface {
	upfactory.CompatStore
	Candidate(ctx context.Context, id string) (*upfactory.Candidate, error)
	State(ctx context.Context, service string) (*upfactory.ServiceState, error)
}

// Twin starts version of svc for runtime checks, on ports of its own, and
// returns its base URL and how to stop it.
type Twin func(ctx context.Context, svc *upfactory.Service, version string) (baseURL string, stop func(), err error)

// SchemaCheck compares a service's live schema with the expected one and
// returns the differences, one line each; the error is for a check that
// could not be made (an unreachable database).
type SchemaCheck func(ctx context.Context, spec upfactory.SchemaSpec) (differences []string, err error)

// Options configure a run.
type Options struct {
	Config *upfactory.Config
	Store  Store
	// Twin starts versions for runtime checks; nil skips them.
	Twin Twin
	// Schema checks schemas; nil skips schema cells.
	Schema SchemaCheck
	// Force runs again even when a stored run has the same inputs.
	Force bool
	// Actor is who asked for the run, for the log.
	Actor    string
	Progress func(msg string)
	Now      func() time.Time
}

// Run checks candidate id and stores the run.
func Run(ctx context.Context, opts Options, id string) (*upfactory.CompatRun, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	progress := opts.Progress
	if progress == nil {
		progress = func(string) {}
	}
	c, err := opts.Store.Candidate(ctx, id)
	if err != nil {
		return nil, err
	}
	switch c.Status {
	case upfactory.CandidateResolved:
		return nil, upfactory.Errorf(upfactory.ECONFLICT, "candidate %s is resolved: nothing to test", id)
	case upfactory.CandidateNeedsAck:
		// Breaking items keep a candidate in intake until someone read them.
		return nil, upfactory.Errorf(upfactory.ECONFLICT,
			"candidate %s has breaking items nobody acknowledged: read them (upfactory candidates show %s), then upfactory candidates ack %s --as NAME", id, id, id)
	}
	var services []*upfactory.Service
	for _, name := range c.Services {
		if s := opts.Config.Service(name); s != nil {
			services = append(services, s)
		}
	}
	key, err := runKey(c, services)
	if err != nil {
		return nil, err
	}
	if !opts.Force {
		if prev, err := opts.Store.CompatRun(ctx, id, key); err == nil {
			prev.Reused = true
			progress(fmt.Sprintf("reusing run %d: neither the candidate nor the services changed since", prev.ID))
			return prev, nil
		} else if upfactory.ErrorCode(err) != upfactory.ENOTFOUND {
			return nil, err
		}
	}

	run := &upfactory.CompatRun{CandidateID: id, Key: key, Started: now().UTC(), Cells: []upfactory.CompatCell{}}
	for _, svc := range services {
		progress(fmt.Sprintf("%s: static constraints", svc.Name))
		run.Cells = append(run.Cells, staticCells(c, svc)...)
	}
	for _, svc := range services {
		run.Cells = append(run.Cells, runtimeCells(ctx, opts, c, svc, progress)...)
	}
	run.Finished = now().UTC()
	run.Summarize()
	entry := upfactory.LogEntry{Time: run.Finished, Actor: orSystem(opts.Actor), Action: "compat.run", Subject: id,
		Reason: fmt.Sprintf("%s %s → %s: %s (%d pass, %d fail, %d skipped, %d error)", c.Component, c.Current, c.Recommended,
			run.Outcome, run.Counts[upfactory.CompatPass], run.Counts[upfactory.CompatFail], run.Counts[upfactory.CompatSkipped], run.Counts[upfactory.CompatError]),
		Values: map[string]any{"outcome": run.Outcome, "key": key}}
	if err := opts.Store.SaveCompatRun(ctx, run, entry); err != nil {
		return nil, err
	}
	return run, nil
}

func orSystem(a string) string {
	if a == "" {
		return upfactory.ActorSystem
	}
	return a
}

// runKey digests what a run depends on: the candidate's versions and
// advisories, and each service's compatibility config, stable version and
// constraint files.
func runKey(c *upfactory.Candidate, services []*upfactory.Service) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", c.ID, c.Component, c.Current, c.Recommended, c.BreakingDigest)
	for _, s := range services {
		spec, err := json.Marshal(s.Compat)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", s.Name, s.StableVersion, spec)
		for _, src := range s.Compat.Constraints {
			fmt.Fprintf(h, "%s\x00", fileDigest(src.Path))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

// fileDigest digests a file, or the files directly under a directory and
// one level down (a WordPress plugins directory); "" when unreadable.
func fileDigest(path string) string {
	h := sha256.New()
	var walk func(p string, depth int)
	walk = func(p string, depth int) {
		fi, err := os.Stat(p)
		if err != nil {
			return
		}
		if !fi.IsDir() {
			if data, err := os.ReadFile(p); err == nil {
				fmt.Fprintf(h, "%s\x00", p)
				h.Write(data)
			}
			return
		}
		if depth > 1 {
			return
		}
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			walk(p+"/"+e.Name(), depth+1)
		}
	}
	walk(path, 0)
	return hex.EncodeToString(h.Sum(nil))
}

// sameComponent reports whether a declaration's target names the
// candidate's component: names compared in lower case, Go modules without
// their major-version suffix.
func sameComponent(target, component string) bool {
	norm := func(s string) string {
		s = strings.ToLower(strings.TrimSpace(s))
		if prefix, _, ok := module.SplitPathVersion(s); ok && prefix != "" {
			s = prefix
		}
		return s
	}
	return norm(target) == norm(component)
}

// staticCells checks every declared constraint on the candidate's
// component in svc's constraint files against the recommended version.
func staticCells(c *upfactory.Candidate, svc *upfactory.Service) []upfactory.CompatCell {
	var cells []upfactory.CompatCell
	matched := 0
	for _, src := range svc.Compat.Constraints {
		ds, probs, err := constraint.Read(src.Type, src.Path)
		if err != nil {
			cells = append(cells, upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: "static", Component: src.Path,
				Outcome: upfactory.CompatError, Reason: err.Error(), File: src.Path})
			continue
		}
		for _, p := range probs {
			cells = append(cells, upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: "static", Component: p.File,
				Outcome: upfactory.CompatError, Reason: "skipped part of the file: " + p.Message, File: p.File, Line: p.Line})
		}
		for _, d := range ds {
			if !sameComponent(d.Target, c.Component) {
				continue
			}
			matched++
			r := constraint.Check(d, c.Recommended)
			cells = append(cells, upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: "static", Component: d.Dependent,
				Outcome: verdictOutcome(r.Verdict), Reason: r.Reason, Constraint: d.Kind + " " + d.Constraint, Verdict: string(r.Verdict),
				File: d.File, Line: d.Line})
		}
	}
	if matched == 0 && len(svc.Compat.Constraints) > 0 {
		cells = append(cells, upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: "static", Component: "-",
			Outcome: upfactory.CompatSkipped, Reason: fmt.Sprintf("no dependent component of %s declares a constraint on %s", svc.Name, c.Component)})
	}
	return cells
}

// verdictOutcome maps a static verdict to a cell outcome. Untested (beyond
// "Tested up to") cannot be decided statically: skipped, for the runtime
// checks to decide. Unknown is an error: never a pass.
func verdictOutcome(v constraint.Verdict) string {
	switch v {
	case constraint.Compatible:
		return upfactory.CompatPass
	case constraint.Incompatible:
		return upfactory.CompatFail
	case constraint.Untested:
		return upfactory.CompatSkipped
	}
	return upfactory.CompatError
}

// runtimeCells runs svc's checks, probes, load comparison and schema check
// against a twin of the candidate, when the candidate is svc's own release.
func runtimeCells(ctx context.Context, opts Options, c *upfactory.Candidate, svc *upfactory.Service, progress func(string)) []upfactory.CompatCell {
	spec := svc.Compat
	var planned []string
	for _, ch := range spec.Checks {
		planned = append(planned, "check "+ch.Name)
	}
	for _, j := range spec.Journeys {
		planned = append(planned, "journey "+j.Name)
	}
	if spec.Load != nil {
		planned = append(planned, "load twin vs stable")
	}
	if len(planned) == 0 && spec.Schema == nil {
		return nil
	}
	skipAll := func(reason string) []upfactory.CompatCell {
		var cells []upfactory.CompatCell
		for _, p := range planned {
			kind, name, _ := strings.Cut(p, " ")
			cells = append(cells, upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: kind, Component: name,
				Outcome: upfactory.CompatSkipped, Reason: reason})
		}
		if spec.Schema != nil {
			cells = append(cells, upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: "schema", Component: "schema",
				Outcome: upfactory.CompatSkipped, Reason: reason})
		}
		return cells
	}
	own := c.Layer == upfactory.LayerApp && c.Component == svc.Name
	switch {
	case !own:
		return skipAll(fmt.Sprintf("runtime checks need a build of %s with %s %s; they run on the %s release that includes it",
			svc.Name, c.Component, c.Recommended, svc.Name))
	case !svc.Delivered():
		return skipAll(fmt.Sprintf("%s has no target: upfactory cannot start a twin of it", svc.Name))
	case opts.Twin == nil && len(planned) > 0:
		return skipAll("no staging twin available in this run")
	}

	var cells []upfactory.CompatCell
	if len(planned) > 0 {
		progress(fmt.Sprintf("%s: starting a twin of %s", svc.Name, c.Recommended))
		twinURL, stopTwin, err := opts.Twin(ctx, svc, c.Recommended)
		if err != nil {
			return append(errAll(c, svc, planned, "the twin did not start: "+err.Error()), schemaSkipped(c, svc, "the twin did not start")...)
		}
		defer stopTwin()
		stableURL := ""
		if spec.Load != nil {
			stable := svc.StableVersion
			if st, err := opts.Store.State(ctx, svc.Name); err == nil && st.StableVersion != "" {
				stable = st.StableVersion
			}
			progress(fmt.Sprintf("%s: starting a twin of stable %s for the load comparison", svc.Name, stable))
			url, stopStable, err := opts.Twin(ctx, svc, stable)
			if err != nil {
				return append(errAll(c, svc, planned, "the stable twin did not start: "+err.Error()), schemaSkipped(c, svc, "the stable twin did not start")...)
			}
			defer stopStable()
			stableURL = url
		}
		progress(fmt.Sprintf("%s: %d checks and probes, critical paths first", svc.Name, len(planned)))
		results := probe.Run(ctx, probe.Plan{Config: spec, TwinURL: twinURL, StableURL: stableURL})
		for _, r := range results {
			cells = append(cells, upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: r.Kind, Component: r.Name, Tags: r.Tags,
				Outcome: string(r.Outcome), Reason: r.Reason, Seconds: r.Duration.Seconds(), Measures: r.Measures, Output: r.Output})
		}
	}
	if spec.Schema != nil {
		if stopped := criticalFailure(cells); stopped != "" {
			cells = append(cells, schemaSkipped(c, svc, "a critical-path item failed: "+stopped)...)
		} else {
			cells = append(cells, schemaCell(ctx, opts, c, svc))
		}
	}
	return cells
}

func criticalFailure(cells []upfactory.CompatCell) string {
	for _, c := range cells {
		if probe.IsCritical(c.Tags) && (c.Outcome == upfactory.CompatFail || c.Outcome == upfactory.CompatError) {
			return c.Component
		}
	}
	return ""
}

func errAll(c *upfactory.Candidate, svc *upfactory.Service, planned []string, reason string) []upfactory.CompatCell {
	var cells []upfactory.CompatCell
	for _, p := range planned {
		kind, name, _ := strings.Cut(p, " ")
		cells = append(cells, upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: kind, Component: name,
			Outcome: upfactory.CompatError, Reason: reason})
	}
	return cells
}

func schemaSkipped(c *upfactory.Candidate, svc *upfactory.Service, reason string) []upfactory.CompatCell {
	if svc.Compat.Schema == nil {
		return nil
	}
	return []upfactory.CompatCell{{Candidate: c.ID, Service: svc.Name, Kind: "schema", Component: "schema",
		Outcome: upfactory.CompatSkipped, Reason: reason}}
}

func schemaCell(ctx context.Context, opts Options, c *upfactory.Candidate, svc *upfactory.Service) upfactory.CompatCell {
	cell := upfactory.CompatCell{Candidate: c.ID, Service: svc.Name, Kind: "schema", Component: "schema"}
	if opts.Schema == nil {
		cell.Outcome, cell.Reason = upfactory.CompatSkipped, "no schema checker in this run"
		return cell
	}
	start := time.Now()
	diffs, err := opts.Schema(ctx, *svc.Compat.Schema)
	cell.Seconds = time.Since(start).Seconds()
	switch {
	case err != nil:
		cell.Outcome, cell.Reason = upfactory.CompatError, err.Error()
	case len(diffs) > 0:
		cell.Outcome = upfactory.CompatFail
		cell.Reason = fmt.Sprintf("%d difference(s) between the live schema and the expected one; first: %s", len(diffs), diffs[0])
		cell.Output = strings.Join(diffs, "\n")
	default:
		cell.Outcome, cell.Reason = upfactory.CompatPass, "the live schema is the expected one"
	}
	return cell
}
