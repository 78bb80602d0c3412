package probe_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/probe"
)

// shop is a tiny service with a login → cart → pay flow: login hands out a
// token, the cart needs it as a bearer and returns a cart ID, pay needs
// both.
func shop(t testing.TB) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		var in struct{ User, Password string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Password != "secret" {
			http.Error(w, `{"error":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"session":{"token":"tok-%s","expires":1.5e3}}`, in.User)
	})
	mux.HandleFunc("POST /cart", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-alice" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"cart":{"id":4242,"items":[{"sku":"tea","qty":2}]},"total":12.50}`)
	})
	mux.HandleFunc("POST /cart/{id}/pay", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-alice" || r.PathValue("id") != "4242" {
			http.Error(w, "no", http.StatusForbidden)
			return
		}
		var in struct{ Cart string }
		json.NewDecoder(r.Body).Decode(&in)
		if in.Cart != "4242" {
			http.Error(w, "wrong cart", http.StatusBadRequest)
			return
		}
		fmt.Fprint(w, `{"status":"paid","receipt":"r-1"}`)
	})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, `{}`)
	})
	mux.HandleFunc("GET /pause", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
		fmt.Fprint(w, `{"ok":true}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func checkout() probe.Journey {
	return probe.Journey{
		Name: "checkout",
		Tags: []string{"payment"},
		Steps: []probe.Step{
			{
				Name: "login", Method: "POST", Path: "/login",
				Body:    `{"user":"alice","password":"secret"}`,
				Expect:  probe.Expect{Status: 200, JSON: map[string]string{"session.token": "*", "session.expires": "1500"}},
				Extract: map[string]string{"token": "session.token"},
			},
			{
				Name: "add to cart", Method: "POST", Path: "/cart",
				Headers: map[string]string{"Authorization": "Bearer {{token}}", "X-Trace": "t-1"},
				Body:    `{"sku":"tea","qty":2}`,
				Expect:  probe.Expect{Status: 201, JSON: map[string]string{"cart.items[0].sku": "tea", "total": "12.5"}},
				Extract: map[string]string{"cart": "$.cart.id"},
			},
			{
				Name: "pay", Method: "POST", Path: "/cart/{{cart}}/pay",
				Headers: map[string]string{"Authorization": "Bearer {{ token }}"},
				Body:    `{"cart":"{{cart}}"}`,
				Expect:  probe.Expect{Status: 200, JSON: map[string]string{"status": "paid"}, BodyContains: "receipt"},
			},
		},
	}
}

func TestJourneyLoginCartPay(t *testing.T) {
	srv := shop(t)
	r := probe.RunJourney(t.Context(), srv.Client(), srv.URL, checkout())
	if r.Outcome != probe.Pass {
		t.Fatalf("outcome %s: %s\n%s", r.Outcome, r.Reason, r.Output)
	}
	if len(r.Steps) != 3 {
		t.Fatalf("got %d steps, want 3", len(r.Steps))
	}
	if got := r.Steps[2].Path; got != "/cart/4242/pay" {
		t.Errorf("pay path %q, want the extracted cart ID in it", got)
	}
	if got := r.Steps[1].Headers["Authorization"]; got != "[redacted]" {
		t.Errorf("Authorization shown as %q, want it redacted", got)
	}
	if got := r.Steps[1].Headers["X-Trace"]; got != "t-1" {
		t.Errorf("X-Trace shown as %q, want it as given", got)
	}
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "tok-alice") {
		t.Errorf("the token appears in the result: %s", b)
	}
}

func TestJourneyExpectationFailures(t *testing.T) {
	srv := shop(t)
	login := func(e probe.Expect) probe.Journey {
		return probe.Journey{Name: "login", Steps: []probe.Step{
			{Name: "login", Method: "POST", Path: "/login", Body: `{"user":"alice","password":"secret"}`, Expect: e},
			{Name: "next", Path: "/pause"},
		}}
	}
	tests := []struct {
		name   string
		j      probe.Journey
		reason string
	}{
		{"status", login(probe.Expect{Status: 201}), `step "login": status 200, want 201`},
		{"default status", probe.Journey{Name: "bad login", Steps: []probe.Step{{Name: "login", Method: "POST", Path: "/login", Body: `{}`}}},
			`step "login": status 401, want below 400`},
		{"json value", login(probe.Expect{JSON: map[string]string{"session.token": "tok-bob"}}),
			`step "login": json session.token is "tok-alice", want "tok-bob"`},
		{"missing field", login(probe.Expect{JSON: map[string]string{"session.user": "*"}}),
			`step "login": json session.user is missing`},
		{"missing index", login(probe.Expect{JSON: map[string]string{"session[0]": "*"}}),
			`step "login": json session[0] is missing`},
		{"body", login(probe.Expect{BodyContains: "welcome"}),
			`step "login": body does not contain "welcome"`},
		{"extract", probe.Journey{Name: "x", Steps: []probe.Step{{Name: "login", Method: "POST", Path: "/login", Body: `{"password":"secret"}`,
			Extract: map[string]string{"id": "session.id"}}}}, `step "login": extract id: json session.id is missing`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := probe.RunJourney(t.Context(), srv.Client(), srv.URL, tt.j)
			if r.Outcome != probe.Fail || r.Reason != tt.reason {
				t.Errorf("got %s %q, want fail %q", r.Outcome, r.Reason, tt.reason)
			}
			if r.Output == "" {
				t.Errorf("the failing response body was not kept")
			}
			if last := r.Steps[len(r.Steps)-1]; len(tt.j.Steps) > 1 && last.Outcome != probe.Skipped {
				t.Errorf("step after the failure: %s, want skipped", last.Outcome)
			}
		})
	}
	t.Run("latency", func(t *testing.T) {
		j := probe.Journey{Name: "slow", Steps: []probe.Step{{Name: "pause", Path: "/pause", Expect: probe.Expect{MaxLatency: upfactory.Duration(time.Millisecond)}}}}
		r := probe.RunJourney(t.Context(), srv.Client(), srv.URL, j)
		if r.Outcome != probe.Fail || !strings.Contains(r.Reason, "more than max_latency 1ms") {
			t.Errorf("got %s %q, want a latency failure", r.Outcome, r.Reason)
		}
	})
	t.Run("unknown variable", func(t *testing.T) {
		j := probe.Journey{Name: "x", Steps: []probe.Step{{Name: "pay", Path: "/cart/{{cart}}/pay"}}}
		r := probe.RunJourney(t.Context(), srv.Client(), srv.URL, j)
		if r.Outcome != probe.Error || !strings.Contains(r.Reason, "unknown variable {{cart}}") {
			t.Errorf("got %s %q, want an error naming the variable", r.Outcome, r.Reason)
		}
	})
}

func TestJourneyTimeoutIsError(t *testing.T) {
	srv := shop(t)
	j := probe.Journey{Name: "slow", Timeout: upfactory.Duration(100 * time.Millisecond), Steps: []probe.Step{
		{Name: "slow", Path: "/slow"},
		{Name: "after", Path: "/pause"},
	}}
	r := probe.RunJourney(t.Context(), srv.Client(), srv.URL, j)
	if r.Outcome != probe.Error || r.Reason != `step "slow": journey timed out after 100ms` {
		t.Errorf("got %s %q, want an error for the timeout", r.Outcome, r.Reason)
	}
	if r.Steps[1].Outcome != probe.Skipped {
		t.Errorf("step after the timeout: %s, want skipped", r.Steps[1].Outcome)
	}
}

func TestJourneyRefusedIsError(t *testing.T) {
	srv := shop(t)
	url := srv.URL
	srv.Close()
	r := probe.RunJourney(context.Background(), nil, url, probe.Journey{Name: "down", Steps: []probe.Step{{Name: "home", Path: "/"}}})
	if r.Outcome != probe.Error {
		t.Errorf("got %s %q, want error", r.Outcome, r.Reason)
	}
}
