package main

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
)

const rolling = `    strategy:
      rolling:
        max_surge: 1
        analysis: {duration: 3s}
`

func startRolling(t *testing.T) *served {
	t.Helper()
	return startEdited(t, "\n          - weight: 100", withStrategy(rolling))
}

func readyOf(st *engine.Status, version string) int {
	n := 0
	for _, v := range st.Versions {
		if v.Version == version {
			for _, in := range v.Instances {
				if in.State == upfactory.InstanceReady {
					n++
				}
			}
		}
	}
	return n
}

// Given steady load, when 2.0.0 replaces 1.0.0 one instance at a time,
// then half-way each version runs one instance and takes half the users,
// and at the end no 1.0.0 instance is left; no request fails.
func TestRollingUpdateReplacesOneInstanceAtATime(t *testing.T) {
	s := startRolling(t)
	res, stop := startLoad(t, s, 200)
	waitServed(t, res, "1.0.0", 300)
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start: %d %s", code, out)
	}
	st := s.waitFor(t, "the first batch", 30*time.Second, func(st *engine.Status) bool {
		return st.CanaryWeight == 50 && readyOf(st, "2.0.0") == 1 && readyOf(st, "1.0.0") == 1
	})
	if st.Phase.Done() {
		t.Fatalf("done before the analysis between batches: %s", st.Message)
	}
	waitServed(t, res, "2.0.0", 100)
	st = s.waitFor(t, "the last batch", 40*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	if st.Phase != upfactory.PhaseCompleted || st.StableVersion != "2.0.0" || st.PreviousVersion != "" {
		t.Fatalf("end: %s stable %s previous %q: %s", st.Phase, st.StableVersion, st.PreviousVersion, st.Message)
	}
	s.waitFor(t, "1.0.0 gone", 30*time.Second, func(st *engine.Status) bool { return readyOf(st, "2.0.0") == 2 && readyOf(st, "1.0.0") == 0 })
	c := stop()
	if c.Failed() != 0 {
		t.Errorf("%d requests failed during the rolling update: %+v", c.Failed(), c)
	}
	t.Logf("requests %d, failed %d, by version %v", c.Total, c.Failed(), c.ByVersion)
}

// Given steady load, when 3.9.0 (every API call fails) is half-way
// through a rolling update, then the analysis between batches rolls it
// back and the batch done is reversed: 1.0.0 runs both instances again;
// the router delivers every request. (A version failing a few percent can
// pass a 3-second analysis of per-interval limits when the machine is too
// loaded to send much traffic; what this test is about is the reversal.)
func TestRollingUpdateFailureHalfWayIsReversed(t *testing.T) {
	s := startRolling(t)
	res, stop := startLoad(t, s, 200)
	waitServed(t, res, "1.0.0", 300)
	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "3.9.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start: %d %s", code, out)
	}
	st := s.waitFor(t, "the rollback", 60*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	if st.Phase != upfactory.PhaseRolledBack || st.StableVersion != "1.0.0" {
		t.Fatalf("end: %s stable %s: %s", st.Phase, st.StableVersion, st.Message)
	}
	s.waitFor(t, "1.0.0 back at full size", 30*time.Second, func(st *engine.Status) bool { return readyOf(st, "1.0.0") == 2 })
	before := res.Snapshot().ByVersion["3.9.0"]
	waitServed(t, res, "1.0.0", 200)
	c := stop()
	if c.ByVersion["3.9.0"] != before {
		t.Errorf("3.9.0 still served users after the rollback: %d then %d", before, c.ByVersion["3.9.0"])
	}
	if c.Failed() != 0 {
		t.Errorf("%d requests were not delivered: %+v", c.Failed(), c)
	}
	t.Logf("requests %d, not delivered %d; 3.9.0 served %d (%d of them 500s on purpose)", c.Total, c.Failed(), c.ByVersion["3.9.0"], c.Errors5xx["3.9.0"])
}
