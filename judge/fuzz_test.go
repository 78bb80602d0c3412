package judge_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/upfactory/upfactory/judge"
)

// FuzzJudge: for finite samples Judge never panics, every number it returns
// is free of NaN, its outcome is one of the four, and the interval holds
// the shift.
func FuzzJudge(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []byte{3, 4, 5, 6, 7, 8, 9}, uint8(3), uint8(12), 0.01, false, false)
	f.Add(make([]byte, 80), make([]byte, 80), uint8(1), uint8(1), 0.05, true, true)
	f.Fuzz(func(t *testing.T, bb, cb []byte, k, K uint8, alpha float64, lowerWorse, proportion bool) {
		toFloats := func(p []byte) []float64 {
			var xs []float64
			for len(p) >= 8 {
				x := math.Float64frombits(binary.LittleEndian.Uint64(p))
				p = p[8:]
				if math.IsNaN(x) || math.IsInf(x, 0) {
					continue
				}
				xs = append(xs, x)
			}
			for _, c := range p { // leftover bytes: small values with ties
				xs = append(xs, float64(c%8))
			}
			return xs
		}
		m := judge.Metric{Name: "m", Tolerance: 0.1, Floor: 0.001, MinSamples: 1}
		if lowerWorse {
			m.Direction = judge.LowerIsWorse
		}
		if proportion {
			m.Kind = judge.Proportion
		}
		v := judge.Judge(m, toFloats(bb), toFloats(cb), judge.Look{Index: int(k), Planned: int(K)}, alpha)
		switch v.Outcome {
		case judge.Pass, judge.Fail, judge.Inconclusive, judge.NoData:
		default:
			t.Fatalf("outcome %q", v.Outcome)
		}
		for name, x := range map[string]float64{
			"baseline": v.Baseline, "canary": v.Canary, "U": v.U, "p": v.PValue, "alpha": v.Alpha,
			"shift": v.Shift, "low": v.ShiftLow, "high": v.ShiftHigh, "rel": v.RelShift, "allowed": v.Allowed,
		} {
			if math.IsNaN(x) {
				t.Fatalf("%s is NaN: %+v", name, v)
			}
		}
		if v.Reason == "" {
			t.Fatal("no reason")
		}
		if v.Outcome != judge.NoData && !(v.ShiftLow <= v.Shift && v.Shift <= v.ShiftHigh) {
			t.Fatalf("interval %g..%g does not hold %g", v.ShiftLow, v.ShiftHigh, v.Shift)
		}
		if v.PValue < 0 || v.PValue > 1 {
			t.Fatalf("p = %g", v.PValue)
		}
	})
}
