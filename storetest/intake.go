package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// IntakeStore is a store that keeps both rollouts and intake.
type IntakeStore interface {
	upfactory.Store
	upfactory.IntakeStore
}

// RunIntake runs the conformance suite of upfactory.IntakeStore.
func RunIntake(t *testing.T, open func(t *testing.T) IntakeStore) {
	tests := []struct {
		name string
		fn   func(*testing.T, IntakeStore)
	}{
		{"AdvisoryDigests", testAdvisoryDigests},
		{"CandidatesLifecycle", testCandidatesLifecycle},
		{"Ack", testAck},
		{"SaveIntakeInvalid", testSaveIntakeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

func newCandidate(id string, risk float64, seen time.Time, services ...string) *upfactory.Candidate {
	score := 7.5
	return &upfactory.Candidate{
		ID: id, Component: "golang.org/x/net", Ecosystem: "Go", Current: "v0.1.0", Recommended: "v0.17.0",
		FixVersion: "v0.17.0", FixComplete: true, Services: services, Sources: []string{"sbom.cdx.json#/components/3"},
		Advisories: []upfactory.Advisory{{ID: "GO-2023-2102", Aliases: []string{"CVE-2023-39325"}, Fixed: []string{"v0.17.0"},
			CVSSScore: &score, Severity: "HIGH"}},
		Highlights: []upfactory.Highlight{},
		Risk:       upfactory.RiskScore{Total: risk, Formula: "total = …"},
		LastSeen:   seen,
	}
}

func saveRun(t *testing.T, s IntakeStore, at time.Time, upsert []upfactory.AdvisoryDigest, remove []string, cands ...*upfactory.Candidate) *upfactory.IntakeRun {
	t.Helper()
	run := &upfactory.IntakeRun{Started: at, Finished: at, Trigger: "test", Candidates: len(cands)}
	entries := []upfactory.LogEntry{{Time: at, Actor: upfactory.ActorSystem, Action: "intake.run", Subject: "test"}}
	if err := s.SaveIntake(t.Context(), run, upsert, remove, cands, nil, entries); err != nil {
		t.Fatalf("SaveIntake: %v", err)
	}
	if run.ID == 0 {
		t.Fatalf("SaveIntake left run.ID 0")
	}
	if entries[0].Seq == 0 || entries[0].Hash == "" {
		t.Fatalf("SaveIntake did not chain its log entry: %+v", entries[0])
	}
	return run
}

func testAdvisoryDigests(t *testing.T, s IntakeStore) {
	ctx := t.Context()
	got, err := s.AdvisoryDigests(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("empty store: AdvisoryDigests = %v, %v", got, err)
	}
	a := upfactory.AdvisoryDigest{ID: "GO-1", Digest: "d1", Modified: "2024-01-01T00:00:00Z", Source: "all.zip"}
	b := upfactory.AdvisoryDigest{ID: "GO-2", Digest: "d2", Modified: "2024-01-02T00:00:00Z", Source: "all.zip"}
	saveRun(t, s, t0, []upfactory.AdvisoryDigest{a, b}, nil)
	b2 := b
	b2.Digest = "d2'"
	saveRun(t, s, t0.Add(time.Hour), []upfactory.AdvisoryDigest{b2}, []string{"GO-1"})
	got, err = s.AdvisoryDigests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got["GO-2"] != b2 {
		t.Errorf("after changing GO-2 and removing GO-1: %v, want only %v", got, b2)
	}
	runs, err := s.IntakeRuns(ctx, 0)
	if err != nil || len(runs) != 2 || runs[0].ID <= runs[1].ID {
		t.Errorf("IntakeRuns = %v, %v; want two, newest first", runs, err)
	}
	if runs[0].Trigger != "test" || !runs[0].Started.Equal(t0.Add(time.Hour)) {
		t.Errorf("run read back as %+v", runs[0])
	}
}

func testCandidatesLifecycle(t *testing.T, s IntakeStore) {
	ctx := t.Context()
	a := newCandidate("c-a", 40, t0, "checkout")
	b := newCandidate("c-b", 70, t0, "checkout", "auth")
	saveRun(t, s, t0, nil, nil, a, b)
	got, err := s.Candidates(ctx, upfactory.CandidateFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if ids := candidateIDs(got); !slices.Equal(ids, []string{"c-b", "c-a"}) {
		t.Fatalf("Candidates = %v, want by descending risk [c-b c-a]", ids)
	}
	if !got[0].FirstSeen.Equal(t0) || got[0].Status != upfactory.CandidateReady || *got[0].Advisories[0].CVSSScore != 7.5 {
		t.Errorf("candidate read back as %+v", got[0])
	}
	if only, _ := s.Candidates(ctx, upfactory.CandidateFilter{Service: "auth"}); !slices.Equal(candidateIDs(only), []string{"c-b"}) {
		t.Errorf("Service filter auth = %v, want [c-b]", candidateIDs(only))
	}

	// The next run sees only a, with a new risk: b is resolved, a keeps
	// its first-seen time.
	t1 := t0.Add(24 * time.Hour)
	a2 := newCandidate("c-a", 45, t1, "checkout")
	saveRun(t, s, t1, nil, nil, a2)
	open, _ := s.Candidates(ctx, upfactory.CandidateFilter{})
	if ids := candidateIDs(open); !slices.Equal(ids, []string{"c-a"}) {
		t.Fatalf("open after second run = %v, want [c-a]", ids)
	}
	if c := open[0]; !c.FirstSeen.Equal(t0) || !c.LastSeen.Equal(t1) || c.Risk.Total != 45 {
		t.Errorf("c-a after second run: first %v last %v risk %v; want first %v last %v risk 45", c.FirstSeen, c.LastSeen, c.Risk.Total, t0, t1)
	}
	rb, err := s.Candidate(ctx, "c-b")
	if err != nil {
		t.Fatal(err)
	}
	if rb.ResolvedAt == nil || !rb.ResolvedAt.Equal(t1) || rb.Status != upfactory.CandidateResolved {
		t.Errorf("c-b: resolved %v status %s; want resolved at %v", rb.ResolvedAt, rb.Status, t1)
	}
	all, _ := s.Candidates(ctx, upfactory.CandidateFilter{Resolved: true})
	if len(all) != 2 {
		t.Errorf("with resolved: %v, want both", candidateIDs(all))
	}
	// Unchanged: seen again without being rewritten.
	t2 := t1.Add(30 * time.Minute)
	run := &upfactory.IntakeRun{Started: t2, Finished: t2}
	if err := s.SaveIntake(ctx, run, nil, nil, nil, []string{"c-a"}, nil); err != nil {
		t.Fatal(err)
	}
	if c, _ := s.Candidate(ctx, "c-a"); c.ResolvedAt != nil || !c.LastSeen.Equal(t2) || c.Risk.Total != 45 || !c.FirstSeen.Equal(t0) {
		t.Errorf("c-a kept as unchanged: resolved %v last %v risk %v first %v", c.ResolvedAt, c.LastSeen, c.Risk.Total, c.FirstSeen)
	}
	// Seen again: open again.
	saveRun(t, s, t1.Add(time.Hour), nil, nil, a2, b)
	if c, _ := s.Candidate(ctx, "c-b"); c.ResolvedAt != nil || !c.FirstSeen.Equal(t0) {
		t.Errorf("c-b seen again: resolved %v first %v", c.ResolvedAt, c.FirstSeen)
	}
	_, err = s.Candidate(ctx, "c-zzz")
	wantCode(t, "Candidate of an unknown ID", err, upfactory.ENOTFOUND)
}

func testAck(t *testing.T, s IntakeStore) {
	ctx := t.Context()
	c := newCandidate("c-a", 40, t0, "checkout")
	c.BreakingDigest = "b1"
	plain := newCandidate("c-p", 10, t0, "checkout")
	saveRun(t, s, t0, nil, nil, c, plain)
	if got, _ := s.Candidate(ctx, "c-a"); got.Status != upfactory.CandidateNeedsAck {
		t.Fatalf("status with unacknowledged breaking items = %s", got.Status)
	}
	entry := upfactory.LogEntry{Time: t0, Actor: "alice", Action: "candidate.ack", Subject: "c-a"}
	_, err := s.AckCandidate(ctx, "c-a", upfactory.CandidateAck{By: "alice", At: t0, Digest: "other"}, entry)
	wantCode(t, "ack of other breaking items", err, upfactory.ECONFLICT)
	_, err = s.AckCandidate(ctx, "c-p", upfactory.CandidateAck{By: "alice", At: t0}, entry)
	wantCode(t, "ack without breaking items", err, upfactory.ECONFLICT)
	_, err = s.AckCandidate(ctx, "c-x", upfactory.CandidateAck{By: "alice", At: t0, Digest: "b1"}, entry)
	wantCode(t, "ack of an unknown candidate", err, upfactory.ENOTFOUND)
	_, err = s.AckCandidate(ctx, "c-a", upfactory.CandidateAck{At: t0, Digest: "b1"}, entry)
	wantCode(t, "ack without a name", err, upfactory.EINVALID)
	if n := len(mustLog(t, s, upfactory.LogFilter{})); n != 1 {
		t.Fatalf("refused acks appended to the log: %d entries, want 1", n)
	}

	got, err := s.AckCandidate(ctx, "c-a", upfactory.CandidateAck{By: "alice", At: t0, Digest: "b1"}, entry)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != upfactory.CandidateReady || got.Ack == nil || got.Ack.By != "alice" || !got.Ack.At.Equal(t0) {
		t.Errorf("after ack: status %s ack %+v", got.Status, got.Ack)
	}
	// A later run with the same breaking items keeps the ack; other
	// breaking items need a new one.
	saveRun(t, s, t0.Add(time.Hour), nil, nil, c, plain)
	if got, _ := s.Candidate(ctx, "c-a"); got.Status != upfactory.CandidateReady {
		t.Errorf("ack lost by a later run: %s", got.Status)
	}
	c2 := *c
	c2.BreakingDigest = "b2"
	saveRun(t, s, t0.Add(2*time.Hour), nil, nil, &c2, plain)
	if got, _ := s.Candidate(ctx, "c-a"); got.Status != upfactory.CandidateNeedsAck || got.Ack == nil {
		t.Errorf("new breaking items: status %s ack %+v; want needs_ack with the old ack kept", got.Status, got.Ack)
	}
	mustVerify(t, s, 4)
}

func testSaveIntakeInvalid(t *testing.T, s IntakeStore) {
	ctx := t.Context()
	good := newCandidate("c-a", 40, t0, "checkout")
	saveRun(t, s, t0, []upfactory.AdvisoryDigest{{ID: "GO-1", Digest: "d"}}, nil, good)
	bad := newCandidate("", 40, t0, "checkout")
	run := &upfactory.IntakeRun{Started: t0, Finished: t0}
	err := s.SaveIntake(ctx, run, []upfactory.AdvisoryDigest{{ID: "GO-2", Digest: "d"}}, []string{"GO-1"},
		[]*upfactory.Candidate{bad}, nil, nil)
	wantCode(t, "a candidate without ID", err, upfactory.EINVALID)
	nan := newCandidate("c-n", 40, t0)
	nan.Risk.Total = nan.Risk.Total / 0 * 0 // NaN cannot be written as JSON
	err = s.SaveIntake(ctx, run, nil, []string{"GO-1"}, []*upfactory.Candidate{nan}, nil, nil)
	if err == nil {
		t.Fatal("SaveIntake of a NaN risk succeeded")
	}
	// Nothing of the refused runs was written.
	d, _ := s.AdvisoryDigests(ctx)
	if _, ok := d["GO-1"]; !ok || len(d) != 1 {
		t.Errorf("advisories after refused runs: %v, want only GO-1", d)
	}
	if runs, _ := s.IntakeRuns(ctx, 0); len(runs) != 1 {
		t.Errorf("%d runs recorded, want 1", len(runs))
	}
	if c, _ := s.Candidate(ctx, "c-a"); c.ResolvedAt != nil {
		t.Errorf("a refused run resolved c-a")
	}
}

func candidateIDs(cs []*upfactory.Candidate) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}
