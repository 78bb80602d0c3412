package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/notify"
	"github.com/upfactory/upfactory/sqlite"
)

const secret = "s3cret-from-env"

// receiver is a webhook endpoint written here, not with the package's
// Verify: it checks each signature as a user's receiver would.
type receiver struct {
	t        *testing.T
	mu       sync.Mutex
	got      []upfactory.Notification
	keys     []string
	attempts int
	// fail answers 500 to the first fail attempts.
	fail int
	// hang holds every request until the test ends.
	hang chan struct{}
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.mu.Lock()
	rc.attempts++
	n := rc.attempts
	rc.mu.Unlock()
	if rc.hang != nil {
		select {
		case <-rc.hang:
		case <-r.Context().Done():
		}
		return
	}
	if n <= rc.fail {
		http.Error(w, "down", http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(r.Body)
	ts, sig := r.Header.Get("X-Upfactory-Timestamp"), r.Header.Get("X-Upfactory-Signature")
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(body)))
	if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); !hmac.Equal([]byte(sig), []byte(want)) {
		rc.t.Errorf("bad signature %q for %s", sig, body)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var p upfactory.Notification
	if err := json.Unmarshal(body, &p); err != nil {
		rc.t.Errorf("payload %s: %v", body, err)
	}
	rc.mu.Lock()
	rc.got = append(rc.got, p)
	rc.keys = append(rc.keys, r.Header.Get("Idempotency-Key"))
	rc.mu.Unlock()
}

// seen returns what the receiver got, under its lock.
func (rc *receiver) seen() (attempts int, got []upfactory.Notification, keys []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.attempts, append([]upfactory.Notification(nil), rc.got...), append([]string(nil), rc.keys...)
}

func store(t *testing.T, actions ...string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "u.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	appendActions(t, db, actions...)
	return db
}

func appendActions(t *testing.T, db *sqlite.DB, actions ...string) {
	t.Helper()
	var entries []upfactory.LogEntry
	for _, a := range actions {
		entries = append(entries, upfactory.LogEntry{Time: time.Now(), Actor: "alice", Action: a, Service: "shop", Subject: "2.0.0",
			Reason: a + " happened", Values: map[string]any{"rollout": "r1"}})
	}
	if err := db.AppendLog(context.Background(), entries); err != nil {
		t.Fatal(err)
	}
}

func follower(db *sqlite.DB, url string, events ...string) *notify.Follower {
	return &notify.Follower{Store: db, Backoff: []time.Duration{time.Millisecond, time.Millisecond},
		Senders: []*notify.Sender{{Spec: upfactory.NotifierSpec{Name: "ops", Type: upfactory.NotifierWebhook, URL: url, Secret: secret,
			Events: events, Timeout: upfactory.Duration(200 * time.Millisecond)}}}}
}

func TestWebhooksGetSignedEventsOnceEach(t *testing.T) {
	rc := &receiver{t: t}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	db := store(t, "rollout.start", "canary.ready", "step.weight", "approval.granted", upfactory.ActionRollbackAutomatic)
	f := follower(db, srv.URL)
	ctx := context.Background()
	if err := f.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.Once(ctx); err != nil { // nothing new: nothing sent again
		t.Fatal(err)
	}
	_, got, keys := rc.seen()
	var events []string
	for _, p := range got {
		events = append(events, p.Event)
	}
	if got := strings.Join(events, ","); got != "started,step,approved,tripwire" {
		t.Errorf("events %s", got)
	}
	if got := strings.Join(keys, ","); got != "1,3,4,5" {
		t.Errorf("idempotency keys %s: want the log sequences", got)
	}
	if p := got[0]; p.Service != "shop" || p.Version != "2.0.0" || p.Rollout != "r1" || p.Actor != "alice" || p.Seq != 1 {
		t.Errorf("payload %+v", p)
	}
	if cur, _ := db.NotifyCursor(ctx, "ops"); cur != 5 {
		t.Errorf("cursor %d, want 5", cur)
	}
	// New entries later: only they are sent.
	appendActions(t, db, upfactory.ActionCompleted)
	if err := f.Once(ctx); err != nil {
		t.Fatal(err)
	}
	if _, got, _ := rc.seen(); len(got) != 5 || got[4].Event != "completed" {
		t.Errorf("after completion: %d deliveries: %+v", len(got), got)
	}
}

func TestAFailingEndpointIsRetriedThenGivenUpAndLogged(t *testing.T) {
	ctx := context.Background()
	t.Run("recovers", func(t *testing.T) {
		rc := &receiver{t: t, fail: 2}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		db := store(t, "rollout.start")
		if err := follower(db, srv.URL).Once(ctx); err != nil {
			t.Fatal(err)
		}
		if attempts, got, _ := rc.seen(); attempts != 3 || len(got) != 1 {
			t.Errorf("%d attempts, %d delivered: want 3 and 1", attempts, len(got))
		}
	})
	t.Run("times out", func(t *testing.T) {
		rc := &receiver{t: t, hang: make(chan struct{})}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		defer close(rc.hang)
		db := store(t, "rollout.start", "step.weight")
		if err := follower(db, srv.URL+"/hooks/T0KEN", "started").Once(ctx); err != nil {
			t.Fatal(err)
		}
		entries, err := db.Log(ctx, upfactory.LogFilter{})
		if err != nil {
			t.Fatal(err)
		}
		last := entries[len(entries)-1]
		if last.Action != "notify.failed" || last.Subject != "ops" || last.Values["source_seq"] != float64(1) || !strings.Contains(last.Reason, "3 attempts") {
			t.Fatalf("last entry %+v: want the failure logged", last)
		}
		if strings.Contains(last.Reason, "T0KEN") {
			t.Errorf("the failure logs the endpoint's URL: %s", last.Reason)
		}
		if cur, _ := db.NotifyCursor(ctx, "ops"); cur != 2 {
			t.Errorf("cursor %d: want it past the entry given up on and the one not wanted", cur)
		}
	})
}

func TestSlackGetsText(t *testing.T) {
	var mu sync.Mutex
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		json.NewDecoder(r.Body).Decode(&got)
	}))
	defer srv.Close()
	db := store(t, upfactory.ActionRollbackAutomatic)
	f := &notify.Follower{Store: db, Senders: []*notify.Sender{{Spec: upfactory.NotifierSpec{Name: "chat", Type: upfactory.NotifierSlack, URL: srv.URL}}}}
	if err := f.Once(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(got["text"], "*shop* 2.0.0 tripwire") || len(got) != 1 {
		t.Errorf("slack payload %v", got)
	}
}

func TestSignAndVerify(t *testing.T) {
	body := []byte(`{"event":"started"}`)
	sig := notify.Sign("k", "1700000000", body)
	if !notify.Verify("k", "1700000000", sig, body) || notify.Verify("k", "1700000001", sig, body) || notify.Verify("other", "1700000000", sig, body) {
		t.Error("a signature verifies only with its secret, timestamp and body")
	}
}
