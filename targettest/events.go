package targettest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// Recorder collects the events a target emits: pass its Event as the
// target's Event option.
type Recorder struct {
	// Timeout bounds each wait of Await. Default 30s.
	Timeout time.Duration

	mu      sync.Mutex
	entries []upfactory.LogEntry
}

// Record keeps e.
func (r *Recorder) Record(e upfactory.LogEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, e)
}

// Event returns Record, to pass as a target's Event option; nil, which
// records nothing, for a nil Recorder.
func (r *Recorder) Event() func(upfactory.LogEntry) {
	if r == nil {
		return nil
	}
	return r.Record
}

// Entries returns every event recorded so far, in order.
func (r *Recorder) Entries() []upfactory.LogEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.entries)
}

// Find returns the events recorded so far with action about subject.
func (r *Recorder) Find(action, subject string) []upfactory.LogEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []upfactory.LogEntry
	for _, e := range r.entries {
		if e.Action == action && e.Subject == subject {
			out = append(out, e)
		}
	}
	return out
}

// Await waits for an event with action about subject and returns the
// first one; it fails the test, listing every event, after the timeout.
func (r *Recorder) Await(tb testing.TB, action, subject string) upfactory.LogEntry {
	tb.Helper()
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		if es := r.Find(action, subject); len(es) > 0 {
			return es[0]
		}
		if time.Now().After(deadline) {
			r.mu.Lock()
			defer r.mu.Unlock()
			var b strings.Builder
			for _, e := range r.entries {
				fmt.Fprintf(&b, "  %s %s: %s\n", e.Action, e.Subject, e.Reason)
			}
			tb.Fatalf("no %s event for %s; events:\n%s", action, subject, b.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
