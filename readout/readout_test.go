package readout_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/dora"
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
