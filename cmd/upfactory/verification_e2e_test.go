package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/readout"
)

// Given steady load, when 1.3.0 (healthy as a canary, failing 8% of calls
// once each route of an instance has served 100 requests) reaches 100%, then post-release
// verification sees the error rate rise against the baseline, opens an
// incident, gives all traffic back to 1.0.0 while it is still warm, and
// the readout shows the regression caught.
func TestVerificationRollsBackARegressionAfter100Percent(t *testing.T) {
	s := startEdited(t, `
          - weight: 50
          - pause: {duration: 2s}
          - weight: 100`, func(cfg string) string {
		return strings.Replace(cfg, verificationOff, "\n    verification: {window: 5m, on_regression: rollback}", 1)
	})

	res, stop := startLoad(t, s, 300)
	waitServed(t, res, "1.0.0", 900) // the baseline
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "1.3.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start: exit %d: %s", code, out)
	}
	s.waitFor(t, "100%", 40*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	st := s.waitFor(t, "verification's rollback", 90*time.Second, func(st *engine.Status) bool {
		return st.StableVersion == "1.0.0" && st.Phase == upfactory.PhaseRolledBack
	})
	if v := st.Verification; v == nil || v.Verdict != upfactory.VerdictFail || !v.RolledBack || st.Baseline == nil || st.Baseline.Requests == 0 {
		t.Fatalf("status after the rollback: %+v baseline %+v", st.Verification, st.Baseline)
	}
	counts := stop()
	if counts.Failed() != 0 {
		t.Errorf("%d requests were not delivered: %+v", counts.Failed(), counts)
	}
	if counts.Errors5xx["1.3.0"] == 0 || counts.Errors5xx["1.0.0"] != 0 {
		t.Errorf("5xx by version %v: want 1.3.0's regression only", counts.Errors5xx)
	}
	// No user reaches 1.3.0 any more.
	res2, stop2 := startLoad(t, s, 100)
	waitServed(t, res2, "", 200)
	if c := stop2(); c.ByVersion["1.3.0"] != 0 {
		t.Errorf("after the rollback 1.3.0 served %d requests", c.ByVersion["1.3.0"])
	}

	var lg struct{ Entries []upfactory.LogEntry }
	if code, out := s.cli(t, "log", "--service", "checkout", "-o", "json"); code != 0 || json.Unmarshal([]byte(out), &lg) != nil {
		t.Fatalf("log: %d %s", code, out)
	}
	var actions []string
	for _, e := range lg.Entries {
		actions = append(actions, e.Action)
	}
	seq := strings.Join(actions, " ")
	if !strings.Contains(seq, "rollout.completed") || !strings.Contains(seq, "verification.regression rollback.verification") {
		t.Fatalf("log: %s", seq)
	}

	var list struct{ Incidents []upfactory.Incident }
	eventually(t, "the incident", 10*time.Second, func() (bool, string) {
		code, out := s.cli(t, "incident", "list", "-c", s.cfg, "-o", "json")
		if code != 0 || json.Unmarshal([]byte(out), &list) != nil {
			return false, out
		}
		return len(list.Incidents) == 1, out
	})
	in := list.Incidents[0]
	if in.Source != upfactory.ActionVerificationFailed || in.Open() || in.Version != "1.3.0" || in.Upgrade == "" || in.TimeToRestore() <= 0 {
		t.Errorf("incident %+v: want closed by the rollback, linked to the upgrade", in)
	}

	code, out := s.cli(t, "readout", "-c", s.cfg, "--period", "1h", "-o", "json")
	if code != 0 {
		t.Fatalf("readout: %d %s", code, out)
	}
	var r readout.Readout
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.RegressionsCaught != 1 || r.DORA.Deployments != 1 || r.DORA.ChangeFailureRate != 1 || r.DORA.TimeToRestore <= 0 {
		t.Errorf("readout: caught %d, dora %+v", r.RegressionsCaught, r.DORA)
	}
	var text string
	for _, sec := range r.Sections {
		text += sec.Text
	}
	if !strings.Contains(text, "post-release verification") || !strings.Contains(text, "1.3.0") {
		t.Errorf("the readout does not tell the regression: %s", text)
	}
	if code, out := s.cli(t, "readout", "-c", s.cfg, "--period", "1h", "--format", "html"); code != 0 || !strings.Contains(out, "<svg") || !strings.Contains(out, "Error budget burn") {
		t.Errorf("html readout: exit %d, want the error budget chart:\n%s", code, out)
	}
	// The review of the upgrade tells what verification saw, in numbers.
	code, out = s.cli(t, "review", in.Upgrade, "-c", s.cfg)
	if code != 0 || !strings.Contains(out, "verification.regression") || !strings.Contains(out, "after_error_rate") || !strings.Contains(out, "#"+strconv.FormatInt(in.ID, 10)) {
		t.Errorf("review: exit %d:\n%s", code, out)
	}
	if code, out := s.cli(t, "review", "action", "add", in.Upgrade, "-c", s.cfg, "--text", "verify under sustained load in the drill", "--owner", "sre", "--as", "dana"); code != 0 {
		t.Errorf("review action add: %d %s", code, out)
	}
	if code, out := s.cli(t, "readout", "-c", s.cfg, "--upgrade", in.Upgrade); code != 0 || !strings.Contains(out, "verify under sustained load in the drill") {
		t.Errorf("readout of the upgrade: exit %d, want its review action:\n%s", code, out)
	}
}
