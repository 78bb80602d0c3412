package economics_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/economics"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func day(n float64) time.Time { return t0.Add(time.Duration(n * 24 * float64(time.Hour))) }

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func epss(v float64) *float64 { return &v }

// A scripted history with known answers. The prices make the arithmetic
// easy to follow: a CPU-second per 1,000 requests costs 1 per million
// requests, a MiB-second per 1,000 costs 0.001.
func TestComputeOnAScriptedHistory(t *testing.T) {
	model := upfactory.Economics{Currency: "USD", DowntimePerMinute: 1000, CPUHour: 3.6, GiBHour: 3.6864, BreachCost: 1e6,
		DetectionWithoutCanary: upfactory.Duration(30 * time.Minute), SLOPercent: 99.9}
	services := []*upfactory.Service{{Name: "shop"}, {Name: "blog", TrafficShare: 0.5}}
	e := func(seq int64, at time.Time, action, service, rollout string, v map[string]any) upfactory.LogEntry {
		if v == nil {
			v = map[string]any{}
		}
		v["rollout"] = rollout
		return upfactory.LogEntry{Seq: seq, Time: at, Action: action, Service: service, Subject: "2.0.0", Values: v}
	}
	entries := []upfactory.LogEntry{
		// r1: caught at 5% with 8% of requests failing.
		e(1, day(1), "step.weight", "shop", "r1", map[string]any{"to": 5.0}),
		e(2, day(1.01), upfactory.ActionRollbackAutomatic, "shop", "r1", map[string]any{"metric": "error_rate", "canary": 0.08}),
		// r2: caught by the mirror before any weight, a quarter mismatched, on a half-traffic service.
		e(3, day(2), upfactory.ActionRollbackAutomatic, "blog", "r2", map[string]any{"compared": 100.0, "mismatches": 25.0}),
		// r3: a latency regression at 25%: not a rate, counted as all hurt.
		e(4, day(3), "step.weight", "shop", "r3", map[string]any{"to": 25.0}),
		e(5, day(3.01), upfactory.ActionRollbackAutomatic, "shop", "r3", map[string]any{"metric": "p95_latency", "canary": 0.9}),
		// r4: delivered and verified.
		e(6, day(10), upfactory.ActionCompleted, "shop", "r4", nil),
		e(7, day(10.1), upfactory.ActionVerificationPassed, "shop", "r4", map[string]any{
			"baseline_error_rate": 0.0005, "after_error_rate": 0.002,
			"baseline_cpu_seconds_per_1k": 2.0, "after_cpu_seconds_per_1k": 1.5,
			"baseline_mib_seconds_per_1k": 100.0, "after_mib_seconds_per_1k": 50.0,
			"baseline_conversion_checkout": 0.10, "baseline_conversion_checkout_n": 4000.0, "after_conversion_checkout": 0.12}),
		// Before the period: not priced.
		e(8, day(-1), upfactory.ActionRollbackAutomatic, "shop", "r0", map[string]any{"metric": "error_rate", "canary": 0.5}),
	}
	incidents := []*upfactory.Incident{
		{Service: "shop", StartedAt: day(5), Seq: 20},
		{Service: "shop", StartedAt: day(12), Seq: 21},
		{Service: "shop", StartedAt: day(15), Seq: 22},
		{Service: "blog", StartedAt: day(12), Seq: 23},
	}
	cand := &upfactory.Candidate{ID: "c-1", Component: "golang.org/x/net", Risk: upfactory.RiskScore{Total: 72}, Advisories: []upfactory.Advisory{
		{ID: "GO-1", EPSS: epss(0.5), KEV: true}, {ID: "GO-2", EPSS: epss(0.5)}, {ID: "GO-3"}}}
	up := &upfactory.Upgrade{ID: "shop/c-1", CandidateID: "c-1", Service: "shop", Stages: []upfactory.StageRecord{
		{Stage: upfactory.StageCanary, EnteredAt: day(9)}, {Stage: upfactory.StageVerification, EnteredAt: day(10), Seq: 6}}}

	r := economics.Compute(economics.Inputs{Model: model, From: t0, To: day(20), Services: services, Entries: entries,
		Upgrades: []*upfactory.Upgrade{up}, Incidents: incidents, Candidates: []*upfactory.Candidate{cand}})

	want := []float64{0.95 * 30 * 1000 * 0.08, 1 * 30 * 1000 * 0.5 * 0.25, 0.75 * 30 * 1000}
	if len(r.Avoided) != 3 {
		t.Fatalf("avoided: %+v", r.Avoided)
	}
	for i, a := range r.Avoided {
		if !near(a.Value, want[i]) {
			t.Errorf("avoided[%d] = %v, want %v (%s)", i, a.Value, want[i], a.Formula)
		}
	}
	if !near(r.DowntimeAvoided, 2280+3750+22500) {
		t.Errorf("downtime avoided %v", r.DowntimeAvoided)
	}
	if a := r.Avoided[0]; a.Formula != "(1 − 0.05) × 30 min × 1,000 USD/min × 1.00 traffic share × 8.00% hurt = 2,280 USD" || a.Sources[0] != 2 {
		t.Errorf("formula %q sources %v", a.Formula, a.Sources)
	}
	if a := r.Avoided[2]; !a.HurtAssumed || !strings.Contains(a.Formula, "not a rate") {
		t.Errorf("the latency regression's hurt is not said to be assumed: %+v", a)
	}

	check := func(name string, got []economics.Change, before, after float64) {
		t.Helper()
		if len(got) != 1 || !near(got[0].Before, before) || !near(got[0].After, after) || got[0].Sources[0] == 0 {
			t.Errorf("%s: %+v, want %v → %v", name, got, before, after)
		}
	}
	check("error budget burn", r.ErrorBudget, 0.5, 2)
	check("CPU", r.CPU, 2, 1.5)
	check("memory", r.Memory, 100, 50)
	check("cost per million", r.CostPerMillion, 2.1, 1.55)
	check("conversion", r.Conversion, 0.10, 0.12)
	if r.Conversion[0].Metric != "checkout" {
		t.Errorf("conversion names %q, want the check", r.Conversion[0].Metric)
	}
	// 10 days on either side of 100% (the period ends 10 days after it):
	// one incident before, two after.
	check("incident rate", r.IncidentRate, 1, 2)
	if u := r.IncidentRate[0].Unit; u != "incidents in 10d" {
		t.Errorf("incident rate unit %q, want the span", u)
	}
	if got := r.IncidentRate[0].Sources; len(got) != 4 {
		t.Errorf("incident rate sources %v: want the completion and three incidents", got)
	}

	if len(r.Losses) != 1 {
		t.Fatalf("losses %+v", r.Losses)
	}
	l := r.Losses[0]
	if !near(l.Probability, 0.75) || !near(l.Value, 750000) || l.KEV != 1 || len(l.Unscored) != 1 || l.Unscored[0] != "GO-3" {
		t.Errorf("loss %+v", l)
	}
	if !near(r.ExpectedLoss, 750000) {
		t.Errorf("expected loss %v", r.ExpectedLoss)
	}
}

func TestAnEmptyPeriodPricesNothing(t *testing.T) {
	r := economics.Compute(economics.Inputs{Model: upfactory.DefaultEconomics(), From: t0, To: day(30)})
	if r.DowntimeAvoided != 0 || r.ExpectedLoss != 0 || len(r.Avoided)+len(r.CostPerMillion)+len(r.Losses)+len(r.IncidentRate) != 0 {
		t.Errorf("empty period: %+v", r)
	}
	if len(r.Assumed) == 0 {
		t.Error("the default model is not labelled as assumed")
	}
}

func TestMoney(t *testing.T) {
	for v, want := range map[float64]string{0.4234: "0.423", 0.004183: "0.00418", 0: "0", 99.5: "99.50", 2280: "2,280", 1234567.6: "1,234,568", -5000: "-5,000", math.NaN(): "n/a"} {
		if got := economics.Money(v); got != want {
			t.Errorf("Money(%v) = %q, want %q", v, got, want)
		}
	}
}
