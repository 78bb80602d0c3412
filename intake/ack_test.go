package intake_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/intake"
)

// TestAckBreakingItems walks the breaking-items gate: needs_ack until
// acknowledged, ready after, still ready after another run, needs_ack
// again once the breaking items change.
func TestAckBreakingItems(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	now := clock(t0)
	rep := runIntake(t, cfg, st, now)
	lp := mustCandidate(t, rep.Candidates, "left-pad")
	if lp.Status != upfactory.CandidateNeedsAck {
		t.Fatalf("left-pad status = %q, want needs_ack", lp.Status)
	}

	at := t0.Add(time.Hour)
	acked, err := intake.Ack(ctx, st, lp.ID, "alice", at)
	if err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if acked.Status != upfactory.CandidateReady || acked.Ack == nil || acked.Ack.By != "alice" || acked.Ack.Digest != lp.BreakingDigest {
		t.Fatalf("after ack: status %q ack %+v, want ready by alice for digest %s", acked.Status, acked.Ack, lp.BreakingDigest)
	}
	if !acked.Ack.At.Equal(at) {
		t.Errorf("ack time %v, want %v", acked.Ack.At, at)
	}
	entries := logActions(t, st)
	if n := countAction(entries, "candidate.ack", lp.ID); n != 1 {
		t.Errorf("%d candidate.ack entries for %s, want 1", n, lp.ID)
	}
	for _, e := range entries {
		if e.Action == "candidate.ack" && e.Actor != "alice" {
			t.Errorf("ack entry actor %q, want alice", e.Actor)
		}
	}

	// A second run with the same notes keeps the acknowledgement.
	rep = runIntake(t, cfg, st, now)
	lp2 := mustCandidate(t, rep.Candidates, "left-pad")
	if lp2.Status != upfactory.CandidateReady || lp2.Ack == nil || lp2.Ack.By != "alice" {
		t.Errorf("after a second run: status %q ack %+v, want ready, acked by alice", lp2.Status, lp2.Ack)
	}
	if !lp2.FirstSeen.Equal(lp.FirstSeen) {
		t.Errorf("first seen moved from %v to %v", lp.FirstSeen, lp2.FirstSeen)
	}

	// The notes now say something else in 1.2.0's breaking item: a new
	// acknowledgement is needed.
	notes := filepath.Join(dir, "left-pad.CHANGELOG.md")
	data, err := os.ReadFile(notes)
	if err != nil {
		t.Fatal(err)
	}
	const old = "throws on a negative length."
	if !strings.Contains(string(data), old) {
		t.Fatal("fixture changed")
	}
	writeFile(t, notes, strings.Replace(string(data), old, "throws on a negative or NaN length.", 1))
	rep = runIntake(t, cfg, st, now)
	lp3 := mustCandidate(t, rep.Candidates, "left-pad")
	if lp3.BreakingDigest == lp.BreakingDigest {
		t.Fatalf("breaking items changed but the digest did not: %s", lp3.BreakingDigest)
	}
	if lp3.Status != upfactory.CandidateNeedsAck {
		t.Errorf("after the breaking items changed: status %q, want needs_ack", lp3.Status)
	}
	if !contains(rep.Changed, lp.ID) {
		t.Errorf("report.Changed = %v, want it to list %s (its breaking items changed)", rep.Changed, lp.ID)
	}
	if got, err := st.Candidate(ctx, lp.ID); err != nil || got.Status != upfactory.CandidateNeedsAck {
		t.Errorf("stored candidate: %+v, %v; want needs_ack", got, err)
	}
	acked, err = intake.Ack(ctx, st, lp.ID, "bob", at.Add(time.Hour))
	if err != nil || acked.Status != upfactory.CandidateReady || acked.Ack.By != "bob" {
		t.Errorf("second ack: %+v, %v", acked, err)
	}
	verifyLog(t, st)
}

func TestAckRefused(t *testing.T) {
	ctx := context.Background()
	dir := workspace(t)
	cfg := parseConfig(t, dir, baseConfig)
	st := openStore(t)
	rep := runIntake(t, cfg, st, clock(t0))
	before := len(logActions(t, st))

	lo := mustCandidate(t, rep.Candidates, "lodash")
	_, err := intake.Ack(ctx, st, lo.ID, "alice", t0)
	if code := upfactory.ErrorCode(err); code != upfactory.ECONFLICT {
		t.Errorf("ack of a candidate without breaking items: %v (code %q), want %s", err, code, upfactory.ECONFLICT)
	}
	_, err = intake.Ack(ctx, st, "c-00000000", "alice", t0)
	if code := upfactory.ErrorCode(err); code != upfactory.ENOTFOUND {
		t.Errorf("ack of an unknown candidate: %v (code %q), want %s", err, code, upfactory.ENOTFOUND)
	}
	lp := mustCandidate(t, rep.Candidates, "left-pad")
	_, err = intake.Ack(ctx, st, lp.ID, "  ", t0)
	if code := upfactory.ErrorCode(err); code != upfactory.EINVALID {
		t.Errorf("ack without a name: %v (code %q), want %s", err, code, upfactory.EINVALID)
	}
	if got, _ := st.Candidate(ctx, lp.ID); got == nil || got.Status != upfactory.CandidateNeedsAck {
		t.Errorf("refused acks changed the candidate: %+v", got)
	}
	if after := len(logActions(t, st)); after != before {
		t.Errorf("refused acks wrote %d log entries", after-before)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
