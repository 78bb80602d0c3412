package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
)

func currentUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return envOr("USER", "anonymous")
}

func newRolloutCmd(g *globals) *cobra.Command {
	cmd := group(&cobra.Command{Use: "rollout", Short: "Start, watch and steer progressive rollouts"})

	var version, as string
	var candidates []string
	var wait bool
	var waitTimeout time.Duration
	start := &cobra.Command{
		Use:   "start SERVICE --version V [--candidate ID ...]",
		Short: "Start a canary rollout of a new version, once every gate on the way into canary is open",
		Long: `Start a canary rollout of version V of SERVICE. V is the service's own
release: the candidate intake found for it, or a new one made now. A library
bump or OS/runtime patch reaches production inside such a release: name the
candidates V delivers with --candidate. Every gate on the way into canary
(release notes, compat, freeze, window, preflight, drill) must be open; a
refusal (exit 1) lists every closed gate with the command that opens it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if version == "" {
				return usageErr("--version is required")
			}
			st, err := g.client().StartRollout(cmd.Context(), args[0], version, as, candidates...)
			if err != nil {
				return err
			}
			if wait {
				return watch(cmd.Context(), g, args[0], waitTimeout, true)
			}
			return g.show(st)
		},
	}
	start.Flags().StringVar(&version, "version", "", "version to roll out")
	start.Flags().StringVar(&as, "as", currentUser(), "who starts it, for the operation log")
	start.Flags().StringSliceVar(&candidates, "candidate", nil, "a candidate the version delivers (repeat, or comma-separated)")
	start.Flags().BoolVar(&wait, "wait", false, "watch until the rollout ends or needs a person; exit 0 completed, 1 rolled back/aborted/failed, 3 waits for a person, 4 --timeout")
	start.Flags().DurationVar(&waitTimeout, "timeout", 0, "with --wait: give up after this long, exit 4 (0: no limit)")
	cmd.AddCommand(start)

	var watchFlag bool
	var watchTimeout time.Duration
	status := &cobra.Command{
		Use:   "status SERVICE",
		Short: "Show step, weights, per-version traffic and the state of each check and gate",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if watchFlag {
				return watch(cmd.Context(), g, args[0], watchTimeout, false)
			}
			st, err := g.client().Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return g.show(st)
		},
	}
	status.Flags().BoolVarP(&watchFlag, "watch", "w", false, "refresh every second until the rollout ends or needs a person (exit codes as rollout start --wait)")
	status.Flags().DurationVar(&watchTimeout, "timeout", 0, "with --watch: give up after this long, exit 4 (0: no limit)")
	cmd.AddCommand(status)

	actions := []struct{ name, short string }{
		{"promote", "Skip the current step (not an approval gate)"},
		{"approve", "Approve the waiting approval gate"},
		{"pause", "Hold the rollout at its current weight"},
		{"resume", "Continue a paused rollout"},
		{"abort", "Stop the rollout and send all traffic back to stable"},
		{"rollback", "Send all traffic back to the previous version, from any step or within the rollback window"},
		{"cleanup", "Stop the instances of a failed canary kept for inspection"},
	}
	for _, a := range actions {
		var as, comment string
		c := &cobra.Command{
			Use:   a.name + " SERVICE",
			Short: a.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				st, err := g.client().Do(cmd.Context(), args[0], a.name, as, comment)
				if err != nil {
					return err
				}
				return g.show(st)
			},
		}
		who := "who asks, for the operation log"
		if a.name == "approve" {
			who = "the approver's name, kept with the approval and in the operation log"
		}
		c.Flags().StringVar(&as, "as", currentUser(), who)
		c.Flags().StringVar(&comment, "comment", "", "a note for the operation log")
		cmd.AddCommand(c)
	}
	return cmd
}

// group makes a command that only holds subcommands refuse anything else
// with a usage error, instead of printing help and exiting 0.
func group(cmd *cobra.Command) *cobra.Command {
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageErr("%s needs a subcommand: see upfactory %s --help", c.Name(), c.Name())
		}
		return usageErr("unknown command %q for upfactory %s: see upfactory %s --help", args[0], c.Name(), c.Name())
	}
	return cmd
}

func (g *globals) show(st *engine.Status) error {
	if g.json() {
		return g.printJSON(st)
	}
	renderStatus(g.stdout, st)
	return nil
}

// watch refreshes the status every second until the rollout ends, waits
// for a person, or timeout passes; the exit code says which. On a terminal
// it redraws in place; elsewhere it prints a line per change. With -o json,
// --wait prints the last status only (one document) and --watch prints
// one compact status a line per change (JSON Lines).
func watch(ctx context.Context, g *globals, service string, timeout time.Duration, waiting bool) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	tty := isTerminal(g.stdout)
	last := ""
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		st, err := g.client().Status(ctx, service)
		if err != nil {
			if ctx.Err() != nil {
				return watchEnded(ctx, g, st, timeout)
			}
			return err
		}
		switch {
		case g.json() && waiting:
		case g.json():
			if key := fmt.Sprint(st.Phase, st.StepIndex, st.CanaryWeight, st.Message, st.Health); key != last {
				last = key
				b, _ := json.Marshal(st)
				fmt.Fprintf(g.stdout, "%s\n", b)
			}
		case tty:
			fmt.Fprint(g.stdout, "\x1b[H\x1b[2J")
			renderStatus(g.stdout, st)
		default:
			if line := statusLine(st); line != last {
				last = line
				fmt.Fprintln(g.stdout, time.Now().Format(time.TimeOnly), line)
			}
		}
		if code, why, end := watchOutcome(st); end {
			switch {
			case g.json() && waiting:
				g.printJSON(st)
			case !g.json() && !tty:
				renderStatus(g.stdout, st)
			}
			if code == exitOK {
				return nil
			}
			return &exitError{code: code, err: errors.New(why), reported: g.json()}
		}
		select {
		case <-ctx.Done():
			return watchEnded(ctx, g, st, timeout)
		case <-t.C:
		}
	}
}

// watchOutcome says whether a watch ends at st, with its exit code.
func watchOutcome(st *engine.Status) (code int, why string, end bool) {
	switch {
	case st.RolloutID == "":
		return exitOK, "", true // nothing to watch
	case st.Phase == upfactory.PhaseCompleted:
		return exitOK, "", true
	case st.Phase.Done():
		return exitRefused, fmt.Sprintf("rollout %s: %s", st.Phase, st.Message), true
	case st.Phase.WaitsForPerson():
		next := "upfactory rollout resume " + st.Service
		if st.Phase == upfactory.PhaseAwaitingApproval {
			next = "upfactory rollout approve " + st.Service + " --as NAME"
		}
		return exitPerson, fmt.Sprintf("rollout %s, waiting for a person: %s (%s)", st.Phase, st.Message, next), true
	}
	return 0, "", false
}

// watchEnded is the end of a watch cut short: by --timeout (exit 4), or by
// an interrupt.
func watchEnded(ctx context.Context, g *globals, st *engine.Status, timeout time.Duration) error {
	if st != nil && g.json() {
		g.printJSON(st)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && timeout > 0 {
		msg := fmt.Sprintf("the rollout was still going after --timeout %s", timeout)
		if st != nil {
			msg += fmt.Sprintf(": %s at step %d, canary %d%%: %s", st.Phase, st.StepIndex, st.CanaryWeight, st.Message)
		}
		return &exitError{code: exitTimeout, err: errors.New(msg), reported: g.json()}
	}
	return &exitError{code: exitRefused, err: errors.New("interrupted before the rollout ended"), reported: g.json()}
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
