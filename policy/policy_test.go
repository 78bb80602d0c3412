package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/policy"
)

func cand(id, component, layer string, advisories ...string) *upfactory.Candidate {
	c := &upfactory.Candidate{ID: id, Component: component, Ecosystem: "Go", Layer: layer, Current: "1.0.0", Recommended: "1.1.0"}
	for _, a := range advisories {
		id, alias, _ := strings.Cut(a, "=")
		adv := upfactory.Advisory{ID: id}
		if alias != "" {
			adv.Aliases = []string{alias}
		}
		c.Advisories = append(c.Advisories, adv)
	}
	return c
}

func ids(vs []policy.Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.ID)
	}
	return out
}

func TestRelated(t *testing.T) {
	cs := []*upfactory.Candidate{
		cand("c1", "golang.org/x/net", "dependency", "GO-1=CVE-1"),
		cand("c2", "golang.org/x/net", "dependency"),                 // same component
		cand("c3", "nghttp2", "os", "DSA-9=CVE-1"),                   // same advisory through an alias
		cand("c4", "openssl", "os", "DSA-7"),                         // unrelated
		cand("c5", "github.com/gin-gonic/gin", "dependency", "GO-2"), // unrelated
	}
	groups := policy.Related(cs)
	if len(groups) != 3 {
		t.Fatalf("%d groups, want 3 (x/net+nghttp2 via CVE-1, openssl, gin)", len(groups))
	}
	if len(groups[0]) != 3 || groups[0][2].ID != "c3" {
		t.Errorf("first group = %v", groups[0])
	}
}

func TestCheckPlanBundleAndOrder(t *testing.T) {
	cfg := policy.Config{Windows: []policy.Window{{Name: "weekly", Cron: "0 22 * * 2", Duration: upfactory.Duration(4 * time.Hour), MaxUpgrades: 2}}}
	plan := policy.Plan{Window: "weekly", Manual: true, Candidates: []*upfactory.Candidate{
		cand("c-app", "shop", "app"),
		cand("c-os", "openssl", "os", "DSA-7"),
		cand("c-dep", "golang.org/x/net", "dependency", "GO-1"),
	}}
	vs := policy.CheckPlan(cfg, plan, nil)
	got := strings.Join(ids(vs), " ")
	for _, want := range []string{"bundle:weekly", "order:weekly:c-os"} {
		if !strings.Contains(got, want) {
			t.Errorf("violations %q lack %s", got, want)
		}
	}
	if strings.Contains(got, "c-dep") {
		t.Errorf("dependency after OS is in order, but got %q", got)
	}
	for _, v := range vs {
		if v.Message == "" || v.Override != nil {
			t.Errorf("violation %+v", v)
		}
	}
	// The automatic order patches OS first and breaks no order rule.
	policy.AutoOrder(plan.Candidates)
	if plan.Candidates[0].ID != "c-os" || plan.Candidates[2].ID != "c-app" {
		t.Errorf("AutoOrder = %s %s %s", plan.Candidates[0].ID, plan.Candidates[1].ID, plan.Candidates[2].ID)
	}
	for _, v := range policy.CheckPlan(cfg, plan, nil) {
		if v.Policy == policy.Order {
			t.Errorf("ordered plan still violates: %+v", v)
		}
	}
	// Two unrelated upgrades fit the limit of 2.
	plan.Candidates = plan.Candidates[:2]
	for _, v := range policy.CheckPlan(cfg, plan, nil) {
		if v.Policy == policy.Bundle {
			t.Errorf("2 unrelated upgrades with max 2: %+v", v)
		}
	}
}

func TestCheckPlanAck(t *testing.T) {
	c := cand("c1", "lodash", "dependency")
	c.BreakingDigest = "d1"
	vs := policy.CheckPlan(policy.Config{}, policy.Plan{Window: "w", Candidates: []*upfactory.Candidate{c}}, nil)
	if len(vs) != 1 || vs[0].ID != "ack:c1" || !strings.Contains(vs[0].Message, "candidates ack c1") {
		t.Fatalf("violations = %+v", vs)
	}
	c.Ack = &upfactory.CandidateAck{By: "alice", Digest: "d1"}
	if vs := policy.CheckPlan(policy.Config{}, policy.Plan{Window: "w", Candidates: []*upfactory.Candidate{c}}, nil); len(vs) != 0 {
		t.Errorf("acknowledged: %+v", vs)
	}
}

func TestFreezes(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	cfg := policy.Config{Freezes: []policy.FreezeSpec{
		{Name: "black-friday", From: "2026-11-26", To: "2026-11-30", TimeZone: "Europe/Paris", Reason: "peak sales"},
		{Name: "weekends", Cron: "0 0 * * 6", Duration: upfactory.Duration(48 * time.Hour), TimeZone: "Europe/Paris"},
	}}
	if errs := policy.Validate(cfg); len(errs) != 0 {
		t.Fatal(errs)
	}
	cases := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 23, 59, 0, 0, paris), ""},                     // Wednesday, before the range
		{time.Date(2026, 11, 26, 0, 0, 0, 0, paris), "black-friday"},           // the first instant
		{time.Date(2026, 11, 30, 23, 59, 0, 0, paris), "black-friday"},         // a date "to" includes the day
		{time.Date(2026, 12, 1, 0, 0, 0, 0, paris), ""},                        // Tuesday after
		{time.Date(2026, 12, 5, 12, 0, 0, 0, paris), "weekends"},               // Saturday
		{time.Date(2026, 12, 6, 23, 0, 0, 0, paris), "weekends"},               // Sunday night
		{time.Date(2026, 12, 7, 0, 30, 0, 0, paris), ""},                       // Monday
		{time.Date(2026, 12, 4, 23, 30, 0, 0, time.UTC), "weekends"},           // Friday 23:30 UTC is Saturday 00:30 in Paris
		{time.Date(2026, 11, 28, 12, 0, 0, 0, paris), "black-friday weekends"}, // both
	}
	for _, tc := range cases {
		var got []string
		for _, f := range policy.FrozenAt(cfg, tc.at) {
			got = append(got, f.Name)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("FrozenAt(%v) = %v, want %q", tc.at, got, tc.want)
		}
	}

	vs := policy.CheckRolloutStart(cfg, "shop", time.Date(2026, 11, 27, 10, 0, 0, 0, paris), nil)
	if len(policy.Blocking(vs)) != 1 || !strings.Contains(vs[0].Message, "peak sales") {
		t.Fatalf("rollout in a freeze: %+v", vs)
	}
	o := policy.Override{ID: vs[0].ID, By: "carol", Reason: "security fix for a KEV", At: time.Now()}
	vs = policy.CheckRolloutStart(cfg, "shop", time.Date(2026, 11, 27, 10, 0, 0, 0, paris), []policy.Override{o})
	if len(policy.Blocking(vs)) != 0 || vs[0].Override == nil || vs[0].Override.By != "carol" {
		t.Errorf("overridden: %+v", vs)
	}
	if vs := policy.CheckRolloutStart(cfg, "shop", time.Date(2026, 12, 2, 10, 0, 0, 0, paris), nil); len(vs) != 0 {
		t.Errorf("no freeze on a Wednesday: %+v", vs)
	}
}

func TestWindowNextAndFreezeOverlap(t *testing.T) {
	cfg := policy.Config{
		Windows: []policy.Window{{Name: "tue", Cron: "0 22 * * 2", Duration: upfactory.Duration(4 * time.Hour), TimeZone: "UTC"}},
		Freezes: []policy.FreezeSpec{{Name: "xmas", From: "2026-12-22", To: "2026-12-23"}},
	}
	w := cfg.Windows[0]
	// Wednesday 01:00 is inside Tuesday's window (22:00 + 4h).
	opens, closes, err := policy.Next(w, time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC))
	if err != nil || !opens.Equal(time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)) || !closes.Equal(opens.Add(4*time.Hour)) {
		t.Errorf("Next inside the window = %v – %v, %v", opens, closes, err)
	}
	opens, closes, _ = policy.Next(w, time.Date(2026, 12, 20, 12, 0, 0, 0, time.UTC))
	plan := policy.Plan{Window: "tue", Opens: opens, Closes: closes}
	vs := policy.CheckPlan(cfg, plan, nil)
	if len(vs) != 1 || vs[0].ID != "freeze:tue:xmas" {
		t.Errorf("window of Dec 22 in the xmas freeze: %+v", vs)
	}
}

func TestValidate(t *testing.T) {
	errs := policy.Validate(policy.Config{
		Windows: []policy.Window{{Name: "a", Cron: "61 * * * *", Duration: 0, TimeZone: "Mars/Olympus"}, {Name: "a", Cron: "@daily", Duration: upfactory.Duration(time.Hour)}},
		Freezes: []policy.FreezeSpec{{Name: "f", From: "2026-12-24", To: "2026-12-01"}, {Name: "g"}, {Name: "h", From: "x", To: "2026-01-01", Cron: "@daily"}},
	})
	got := ""
	for _, e := range errs {
		got += e.Error() + "\n"
	}
	for _, want := range []string{"windows[0].timezone", "windows[0].cron", "windows[0].duration", "windows[1].name: window \"a\" is declared twice",
		"freezes[0]: to (2026-12-01) is not after from", "freezes[1]: give from and to", "freezes[2]: give from/to or cron/duration, not both"} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate lacks %q:\n%s", want, got)
		}
	}
}
