// Package notify delivers rollout events to webhooks, from the operation
// log: each notifier follows the log with a cursor of its own in the
// store, so every event is delivered at least once, across restarts,
// each carrying its log sequence as an idempotency key. A webhook gets
// JSON signed with HMAC-SHA256 (X-Upfactory-Signature: sha256=<hex of
// the HMAC of "<timestamp>.<body>">, X-Upfactory-Timestamp); a Slack
// notifier gets a Slack-compatible {"text": …}. A failing endpoint is
// retried with backoff, then given up on and the failure logged; it
// never holds a rollout, which does not wait for notifiers at all.
package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/provider"
)

// Events maps the log's actions to the events notifiers receive.
var Events = map[string]string{
	"rollout.start":                      "started",
	"step.weight":                        "step",
	"step.pause":                         "paused",
	"rollout.pause":                      "paused",
	"analysis.inconclusive":              "paused",
	"analysis.errors":                    "paused",
	"mirror.inconclusive":                "paused",
	"approval.requested":                 "paused",
	"approval.granted":                   "approved",
	"step.promote":                       "promoted",
	upfactory.ActionRollbackAutomatic:    "tripwire",
	upfactory.ActionVerificationFailed:   "tripwire",
	upfactory.ActionRollbackManual:       "rolled_back",
	upfactory.ActionRollbackVerification: "rolled_back",
	upfactory.ActionAbort:                "rolled_back",
	upfactory.ActionFailed:               "rolled_back",
	upfactory.ActionCompleted:            "completed",
}

// EventNames lists the events, for config validation.
var EventNames = []string{"started", "step", "paused", "approved", "promoted", "tripwire", "rolled_back", "completed"}

func init() {
	provider.RegisterNotifier(provider.Notifier{Type: upfactory.NotifierWebhook, Format: func(p upfactory.Notification) ([]byte, error) { return json.Marshal(p) }})
	provider.RegisterNotifier(provider.Notifier{Type: upfactory.NotifierSlack, Format: func(p upfactory.Notification) ([]byte, error) {
		return json.Marshal(map[string]string{"text": fmt.Sprintf("*%s* %s %s: %s (by %s, log #%d)", p.Service, p.Version, p.Event, p.Reason, p.Actor, p.Seq)})
	}})
}

// Sign is the signature of body sent at timestamp ts with secret:
// "sha256=" and the hex HMAC-SHA256 of "<ts>.<body>".
func Sign(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is body's signature at ts, for receivers.
func Verify(secret, ts, sig string, body []byte) bool {
	return hmac.Equal([]byte(sig), []byte(Sign(secret, ts, body)))
}

// Sender delivers to one notifier.
type Sender struct {
	Spec   upfactory.NotifierSpec
	Client *http.Client
	Now    func() time.Time
}

// wants reports whether the notifier takes event.
func (s *Sender) wants(event string) bool {
	return len(s.Spec.Events) == 0 || slices.Contains(s.Spec.Events, event)
}

// Send makes one attempt to deliver e as event. A non-2xx answer is an
// error naming the status.
func (s *Sender) Send(ctx context.Context, event string, e upfactory.LogEntry) error {
	rollout, _ := e.Values["rollout"].(string)
	p := upfactory.Notification{Event: event, Seq: e.Seq, Time: e.Time, Service: e.Service, Version: e.Subject, Rollout: rollout,
		Actor: e.Actor, Action: e.Action, Reason: e.Reason, Values: e.Values}
	nt, err := provider.LookupNotifier(s.Spec.Type)
	if err != nil {
		return fmt.Errorf("%s: %w", s.Spec.Name, err)
	}
	body, err := nt.Format(p)
	if err != nil {
		return err
	}
	timeout := s.Spec.Timeout.D()
	if timeout <= 0 {
		timeout = upfactory.DefaultNotifyTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Spec.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := strconv.FormatInt(now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "upfactory")
	req.Header.Set("Idempotency-Key", strconv.FormatInt(e.Seq, 10))
	req.Header.Set("X-Upfactory-Event", event)
	req.Header.Set("X-Upfactory-Timestamp", ts)
	if s.Spec.Secret != "" {
		req.Header.Set("X-Upfactory-Signature", Sign(s.Spec.Secret, ts, body))
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// The URL stays out: a Slack webhook's URL is its secret.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			return fmt.Errorf("%s: %w", s.Spec.Name, ue.Err)
		}
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", s.Spec.Name, resp.Status)
	}
	return nil
}

// NewSenders makes the senders of specs, reading each secret written as
// ${NAME} from the environment; an unset one is an error naming the
// notifier and the variable, never a value.
func NewSenders(specs []upfactory.NotifierSpec) ([]*Sender, error) {
	var out []*Sender
	for _, spec := range specs {
		if name, ok := upfactory.EnvRef(spec.Secret); ok {
			v, set := os.LookupEnv(name)
			if !set || v == "" {
				return nil, fmt.Errorf("notifier %s: environment variable %s (its secret) is unset or empty", spec.Name, name)
			}
			spec.Secret = v
		}
		out = append(out, &Sender{Spec: spec})
	}
	return out, nil
}

// Store is what a Follower reads and writes.
type Store interface {
	upfactory.NotifyStore
	Log(ctx context.Context, f upfactory.LogFilter) ([]upfactory.LogEntry, error)
	AppendLog(ctx context.Context, entries []upfactory.LogEntry) error
}

// DefaultBackoff is how long to wait before each retry of one delivery.
var DefaultBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second}

// Follower delivers the log's events to every notifier.
type Follower struct {
	Store   Store
	Senders []*Sender
	Logger  *slog.Logger
	// Backoff are the waits before each retry; nil: DefaultBackoff.
	Backoff []time.Duration
	// Batch is how many entries one pass reads per notifier. Default 100.
	Batch int
}

// Run delivers until ctx ends, one pass per every, each notifier on its
// own so a slow endpoint holds up no other.
func (f *Follower) Run(ctx context.Context, every time.Duration) {
	done := make(chan struct{})
	for _, s := range f.Senders {
		go func() {
			defer func() { done <- struct{}{} }()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				if err := f.pass(ctx, s); err != nil && ctx.Err() == nil {
					f.logger().Warn("notifier", "notifier", s.Spec.Name, "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	for range f.Senders {
		<-done
	}
}

// Once makes one pass for every notifier: each delivers what the log
// holds after its cursor, up to Batch entries.
func (f *Follower) Once(ctx context.Context) error {
	for _, s := range f.Senders {
		if err := f.pass(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (f *Follower) logger() *slog.Logger {
	if f.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Logger
}

func (f *Follower) pass(ctx context.Context, s *Sender) error {
	from, err := f.Store.NotifyCursor(ctx, s.Spec.Name)
	if err != nil {
		return err
	}
	batch := f.Batch
	if batch <= 0 {
		batch = 100
	}
	entries, err := f.Store.Log(ctx, upfactory.LogFilter{AfterSeq: from, Limit: batch})
	if err != nil {
		return err
	}
	for _, e := range entries {
		event, ok := Events[e.Action]
		if ok && s.wants(event) {
			if err := f.deliver(ctx, s, event, e); err != nil {
				return err // ctx ended, or the failure could not be logged: the cursor stays
			}
		}
		if err := f.Store.SetNotifyCursor(ctx, s.Spec.Name, e.Seq); err != nil {
			return err
		}
	}
	return nil
}

// deliver sends e, retrying with backoff; when every attempt fails it
// logs the failure in the operation log and moves on.
func (f *Follower) deliver(ctx context.Context, s *Sender, event string, e upfactory.LogEntry) error {
	backoff := f.Backoff
	if backoff == nil {
		backoff = DefaultBackoff
	}
	var err error
	for attempt := 0; ; attempt++ {
		if err = s.Send(ctx, event, e); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.logger().Warn("notification failed", "notifier", s.Spec.Name, "event", event, "seq", e.Seq, "attempt", attempt+1, "err", err)
		if attempt >= len(backoff) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff[attempt]):
		}
	}
	return f.Store.AppendLog(ctx, []upfactory.LogEntry{{Time: time.Now(), Actor: upfactory.ActorSystem, Action: "notify.failed",
		Service: e.Service, Subject: s.Spec.Name,
		Reason: fmt.Sprintf("%s event of log entry %d not delivered after %d attempts: %v", event, e.Seq, len(backoff)+1, err),
		Values: map[string]any{"notifier": s.Spec.Name, "event": event, "source_seq": e.Seq}}})
}
