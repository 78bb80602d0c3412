package probe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// DefaultCheckTimeout bounds a check that sets no timeout.
const DefaultCheckTimeout = 60 * time.Second

// EnvBaseURL is the variable holding the twin's base URL in a check's
// environment.
const EnvBaseURL = "UPFACTORY_BASE_URL"

// RunCheck runs c against the twin at baseURL. A zero exit is a pass; a
// non-zero exit fails with the exit code and the tail of the output; a
// timeout, or a command that cannot start, is an error.
func RunCheck(ctx context.Context, c Check, baseURL string) Result {
	res := Result{Kind: KindCheck, Name: c.Name, Tags: c.Tags, Started: time.Now()}
	defer func() { res.Duration = time.Since(res.Started) }()
	if len(c.Command) == 0 || c.Command[0] == "" {
		res.Outcome, res.Reason = Error, "no command"
		return res
	}
	timeout := c.Timeout.D()
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	cctx, cancel := context.WithTimeoutCause(ctx, timeout, errTimeout)
	defer cancel()

	out := &tailBuffer{max: MaxOutput}
	cmd := exec.CommandContext(cctx, c.Command[0], c.Command[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = os.Environ()
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, EnvBaseURL+"="+baseURL)
	cmd.Stdout, cmd.Stderr = out, out
	// A check is often a script whose children outlive it and hold the
	// output pipe open; stopping the whole process group ends them too,
	// and WaitDelay bounds the wait for a pipe some grandchild still holds.
	ownProcessGroup(cmd)
	cmd.WaitDelay = 2 * time.Second

	err := cmd.Run()
	res.Output = out.String()
	var exit *exec.ExitError
	switch {
	case err == nil:
		res.Outcome = Pass
	case context.Cause(cctx) == errTimeout:
		res.Outcome, res.Reason = Error, fmt.Sprintf("timed out after %s", timeout)
	case ctx.Err() != nil:
		res.Outcome, res.Reason = Error, "cancelled: "+context.Cause(ctx).Error()
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		res.Outcome, res.Reason = Fail, fmt.Sprintf("exit code %d", exit.ExitCode())
		if t := lastLines(res.Output, 5, 1024); t != "" {
			res.Reason += ": " + t
		}
	case errors.As(err, &exit):
		res.Outcome, res.Reason = Fail, "terminated: "+exit.String()
	default:
		res.Outcome, res.Reason = Error, "running "+c.Command[0]+": "+err.Error()
	}
	return res
}

// tailBuffer keeps the last max bytes written to it and counts the rest.
type tailBuffer struct {
	max     int
	buf     []byte
	dropped int64
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.dropped += int64(over)
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return n, nil
}

func (b *tailBuffer) String() string {
	if b.dropped > 0 {
		return fmt.Sprintf("[… %d earlier bytes dropped]\n", b.dropped) + string(b.buf)
	}
	return string(b.buf)
}

// truncateTail keeps the last max bytes of s.
func truncateTail(s string, max int) string {
	b := &tailBuffer{max: max}
	b.Write([]byte(s))
	return b.String()
}

// lastLines returns up to n last non-empty lines of s joined by " | ",
// at most max bytes, for a one-line reason.
func lastLines(s string, n, max int) string {
	var keep []string
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			keep = append([]string{l}, keep...)
		}
	}
	t := strings.Join(keep, " | ")
	if len(t) > max {
		t = "…" + strings.ToValidUTF8(t[len(t)-max:], "")
	}
	return t
}
