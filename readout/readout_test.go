package readout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/dora"
	"github.com/upfactory/upfactory/economics"
	"github.com/upfactory/upfactory/readout"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

func history() readout.Inputs {
	lib := &upfactory.Upgrade{ID: "shop/c-lib", CandidateID: "c-lib", Service: "shop", Component: "golang.org/x/net", From: "v0.15.0", To: "v0.17.0",
		RolloutID: "r2", Version: "1.2.0", Stage: upfactory.StageVerification, CreatedAt: at(0), Stages: []upfactory.StageRecord{
			{Stage: upfactory.StageIntake, EnteredAt: at(0), LeftAt: at(1)}, {Stage: upfactory.StageCanary, EnteredAt: at(1), LeftAt: at(2), Seq: 30},
			{Stage: upfactory.StageVerification, EnteredAt: at(2), Seq: 40}}}
	bad := &upfactory.Upgrade{ID: "shop/c-app", CandidateID: "c-app", Service: "shop", Component: "shop", From: "1.0.0", To: "1.1.0",
		RolloutID: "r1", Version: "1.1.0", Stage: upfactory.StageRolledBack, CreatedAt: at(0), Stages: []upfactory.StageRecord{
			{Stage: upfactory.StageCanary, EnteredAt: at(0.5), LeftAt: at(0.6), Outcome: "rollback.automatic", Seq: 10},
			{Stage: upfactory.StageRolledBack, EnteredAt: at(0.6), Seq: 12}}}
	return readout.Inputs{From: at(0), To: at(24),
		Upgrades: []*upfactory.Upgrade{lib, bad},
		Candidates: []*upfactory.Candidate{{ID: "c-lib", Component: "golang.org/x/net", Risk: upfactory.RiskScore{Total: 63},
			Advisories: []upfactory.Advisory{{ID: "GO-2023-2102", KEV: true}, {ID: "GHSA-x"}}}},
		Keys: dora.Keys{HasData: true, Deployments: dora.Figure{Value: 1, Sources: []int64{40}}, LeadTime: dora.Figure{Value: 7200, Count: 1, Sources: []int64{40}},
			ChangeFailureRate: dora.Figure{Value: 0, Count: 1, Sources: []int64{40}}, TimeToRestore: dora.Figure{Value: 360, Count: 1, Sources: []int64{12}}},
	}
}

func figure(r *readout.Readout, heading, name string) *readout.Figure {
	for _, s := range r.Sections {
		for i := range s.Figures {
			if s.Heading == heading && s.Figures[i].Name == name {
				return &s.Figures[i]
			}
		}
	}
	return nil
}

func TestReadoutFiguresAndTheirSources(t *testing.T) {
	r := readout.Build(history())
	var headings []string
	for _, s := range r.Sections {
		headings = append(headings, s.Heading)
		for _, f := range s.Figures {
			if len(f.Sources) == 0 {
				t.Errorf("%s / %s has no source", s.Heading, f.Name)
			}
		}
	}
	if strings.Join(headings, "|") != "What changed|Why now|What risk reduced|What business metric improved" {
		t.Errorf("headings %v", headings)
	}
	for _, tc := range []struct {
		heading, name string
		value         float64
		source        int64
	}{
		{readout.WhatChanged, "upgrades delivered", 1, 40},
		{readout.WhyNow, "advisories fixed", 2, 40},
		{readout.WhyNow, "KEV-listed advisories fixed", 1, 40},
		{readout.RiskReduced, "regressions caught before reaching all users", 1, 12},
		{readout.MetricImproved, "time to restore (median)", 360, 12},
	} {
		f := figure(r, tc.heading, tc.name)
		if f == nil || f.Value != tc.value || f.Sources[0] != tc.source {
			t.Errorf("%s / %s = %+v, want %v from #%d", tc.heading, tc.name, f, tc.value, tc.source)
		}
	}
	if r.RegressionsCaught != 1 || r.DORA.Deployments != 1 || r.DORA.LeadTimeSeconds != 7200 {
		t.Errorf("summary %+v %+v", r.RegressionsCaught, r.DORA)
	}
	md := readout.Markdown(r)
	for _, want := range []string{"## What changed", "golang.org/x/net v0.15.0 → v0.17.0 on shop", "GO-2023-2102 (in CISA KEV", "| upgrades delivered | 1 upgrades | #40 |", "2h0m0s"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestAnEmptyPeriodSaysSo(t *testing.T) {
	x := history()
	x.From, x.To = at(100), at(200)
	x.Keys = dora.Keys{}
	r := readout.Build(x)
	if r.HasData || len(r.Sections) != 4 {
		t.Fatalf("%+v", r)
	}
	for _, s := range r.Sections {
		if len(s.Figures) != 0 || !strings.Contains(s.Text, "Nothing is on record") {
			t.Errorf("%s: %+v: an empty period gives no figures and says so", s.Heading, s)
		}
	}
}

func TestReadoutPricesThePeriod(t *testing.T) {
	x := history()
	x.Economics = &economics.Report{Currency: "EUR", Assumed: []string{"breach_cost"}, DowntimeAvoided: 2280,
		Avoided:        []economics.Avoided{{Service: "shop", Version: "1.1.0", Value: 2280, Formula: "(1 − 0.05) × 30 min × 1,000 EUR/min × 1.00 traffic share × 8.00% hurt = 2,280 EUR", Sources: []int64{12}}},
		CostPerMillion: []economics.Change{{Service: "shop", Version: "1.2.0", Before: 2.1, After: 1.55, Sources: []int64{41}}},
		ErrorBudget:    []economics.Change{{Service: "shop", Version: "1.2.0", Before: 0.5, After: 2, Sources: []int64{41}}},
		ExpectedLoss:   750000, Losses: []economics.Loss{{Upgrade: "shop/c-lib", Advisories: []string{"GO-2023-2102", "GHSA-x"}, Unscored: []string{"GHSA-x"}, Value: 750000, Sources: []int64{40}}}}
	r := readout.Build(x)
	for _, tc := range []struct {
		heading, name string
		value         float64
		source        int64
	}{
		{readout.RiskReduced, "downtime cost avoided by canaries", 2280, 12},
		{readout.RiskReduced, "expected loss avoided by patching (30 days)", 750000, 40},
		{readout.MetricImproved, "cost per million requests before shop 1.2.0", 2.1, 41},
		{readout.MetricImproved, "cost per million requests after", 1.55, 41},
		{readout.MetricImproved, "error budget burn after", 2, 41},
	} {
		f := figure(r, tc.heading, tc.name)
		if f == nil || f.Value != tc.value || f.Unit == "" || len(f.Sources) != 1 || f.Sources[0] != tc.source {
			t.Errorf("%s / %s: %+v, want %v from #%d", tc.heading, tc.name, f, tc.value, tc.source)
		}
	}
	md := readout.Markdown(r)
	for _, want := range []string{"2,280 EUR", "= 2,280 EUR", "750,000 EUR", "No EPSS score is on record for GHSA-x", "1.55 EUR per million requests, against 2.10 before"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if n := strings.Count(md, "does not set breach_cost"); n != 1 {
		t.Errorf("the assumptions are spelt out %d times, want once", n)
	}
	var charts []string
	for _, s := range r.Sections {
		for _, c := range s.Charts {
			charts = append(charts, c.Title)
		}
	}
	if len(charts) != 2 {
		t.Errorf("charts %v: want cost per million and error budget", charts)
	}
}
