package engine

import (
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/rollout"
)

func TestSurplusStopsOldInstancesOnlyOnceTheirReplacementsServe(t *testing.T) {
	inst := func(id, v string, ready bool) upfactory.Instance {
		st := upfactory.InstanceStarting
		if ready {
			st = upfactory.InstanceReady
		}
		return upfactory.Instance{ID: id, Version: v, State: st}
	}
	d := rollout.Desired{Run: []string{"1.0.0", "2.0.0"}, Count: map[string]int{"1.0.0": 2, "2.0.0": 1}}
	starting := []upfactory.Instance{inst("a", "1.0.0", true), inst("b", "1.0.0", true), inst("c", "1.0.0", true), inst("n", "2.0.0", false)}
	kept, stop := surplus(d, starting, nil)
	if len(kept) != 4 || len(stop) != 0 {
		t.Fatalf("the new instance is not ready yet: kept %d, stop %v", len(kept), stop)
	}
	d.Unavailable = 1
	if _, stop := surplus(d, starting, nil); len(stop) != 1 || stop[0].Version != "1.0.0" {
		t.Fatalf("max_unavailable 1: stop %v, want one old instance stopped ahead of its replacement", stop)
	}
	d.Unavailable = 0
	starting[3].State = upfactory.InstanceReady
	kept, stop = surplus(d, starting, nil)
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
