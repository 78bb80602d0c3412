package probe_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory/probe"
)

func TestOrder(t *testing.T) {
	checks := []probe.Check{{Name: "lint"}, {Name: "login", Tags: []string{"Auth"}}, {Name: "smoke"}, {Name: "stripe", Tags: []string{"slow", "integration"}}}
	journeys := []probe.Journey{{Name: "browse"}, {Name: "checkout", Tags: []string{"payment"}}}
	var got []string
	for _, it := range probe.Order(checks, journeys) {
		got = append(got, it.Kind()+":"+it.Name())
	}
	want := []string{"check:login", "check:stripe", "journey:checkout", "check:lint", "check:smoke", "journey:browse"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Order (-want +got):\n%s", diff)
	}
}

func TestRunFailFast(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pay" {
			http.Error(w, "payments down", http.StatusBadGateway)
			return
		}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	plan := probe.Plan{
		TwinURL:   srv.URL,
		StableURL: srv.URL,
		Config: probe.Config{
			Checks: []probe.Check{
				{Name: "smoke", Command: []string{"true"}},
				{Name: "auth", Command: []string{"true"}, Tags: []string{"auth"}},
			},
			Journeys: []probe.Journey{
				{Name: "browse", Steps: []probe.Step{{Path: "/"}}},
				{Name: "pay", Tags: []string{"payment"}, Steps: []probe.Step{{Path: "/pay"}}},
				{Name: "refund", Tags: []string{"payment"}, Steps: []probe.Step{{Path: "/refund"}}},
			},
			Load: &probe.Load{Rate: 10},
		},
	}
	type row struct{ Kind, Name, Outcome, Reason string }
	var got []row
	for _, r := range probe.Run(t.Context(), plan) {
		got = append(got, row{r.Kind, r.Name, string(r.Outcome), r.Reason})
	}
	skipped := "a critical-path item failed: pay"
	want := []row{
		{"check", "auth", "pass", ""},
		{"journey", "pay", "fail", `step "step 1": status 502, want below 400`},
		{"journey", "refund", "skipped", skipped},
		{"check", "smoke", "skipped", skipped},
		{"journey", "browse", "skipped", skipped},
		{"load", "load", "skipped", skipped},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Run (-want +got):\n%s", diff)
	}
}

func TestRunNonCriticalFailureGoesOn(t *testing.T) {
	plan := probe.Plan{Config: probe.Config{Checks: []probe.Check{
		{Name: "flaky", Command: []string{"false"}},
		{Name: "smoke", Command: []string{"true"}},
	}}}
	var got []probe.Outcome
	for _, r := range probe.Run(t.Context(), plan) {
		got = append(got, r.Outcome)
	}
	if diff := cmp.Diff([]probe.Outcome{probe.Fail, probe.Pass}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestMixFromTraffic(t *testing.T) {
	got := probe.MixFromTraffic(map[string]int64{"GET /api/items": 600, "post /api/cart": 300, "/health": 100, "DELETE /api/x": 0})
	want := []probe.MixEntry{
		{Method: "GET", Path: "/api/items", Share: 0.6},
		{Method: "POST", Path: "/api/cart", Share: 0.3},
		{Method: "GET", Path: "/health", Share: 0.1},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MixFromTraffic (-want +got):\n%s", diff)
	}
}

func TestValidate(t *testing.T) {
	c := probe.Config{
		Checks:   []probe.Check{{Name: "", Command: nil}},
		Journeys: []probe.Journey{{Name: "j", Steps: []probe.Step{{Path: "cart", Expect: probe.Expect{JSON: map[string]string{"a..b": "1"}}}}}},
		Load:     &probe.Load{Rate: 0, MaxErrorRate: "lots"},
	}
	if errs := probe.Validate(c); len(errs) != 6 {
		t.Errorf("got %d problems, want 6: %v", len(errs), errs)
	}
}
