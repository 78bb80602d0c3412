package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/comms"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/notify"
)

// Given a webhook and an endpoint that never answers, when a rollout runs
// to 100%, then the webhook gets every event of it, signed, in log order,
// and the endpoint that hangs holds nothing up.
func TestWebhooksFollowARollout(t *testing.T) {
	var mu sync.Mutex
	var events []string
	var bad []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !notify.Verify("hook-secret", r.Header.Get("X-Upfactory-Timestamp"), r.Header.Get("X-Upfactory-Signature"), body) {
			bad = append(bad, string(body))
		}
		var p upfactory.Notification
		json.Unmarshal(body, &p)
		events = append(events, p.Event)
	}))
	defer hook.Close()
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	t.Setenv("UPF_HOOK_SECRET", "hook-secret")

	s := startEdited(t, `
          - weight: 50
          - weight: 100`, func(cfg string) string {
		return cfg + `notifiers:
  - {name: ops, type: webhook, url: "` + hook.URL + `", secret: "${UPF_HOOK_SECRET}"}
  - {name: stuck, type: webhook, url: "` + hang.URL + `", timeout: 100ms}
`
	})
	api := s.api
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start: %d %s", code, out)
	}
	s.waitFor(t, "100%", 30*time.Second, func(st *engine.Status) bool { return st.Phase == upfactory.PhaseCompleted })
	eventually(t, "the completed event", 20*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		return len(events) > 0 && events[len(events)-1] == "completed", strings.Join(events, ",")
	})
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(events, ","); got != "started,step,step,completed" {
		t.Errorf("events %s, want started,step,step,completed", got)
	}
	if len(bad) > 0 {
		t.Errorf("%d payloads with a bad signature", len(bad))
	}
	if strings.Contains(s.stderr.String(), "hook-secret") {
		t.Error("serve logged the webhook's secret")
	}

	// The status feed shows the rollout, as JSON and as Atom.
	resp, err := http.Get(api + "/api/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	var feed comms.Feed
	json.NewDecoder(resp.Body).Decode(&feed)
	resp.Body.Close()
	if len(feed.ScheduledMaintenances) != 1 || feed.ScheduledMaintenances[0].Status != comms.Completed || feed.ScheduledMaintenances[0].Name != "checkout: 1.0.0 → 2.0.0" {
		t.Errorf("status feed %+v", feed)
	}
	resp, err = http.Get(api + "/api/v1/status/feed.atom")
	if err != nil {
		t.Fatal(err)
	}
	atom, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/atom+xml") || !strings.Contains(string(atom), "[completed] checkout: 1.0.0 → 2.0.0") {
		t.Errorf("atom (%s):\n%s", resp.Header.Get("Content-Type"), atom)
	}
	code, out := s.cli(t, "comms", "note", "checkout", "--version", "2.1.0", "--start", "2026-12-06T22:00:00Z", "--end", "2026-12-06T23:00:00Z", "-c", s.cfg)
	if code != 0 || !strings.Contains(out, "from 2.0.0 to 2.1.0") || !strings.Contains(out, "22:00 – 23:00 UTC") {
		t.Errorf("maintenance note: exit %d:\n%s", code, out)
	}
}
