package upfactory

import "testing"

func TestCompatRunSummarize(t *testing.T) {
	cell := func(svc, outcome string) CompatCell { return CompatCell{Service: svc, Outcome: outcome} }
	for _, tc := range []struct {
		name  string
		cells []CompatCell
		want  string
	}{
		{"every cell passed", []CompatCell{cell("a", CompatPass), cell("a", CompatPass)}, CompatPass},
		{"passes and skips", []CompatCell{cell("a", CompatPass), cell("a", CompatSkipped)}, CompatPass},
		{"every cell skipped is not a pass", []CompatCell{cell("a", CompatSkipped), cell("a", CompatSkipped)}, CompatSkipped},
		{"no cells is not a pass", nil, CompatSkipped},
		{"an error", []CompatCell{cell("a", CompatPass), cell("a", CompatError)}, CompatError},
		{"a failure wins over an error", []CompatCell{cell("a", CompatError), cell("a", CompatFail)}, CompatFail},
	} {
		r := CompatRun{Cells: tc.cells}
		r.Summarize()
		if r.Outcome != tc.want {
			t.Errorf("%s: outcome %s, want %s", tc.name, r.Outcome, tc.want)
		}
	}
	r := CompatRun{Cells: []CompatCell{cell("a", CompatFail), cell("b", CompatPass), cell("c", CompatSkipped)}}
	for svc, want := range map[string]string{"a": CompatFail, "b": CompatPass, "c": CompatSkipped, "d": CompatSkipped} {
		if got, _ := r.ServiceOutcome(svc); got != want {
			t.Errorf("ServiceOutcome(%s) = %s, want %s", svc, got, want)
		}
	}
}
