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
	return fmt.Sprintf("%s %s step %d/%d canary %s %d%% %s: %s", st.Service, st.Phase, st.StepIndex, len(st.Steps),
		orDash(st.CanaryVersion), st.CanaryWeight, bar(st.CanaryWeight, 20), st.Message)
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
	if st.CanaryVersion != "" {
		fmt.Fprintf(w, "Versions: stable %s -> canary %s\n", st.StableVersion, st.CanaryVersion)
	} else {
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
			fmt.Fprintf(w, "  %s%d. %s\n", mark, i, s)
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
		fmt.Fprintln(tw, "CHECK\tSTATUS\tCANARY\tSTABLE\tSAMPLES\tREASON")
		for _, c := range st.Checks {
			canary, stable, samples := "-", "-", "-"
			if m := c.Last; m != nil {
				canary, stable = analysis.Format(c.Metric, m.Canary), analysis.Format(c.Metric, m.Baseline)
				samples = fmt.Sprintf("%d/%d", m.CanaryCount, m.BaselineCount)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", c.Rule, c.Status, canary, stable, samples, c.Reason)
		}
		tw.Flush()
	}
	for _, a := range st.Approvals {
		fmt.Fprintf(w, "Approved: step %d by %s (%s) at %s %s\n", a.Step, a.By, a.Role, a.At.Local().Format(time.TimeOnly), a.Comment)
	}
}

func ms(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fms", v)
}
