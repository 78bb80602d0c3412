package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/analysis"
	"github.com/upfactory/upfactory/engine"
)

// statusLine is the one-line summary used in logs and non-terminal watches.
func statusLine(st *engine.Status) string {
	if st.Health.State == upfactory.HealthDegraded {
		return fmt.Sprintf("%s DEGRADED: %s", st.Service, st.Health.Reason)
	}
	return fmt.Sprintf("%s %s step %s canary %s %d%% %s: %s", st.Service, st.Phase, stepOf(st),
		orDash(st.CanaryVersion), st.CanaryWeight, bar(st.CanaryWeight, 20), st.Message)
}

// stepOf is the step a rollout is at, counted from 1 as people count:
// "3/9"; a rollout past its last step is at "9/9".
func stepOf(st *engine.Status) string {
	n := len(st.Steps)
	return fmt.Sprintf("%d/%d", min(st.StepIndex+1, n), n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// bar draws a weight as [####......].
func bar(weight, width int) string {
	n := weight * width / 100
	return "[" + strings.Repeat("#", n) + strings.Repeat(".", width-n) + "]"
}

func renderStatus(w io.Writer, st *engine.Status) {
	fmt.Fprintf(w, "Service:  %s\n", st.Service)
	fmt.Fprintf(w, "Phase:    %s\n", st.Phase)
	if st.Health.State != "" {
		if st.Health.Reason != "" {
			fmt.Fprintf(w, "Health:   %s: %s\n", st.Health.State, st.Health.Reason)
		} else {
			fmt.Fprintf(w, "Health:   %s\n", st.Health.State)
		}
	}
	switch {
	case st.CanaryVersion != "" && st.Phase == upfactory.PhaseCompleted && st.PreviousVersion != "":
		fmt.Fprintf(w, "Versions: stable %s, previous %s\n", st.StableVersion, st.PreviousVersion)
	case st.CanaryVersion != "" && st.CanaryVersion != st.StableVersion:
		fmt.Fprintf(w, "Versions: stable %s -> canary %s\n", st.StableVersion, st.CanaryVersion)
	default:
		fmt.Fprintf(w, "Versions: stable %s\n", st.StableVersion)
	}
	fmt.Fprintf(w, "Canary:   %3d%% %s\n", st.CanaryWeight, bar(st.CanaryWeight, 40))
	fmt.Fprintf(w, "Message:  %s\n", st.Message)
	if st.Gate != nil {
		if st.Gate.Kind == "approval" {
			fmt.Fprintf(w, "Gate:     waiting for approval by role %s: upfactory rollout approve %s --as NAME\n", st.Gate.Role, st.Service)
		} else {
			fmt.Fprintf(w, "Gate:     paused: upfactory rollout resume %s\n", st.Service)
		}
	}
	if st.PreviousVersion != "" {
		fmt.Fprintf(w, "Rollback: %s stays warm until %s (upfactory rollout rollback %s)\n", st.PreviousVersion, st.RollbackUntil.Local().Format(time.TimeOnly), st.Service)
	}

	if len(st.Steps) > 0 {
		fmt.Fprintln(w, "\nSteps:")
		for i, s := range st.Steps {
			mark := "  "
			switch {
			case st.RolloutID == "":
			case i < st.StepIndex || st.Phase == upfactory.PhaseCompleted:
				mark = "✓ "
			case i == st.StepIndex && !st.Phase.Done():
				mark = "▶ "
			}
			fmt.Fprintf(w, "  %s%d. %s\n", mark, i+1, s)
		}
	}

	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tROLE\tWEIGHT\tINSTANCES\tREQ/S\t5XX\t4XX\tP95\tP99")
	for _, v := range st.Versions {
		ready := 0
		for _, in := range v.Instances {
			if in.State == upfactory.InstanceReady {
				ready++
			}
		}
		t := v.Traffic
		fmt.Fprintf(tw, "%s\t%s\t%d%%\t%d/%d ready\t%.1f\t%.2f%%\t%.2f%%\t%s\t%s\n", v.Version, v.Role, v.Weight, ready, len(v.Instances),
			t.RequestRate, t.ErrorRate*100, t.ErrorRate4xx*100, ms(t.P95Ms), ms(t.P99Ms))
	}
	tw.Flush()

	if len(st.Checks) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "CHECK\tPROVIDER\tSTATUS\tCANARY\tSTABLE\tSAMPLES\tREASON")
		for _, c := range st.Checks {
			canary, stable, samples := "-", "-", "-"
			if m := c.Last; m != nil && m.Verdict != upfactory.VerdictError {
				canary, stable = analysis.Format(c.Metric, m.Canary), analysis.Format(c.Metric, m.Baseline)
				samples = fmt.Sprintf("%d/%d", m.CanaryCount, m.BaselineCount)
			}
			reason := c.Reason
			if c.Errors > 0 {
				reason = fmt.Sprintf("%d in a row: %s", c.Errors, reason)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Rule, orDash(c.Provider), c.Status, canary, stable, samples, oneLine(reason, 160))
		}
		tw.Flush()
		renderJudged(w, st)
	}
	if sc := st.Score; sc != nil {
		fmt.Fprintf(w, "Score:    %.1f %s: %s\n", sc.Score, sc.Verdict, sc.Reason)
	}
	if m := st.Mirror; m != nil {
		rate := 0.0
		if m.Compared > 0 {
			rate = 100 * float64(m.Mismatches) / float64(m.Compared)
		}
		fmt.Fprintf(w, "Mirror:   %d copied to %s, %d compared, %d mismatched (%.2f%%), %d canary 5xx where users got an answer, %d errors, %d dropped; p95 users %s, canary %s\n",
			m.Mirrored, m.Version, m.Compared, m.Mismatches, rate, m.Worse, m.Errors, m.Dropped, m.PrimaryP95.Human(), m.MirrorP95.Human())
		for _, t := range m.Top {
			fmt.Fprintf(w, "          %s\n", t)
		}
	}
	for _, a := range st.Approvals {
		fmt.Fprintf(w, "Approved: step %d by %s (%s) at %s %s\n", a.Step+1, a.By, a.Role, a.At.Local().Format(time.TimeOnly), a.Comment)
	}
	if v := st.Verification; v != nil {
		switch v.Verdict {
		case upfactory.VerdictPending:
			fmt.Fprintf(w, "Verified: against the baseline until %s\n", v.Until.Local().Format(time.TimeOnly))
		default:
			fmt.Fprintf(w, "Verified: %s: %s\n", v.Verdict, v.Reason)
		}
		if b, a := st.Baseline, v.Latest; b != nil && a != nil {
			fmt.Fprintf(w, "          %s before: %d requests, 5xx %.2f%%, p95 %s; %s since 100%%: %d requests, 5xx %.2f%%, p95 %s\n",
				b.Version, b.Requests, 100*b.ErrorRate(), ms(b.P95*1000), a.Version, a.Requests, 100*a.ErrorRate(), ms(a.P95*1000))
		}
	}
}

// renderJudged prints the judge's statistics behind each judged check's
// latest verdict.
func renderJudged(w io.Writer, st *engine.Status) {
	first := true
	for _, c := range st.Checks {
		m := c.Last
		if m == nil || m.Judgement == nil {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nJudge (one-sided Mann-Whitney U, or Fisher's exact test for rates; shift = canary - stable, Hodges-Lehmann or rate difference):")
			first = false
		}
		j := m.Judgement
		f := func(v float64) string { return analysis.Format(c.Metric, v) }
		if upfactory.MetricUnit(c.Metric) == "ratio" {
			f = func(v float64) string { return fmt.Sprintf("%+.2fpp", 100*v) }
		}
		fmt.Fprintf(w, "  %-24s look %d/%d  n=%d/%d  p=%.3g (alpha %.2g)  shift %s [%s, %s]  allowed %s  %s\n",
			c.Name, j.Look, j.Planned, m.CanaryCount, m.BaselineCount, j.PValue, j.Alpha, f(j.Shift), f(j.ShiftLow), f(j.ShiftHigh), f(j.Allowed), c.Status)
	}
}

func ms(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", v)
}
