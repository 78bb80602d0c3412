package risk

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// Explain renders the score as lines a person reads: the total and its
// formula with the axis weights, then per axis its sub-score and every
// factor with its input, normalised value, weight, share and points.
func Explain(s Score) string {
	var b strings.Builder
	fmt.Fprintf(&b, "risk %.1f / 100\n", s.Total)
	fmt.Fprintf(&b, "%s\n", s.Formula)
	fmt.Fprintf(&b, "  axis weights (normalised): exploitability %.2f, blast radius %.2f, reversibility %.2f\n",
		s.ExploitabilityShare, s.BlastRadiusShare, s.ReversibilityShare)
	fmt.Fprintf(&b, "  points = 100 × share × value; share = axis weight × factor weight / Σ factor weights in the axis\n")
	axes := []struct {
		name  string
		sub   float64
		share float64
	}{
		{AxisExploitability, s.Exploitability, s.ExploitabilityShare},
		{AxisBlastRadius, s.BlastRadius, s.BlastRadiusShare},
		{AxisReversibility, s.Reversibility, s.ReversibilityShare},
	}
	for _, a := range axes {
		fmt.Fprintf(&b, "\n%s %.1f / 100 (axis weight %.2f, %.1f points)\n", a.name, a.sub, a.share, a.share*a.sub)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, f := range s.Factors {
			if f.Axis != a.name {
				continue
			}
			if f.Name == "kev_floor" {
				fmt.Fprintf(tw, "  %s\t%s\tlift %.3f\tfloor %g\tshare %.3f\t+%.1f\t%s\n",
					f.Name, f.Input, f.Value, f.Weight, f.Share, f.Points, f.Reason)
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s\tvalue %.3f\tweight %g\tshare %.3f\t+%.1f\t%s\n",
				f.Name, f.Input, f.Value, f.Weight, f.Share, f.Points, f.Reason)
		}
		tw.Flush()
	}
	return b.String()
}
