package rollout_test

import (
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/rollout"
)

func TestARollingUpdateStopsOldInstancesOnlyOnceTheirReplacementsServe(t *testing.T) {
	inst := func(id, v string, ready bool) upfactory.Instance {
		st := upfactory.InstanceStarting
		if ready {
			st = upfactory.InstanceReady
		}
		return upfactory.Instance{ID: id, Version: v, State: st}
	}
	d := rollout.Desired{Run: []string{"1.0.0", "2.0.0"}, Count: map[string]int{"1.0.0": 2, "2.0.0": 1}}
	starting := []upfactory.Instance{inst("a", "1.0.0", true), inst("b", "1.0.0", true), inst("c", "1.0.0", true), inst("n", "2.0.0", false)}
	kept, stop, _ := rollout.Replace(d, "2.0.0", starting)
	if len(kept) != 4 || len(stop) != 0 {
		t.Fatalf("the new instance is not ready yet: kept %d, stop %v", len(kept), stop)
	}
	d.Unavailable = 1
	if _, stop, _ := rollout.Replace(d, "2.0.0", starting); len(stop) != 1 || stop[0].Version != "1.0.0" {
		t.Fatalf("max_unavailable 1: stop %v, want one old instance stopped ahead of its replacement", stop)
	}
	d.Unavailable = 0
	starting[3].State = upfactory.InstanceReady
	kept, stop, _ = rollout.Replace(d, "2.0.0", starting)
	if len(kept) != 3 || len(stop) != 1 || stop[0].Version != "1.0.0" {
		t.Fatalf("the new instance serves: kept %v, stop %v; want one old instance stopped", kept, stop)
	}
}

func TestRollingStepsFollowTheInstances(t *testing.T) {
	s := upfactory.Strategy{Rolling: &upfactory.RollingStrategy{MaxSurge: 1, Replicas: 3, Analysis: &upfactory.AnalysisStep{Duration: 1}}}
	var got []string
	for _, st := range s.Steps() {
		got = append(got, st.Kind())
		if st.Weight != nil {
			n, _ := s.Instances(*st.Weight)
			got = append(got, string(rune('0'+n)))
		}
	}
	if want := "weight 1 analysis weight 2 analysis weight 3"; strings.Join(got, " ") != want {
		t.Errorf("steps %q, want %q", strings.Join(got, " "), want)
	}
}

func TestFailedInstancesAreReplacedExceptTheCanarys(t *testing.T) {
	d := rollout.Desired{Run: []string{"1.0.0", "2.0.0"}, Weights: map[string]int{"1.0.0": 95, "2.0.0": 5}}
	insts := []upfactory.Instance{
		{ID: "a", Version: "1.0.0", State: upfactory.InstanceReady},
		{ID: "b", Version: "1.0.0", State: upfactory.InstanceFailed},
		{ID: "c", Version: "2.0.0", State: upfactory.InstanceFailed},
		{ID: "d", Version: "0.9.0", State: upfactory.InstanceReady},
		{ID: "e", Version: "1.0.0", State: upfactory.InstanceStopped},
	}
	routable, stop, live := rollout.Replace(d, "2.0.0", insts)
	ids := func(in []upfactory.Instance) string {
		var s []string
		for _, i := range in {
			s = append(s, i.ID)
		}
		return strings.Join(s, ",")
	}
	if got := ids(stop); got != "b,d" {
		t.Errorf("stopped %s, want b (a failed stable instance, replaced) and d (a version no longer run)", got)
	}
	if got := ids(routable); got != "a,c" {
		t.Errorf("routable %s, want a and c (the failed canary stays, for its rollout to fail)", got)
	}
	if live["1.0.0"] != 1 || live["2.0.0"] != 0 {
		t.Errorf("live %v, want one 1.0.0 and no 2.0.0", live)
	}
	// Once the rollout has ended, a failed instance of a version that
	// still runs is replaced like any other.
	if _, stop, _ := rollout.Replace(d, "", insts); ids(stop) != "b,c,d" {
		t.Errorf("no active rollout: stopped %s, want b, c and d", ids(stop))
	}
}
