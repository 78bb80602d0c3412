package exec

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// killWait bounds the wait for a process to go after SIGKILL.
	killWait = 5 * time.Second
	// pollExit is how often a process that is not our child is checked
	// for exit while it is being stopped.
	pollExit = 50 * time.Millisecond
	// logTailLines is how many lines of an instance's log a failure
	// reason quotes.
	logTailLines = 5
)

// process is one OS process of an instance: a child we started, or a
// process a previous upfactory left running that we adopted.
type process struct {
	pid     int
	argv0   string    // to tell an adopted process from one that reused its PID
	id      string    // the instance ID in its environment
	started time.Time // when we started or adopted it

	// exited is closed once a child has been waited for; nil for an
	// adopted process, which is not ours to wait for.
	exited chan struct{}
	state  *os.ProcessState // set before exited is closed
	err    error            // from Wait, set before exited is closed
}

func (p *process) adopted() bool { return p.exited == nil }

// done reports whether the process has exited.
func (p *process) done() bool {
	if p.exited == nil {
		return !alive(p.pid)
	}
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// wait waits until the process exits (true) or ctx ends (false).
func (p *process) wait(ctx context.Context) bool {
	if p.exited != nil {
		select {
		case <-p.exited:
			return true
		case <-ctx.Done():
			return false
		}
	}
	tick := time.NewTicker(pollExit)
	defer tick.Stop()
	for {
		if !alive(p.pid) {
			return true
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		}
	}
}

// exitStatus says how the process ended: "exit status 3", "signal:
// killed"; code is its exit code, -1 when a signal ended it or when it is
// unknown (an adopted process).
func (p *process) exitStatus() (status string, code int, signal string) {
	if p.exited == nil {
		return "an unknown status (it was adopted, so upfactory cannot see how it ended)", -1, ""
	}
	<-p.exited
	if p.state == nil {
		return p.err.Error(), -1, ""
	}
	if ws, ok := p.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		signal = ws.Signal().String()
	}
	return p.state.String(), p.state.ExitCode(), signal
}

// spawn starts argv as a child in its own process group, with its output
// appended to logPath. The log is opened O_APPEND and the group is its
// own, so the child keeps running and logging when upfactory dies.
func spawn(argv, env []string, dir, logPath, id string) (*process, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, fmt.Errorf("creating the log directory: %w", err)
	}
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening the instance log: %w", err)
	}
	defer f.Close() // the child has its own descriptor
	cmd := &osexec.Cmd{
		Path:   argv[0],
		Args:   argv,
		Env:    env,
		Dir:    dir,
		Stdout: f,
		Stderr: f,
		// Its own process group: a Ctrl-C in upfactory's terminal, or a
		// kill of upfactory's group, does not reach the instance.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{
		pid:     cmd.Process.Pid,
		argv0:   argv[0],
		id:      id,
		started: time.Now(),
		exited:  make(chan struct{}),
	}
	// This goroutine ends when the child does, even after Close(ctx,
	// false): Wait cannot be interrupted, and it reaps the child.
	go func() {
		p.err = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	return p, nil
}

// signalGroup sends sig to the process group of the instance process
// pid, which leads its group; to pid alone if the group is gone.
func signalGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); errors.Is(err, syscall.ESRCH) {
		_ = syscall.Kill(pid, sig)
	}
}

// alive reports whether pid is a live process: it exists, is ours to
// signal, and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the command name, which is in parentheses and may
	// hold anything, so look after the last ')'.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		switch b[i+2] {
		case 'Z', 'X', 'x':
			return false
		}
	}
	return true
}

// procList reads a NUL-separated /proc file such as cmdline or environ.
func procList(pid int, name string) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/" + name)
	if err != nil {
		return nil, err
	}
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil, fmt.Errorf("/proc/%d/%s is empty", pid, name)
	}
	return strings.Split(string(b), "\x00"), nil
}

// identify reports whether pid is still the process p describes, and if
// not, what it is instead. It guards signals to processes we did not
// start against PID reuse.
func identify(pid int, argv0, id string) (ok bool, why string) {
	if !alive(pid) {
		return false, fmt.Sprintf("process %d is gone", pid)
	}
	argv, err := procList(pid, "cmdline")
	if err != nil {
		return false, fmt.Sprintf("process %d cannot be identified: %v", pid, err)
	}
	if argv[0] != argv0 {
		return false, fmt.Sprintf("process %d now runs %s, not %s: its PID was reused", pid, argv[0], argv0)
	}
	env, err := procList(pid, "environ")
	if err != nil {
		// Without its environment the program name has to do.
		return true, ""
	}
	if got, _ := lookupEnv(env, EnvInstance); got != id {
		if got == "" {
			return false, fmt.Sprintf("process %d runs %s but was not started by upfactory: its PID was reused", pid, argv0)
		}
		return false, fmt.Sprintf("process %d is instance %s, not %s", pid, got, id)
	}
	return true, ""
}

// freePort returns a loopback port nobody listens on now and that is not
// in used. Another program may take it before the instance binds it; the
// instance then fails to start and is restarted on the same port.
func freePort(used map[int]bool) (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("finding a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !used[port] {
			return port, nil
		}
	}
	return 0, errors.New("finding a free port: every port offered is in use by another instance")
}

// logTail returns the last lines of the log at path, for failure reasons.
func logTail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const window = 4 << 10
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(fi.Size()-window, 0)
	b, err := io.ReadAll(io.NewSectionReader(f, off, window))
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if off > 0 && len(lines) > 1 {
		lines = lines[1:] // the first one is cut
	}
	var out []string
	for _, l := range lines {
		l = strings.TrimRight(l, "\r ")
		if l == "" {
			continue
		}
		if len(l) > 300 {
			l = l[:300] + "…"
		}
		out = append(out, l)
	}
	if len(out) > logTailLines {
		out = out[len(out)-logTailLines:]
	}
	return strings.Join(out, "\n")
}

// withLogTail appends the last lines of the log at path to reason.
func withLogTail(reason, path string) string {
	if path == "" {
		return reason
	}
	tail := logTail(path)
	if tail == "" {
		return reason + "; its log " + path + " is empty"
	}
	return reason + "; last lines of " + path + ":\n" + tail
}
