package judge_test

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/upfactory/upfactory/judge"
)

type pair struct {
	kind string
	x, y []float64
}

// samplePairs are 240 deterministic sample pairs of sizes 5 to 500: continuous
// and shifted, rounded (many ties), few levels (heavy ties), 0/1 outcomes,
// identical samples, and all values equal.
func samplePairs() []pair {
	r := rand.New(rand.NewPCG(2026, 11))
	size := func() int {
		switch r.IntN(3) {
		case 0:
			return 5 + r.IntN(16)
		case 1:
			return 20 + r.IntN(81)
		}
		return 100 + r.IntN(401)
	}
	draw := func(n int, shift float64, f func() float64) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = f() + shift
		}
		return xs
	}
	var out []pair
	for i := range 240 {
		n, m := size(), size()
		shift := []float64{0, 0, 0.1, 0.3, 1, -0.5}[r.IntN(6)]
		var p pair
		switch i % 8 {
		case 0:
			p = pair{"normal", draw(n, shift, r.NormFloat64), draw(m, 0, r.NormFloat64)}
		case 1:
			lat := func() float64 { return 50 * math.Exp(0.67*r.NormFloat64()) }
			p = pair{"lognormal", draw(n, 0, lat), draw(m, 0, lat)}
			for j := range p.x {
				p.x[j] *= 1 + shift
			}
		case 2:
			round := func() float64 { return math.Round(10 * (r.NormFloat64())) }
			p = pair{"rounded", draw(n, math.Round(10*shift), round), draw(m, 0, round)}
		case 3:
			few := func() float64 { return float64(r.IntN(4)) }
			p = pair{"few levels", draw(n, 0, few), draw(m, 0, few)}
		case 4:
			px, py := 0.01+0.3*r.Float64(), 0.01+0.3*r.Float64()
			p = pair{"0/1", draw(n, 0, func() float64 { return b2f(r.Float64() < px) }), draw(m, 0, func() float64 { return b2f(r.Float64() < py) })}
		case 5:
			x := draw(n, 0, r.NormFloat64)
			p = pair{"identical", x, slices.Clone(x)}
		case 6:
			v := float64(r.IntN(3))
			p = pair{"all equal", slices.Repeat([]float64{v}, n), slices.Repeat([]float64{v}, m)}
		case 7:
			// Large shift: p-values far in the tail.
			p = pair{"far apart", draw(n, 3, r.NormFloat64), draw(m, 0, r.NormFloat64)}
		}
		out = append(out, p)
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

const scipyScript = `
import json, sys
import numpy as np
from scipy.stats import mannwhitneyu, fisher_exact
pairs = json.load(open(sys.argv[1]))
out = []
for p in pairs:
    row = {}
    for alt in ("two-sided", "greater", "less"):
        r = mannwhitneyu(np.array(p["x"]), np.array(p["y"]), alternative=alt, method="asymptotic", use_continuity=True)
        row[alt] = [float(r.statistic), float(r.pvalue)]
    out.append(row)
tables = []
for x, n, y, m in json.load(open(sys.argv[2])):
    row = {}
    for alt in ("two-sided", "greater", "less"):
        row[alt] = float(fisher_exact([[x, n - x], [y, m - y]], alternative=alt)[1])
    tables.append(row)
json.dump({"mwu": out, "fisher": tables}, sys.stdout)
`

// TestScipy compares MannWhitneyU with scipy.stats.mannwhitneyu of Debian's
// python3-scipy, run by the system /usr/bin/python3: U exactly, p within
// 1e-9 relative (or both below 1e-300).
func TestScipy(t *testing.T) {
	const python = "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import scipy").CombinedOutput(); err != nil {
		msg := "needs " + python + " with scipy (Debian package python3-scipy: apt-get install python3-scipy): " + strings.TrimSpace(string(out)) + " " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	pairs := samplePairs()
	type jsonPair struct {
		X []float64 `json:"x"`
		Y []float64 `json:"y"`
	}
	var in []jsonPair
	for _, p := range pairs {
		in = append(in, jsonPair{p.x, p.y})
	}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "pairs.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tables := fisherTables()
	tdata, err := json.Marshal(tables)
	if err != nil {
		t.Fatal(err)
	}
	tfile := filepath.Join(t.TempDir(), "tables.json")
	if err := os.WriteFile(tfile, tdata, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python, "-c", scipyScript, file, tfile)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("running scipy: %v", err)
	}
	var answer struct {
		MWU    []map[string][2]float64 `json:"mwu"`
		Fisher []map[string]float64    `json:"fisher"`
	}
	if err := json.Unmarshal(out, &answer); err != nil {
		t.Fatalf("reading scipy's output: %v", err)
	}
	got := answer.MWU
	if len(got) != len(pairs) {
		t.Fatalf("scipy answered %d pairs, want %d", len(got), len(pairs))
	}
	alts := map[string]judge.Alternative{"two-sided": judge.TwoSided, "greater": judge.Greater, "less": judge.Less}
	worst, minP, compared := 0.0, 1.0, 0
	for i, p := range pairs {
		for name, alt := range alts {
			want := got[i][name]
			u, pv := judge.MannWhitneyU(p.x, p.y, alt)
			if u != want[0] {
				t.Errorf("pair %d (%s, %d vs %d) %s: U = %g, scipy %g", i, p.kind, len(p.x), len(p.y), name, u, want[0])
			}
			compared++
			minP = min(minP, want[1])
			if pv < 1e-300 && want[1] < 1e-300 {
				continue
			}
			d := math.Abs(pv-want[1]) / want[1]
			worst = max(worst, d)
			if d > 1e-9 {
				t.Errorf("pair %d (%s, %d vs %d) %s: p = %.17g, scipy %.17g", i, p.kind, len(p.x), len(p.y), name, pv, want[1])
			}
		}
	}
	t.Logf("mannwhitneyu: %d pairs, %d (U, p) compared with scipy; U equal; max relative p difference %.3g; smallest p %.3g", len(pairs), compared, worst, minP)

	if len(answer.Fisher) != len(tables) {
		t.Fatalf("scipy answered %d tables, want %d", len(answer.Fisher), len(tables))
	}
	worst, minP = 0, 1
	for i, tb := range tables {
		for name, alt := range alts {
			want := answer.Fisher[i][name]
			p := judge.FisherExact(tb[0], tb[1], tb[2], tb[3], alt)
			minP = min(minP, want)
			if p < 1e-300 && want < 1e-300 {
				continue
			}
			d := math.Abs(p-want) / want
			worst = max(worst, d)
			if d > 1e-9 {
				t.Errorf("table %v %s: p = %.17g, scipy %.17g", tb, name, p, want)
			}
		}
	}
	t.Logf("fisher_exact: %d tables, %d p-values compared with scipy; max relative difference %.3g; smallest p %.3g", len(tables), 3*len(tables), worst, minP)
}

// fisherTables are 200 deterministic (x, n, y, m) tables: rare events as in
// a canary's 5xx count (n 50 to 2,000 against m up to 40,000), common
// events, zero events, all events.
func fisherTables() [][4]int {
	r := rand.New(rand.NewPCG(7, 7))
	binom := func(n int, p float64) int {
		k := 0
		for range n {
			if r.Float64() < p {
				k++
			}
		}
		return k
	}
	var out [][4]int
	for i := range 200 {
		var n, m int
		var px, py float64
		switch i % 4 {
		case 0: // a canary against a busy baseline, rare errors
			n, m = 50+r.IntN(1950), 1000+r.IntN(39000)
			py = 0.001 + 0.01*r.Float64()
			px = py * []float64{1, 1, 2, 10}[r.IntN(4)]
		case 1: // small tables
			n, m = 1+r.IntN(30), 1+r.IntN(30)
			px, py = r.Float64(), r.Float64()
		case 2: // common events
			n, m = 20+r.IntN(500), 20+r.IntN(500)
			px, py = 0.1+0.5*r.Float64(), 0.1+0.5*r.Float64()
		case 3: // no errors on one or both sides, or all
			n, m = 10+r.IntN(3000), 10+r.IntN(3000)
			px, py = []float64{0, 0.002, 0, 1}[r.IntN(4)], []float64{0, 0, 0.002, 1}[r.IntN(4)]
		}
		out = append(out, [4]int{binom(n, px), n, binom(m, py), m})
	}
	return out
}
