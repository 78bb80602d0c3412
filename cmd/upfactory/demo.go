package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/compat"
	"github.com/upfactory/upfactory/config"
	"github.com/upfactory/upfactory/economics"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/gate"
	uhttp "github.com/upfactory/upfactory/http"
	"github.com/upfactory/upfactory/intake"
	"github.com/upfactory/upfactory/loadgen"
	"github.com/upfactory/upfactory/readout"
	"github.com/upfactory/upfactory/shop"
)

//go:embed demo.yaml
var demoConfig string

// demoData holds the demo's feeds and inventories: two real advisories of
// golang.org/x/net (one in CISA KEV), the shop's SBOM before and after
// 1.2.0, and its changelog before and after 1.2.0 is released.
//
//go:embed demodata
var demoData embed.FS

// Demo versions: the bundled shop regresses in badVersion (shop.Profiles).
const (
	demoService = "shop"
	badVersion  = "1.1.0"
	goodVersion = "1.2.0"

	demoRolloutLimit = 3 * time.Minute
)

// demoSummary is what the demo prints at the end (and as JSON with -o json).
type demoSummary struct {
	OK                bool    `json:"ok"`
	Requests          int64   `json:"requests"`
	RequestRate       float64 `json:"request_rate"`      // the users' mean rate, requests/s
	DeliveryFailures  int64   `json:"delivery_failures"` // connection errors and 502/503/504
	BadRollout        string  `json:"bad_rollout_phase"`
	BadReason         string  `json:"bad_rollout_reason"`
	BadRequests       int64   `json:"requests_served_by_bad_version"`
	Bad5xx            int64   `json:"errors_from_bad_version"`
	SecondsToRollback float64 `json:"seconds_first_bad_response_to_weight_0"`
	GoodRollout       string  `json:"good_rollout_phase"`
	StableVersion     string  `json:"stable_version"`
	// Intake: candidates on day 1, after 1.2.0 is released, and after it
	// is rolled out (when every candidate should be resolved).
	CandidatesDay1       int    `json:"candidates_day1"`
	CandidatesDay2       int    `json:"candidates_day2"`
	CandidatesAfter      int    `json:"candidates_after_rollout"`
	CandidatesResolved   int    `json:"candidates_resolved"`
	LogEntries           int64  `json:"log_entries"`
	LogVerified          bool   `json:"log_verified"`
	DataDir              string `json:"data_dir"`
	RollbackWindowActive bool   `json:"rollback_window_active"`
	// The line: compat outcomes, the gates that held the bad version,
	// the drill and preflight of the good one, and the board at the end.
	BadCompat            string   `json:"bad_compat"`
	GatesHeldBad         []string `json:"gates_held_bad"`
	GoodCompat           string   `json:"good_compat"`
	DrillPassed          bool     `json:"drill_passed"`
	DrillRollbackSeconds float64  `json:"drill_rollback_seconds"`
	DrillFailedRequests  int64    `json:"drill_failed_requests"`
	Preflight            string   `json:"preflight"`
	BoardStages          []string `json:"board"`
	// Incidents opened: the canary of the bad version rolled back opens one.
	Incidents int `json:"incidents"`
	// RegressionsCaught is the readout's count: 1.1.0.
	RegressionsCaught int `json:"regressions_caught"`
	// Verification is the post-release verdict on the good version.
	Verification string `json:"verification"`
	// ReadoutCommand gives the demo's readout again from a kept work dir.
	ReadoutCommand string `json:"readout_command"`
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), nil
}

func newDemoCmd(g *globals) *cobra.Command {
	var keep bool
	var rate float64
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Roll out a bad and then a good version of a bundled shop, under load, with nothing to install",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := g.stdout
			if g.json() {
				out = g.stderr // progress to stderr, the summary alone on stdout
			}
			// Ctrl-C or SIGTERM ends the demo cleanly: its instances run in
			// their own process groups and would otherwise outlive it.
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			sum, err := runDemo(ctx, out, rate, keep)
			if sum != nil && g.json() {
				g.printJSON(sum)
			}
			if err != nil {
				return err
			}
			if !sum.OK {
				return &exitError{code: exitRefused, err: fmt.Errorf("the demo did not end as expected (see above)")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's temp dir (config, database, instance logs)")
	cmd.Flags().Float64Var(&rate, "rate", 200, "requests per second of simulated users")
	return cmd
}

func runDemo(ctx context.Context, out io.Writer, rate float64, keep bool) (*demoSummary, error) {
	p := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	dir, err := os.MkdirTemp("", "upfactory-demo-")
	if err != nil {
		return nil, err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary to run the bundled shop: %w", err)
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	routerPort, err := freePort()
	if err != nil {
		return nil, err
	}
	yaml := strings.NewReplacer("@SELF@", self, "@API@", apiPort, "@ROUTER@", routerPort, "@DATA@", filepath.Join(dir, "data")).Replace(demoConfig)
	cfgPath := filepath.Join(dir, "upfactory.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		return nil, err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("the embedded demo config: %w", err)
	}
	for from, to := range map[string]string{
		"osv/GO-2023-2102.json":        "feeds/osv/GO-2023-2102.json",
		"osv/GHSA-qppj-fm5r-hxr3.json": "feeds/osv/GHSA-qppj-fm5r-hxr3.json",
		"kev.json":                     "feeds/kev.json",
		"CHANGELOG-1.1.0.md":           "feeds/shop.CHANGELOG.md",
		"shop-1.0.0.cdx.json":          "inventory/shop.cdx.json",
	} {
		if err := writeDemoFile(dir, from, to); err != nil {
			return nil, err
		}
	}
	logFile, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()

	demoStart := time.Now()
	p("upfactory demo: a shop with 2 instances behind the built-in router; simulated users ask for up to %g requests/s", rate)
	p("  work dir %s (config, SQLite store, instance logs)%s", dir, map[bool]string{true: "", false: "; removed at the end, --keep keeps it"}[keep])
	srv := &Server{Config: cfg, Logger: newLogger(logFile)}
	if err := srv.Open(ctx); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		srv.Close(sctx, true)
	}()
	client := uhttp.NewClient(srv.URL(), "")
	routerURL := "http://" + cfg.Services[0].Router.Listen
	p("  API %s, router %s", srv.URL(), routerURL)

	if err := waitReady(ctx, client, cfg.Services[0].StableVersion, 30*time.Second); err != nil {
		return nil, err
	}
	p("  stable %s is ready; starting simulated users", cfg.Services[0].StableVersion)

	loadStart := time.Now()
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	res, loadDone := loadgen.Run(loadCtx, loadgen.Options{BaseURL: routerURL, Rate: rate, Clients: 16, Limit: int64(rate * 600), SessionRequests: 3,
		Mix: []loadgen.Request{{Method: http.MethodGet, Path: "/"}, {Method: http.MethodGet, Path: "/api/products"}, {Method: http.MethodPost, Path: "/api/checkout"}}})
	time.Sleep(3 * time.Second) // a baseline before the first canary

	sum := &demoSummary{DataDir: dir}
	p("\n== 1. Intake: advisories, KEV and release notes matched to the shop's SBOM")
	rep, err := srv.RunIntake(ctx, "demo")
	if err != nil {
		return nil, err
	}
	sum.CandidatesDay1 = len(rep.Candidates)
	printCandidates(out, rep)

	line := &demoLine{srv: srv, out: out, p: p, ctx: ctx}
	p("\n== 2. %s on the line: its notes are read; compat runs it in a staging twin under load", badVersion)
	badCand, err := line.appCandidate(badVersion)
	if err != nil {
		return nil, err
	}
	run, err := line.compat(badCand.ID)
	if err != nil {
		return nil, err
	}
	sum.BadCompat = run.Outcome
	p("   rollout start %s:", badVersion)
	closed, err := line.refused(badVersion)
	if err != nil {
		return nil, err
	}
	sum.GatesHeldBad = closed
	line.board(false)

	p("\n== 3. An approver pushes %s through as an emergency change, overriding the gates (each logged); the canary is the last line", badVersion)
	for _, id := range []string{gate.CompatID(demoService, badVersion), gate.DrillID(demoService, badVersion), gate.PreflightID(demoService, badVersion)} {
		if _, err := srv.App.Override(ctx, id, "demo-approver", "emergency change: the staging failure looked like noise"); err != nil {
			return nil, err
		}
		p("   override %s by demo-approver", id)
	}
	p("\n   Rolling out %s: %s", badVersion, shop.Profiles[badVersion].Note)
	bad, err := followRollout(ctx, out, client, badVersion, res, "", nil)
	if err != nil {
		return nil, err
	}
	sum.BadRollout, sum.BadReason = string(bad.Phase), bad.Message
	snap := res.Snapshot()
	sum.BadRequests, sum.Bad5xx = snap.ByVersion[badVersion], snap.Errors5xx[badVersion]
	if entries, err := client.Log(ctx, upfactory.LogFilter{Service: demoService}); err == nil {
		for _, e := range entries {
			if e.Action == "rollback.automatic" {
				if first, ok := snap.FirstErr5xx[badVersion]; ok {
					sum.SecondsToRollback = e.Time.Sub(first).Seconds()
				}
			}
		}
	}
	p("   -> %s: %s", bad.Phase, bad.Message)
	if m := bad.Mirror; m != nil {
		p("   mirror step: %d copies of users' requests compared, %d answered differently; users got the stable version's answers", m.Compared, m.Mismatches)
	}
	p("   %s served %d requests to users before the rollback (%d of them failed); the rest never saw it", badVersion, sum.BadRequests, sum.Bad5xx)
	if sum.SecondsToRollback > 0 {
		p("   time from its first failed response to canary weight 0: %.1fs", sum.SecondsToRollback)
	}

	p("\n== 4. %s is released; intake sees the new notes, with a breaking item to acknowledge", goodVersion)
	if err := writeDemoFile(dir, "CHANGELOG-1.2.0.md", "feeds/shop.CHANGELOG.md"); err != nil {
		return nil, err
	}
	if rep, err = srv.RunIntake(ctx, "demo"); err != nil {
		return nil, err
	}
	sum.CandidatesDay2 = len(rep.Candidates)
	printCandidates(out, rep)
	goodCand, err := line.appCandidate(goodVersion)
	if err != nil {
		return nil, err
	}
	var carried []string // what 1.2.0 delivers besides itself: the x/net fix
	for _, c := range rep.Candidates {
		if c.Layer != upfactory.LayerApp && slices.Contains(c.Services, demoService) {
			carried = append(carried, c.ID)
		}
	}
	for _, c := range rep.Candidates {
		if c.Status == upfactory.CandidateNeedsAck {
			if _, err := intake.Ack(ctx, srv.Store, c.ID, "demo-approver", time.Now()); err != nil {
				return nil, err
			}
			p("   %s: breaking items acknowledged by demo-approver; it may leave intake", c.ID)
		}
	}
	for _, id := range carried {
		if _, err := srv.App.NoNotes(ctx, id, "demo-approver", "the module publishes no changelog; its advisories say what the fix is"); err != nil {
			return nil, err
		}
		p("   %s: recorded by demo-approver: no release notes exist (the advisories are the notes)", id)
	}

	p("\n== 5. %s by the book: compat, a rollback drill, a preflight, then the rollout (it carries the golang.org/x/net fix)", goodVersion)
	for i, id := range append([]string{goodCand.ID}, carried...) {
		if run, err = line.compat(id); err != nil {
			return nil, err
		}
		if i == 0 {
			sum.GoodCompat = run.Outcome // the release's own run, in its twin
		}
	}
	p("   rollback drill of %s in a staging twin (drill.speed 4):", goodVersion)
	dr, err := srv.App.Drill(ctx, demoService, goodVersion, "demo-sre", func(msg string) { p("     %s", msg) })
	if err != nil {
		return nil, err
	}
	sum.DrillPassed, sum.DrillRollbackSeconds, sum.DrillFailedRequests = dr.Passed, dr.RollbackSeconds, dr.FailedRequests
	p("   drill: %s — rollback to weight 0 in %s, %d of %d requests failed", map[bool]string{true: "PASSED", false: "FAILED"}[dr.Passed],
		upfactory.Duration(time.Duration(dr.RollbackSeconds*float64(time.Second))).Human(), dr.FailedRequests, dr.Requests)
	pre, err := srv.App.Preflight(ctx, demoService, goodVersion, "demo-sre")
	if err != nil {
		return nil, err
	}
	p("   preflight: %s", pre.Line)
	for _, c := range []struct{ item, by, note string }{
		{"backups", "demo-dba", "last night's dump restored to staging and checked"},
		{"support-briefed", "demo-support-lead", "briefed on the removal of /api/v0/cart"},
	} {
		if err := srv.App.Confirm(ctx, demoService, c.item, goodVersion, c.by, c.note); err != nil {
			return nil, err
		}
		p("   %s confirmed by %s: %s", c.item, c.by, c.note)
	}
	if pre, err = srv.App.Preflight(ctx, demoService, goodVersion, "demo-sre"); err != nil {
		return nil, err
	}
	sum.Preflight = pre.Verdict
	p("   preflight: %s", pre.Line)

	p("\n   Rolling out %s (healthy), through an approval gate to 100%%", goodVersion)
	good, err := followRollout(ctx, out, client, goodVersion, res, "demo-approver", carried)
	if err != nil {
		return nil, err
	}
	sum.GoodRollout, sum.StableVersion = string(good.Phase), good.StableVersion
	sum.RollbackWindowActive = good.PreviousVersion != ""
	p("   -> %s: %s", good.Phase, good.Message)

	p("\n== 6. The shop now runs %s; intake again, with its new SBOM", good.StableVersion)
	if err := writeDemoFile(dir, "shop-1.2.0.cdx.json", "inventory/shop.cdx.json"); err != nil {
		return nil, err
	}
	if rep, err = srv.RunIntake(ctx, "demo"); err != nil {
		return nil, err
	}
	sum.CandidatesAfter, sum.CandidatesResolved = len(rep.Candidates), rep.Run.CandidatesResolved
	printCandidates(out, rep)
	p("\n== 7. Post-release verification: %s at 100%% against the baseline %s served before its rollout", good.StableVersion, good.Baseline.Version)
	verified, err := waitVerified(ctx, client, 2*time.Minute)
	if err != nil {
		return nil, err
	}
	sum.Verification = string(verified.Verification.Verdict)
	printVerification(out, cfg, verified)
	if err := srv.App.SyncLine(ctx); err != nil {
		return nil, err
	}
	if ins, err := srv.App.Incidents(ctx, upfactory.IncidentFilter{}); err == nil {
		p("\n== Incidents")
		var buf strings.Builder
		writeIncidents(&buf, ins)
		for _, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
			p("   %s", l)
		}
		sum.Incidents = len(ins)
	}
	p("\n== The board: every upgrade, its stage, owner and what it waits for")
	b := line.board(true)
	if b != nil {
		for _, u := range b.Upgrades {
			sum.BoardStages = append(sum.BoardStages, u.ID+" "+string(u.Stage))
		}
	}

	stopLoad()
	<-loadDone
	snap = res.Snapshot()
	sum.Requests, sum.DeliveryFailures = snap.Total, snap.Failed()
	sum.RequestRate = float64(sum.Requests) / time.Since(loadStart).Seconds()
	if entries, err := client.Log(ctx, upfactory.LogFilter{}); err == nil {
		sum.LogEntries = int64(len(entries))
	}
	if v, err := client.VerifyLog(ctx); err == nil {
		sum.LogVerified = v.OK
	}
	sum.OK = sum.BadRollout == string(upfactory.PhaseRolledBack) && sum.GoodRollout == string(upfactory.PhaseCompleted) &&
		sum.StableVersion == goodVersion && sum.DeliveryFailures == 0 && sum.LogVerified &&
		sum.CandidatesDay1 > 0 && sum.CandidatesAfter == 0 && sum.BadCompat == upfactory.CompatFail && len(sum.GatesHeldBad) > 0 &&
		sum.GoodCompat == upfactory.CompatPass && sum.DrillPassed && sum.Preflight == upfactory.PreflightGo &&
		sum.Verification == string(upfactory.VerdictPass)

	// Whole seconds, so that the command printed below gives the same readout.
	from, to := demoStart.UTC().Truncate(time.Second), time.Now().UTC().Truncate(time.Second).Add(time.Second)
	r, err := srv.App.Readout(ctx, app.ReadoutRequest{From: from, To: to})
	if err != nil {
		return nil, err
	}
	p("\n== The executive readout of the demo's own history (upfactory readout)")
	for _, l := range strings.Split(strings.TrimRight(readout.Markdown(r), "\n"), "\n") {
		p("   %s", l)
	}
	sum.RegressionsCaught = r.RegressionsCaught
	sum.ReadoutCommand = fmt.Sprintf("upfactory readout -c %s --from %s --to %s --format md|html|json", cfgPath, from.Format(time.RFC3339), to.Format(time.RFC3339))
	if keep {
		p("   the same readout, from the kept work dir: %s", sum.ReadoutCommand)
	}

	p("\n== Summary")
	p("  requests sent by simulated users:   %d (%.0f/s on average; they asked for up to %g/s)", sum.Requests, sum.RequestRate, rate)
	p("  requests the router failed to deliver: %d", sum.DeliveryFailures)
	p("  bad version %s: compat %s, held by %s; pushed through by overrides, %s automatically; %d requests reached it, %d failed",
		badVersion, sum.BadCompat, strings.Join(sum.GatesHeldBad, ", "), sum.BadRollout, sum.BadRequests, sum.Bad5xx)
	p("  good version %s: compat %s, drill %s (rollback %.3fs, %d failed requests), preflight %s; %s; now stable, %s kept warm for a one-command rollback",
		goodVersion, sum.GoodCompat, map[bool]string{true: "passed", false: "FAILED"}[sum.DrillPassed], sum.DrillRollbackSeconds, sum.DrillFailedRequests,
		sum.Preflight, sum.GoodRollout, cfg.Services[0].StableVersion)
	p("  intake: %d candidates on day 1, %d after %s was released, %d once it runs (%d resolved)",
		sum.CandidatesDay1, sum.CandidatesDay2, goodVersion, sum.CandidatesAfter, sum.CandidatesResolved)
	p("  operation log: %d entries, hash chain %s", sum.LogEntries, map[bool]string{true: "verified", false: "NOT verified"}[sum.LogVerified])
	if sum.OK {
		p("  result: OK")
	} else {
		p("  result: NOT as expected")
	}
	return sum, nil
}

// waitReady waits until every instance of the stable version is ready.
func waitReady(ctx context.Context, c *uhttp.Client, version string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		st, err := c.Status(ctx, demoService)
		if err == nil {
			for _, v := range st.Versions {
				if v.Version == version && len(v.Instances) > 0 && v.Weight > 0 {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the stable version %s did not become ready within %s", version, timeout)
}

// waitVerified waits until post-release verification of the last
// rollout has a verdict.
func waitVerified(ctx context.Context, c *uhttp.Client, timeout time.Duration) (*engine.Status, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := c.Status(ctx, demoService)
		if err != nil {
			return nil, err
		}
		if v := st.Verification; v == nil {
			return nil, fmt.Errorf("the rollout of %s has no post-release verification", st.CanaryVersion)
		} else if v.Verdict != upfactory.VerdictPending {
			return st, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("post-release verification of %s gave no verdict within %s", st.CanaryVersion, timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// printVerification shows the verdict with the figures before and after.
func printVerification(out io.Writer, cfg *upfactory.Config, st *engine.Status) {
	v, b := st.Verification, st.Baseline
	fmt.Fprintf(out, "   verdict: %s — %s\n", v.Verdict, v.Reason)
	if b == nil || v.Latest == nil {
		return
	}
	a := v.Latest
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "   \t%s before\t%s after\n", b.Version, a.Version)
	fmt.Fprintf(w, "   requests\t%d\t%d\n", b.Requests, a.Requests)
	fmt.Fprintf(w, "   error rate\t%.2f%%\t%.2f%%\n", 100*b.ErrorRate(), 100*a.ErrorRate())
	fmt.Fprintf(w, "   p95\t%s\t%s\n", ms(b.P95*1000), ms(a.P95*1000))
	if b.Usage && a.Usage {
		m := cfg.Economics
		fmt.Fprintf(w, "   CPU-seconds per 1,000 requests\t%.3f\t%.3f\n", b.CPUSecondsPer1k, a.CPUSecondsPer1k)
		fmt.Fprintf(w, "   cost per million requests (%s)\t%s\t%s\n", m.Currency,
			economics.Money(economics.PerMillion(m, b.CPUSecondsPer1k, b.MiBSecondsPer1k)), economics.Money(economics.PerMillion(m, a.CPUSecondsPer1k, a.MiBSecondsPer1k)))
	}
	w.Flush()
}

// demoProgressEvery is how often the demo repeats a rollout's progress
// within one step.
const demoProgressEvery = 3 * time.Second

// followRollout starts a rollout and prints its progress until it ends,
// approving any gate as approver when one is given.
func followRollout(ctx context.Context, out io.Writer, c *uhttp.Client, version string, res *loadgen.Result, approver string, candidates []string) (*engine.Status, error) {
	st, err := c.StartRollout(ctx, demoService, version, "demo", candidates...)
	if err != nil {
		return nil, err
	}
	// The demo's rollouts take well under a minute; one that stops moving
	// (paused as inconclusive on a starved machine) ends the demo instead
	// of holding it forever.
	deadline := time.Now().Add(demoRolloutLimit)
	// A line when the phase, step or weight changes; between those, the
	// message and the traffic every few seconds, not at every poll.
	lastKey, lastLine, lastPrint := "", "", time.Time{}
	for {
		key := fmt.Sprint(st.Phase, st.StepIndex, st.CanaryWeight)
		line := fmt.Sprintf("%-16s step %s  canary %3d%% %s  %s", st.Phase, stepOf(st), st.CanaryWeight, bar(st.CanaryWeight, 20), st.Message)
		periodic := time.Since(lastPrint) >= demoProgressEvery
		if key != lastKey || (periodic && line != lastLine) {
			fmt.Fprintf(out, "   %s %s\n", time.Now().Format(time.TimeOnly), line)
			lastKey, lastLine = key, line
		}
		if periodic {
			lastPrint = time.Now()
			var parts []string
			for _, v := range st.Versions {
				if v.Traffic.Requests > 0 {
					parts = append(parts, fmt.Sprintf("%s %s %.0f req/s, 5xx %.1f%%, p95 %s", v.Role, v.Version, v.Traffic.RequestRate, v.Traffic.ErrorRate*100, ms(v.Traffic.P95Ms)))
				}
			}
			if len(parts) > 0 {
				fmt.Fprintf(out, "            traffic over the last %s: %s\n", engine.StatusWindow, strings.Join(parts, " | "))
			}
		}
		if st.Phase.Done() {
			return st, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the rollout of %s did not finish within %s: %s %s", version, demoRolloutLimit, st.Phase, st.Message)
		}
		if st.Phase == upfactory.PhaseAwaitingApproval && approver != "" {
			fmt.Fprintf(out, "   %s approval gate: approving as %s\n", time.Now().Format(time.TimeOnly), approver)
			if _, err := c.Do(ctx, demoService, "approve", approver, "canary metrics look healthy"); err != nil {
				return nil, err
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
		if st, err = c.Status(ctx, demoService); err != nil {
			return nil, err
		}
	}
}

// writeDemoFile copies the embedded demodata/from to dir/to.
func writeDemoFile(dir, from, to string) error {
	data, err := demoData.ReadFile("demodata/" + from)
	if err != nil {
		return err
	}
	dst := filepath.Join(dir, to)
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// printCandidates prints an intake run's candidates with the reasons for
// their scores: advisories, KEV, highlights.
func printCandidates(out io.Writer, rep *intake.Report) {
	r := rep.Run
	fmt.Fprintf(out, "   %d advisories, %d components: %d open candidates (%d new, %d changed, %d resolved)\n",
		r.Records, r.Components, r.Candidates, r.CandidatesNew, r.CandidatesChanged, r.CandidatesResolved)
	for _, c := range rep.Candidates {
		var why []string
		for _, a := range c.Advisories {
			s := a.ID
			if a.CVSSScore != nil {
				s += fmt.Sprintf(" CVSS %.1f", *a.CVSSScore)
			}
			if a.KEV {
				s += " KEV"
			}
			why = append(why, s)
		}
		kinds := map[string]int{}
		for _, h := range c.Highlights {
			kinds[h.Kind]++
		}
		for _, k := range []string{"breaking", "migration", "deprecation", "security"} {
			if kinds[k] > 0 {
				why = append(why, fmt.Sprintf("%d %s", kinds[k], k))
			}
		}
		fmt.Fprintf(out, "   %s  risk %4.1f  %-18s %s → %-8s %-9s %s\n", c.ID, c.Risk.Total, c.Component, c.Current, c.Recommended, c.Status, strings.Join(why, ", "))
	}
}

// demoLine runs the line's steps of the demo through the application
// layer, as the CLI would, and prints them.
type demoLine struct {
	srv *Server
	out io.Writer
	p   func(format string, args ...any)
	ctx context.Context
}

// appCandidate is the candidate intake found for the shop's own release.
func (d *demoLine) appCandidate(version string) (*upfactory.Candidate, error) {
	cands, err := d.srv.Store.Candidates(d.ctx, upfactory.CandidateFilter{Service: demoService})
	if err != nil {
		return nil, err
	}
	for _, c := range cands {
		if c.Component == demoService && c.Recommended == version {
			return c, nil
		}
	}
	return nil, fmt.Errorf("intake found no candidate for %s %s", demoService, version)
}

// compat runs the compatibility matrix of candidate id in a staging twin.
func (d *demoLine) compat(id string) (*upfactory.CompatRun, error) {
	cfg := d.srv.cfg()
	start := time.Now()
	r, err := compat.Run(d.ctx, compat.Options{Config: cfg, Store: d.srv.Store, Actor: "demo-sre",
		Twin:     compat.TargetTwin(cfg.Server.DataDir, nil),
		Progress: func(msg string) { d.p("     [%4.1fs] %s", time.Since(start).Seconds(), msg) }}, id)
	if err != nil {
		return nil, err
	}
	n := r.Counts
	d.p("   compat of %s: %s (%d pass, %d fail, %d skipped, %d error)", id, strings.ToUpper(r.Outcome),
		n[upfactory.CompatPass], n[upfactory.CompatFail], n[upfactory.CompatSkipped], n[upfactory.CompatError])
	for _, c := range r.Cells {
		if c.Outcome == upfactory.CompatFail || c.Outcome == upfactory.CompatError {
			d.p("     %s %s %s: %s", strings.ToUpper(c.Outcome), c.Kind, c.Component, oneLine(c.Reason, 110))
		}
	}
	return r, nil
}

// refused asks for a rollout of version and prints the gates that hold it.
func (d *demoLine) refused(version string) ([]string, error) {
	_, err := d.srv.App.StartRollout(d.ctx, app.StartRequest{Service: demoService, Version: version, Actor: "demo-sre"})
	if err == nil {
		return nil, fmt.Errorf("the rollout of %s started with gates closed", version)
	}
	if upfactory.ErrorCode(err) != upfactory.ECONFLICT {
		return nil, err
	}
	for _, l := range strings.Split(upfactory.ErrorMessage(err), "\n") {
		d.p("     %s", l)
	}
	var gates []string
	if e, ok := errors.AsType[*upfactory.Error](err); ok {
		if det, ok := e.Details.(map[string]any); ok {
			if rs, ok := det["closed_gates"].([]gate.Result); ok {
				for _, r := range rs {
					gates = append(gates, r.Gate)
				}
			}
		}
	}
	return gates, nil
}

// board prints the board (with the upgrades that left the line when all).
func (d *demoLine) board(all bool) *app.Board {
	b, err := d.srv.App.Board(d.ctx, app.BoardFilter{All: all})
	if err != nil {
		d.p("   board: %v", err)
		return nil
	}
	var buf strings.Builder
	writeBoard(&buf, b)
	for _, l := range strings.Split(strings.TrimRight(buf.String(), "\n"), "\n") {
		d.p("   %s", l)
	}
	return b
}
