package probe_test

import (
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/probe"
)

func TestRunCheck(t *testing.T) {
	ms := func(n int) upfactory.Duration { return upfactory.Duration(time.Duration(n) * time.Millisecond) }
	tests := []struct {
		name    string
		check   probe.Check
		outcome probe.Outcome
		reason  string // a prefix
		output  string // a substring
	}{
		{"pass", probe.Check{Name: "env", Command: []string{"sh", "-c", `echo "base=$UPFACTORY_BASE_URL mode=$MODE"`}, Env: map[string]string{"MODE": "twin"}},
			probe.Pass, "", "base=http://127.0.0.1:9/ mode=twin"},
		{"fail", probe.Check{Name: "migrations", Command: []string{"sh", "-c", "echo checking; echo 'table users: missing column' >&2; exit 3"}},
			probe.Fail, "exit code 3: checking | table users: missing column", "missing column"},
		{"timeout", probe.Check{Name: "hangs", Command: []string{"sh", "-c", "echo started; sleep 60"}, Timeout: ms(100)},
			probe.Error, "timed out after 100ms", "started"},
		{"not found", probe.Check{Name: "typo", Command: []string{"/nonexistent/check"}},
			probe.Error, "running /nonexistent/check:", ""},
		{"dir", probe.Check{Name: "dir", Command: []string{"pwd"}, Dir: "/"}, probe.Pass, "", "/\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := probe.RunCheck(t.Context(), tt.check, "http://127.0.0.1:9/")
			if r.Outcome != tt.outcome || !strings.HasPrefix(r.Reason, tt.reason) || !strings.Contains(r.Output, tt.output) {
				t.Errorf("got %s %q output %q, want %s %q… with %q", r.Outcome, r.Reason, r.Output, tt.outcome, tt.reason, tt.output)
			}
			if r.Kind != probe.KindCheck || r.Name != tt.check.Name {
				t.Errorf("kind %q name %q", r.Kind, r.Name)
			}
			if d := time.Since(start); d > 30*time.Second { // the hanging one sleeps 60s
				t.Errorf("took %s: the timed-out command was not stopped", d)
			}
		})
	}
}

func TestRunCheckKeepsTheTail(t *testing.T) {
	c := probe.Check{Name: "chatty", Command: []string{"sh", "-c", "i=0; while [ $i -lt 3000 ]; do echo line $i of a chatty check; i=$((i+1)); done; exit 1"}}
	r := probe.RunCheck(t.Context(), c, "")
	if r.Outcome != probe.Fail {
		t.Fatalf("got %s %q", r.Outcome, r.Reason)
	}
	if len(r.Output) > probe.MaxOutput+100 || !strings.HasPrefix(r.Output, "[… ") || !strings.HasSuffix(r.Output, "line 2999 of a chatty check\n") {
		t.Errorf("output of %d bytes starting %q: want the last %d bytes", len(r.Output), r.Output[:40], probe.MaxOutput)
	}
	if !strings.HasSuffix(r.Reason, "line 2999 of a chatty check") || len(r.Reason) > 1100 {
		t.Errorf("reason %q: want a short tail", r.Reason)
	}
}
