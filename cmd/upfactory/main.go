// Command upfactory runs upgrades as a factory: intake, risk, compatibility,
// canary, progressive rollout and verification, from one binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/config"
	uhttp "github.com/upfactory/upfactory/http"
)

// Exit codes, part of the contract for scripts.
const (
	exitOK      = 0 // done
	exitRefused = 1 // the operation was refused or failed
	exitUsage   = 2 // usage or config error
	exitPerson  = 3 // a watched rollout waits for a person: an approval or a pause
	exitTimeout = 4 // a watched rollout was still going at --timeout
)

func main() {
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// exitError carries an exit code for a failure already explained to the user.
type exitError struct {
	code int
	err  error
	// reported: the command already printed its result (a report with
	// -o json); the error goes to stderr only, so stdout stays one document.
	reported bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// Main runs the CLI with args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &countingWriter{w: stdout}
	g := &globals{stdout: out, stderr: stderr}
	root := newRoot(g)
	root.SetArgs(args)
	root.SetOut(out)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(err)
	var cerrs config.Errors
	// A command that already printed its result (a report, a JSON
	// document) keeps stdout to it: the error goes to stderr alone, so that
	// -o json is always exactly one document.
	if ee, ok := errors.AsType[*exitError](err); (ok && ee.reported) || out.n > 0 {
		fmt.Fprintln(stderr, "upfactory:", message(err))
		return code
	}
	isConfig := errors.As(err, &cerrs)
	switch {
	case g.output == "json":
		// The only document on stdout: the error, with each config problem.
		e := jsonError{Code: upfactory.ErrorCode(err), Message: message(err)}
		if isConfig {
			e.Code = upfactory.EINVALID
			for _, p := range cerrs {
				e.Problems = append(e.Problems, jsonProblem{File: p.File, Line: p.Line, Column: p.Column, Key: p.Key, Message: p.Message})
			}
		}
		json.NewEncoder(stdout).Encode(map[string]any{"error": e})
		if isConfig {
			fmt.Fprintf(stderr, "upfactory: the config has %d problem(s):\n%v\n", len(cerrs), cerrs)
		}
	case isConfig:
		fmt.Fprintf(stderr, "upfactory: the config has %d problem(s):\n%v\n", len(cerrs), cerrs)
	default:
		fmt.Fprintln(stderr, "upfactory:", message(err))
	}
	return code
}

// jsonError is what a failed command writes with -o json.
type jsonError struct {
	Code     string        `json:"code"`
	Message  string        `json:"message"`
	Problems []jsonProblem `json:"problems,omitempty"`
}

type jsonProblem struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

// countingWriter tells whether a command wrote anything to stdout.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func message(err error) string {
	var e *upfactory.Error
	if errors.As(err, &e) {
		return e.Message
	}
	return err.Error()
}

func exitCode(err error) int {
	var ee *exitError
	var cerrs config.Errors
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &cerrs):
		return exitUsage
	case upfactory.ErrorCode(err) == upfactory.EINVALID:
		return exitUsage
	case isUsage(err):
		return exitUsage
	}
	return exitRefused
}

// isUsage recognises cobra's own complaints about flags and arguments.
func isUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown flag", "unknown command", "unknown shorthand", "accepts ", "requires at least", "flag needs an argument", "invalid argument", "required flag"} {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

type globals struct {
	stdout, stderr io.Writer
	server         string
	token          string
	output         string
}

func (g *globals) client() *uhttp.Client {
	return uhttp.NewClient(g.server, g.token)
}

func (g *globals) json() bool { return g.output == "json" }

func (g *globals) printJSON(v any) error {
	enc := json.NewEncoder(g.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:           "upfactory",
		Short:         "Zero-downtime upgrades as a repeatable factory",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if g.output != "text" && g.output != "json" {
				return usageErr("--output must be text or json, not %q", g.output)
			}
			// Read here, not as flag defaults: a default is printed by
			// --help, and the token must never be.
			if !cmd.Flags().Changed("server") {
				g.server = envOr("UPFACTORY_SERVER", g.server)
			}
			if !cmd.Flags().Changed("api-token") {
				g.token = os.Getenv("UPFACTORY_API_TOKEN")
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.server, "server", "http://127.0.0.1:7070", "`URL` of a running upfactory serve's API (env UPFACTORY_SERVER)")
	pf.StringVar(&g.token, "api-token", "", "bearer `token` for changes (env UPFACTORY_API_TOKEN)")
	pf.StringVarP(&g.output, "output", "o", "text", "output format: text or json")
	root.AddCommand(newServeCmd(g), newDemoCmd(g), newRolloutCmd(g), newLogCmd(g), newShopCmd(g), newVersionCmd(g))
	root.AddCommand(newScanCmd(g), newIntakeCmd(g), newCandidatesCmd(g), newRiskCmd(g), newPolicyCmd(g), newPlanCmd(g), newCompatCmd(g), newSchemaCmd(g), newReloadCmd(g))
	root.AddCommand(newBoardCmd(g), newPreflightCmd(g), newDrillCmd(g), newServicesCmd(g), newIncidentCmd(g), newDoraCmd(g), newReadoutCmd(g), newReviewCmd(g), newTokenCmd(g), newCommsCmd(g), newRouterCmd(g))
	return root
}

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print upfactory's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.json() {
				return g.printJSON(map[string]string{"version": Version})
			}
			fmt.Fprintln(g.stdout, "upfactory", Version)
			return nil
		},
	}
}
