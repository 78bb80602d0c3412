// Package storetest is the conformance suite for upfactory.Store: every
// implementation runs it, so the engine can count on one behavior.
package storetest

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
)

// Run runs the conformance suite against the stores open returns. open is
// called once per subtest and must return a new, empty store; Run closes it
// when the subtest ends.
func Run(t *testing.T, open func(t *testing.T) upfactory.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, upfactory.Store)
	}{
		{"StateNotFound", testStateNotFound},
		{"SaveNew", testSaveNew},
		{"SaveConflict", testSaveConflict},
		{"SaveInvalid", testSaveInvalid},
		{"SaveEntries", testSaveEntries},
		{"LogFilter", testLogFilter},
		{"AppendLogChains", testAppendLogChains},
		{"VerifyEmpty", testVerifyEmpty},
		{"VerifyMixedValues", testVerifyMixedValues},
		{"ConcurrentSaves", testConcurrentSaves},
		{"ConcurrentSavesOneService", testConcurrentSavesOneService},
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

// zone is not UTC, so that a store that loses or shifts time zones shows.
var zone = time.FixedZone("UTC+1", 3600)

// t0 has nanoseconds, so that a store that rounds times shows.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, zone)

// jsonValues compares Values as a JSON reader would see them after a round
// trip: a store hands back numbers as float64 and structs as maps.
var jsonValues = cmp.Transformer("JSON", func(m map[string]any) string {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprintf("unmarshalable: %v", err)
	}
	var back any
	if err := json.Unmarshal(b, &back); err != nil {
		return fmt.Sprintf("undecodable: %v", err)
	}
	b, _ = json.Marshal(back)
	return string(b)
})

// newState returns a state of service with every field set.
func newState(service string) *upfactory.ServiceState {
	return &upfactory.ServiceState{
		Service:         service,
		StableVersion:   "v1.4.0",
		PreviousVersion: "v1.3.2",
		PreviousUntil:   t0.Add(time.Hour),
		Rollout: &upfactory.Rollout{
			ID:            "r-1",
			Service:       service,
			StableVersion: "v1.4.0",
			CanaryVersion: "v1.5.0",
			Phase:         upfactory.PhaseAwaitingApproval,
			StepIndex:     2,
			CanaryWeight:  25,
			Message:       "waiting for the release manager",
			StartedBy:     "alice",
			StartedAt:     t0,
			StepStartedAt: t0.Add(10 * time.Minute),
			UpdatedAt:     t0.Add(11 * time.Minute),
			CanaryReady:   true,
			ReadyDeadline: t0.Add(5 * time.Minute),
			PausedFrom:    upfactory.PhaseProgressing,
			Approvals: []upfactory.Approval{
				{Step: 1, Role: "qa", By: "bob", Comment: "looks fine", At: t0.Add(7 * time.Minute)},
			},
			Checks: []upfactory.CheckStatus{{
				Metric:      "error_rate",
				Rule:        "canary <= baseline + 0.5%",
				Status:      upfactory.VerdictPass,
				BreachSince: t0.Add(8 * time.Minute),
				Last: &upfactory.Measurement{
					At:            t0.Add(9 * time.Minute),
					Window:        upfactory.Duration(time.Minute),
					Canary:        0.0012,
					Baseline:      0.001,
					CanaryCount:   1200,
					BaselineCount: 36000,
					Verdict:       upfactory.VerdictPass,
				},
			}},
		},
		Instances: []upfactory.Instance{
			{ID: "i-1", Service: service, Version: "v1.4.0", Addr: "127.0.0.1:9001", PID: 4242, State: upfactory.InstanceReady, StartedAt: t0},
			{ID: "i-2", Service: service, Version: "v1.5.0", Addr: "127.0.0.1:9002", State: upfactory.InstanceUnhealthy, StartedAt: t0, Restarts: 2, LogPath: "/var/log/i-2.log", Reason: "readiness probe: 503"},
		},
	}
}

// newEntry returns a log entry about service with the given values.
func newEntry(service, action string, values map[string]any) upfactory.LogEntry {
	return upfactory.LogEntry{
		Time:    t0,
		Actor:   "alice",
		Action:  action,
		Service: service,
		Subject: "v1.5.0",
		Reason:  "scheduled release",
		Values:  values,
	}
}

func mustSave(t *testing.T, s upfactory.Store, st *upfactory.ServiceState, entries []upfactory.LogEntry) {
	t.Helper()
	if err := s.Save(t.Context(), st, entries); err != nil {
		t.Fatalf("Save(%s, rev %d): %v", st.Service, st.Rev, err)
	}
}

func mustAppend(t *testing.T, s upfactory.Store, entries []upfactory.LogEntry) {
	t.Helper()
	if err := s.AppendLog(t.Context(), entries); err != nil {
		t.Fatalf("AppendLog: %v", err)
	}
}

func mustLog(t *testing.T, s upfactory.Store, f upfactory.LogFilter) []upfactory.LogEntry {
	t.Helper()
	entries, err := s.Log(t.Context(), f)
	if err != nil {
		t.Fatalf("Log(%+v): %v", f, err)
	}
	return entries
}

func mustState(t *testing.T, s upfactory.Store, service string) *upfactory.ServiceState {
	t.Helper()
	st, err := s.State(t.Context(), service)
	if err != nil {
		t.Fatalf("State(%s): %v", service, err)
	}
	return st
}

// mustVerify checks that the log verifies and holds n entries.
func mustVerify(t *testing.T, s upfactory.Store, n int64) {
	t.Helper()
	v, err := s.VerifyLog(t.Context())
	if err != nil {
		t.Fatalf("VerifyLog: %v", err)
	}
	if diff := cmp.Diff(&upfactory.LogVerification{OK: true, Entries: n}, v); diff != "" {
		t.Fatalf("VerifyLog (-want +got):\n%s", diff)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := upfactory.ErrorCode(err); got != code {
		t.Fatalf("%s: got error %v (code %q), want code %q", what, err, got, code)
	}
}

func seqs(entries []upfactory.LogEntry) []int64 {
	s := []int64{}
	for _, e := range entries {
		s = append(s, e.Seq)
	}
	return s
}

func seqRange(from, to int64) []int64 {
	s := []int64{}
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

func testStateNotFound(t *testing.T, s upfactory.Store) {
	_, err := s.State(t.Context(), "checkout")
	wantCode(t, "State of an unknown service", err, upfactory.ENOTFOUND)
}

func testSaveNew(t *testing.T, s upfactory.Store) {
	st := newState("checkout")
	mustSave(t, s, st, nil)
	if st.Rev != 1 {
		t.Fatalf("after saving a new state, Rev = %d, want 1", st.Rev)
	}
	// Times compare with time.Time.Equal, so a store may hand them back in
	// another zone, but not at another instant.
	if diff := cmp.Diff(st, mustState(t, s, "checkout")); diff != "" {
		t.Fatalf("State after Save (-saved +got):\n%s", diff)
	}

	st.StableVersion, st.PreviousVersion, st.Rollout = "v1.5.0", "v1.4.0", nil
	mustSave(t, s, st, nil)
	if st.Rev != 2 {
		t.Fatalf("after saving again, Rev = %d, want 2", st.Rev)
	}
	if diff := cmp.Diff(st, mustState(t, s, "checkout")); diff != "" {
		t.Fatalf("State after second Save (-saved +got):\n%s", diff)
	}

	// Services are independent records.
	other := newState("search")
	mustSave(t, s, other, nil)
	if other.Rev != 1 {
		t.Fatalf("first Save of another service: Rev = %d, want 1", other.Rev)
	}
}

func testSaveConflict(t *testing.T, s upfactory.Store) {
	st := newState("checkout")
	mustSave(t, s, st, []upfactory.LogEntry{newEntry("checkout", "rollout.start", nil)})
	stored := mustState(t, s, "checkout")

	for _, rev := range []int64{0, 2, 7} {
		stale := newState("checkout")
		stale.StableVersion, stale.Rev = "v9.9.9", rev
		entries := []upfactory.LogEntry{newEntry("checkout", "step.advance", nil)}
		err := s.Save(t.Context(), stale, entries)
		wantCode(t, fmt.Sprintf("Save with Rev %d over revision 1", rev), err, upfactory.ECONFLICT)
		if stale.Rev != rev {
			t.Errorf("after a conflict, the caller's Rev changed from %d to %d", rev, stale.Rev)
		}
		if entries[0].Seq != 0 || entries[0].Hash != "" {
			t.Errorf("after a conflict, the caller's entry got Seq %d and Hash %q", entries[0].Seq, entries[0].Hash)
		}
	}
	if diff := cmp.Diff(stored, mustState(t, s, "checkout")); diff != "" {
		t.Errorf("state changed by conflicting Saves (-before +after):\n%s", diff)
	}
	if got := seqs(mustLog(t, s, upfactory.LogFilter{})); !slices.Equal(got, []int64{1}) {
		t.Errorf("log after conflicting Saves has entries %v, want [1]", got)
	}

	// A new service's stored revision is 0.
	fresh := newState("search")
	fresh.Rev = 3
	wantCode(t, "Save of a new service with Rev 3", s.Save(t.Context(), fresh, nil), upfactory.ECONFLICT)
	_, err := s.State(t.Context(), "search")
	wantCode(t, "State after a conflicting first Save", err, upfactory.ENOTFOUND)
	mustVerify(t, s, 1)
}

func testSaveInvalid(t *testing.T, s upfactory.Store) {
	wantCode(t, "Save(nil)", s.Save(t.Context(), nil, nil), upfactory.EINVALID)
	wantCode(t, "Save without a service name", s.Save(t.Context(), &upfactory.ServiceState{}, nil), upfactory.EINVALID)

	// ComputeHash cannot hash what JSON cannot write: the store must refuse
	// such values before writing anything.
	for name, v := range map[string]any{"NaN": math.NaN(), "+Inf": math.Inf(1), "chan": make(chan int)} {
		st := newState("checkout")
		entries := []upfactory.LogEntry{
			newEntry("checkout", "rollout.start", map[string]any{"ok": 1}),
			newEntry("checkout", "step.advance", map[string]any{"bad": map[string]any{"deep": v}}),
		}
		wantCode(t, "Save of an entry with a "+name+" value", s.Save(t.Context(), st, entries), upfactory.EINVALID)
		if st.Rev != 0 {
			t.Errorf("failed Save changed the caller's Rev to %d", st.Rev)
		}
		wantCode(t, "AppendLog of an entry with a "+name+" value", s.AppendLog(t.Context(), entries), upfactory.EINVALID)
		if entries[0].Seq != 0 {
			t.Errorf("failed AppendLog gave the caller's first entry Seq %d", entries[0].Seq)
		}
	}
	_, err := s.State(t.Context(), "checkout")
	wantCode(t, "State after failed Saves", err, upfactory.ENOTFOUND)
	if got := mustLog(t, s, upfactory.LogFilter{}); len(got) != 0 {
		t.Errorf("failed Saves left %d log entries", len(got))
	}
	mustVerify(t, s, 0)
}

func testSaveEntries(t *testing.T, s upfactory.Store) {
	entries := []upfactory.LogEntry{
		newEntry("checkout", "rollout.start", map[string]any{"canary": "v1.5.0", "steps": 4.0}),
		newEntry("checkout", "step.advance", map[string]any{"weight": 25.0, "ok": true}),
		newEntry("checkout", "approval.wait", nil),
	}
	entries[1].Time = t0.Add(time.Nanosecond)
	entries[2].Actor, entries[2].Reason = upfactory.ActorSystem, ""
	mustSave(t, s, newState("checkout"), entries)

	prev := ""
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			t.Errorf("entry %d: Seq = %d, want %d", i, e.Seq, i+1)
		}
		if e.PrevHash != prev {
			t.Errorf("entry %d: PrevHash = %q, want the previous entry's hash %q", i, e.PrevHash, prev)
		}
		if e.Hash == "" || e.Hash != e.ComputeHash() {
			t.Errorf("entry %d: Hash = %q, want %q", i, e.Hash, e.ComputeHash())
		}
		prev = e.Hash
	}
	got := mustLog(t, s, upfactory.LogFilter{})
	if diff := cmp.Diff(entries, got, jsonValues); diff != "" {
		t.Errorf("Log after Save (-saved +got):\n%s", diff)
	}
	mustVerify(t, s, 3)
}

func testLogFilter(t *testing.T, s upfactory.Store) {
	mustSave(t, s, newState("checkout"), []upfactory.LogEntry{
		newEntry("checkout", "rollout.start", nil), // 1
		newEntry("checkout", "step.advance", nil),  // 2
	})
	mustSave(t, s, newState("search"), []upfactory.LogEntry{
		newEntry("search", "rollout.start", nil), // 3
	})
	mustAppend(t, s, []upfactory.LogEntry{
		newEntry("", "server.start", nil),             // 4
		newEntry("checkout", "instance.restart", nil), // 5
	})
	all := mustLog(t, s, upfactory.LogFilter{})
	if diff := cmp.Diff(seqRange(1, 5), seqs(all)); diff != "" {
		t.Fatalf("Log of everything (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		f    upfactory.LogFilter
		want []int64
	}{
		{upfactory.LogFilter{Service: "checkout"}, []int64{1, 2, 5}},
		{upfactory.LogFilter{Service: "search"}, []int64{3}},
		{upfactory.LogFilter{Service: "nope"}, []int64{}},
		{upfactory.LogFilter{AfterSeq: 2}, []int64{3, 4, 5}},
		{upfactory.LogFilter{AfterSeq: 5}, []int64{}},
		{upfactory.LogFilter{Limit: 2}, []int64{1, 2}},
		{upfactory.LogFilter{Limit: 2, Newest: true}, []int64{4, 5}},
		{upfactory.LogFilter{Limit: 10, Newest: true}, []int64{1, 2, 3, 4, 5}},
		{upfactory.LogFilter{Service: "checkout", Limit: 1, Newest: true}, []int64{5}},
		{upfactory.LogFilter{Limit: 10}, []int64{1, 2, 3, 4, 5}},
		{upfactory.LogFilter{AfterSeq: 3, Limit: 1}, []int64{4}},
		{upfactory.LogFilter{Service: "checkout", AfterSeq: 1, Limit: 1}, []int64{2}},
		{upfactory.LogFilter{Service: "checkout", AfterSeq: 2}, []int64{5}},
	} {
		got := mustLog(t, s, tt.f)
		if diff := cmp.Diff(tt.want, seqs(got)); diff != "" {
			t.Errorf("Log(%+v) seqs (-want +got):\n%s", tt.f, diff)
			continue
		}
		for _, e := range got {
			if diff := cmp.Diff(all[e.Seq-1], e, jsonValues); diff != "" {
				t.Errorf("Log(%+v) entry %d (-unfiltered +filtered):\n%s", tt.f, e.Seq, diff)
			}
		}
	}

	_, err := s.Log(t.Context(), upfactory.LogFilter{Limit: -1})
	wantCode(t, "Log with a negative limit", err, upfactory.EINVALID)
}

func testAppendLogChains(t *testing.T, s upfactory.Store) {
	saved := []upfactory.LogEntry{
		newEntry("checkout", "rollout.start", nil),
		newEntry("checkout", "step.advance", nil),
	}
	mustSave(t, s, newState("checkout"), saved)

	mustAppend(t, s, nil) // appends nothing
	appended := []upfactory.LogEntry{
		newEntry("checkout", "instance.restart", map[string]any{"instance": "i-2", "restarts": 3.0}),
		newEntry("", "server.start", nil),
		newEntry("search", "instance.restart", nil),
	}
	mustAppend(t, s, appended)
	if diff := cmp.Diff(seqRange(3, 5), seqs(appended)); diff != "" {
		t.Errorf("Seq of appended entries (-want +got):\n%s", diff)
	}
	if appended[0].PrevHash != saved[1].Hash {
		t.Errorf("first appended entry has PrevHash %q, want the last saved entry's hash %q", appended[0].PrevHash, saved[1].Hash)
	}
	for i := 1; i < len(appended); i++ {
		if appended[i].PrevHash != appended[i-1].Hash {
			t.Errorf("appended entry %d does not chain to the one before", appended[i].Seq)
		}
	}
	want := slices.Concat(saved, appended)
	if diff := cmp.Diff(want, mustLog(t, s, upfactory.LogFilter{}), jsonValues); diff != "" {
		t.Errorf("Log (-want +got):\n%s", diff)
	}
	mustVerify(t, s, 5)

	// A Save after AppendLog chains on too.
	next := []upfactory.LogEntry{newEntry("search", "rollout.start", nil)}
	mustSave(t, s, newState("search"), next)
	if next[0].Seq != 6 || next[0].PrevHash != appended[2].Hash {
		t.Errorf("Save after AppendLog: entry has Seq %d and PrevHash %q, want 6 and %q", next[0].Seq, next[0].PrevHash, appended[2].Hash)
	}
	mustVerify(t, s, 6)
}

func testVerifyEmpty(t *testing.T, s upfactory.Store) {
	mustVerify(t, s, 0)
	mustSave(t, s, newState("checkout"), nil) // state alone adds no entry
	mustVerify(t, s, 0)
}

// mixedValues returns values of every JSON kind, with numbers Go holds as
// int, int64, uint8 and float64, and a struct whose fields are not in key
// order: all must hash the same after the store's round trip.
func mixedValues(i int) map[string]any {
	type pair struct {
		Zeta  int    `json:"zeta"`
		Alpha string `json:"alpha"`
	}
	return map[string]any{
		"int":    i,
		"neg":    -i,
		"big":    int64(1)<<60 + int64(i), // beyond float64's exact integers
		"byte":   uint8(i),
		"float":  float64(i) / 3,
		"tiny":   1e-300 * float64(i+1),
		"whole":  float64(i),
		"string": fmt.Sprintf("<b>%d</b> & \"quoted\" ünïcödé", i),
		"empty":  "",
		"bool":   i%2 == 0,
		"null":   nil,
		"list":   []any{i, "two", 3.5, nil, []int{1, 2}},
		"nested": map[string]any{"weight": i % 100, "deeper": map[string]any{"ok": true, "at": t0}},
		"struct": pair{Zeta: i, Alpha: "a"},
		"bytes":  []byte{0, 1, byte(i)},
	}
}

func testVerifyMixedValues(t *testing.T, s upfactory.Store) {
	var handed []upfactory.LogEntry // as Save and AppendLog handed them back
	revs := map[string]*upfactory.ServiceState{}
	for i := 0; i < 100; {
		n := 1 + i%4
		batch := make([]upfactory.LogEntry, 0, n)
		for j := 0; j < n && i < 100; j++ {
			e := newEntry(fmt.Sprintf("svc-%d", i%3), "step.advance", mixedValues(i))
			e.Time = t0.Add(time.Duration(i)*time.Second + time.Duration(i))
			if i%10 == 0 {
				e.Values = nil
			} else if i%10 == 1 {
				e.Values = map[string]any{}
			}
			batch = append(batch, e)
			i++
		}
		if len(handed)%2 == 0 {
			svc := batch[0].Service
			st, ok := revs[svc]
			if !ok {
				st = newState(svc)
				revs[svc] = st
			}
			mustSave(t, s, st, batch)
		} else {
			mustAppend(t, s, batch)
		}
		handed = append(handed, batch...)
	}
	mustVerify(t, s, 100)

	got := mustLog(t, s, upfactory.LogFilter{})
	if len(got) != len(handed) {
		t.Fatalf("Log returned %d entries, want %d", len(got), len(handed))
	}
	for i, e := range got {
		want := handed[i]
		if e.Hash != want.Hash {
			t.Errorf("entry %d: stored hash %q differs from the hash handed back by the store %q", e.Seq, e.Hash, want.Hash)
		}
		if h := e.ComputeHash(); h != e.Hash {
			t.Errorf("entry %d as read back hashes to %q, not its stored hash %q", e.Seq, h, e.Hash)
		}
		if !e.Time.Equal(want.Time) || e.Time.Nanosecond() != want.Time.Nanosecond() {
			t.Errorf("entry %d: Time = %v, want %v", e.Seq, e.Time, want.Time)
		}
		if diff := cmp.Diff(want, e, jsonValues); diff != "" {
			t.Errorf("entry %d (-handed back +read back):\n%s", e.Seq, diff)
		}
	}
}

// checkSeqs checks that caller-side entries, gathered from concurrent calls,
// hold each of 1..n exactly once and that the log holds the same.
func checkSeqs(t *testing.T, s upfactory.Store, handed []int64, n int64) {
	t.Helper()
	slices.Sort(handed)
	if diff := cmp.Diff(seqRange(1, n), handed); diff != "" {
		t.Errorf("Seq handed back to callers: gaps or duplicates (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(seqRange(1, n), seqs(mustLog(t, s, upfactory.LogFilter{}))); diff != "" {
		t.Errorf("Seq in the log: gaps or duplicates (-want +got):\n%s", diff)
	}
	mustVerify(t, s, n)
}

func testConcurrentSaves(t *testing.T, s upfactory.Store) {
	const savers, saves, appenders, appends = 8, 10, 2, 10
	var mu sync.Mutex
	var handed []int64
	record := func(entries []upfactory.LogEntry) {
		mu.Lock()
		defer mu.Unlock()
		for i, e := range entries {
			handed = append(handed, e.Seq)
			if i > 0 && e.Seq != entries[i-1].Seq+1 {
				t.Errorf("entries of one call got Seq %d then %d: another call's entries came between", entries[i-1].Seq, e.Seq)
			}
		}
	}

	var wg sync.WaitGroup
	for g := range savers {
		wg.Go(func() {
			st := newState(fmt.Sprintf("svc-%d", g))
			for i := range saves {
				st.StableVersion = fmt.Sprintf("v1.%d.0", i)
				entries := []upfactory.LogEntry{
					newEntry(st.Service, "rollout.start", map[string]any{"i": i}),
					newEntry(st.Service, "rollout.complete", map[string]any{"i": i}),
				}
				if err := s.Save(t.Context(), st, entries); err != nil {
					t.Errorf("Save(%s, rev %d): %v", st.Service, st.Rev, err)
					return
				}
				record(entries)
			}
		})
	}
	for g := range appenders {
		wg.Go(func() {
			for i := range appends {
				entries := make([]upfactory.LogEntry, 1+i%3)
				for j := range entries {
					entries[j] = newEntry("", "instance.restart", map[string]any{"appender": g, "i": i, "j": j})
				}
				if err := s.AppendLog(t.Context(), entries); err != nil {
					t.Errorf("AppendLog: %v", err)
					return
				}
				record(entries)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	for g := range savers {
		st := mustState(t, s, fmt.Sprintf("svc-%d", g))
		if st.Rev != saves || st.StableVersion != fmt.Sprintf("v1.%d.0", saves-1) {
			t.Errorf("service %s: Rev %d, stable version %s; want Rev %d, version v1.%d.0", st.Service, st.Rev, st.StableVersion, saves, saves-1)
		}
	}
	checkSeqs(t, s, handed, int64(len(handed)))
}

// testConcurrentSavesOneService races writers on one service: each re-reads
// the state after ECONFLICT and tries again, and no update may be lost.
func testConcurrentSavesOneService(t *testing.T, s upfactory.Store) {
	const writers, saves = 8, 5
	var mu sync.Mutex
	var handed []int64

	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range saves {
				id := fmt.Sprintf("w%d-%d", g, i)
				for attempt := 0; ; attempt++ {
					if attempt == 1000 {
						t.Errorf("writer %d: no Save succeeded in 1000 attempts", g)
						return
					}
					st, err := s.State(t.Context(), "checkout")
					if upfactory.ErrorCode(err) == upfactory.ENOTFOUND {
						st, err = &upfactory.ServiceState{Service: "checkout"}, nil
					}
					if err != nil {
						t.Errorf("State: %v", err)
						return
					}
					st.Instances = append(st.Instances, upfactory.Instance{ID: id, Service: "checkout", StartedAt: t0})
					entries := []upfactory.LogEntry{newEntry("checkout", "instance.start", map[string]any{"id": id})}
					err = s.Save(t.Context(), st, entries)
					if upfactory.ErrorCode(err) == upfactory.ECONFLICT {
						continue
					} else if err != nil {
						t.Errorf("Save: %v", err)
						return
					}
					mu.Lock()
					handed = append(handed, entries[0].Seq)
					mu.Unlock()
					break
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	st := mustState(t, s, "checkout")
	if st.Rev != writers*saves {
		t.Errorf("Rev = %d after %d successful Saves", st.Rev, writers*saves)
	}
	ids := map[string]bool{}
	for _, in := range st.Instances {
		ids[in.ID] = true
	}
	if len(ids) != writers*saves || len(st.Instances) != writers*saves {
		t.Errorf("state holds %d instances (%d distinct), want %d: an update was lost", len(st.Instances), len(ids), writers*saves)
	}
	checkSeqs(t, s, handed, writers*saves)
}
