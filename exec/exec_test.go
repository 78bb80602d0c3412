package exec_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/exec"
	"github.com/upfactory/upfactory/targettest"
)

func TestMain(m *testing.M) {
	burnIfAsked()
	targettest.ServeIfAsked()
	code := m.Run()
	if pids := targettest.KillStrays(); len(pids) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: test servers were left running (now killed): %v\n", pids)
		code = 1
	}
	os.Exit(code)
}

// wait bounds every wait for a state; generous for slow, raced builds.
const wait = 30 * time.Second

// service returns a service whose instances are this test binary serving
// HTTP, with extra flags for the test server.
func service(t *testing.T, extra ...string) *upfactory.Service {
	t.Helper()
	return &upfactory.Service{
		Name:          "checkout",
		StableVersion: "1.0.0",
		Target: upfactory.TargetSpec{
			Type:        "exec",
			Command:     targettest.ServerCommand(t, extra...),
			Env:         targettest.ServerEnv(),
			Dir:         t.TempDir(),
			Versions:    map[string][]string{"1.0.0": nil, "2.0.0": nil},
			Replicas:    1,
			Readiness:   upfactory.Readiness{Path: "/healthz", Timeout: upfactory.Duration(wait), Interval: upfactory.Duration(50 * time.Millisecond)},
			StopTimeout: upfactory.Duration(5 * time.Second),
		},
	}
}

// newTarget returns a target of svc that is closed, stopping every
// instance, when the test ends. rec may be nil.
func newTarget(t *testing.T, svc *upfactory.Service, rec *targettest.Recorder) *exec.Target {
	t.Helper()
	return targettest.MustNew(t, func() (*exec.Target, error) {
		return exec.New(svc, exec.Options{DataDir: t.TempDir(), Event: rec.Event()})
	})
}

func TestConformance(t *testing.T) {
	targettest.Run(t,
		func(t *testing.T, svc *upfactory.Service) upfactory.Target { return newTarget(t, svc, nil) },
		func(t *testing.T) *upfactory.Service { return service(t) },
		targettest.Options{StopEndsServing: true, Timeout: wait})
}

func startOne(t *testing.T, tgt *exec.Target, version string) upfactory.Instance {
	t.Helper()
	insts, err := tgt.Start(t.Context(), version, 1)
	if err != nil {
		t.Fatalf("Start(%q): %v", version, err)
	}
	return insts[0]
}

func args(t *testing.T, addr string) []string {
	t.Helper()
	body, err := targettest.Get(addr, "/args")
	if err != nil {
		t.Fatalf("asking %s for its arguments: %v", addr, err)
	}
	var argv []string
	if err := json.Unmarshal([]byte(body), &argv); err != nil {
		t.Fatalf("decoding the arguments %q: %v", body, err)
	}
	return argv
}

func getenv(t *testing.T, addr, name string) string {
	t.Helper()
	v, err := targettest.Get(addr, "/env?name="+name)
	if err != nil {
		t.Fatalf("asking %s for %s: %v", addr, name, err)
	}
	return v
}

// eventually polls cond every 20ms until it holds. After wait it fails the
// test naming what it waited for and where things last stood (cond's
// second result).
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s: %s", wait, what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// awaitGone waits until process pid has exited.
func awaitGone(t *testing.T, pid int) {
	t.Helper()
	eventually(t, fmt.Sprintf("process %d to exit", pid), func() (bool, string) {
		return !running(pid), "it still runs"
	})
}

// running reports whether pid exists and is not a zombie.
func running(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func TestStartRendersCommandAndEnv(t *testing.T) {
	svc := service(t, "svc={{.Service}}", "index={{.Index}}")
	svc.Target.Env["GREETING"] = "hello {{.Service}} {{.Version}} #{{.Index}} on {{.Port}}"
	rec := &targettest.Recorder{}
	dataDir := t.TempDir()
	tgt, err := exec.New(svc, exec.Options{DataDir: dataDir, Event: rec.Record})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	targettest.CloseAtEnd(t, tgt)

	insts, err := tgt.Start(t.Context(), "2.0.0", 2)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	for i, in := range insts {
		if in.State != upfactory.InstanceStarting || in.PID <= 0 || !strings.HasPrefix(in.Addr, "127.0.0.1:") {
			t.Errorf("Start returned %+v: want Starting, with a PID and a loopback address", in)
		}
		if !strings.HasPrefix(in.ID, "checkout-2.0.0-") {
			t.Errorf("ID %q does not start with checkout-2.0.0-", in.ID)
		}
		if dir := filepath.Join(dataDir, "logs", "checkout"); filepath.Dir(in.LogPath) != dir || !strings.HasPrefix(filepath.Base(in.LogPath), "2.0.0-") {
			t.Errorf("log path %s is not %s/2.0.0-….log", in.LogPath, dir)
		}
		in = targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
		port := strings.TrimPrefix(in.Addr, "127.0.0.1:")
		exe, _ := os.Executable()
		want := []string{exe, "--listen=127.0.0.1:" + port, "--version=2.0.0", "svc=checkout", "index=" + strconv.Itoa(i)}
		if got := args(t, in.Addr); !slices.Equal(got, want) {
			t.Errorf("instance %d runs %q, want %q", i, got, want)
		}
		if got, want := getenv(t, in.Addr, "GREETING"), fmt.Sprintf("hello checkout 2.0.0 #%d on %s", i, port); got != want {
			t.Errorf("GREETING = %q, want %q", got, want)
		}
		if got := getenv(t, in.Addr, exec.EnvInstance); got != in.ID {
			t.Errorf("%s = %q, want %q", exec.EnvInstance, got, in.ID)
		}
		if got := getenv(t, in.Addr, "HOME"); got != os.Getenv("HOME") {
			t.Errorf("HOME = %q: the environment is not inherited", got)
		}
		// Its own process group: a Ctrl-C or a kill of upfactory's group
		// does not reach it.
		if pgid, err := syscall.Getpgid(in.PID); err != nil || pgid != in.PID || pgid == syscall.Getpgrp() {
			t.Errorf("process group of %d is %d (%v), want its own", in.PID, pgid, err)
		}
		log, err := os.ReadFile(in.LogPath)
		if err != nil || !strings.Contains(string(log), "listening on 127.0.0.1:"+port) {
			t.Errorf("log %s = %q (%v), want the server's output", in.LogPath, log, err)
		}
		started := rec.Await(t, "instance.started", in.ID)
		if started.Actor != upfactory.ActorSystem || started.Service != "checkout" || started.Values["pid"] != in.PID || started.Values["port"] != mustAtoi(t, port) {
			t.Errorf("started event %+v: want actor system, service checkout, pid %d, port %s", started, in.PID, port)
		}
		rec.Await(t, "instance.ready", in.ID)
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestStartGivesAReplacementTheFreedIndex(t *testing.T) {
	tgt := newTarget(t, service(t), nil)
	insts, err := tgt.Start(t.Context(), "1.0.0", 2)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	for i, in := range insts {
		targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
		if got := getenv(t, in.Addr, exec.EnvIndex); got != strconv.Itoa(i) {
			t.Errorf("instance %d has index %s", i, got)
		}
	}
	if err := tgt.Stop(t.Context(), insts[0].ID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	repl := startOne(t, tgt, "1.0.0")
	repl = targettest.AwaitState(t, tgt, repl.ID, upfactory.InstanceReady, wait)
	if got := getenv(t, repl.Addr, exec.EnvIndex); got != "0" {
		t.Errorf("replacement has index %s, want 0", got)
	}
}

func TestStartRejects(t *testing.T) {
	tgt := newTarget(t, service(t), nil)
	for _, tt := range []struct {
		version string
		n       int
		want    string
	}{
		{"3.0.0", 1, `unknown version "3.0.0" of service checkout: known versions are 1.0.0, 2.0.0`},
		{"1.0.0", 0, "at least 1"},
	} {
		_, err := tgt.Start(t.Context(), tt.version, tt.n)
		if upfactory.ErrorCode(err) != upfactory.EINVALID || !strings.Contains(upfactory.ErrorMessage(err), tt.want) {
			t.Errorf("Start(%q, %d) = %v, want EINVALID saying %q", tt.version, tt.n, err, tt.want)
		}
	}
}

// A command such as ./bin/shop-{{.Version}} runs from the service's
// directory, and a version without a program is EINVALID.
func TestStartRelativeProgram(t *testing.T) {
	svc := service(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := svc.Target.Dir
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(dir, "bin", "shop-1.0.0")); err != nil {
		t.Fatal(err)
	}
	svc.Target.Command = []string{"./bin/shop-{{.Version}}", "--listen=127.0.0.1:{{.Port}}", "--version={{.Version}}"}
	svc.Target.Versions = nil
	tgt := newTarget(t, svc, nil)

	in := startOne(t, tgt, "1.0.0")
	in = targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
	if got := args(t, in.Addr)[0]; got != filepath.Join(dir, "bin", "shop-1.0.0") {
		t.Errorf("argv[0] = %q, want the program's absolute path", got)
	}

	_, err = tgt.Start(t.Context(), "2.0.0", 1)
	missing := filepath.Join(dir, "bin", "shop-2.0.0")
	if msg := upfactory.ErrorMessage(err); upfactory.ErrorCode(err) != upfactory.EINVALID || !strings.Contains(msg, `"2.0.0"`) || !strings.Contains(msg, missing) {
		t.Errorf("Start of a version without a program = %v, want EINVALID naming %q and %s", err, "2.0.0", missing)
	}
	list, _ := tgt.Instances(t.Context())
	if len(list) != 1 {
		t.Errorf("after a rejected Start, instances:\n%s", targettest.Format(list))
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, tt := range []struct {
		name    string
		command []string
		env     map[string]string
		onStart bool // the error shows at Start, not New
	}{
		{"CommandParse", []string{"server", "--port={{.Port"}, nil, false},
		{"EnvParse", []string{"server"}, map[string]string{"A": "{{if}}"}, false},
		{"EnvName", []string{"server"}, map[string]string{"A=B": "x"}, false},
		{"UnknownField", []string{"server", "--db={{.Database}}"}, nil, true},
		{"EmptyProgram", []string{"{{if false}}x{{end}}"}, nil, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			svc := service(t)
			svc.Target.Command = tt.command
			svc.Target.Env = tt.env
			tgt, err := exec.New(svc, exec.Options{DataDir: t.TempDir()})
			if !tt.onStart {
				if upfactory.ErrorCode(err) != upfactory.EINVALID {
					t.Fatalf("New = %v, want EINVALID", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			defer tgt.Close(t.Context(), true)
			if _, err := tgt.Start(t.Context(), "1.0.0", 1); upfactory.ErrorCode(err) != upfactory.EINVALID {
				t.Errorf("Start = %v, want EINVALID", err)
			}
		})
	}
}

// The command is never run through a shell: a version full of shell
// syntax stays one literal argument.
func TestNoShell(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "pwned")
	version := "1.0;touch " + marker + " && $(touch " + marker + ") `touch " + marker + "`"

	t.Run("AllowList", func(t *testing.T) {
		tgt := newTarget(t, service(t), nil)
		if _, err := tgt.Start(t.Context(), version, 1); upfactory.ErrorCode(err) != upfactory.EINVALID {
			t.Errorf("Start = %v, want EINVALID", err)
		}
	})
	t.Run("Literal", func(t *testing.T) {
		svc := service(t)
		svc.Target.Versions = nil
		tgt := newTarget(t, svc, nil)
		in := startOne(t, tgt, version)
		in = targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
		if got, err := targettest.Get(in.Addr, "/version"); err != nil || got != version {
			t.Errorf("instance reports version %q (%v), want %q", got, err, version)
		}
		if argv := args(t, in.Addr); !slices.Contains(argv, "--version="+version) {
			t.Errorf("argv %q lacks the literal argument", argv)
		}
		if strings.ContainsAny(in.ID, "/ ;$`&") {
			t.Errorf("ID %q holds characters unsafe in a URL or a file name", in.ID)
		}
		if !strings.HasPrefix(in.LogPath, filepath.Dir(filepath.Dir(in.LogPath))) || strings.Contains(filepath.Base(in.LogPath), " ") {
			t.Errorf("log path %q", in.LogPath)
		}
	})
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists: the version went through a shell", marker)
	}
}

func TestCrashIsRestarted(t *testing.T) {
	rec := &targettest.Recorder{}
	tgt := newTarget(t, service(t), rec)
	in := startOne(t, tgt, "1.0.0")
	in = targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
	targettest.Get(in.Addr, "/crash") // it exits with status 3 while answering

	list := targettest.Await(t, tgt, wait, "a restart", func(list []upfactory.Instance) bool {
		got, ok := targettest.Find(list, in.ID)
		return ok && got.Restarts > 0 && got.State == upfactory.InstanceReady
	})
	got, _ := targettest.Find(list, in.ID)
	if got.Restarts != 1 || got.PID == in.PID || got.Addr != in.Addr {
		t.Errorf("after a crash: %+v; want restart 1, a new PID and address %s", got, in.Addr)
	}
	crashed := rec.Await(t, "instance.crashed", in.ID)
	if crashed.Values["exit_code"] != 3 || crashed.Values["pid"] != in.PID || !strings.Contains(crashed.Reason, "exit status 3") {
		t.Errorf("crash event %+v: want exit code 3 of pid %d", crashed, in.PID)
	}
	restarted := rec.Await(t, "instance.restarted", in.ID)
	if restarted.Values["pid"] != got.PID || restarted.Values["restarts"] != 1 {
		t.Errorf("restart event %+v: want pid %d, restart 1", restarted, got.PID)
	}
	if n := len(rec.Find("instance.ready", in.ID)); n < 2 {
		t.Errorf("%d ready events, want one per start", n)
	}
}

func TestExitBeforeReadyFails(t *testing.T) {
	rec := &targettest.Recorder{}
	svc := service(t, "--exit=2")
	// Long enough for a few restarts even when starting a process is slow.
	svc.Target.Readiness.Timeout = upfactory.Duration(4 * time.Second)
	tgt := newTarget(t, svc, rec)
	in := startOne(t, tgt, "1.0.0")
	got := targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceFailed, wait)
	for _, want := range []string{"exit status 2", "before it was ready", "boom: cannot open the database", in.LogPath} {
		if !strings.Contains(got.Reason, want) {
			t.Errorf("reason %q lacks %q", got.Reason, want)
		}
	}
	if got.Restarts < 1 {
		t.Errorf("restarts = %d: a process that exits before it is ready is restarted until the deadline", got.Restarts)
	}
	if e := rec.Await(t, "instance.failed", in.ID); e.Values["exit_code"] != 2 {
		t.Errorf("failed event values %v, want exit_code 2", e.Values)
	}
	rec.Await(t, "instance.crashed", in.ID)
}

func TestNeverReadyFails(t *testing.T) {
	rec := &targettest.Recorder{}
	svc := service(t, "--fail-ready")
	// Long enough for the server to start and log, even when that is slow.
	svc.Target.Readiness.Timeout = upfactory.Duration(4 * time.Second)
	tgt := newTarget(t, svc, rec)
	in := startOne(t, tgt, "1.0.0")
	got := targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceFailed, wait)
	for _, want := range []string{"not ready 4s after it started", "503 Service Unavailable", "refusing readiness on purpose"} {
		if !strings.Contains(got.Reason, want) {
			t.Errorf("reason %q lacks %q", got.Reason, want)
		}
	}
	awaitGone(t, in.PID)
	rec.Await(t, "instance.failed", in.ID)
	if err := tgt.Stop(t.Context(), in.ID); err != nil {
		t.Errorf("Stop of a failed instance: %v", err)
	}
	if list, _ := tgt.Instances(t.Context()); len(list) != 0 {
		t.Errorf("after Stop, instances:\n%s", targettest.Format(list))
	}
}

func TestUnhealthyAndBack(t *testing.T) {
	rec := &targettest.Recorder{}
	tgt := newTarget(t, service(t), rec)
	in := startOne(t, tgt, "1.0.0")
	in = targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
	if _, err := targettest.Get(in.Addr, "/sick"); err != nil {
		t.Fatal(err)
	}
	got := targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceUnhealthy, wait)
	if !strings.Contains(got.Reason, "503") || got.PID != in.PID {
		t.Errorf("unhealthy instance %+v: want the check's answer in the reason, the same process", got)
	}
	rec.Await(t, "instance.unhealthy", in.ID)
	if _, err := targettest.Get(in.Addr, "/well"); err != nil {
		t.Fatal(err)
	}
	got = targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
	if got.Reason != "" || got.Restarts != 0 {
		t.Errorf("recovered instance %+v", got)
	}
}

func TestStopKillsAfterTimeout(t *testing.T) {
	rec := &targettest.Recorder{}
	svc := service(t, "--ignore-term")
	svc.Target.StopTimeout = upfactory.Duration(300 * time.Millisecond)
	tgt := newTarget(t, svc, rec)
	in := startOne(t, tgt, "1.0.0")
	targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
	if err := tgt.Stop(t.Context(), in.ID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if running(in.PID) {
		t.Errorf("process %d runs after Stop returned", in.PID)
	}
	e := rec.Await(t, "instance.stopped", in.ID)
	if !strings.Contains(e.Reason, "SIGKILL") || e.Values["signal"] != "killed" {
		t.Errorf("stop event %+v: want SIGKILL mentioned", e)
	}
	if es := rec.Find("instance.crashed", in.ID); len(es) > 0 {
		t.Errorf("a requested stop was recorded as a crash: %+v", es)
	}
}

func TestStopWhileStarting(t *testing.T) {
	rec := &targettest.Recorder{}
	tgt := newTarget(t, service(t, "--fail-ready"), rec)
	in := startOne(t, tgt, "1.0.0")
	if err := tgt.Stop(t.Context(), in.ID); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if running(in.PID) {
		t.Errorf("process %d runs after Stop returned", in.PID)
	}
	rec.Await(t, "instance.stopped", in.ID)
	for _, action := range []string{"instance.crashed", "instance.failed", "instance.restarted"} {
		if es := rec.Find(action, in.ID); len(es) > 0 {
			t.Errorf("stopping a starting instance recorded %s: %+v", action, es)
		}
	}
}

// After a server restart, a new target adopts the processes the old one
// left running, and supervises them: a killed one is restarted.
func TestAdoptAfterRestart(t *testing.T) {
	svc := service(t)
	first := newTarget(t, svc, nil)
	in := startOne(t, first, "1.0.0")
	targettest.AwaitState(t, first, in.ID, upfactory.InstanceReady, wait)
	recorded, _ := first.Instances(t.Context())
	if err := first.Close(t.Context(), false); err != nil {
		t.Fatalf("Close(stopAll=false): %v", err)
	}
	if !running(in.PID) {
		t.Fatalf("process %d stopped with Close(stopAll=false)", in.PID)
	}

	rec := &targettest.Recorder{}
	second := newTarget(t, svc, rec)
	list := targettest.MustAdopt(t, second, recorded)
	got, ok := targettest.Find(list, in.ID)
	if !ok || got.State != upfactory.InstanceReady || got.PID != in.PID || got.Addr != in.Addr || got.LogPath != in.LogPath {
		t.Fatalf("after Adopt, instances:\n%s\nwant %s Ready with PID %d", targettest.Format(list), in.ID, in.PID)
	}
	if e := rec.Await(t, "instance.adopted", in.ID); e.Values["pid"] != in.PID {
		t.Errorf("adopted event %+v", e)
	}

	if err := syscall.Kill(in.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	list = targettest.Await(t, second, wait, "the adopted instance to be restarted", func(list []upfactory.Instance) bool {
		got, ok := targettest.Find(list, in.ID)
		return ok && got.Restarts == 1 && got.State == upfactory.InstanceReady
	})
	got, _ = targettest.Find(list, in.ID)
	if got.PID == in.PID || got.Addr != in.Addr {
		t.Errorf("restarted %+v: want a new process on %s", got, in.Addr)
	}
	if argv := args(t, got.Addr); !slices.Contains(argv, "--version=1.0.0") {
		t.Errorf("restarted with %q", argv)
	}
	if v := getenv(t, got.Addr, exec.EnvInstance); v != in.ID {
		t.Errorf("restarted process has %s=%q, want %q", exec.EnvInstance, v, in.ID)
	}
	rec.Await(t, "instance.crashed", in.ID)
	if err := second.Stop(t.Context(), in.ID); err != nil {
		t.Errorf("Stop: %v", err)
	}
	awaitGone(t, got.PID)
}

func TestAdoptLost(t *testing.T) {
	svc := service(t)
	exe, _ := os.Executable()

	// A process that has exited.
	done := osexec.Command(exe, "--exit=0")
	done.Env = append(os.Environ(), targettest.EnvServe+"=1")
	if err := done.Run(); err != nil {
		t.Fatal(err)
	}
	// A PID reused by an unrelated program.
	sleep := osexec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	// A PID reused by the same program, not started by upfactory.
	impostor := osexec.Command(exe, "--listen=127.0.0.1:0")
	impostor.Env = append(os.Environ(), targettest.EnvServe+"=1")
	impostor.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := impostor.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { impostor.Process.Kill(); impostor.Wait() })

	recorded := []upfactory.Instance{
		{ID: "checkout-1.0.0-0001", Service: "checkout", Version: "1.0.0", Addr: "127.0.0.1:1", PID: done.Process.Pid, State: upfactory.InstanceReady},
		{ID: "checkout-1.0.0-0002", Service: "checkout", Version: "1.0.0", Addr: "127.0.0.1:2", PID: sleep.Process.Pid, State: upfactory.InstanceReady},
		{ID: "checkout-1.0.0-0003", Service: "checkout", Version: "1.0.0", Addr: "127.0.0.1:3", PID: impostor.Process.Pid, State: upfactory.InstanceReady},
		{ID: "checkout-1.0.0-0004", Service: "checkout", Version: "1.0.0", Addr: "127.0.0.1:4", State: upfactory.InstanceStarting},
		{ID: "checkout-1.0.0-0005", Service: "checkout", Version: "1.0.0", Addr: "127.0.0.1:5", PID: 1, State: upfactory.InstanceStopped},
	}
	wantReason := map[string]string{
		"checkout-1.0.0-0001": "is gone",
		"checkout-1.0.0-0002": "PID was reused",
		"checkout-1.0.0-0003": "not started by upfactory",
		"checkout-1.0.0-0004": "no process was recorded",
	}
	rec := &targettest.Recorder{}
	tgt := newTarget(t, svc, rec)
	list := targettest.MustAdopt(t, tgt, recorded)
	if len(list) != len(wantReason) {
		t.Errorf("instances after Adopt:\n%s\nwant the %d lost ones, Stopped", targettest.Format(list), len(wantReason))
	}
	for _, in := range list {
		if in.State != upfactory.InstanceStopped || !strings.Contains(in.Reason, wantReason[in.ID]) {
			t.Errorf("%s is %s (%q), want Stopped saying %q", in.ID, in.State, in.Reason, wantReason[in.ID])
		}
		rec.Await(t, "instance.lost", in.ID)
	}
	if !running(sleep.Process.Pid) || !running(impostor.Process.Pid) {
		t.Errorf("Adopt signaled a process that is not its own")
	}
	// The engine acknowledges a lost instance by stopping it.
	for id := range wantReason {
		if err := tgt.Stop(t.Context(), id); err != nil {
			t.Errorf("Stop(%s): %v", id, err)
		}
	}
	if list, _ := tgt.Instances(t.Context()); len(list) != 0 {
		t.Errorf("after Stop, instances:\n%s", targettest.Format(list))
	}
	if es := rec.Find("instance.stopped", "checkout-1.0.0-0001"); len(es) > 0 {
		t.Errorf("stopping a lost instance recorded %+v", es)
	}
}

// A process of ours that runs but does not answer is stopped, not adopted.
func TestAdoptUnresponsive(t *testing.T) {
	svc := service(t, "--fail-ready")
	first := newTarget(t, svc, nil)
	in := startOne(t, first, "1.0.0")
	recorded, _ := first.Instances(t.Context())
	if err := first.Close(t.Context(), false); err != nil {
		t.Fatal(err)
	}
	rec := &targettest.Recorder{}
	second := newTarget(t, svc, rec)
	list := targettest.MustAdopt(t, second, recorded)
	got, _ := targettest.Find(list, in.ID)
	if got.State != upfactory.InstanceStopped || !strings.Contains(got.Reason, "does not answer") {
		t.Errorf("after Adopt: %+v, want Stopped as it does not answer", got)
	}
	awaitGone(t, in.PID)
	rec.Await(t, "instance.lost", in.ID)
}

func TestCloseStopsEverythingAndLeaksNoGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	svc := service(t)
	tgt, err := exec.New(svc, exec.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	insts, err := tgt.Start(t.Context(), "1.0.0", 3)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	for _, in := range insts {
		targettest.AwaitState(t, tgt, in.ID, upfactory.InstanceReady, wait)
	}
	if err := tgt.Close(t.Context(), true); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, in := range insts {
		if running(in.PID) {
			t.Errorf("process %d runs after Close(stopAll=true)", in.PID)
		}
	}
	if _, err := tgt.Start(t.Context(), "1.0.0", 1); upfactory.ErrorCode(err) != upfactory.EUNAVAILABLE {
		t.Errorf("Start after Close = %v, want EUNAVAILABLE", err)
	}
	targettest.AwaitGoroutines(t, before, wait)
}

func TestCheckVersionBeforeStart(t *testing.T) {
	svc := &upfactory.Service{Name: "shop", StableVersion: "1.0.0", Target: upfactory.TargetSpec{
		Type: "exec", Dir: t.TempDir(), Command: []string{"./bin/shop-{{.Version}}", "--port", "{{.Port}}"}}}
	os.MkdirAll(filepath.Join(svc.Target.Dir, "bin"), 0o755)
	os.WriteFile(filepath.Join(svc.Target.Dir, "bin", "shop-1.0.0"), []byte("#!/bin/sh\n"), 0o755)
	tg, err := exec.New(svc, exec.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(context.Background(), true)
	if err := tg.CheckVersion(context.Background(), "1.0.0"); err != nil {
		t.Errorf("existing version: %v", err)
	}
	err = tg.CheckVersion(context.Background(), "9.9.9")
	if upfactory.ErrorCode(err) != upfactory.EINVALID || !strings.Contains(upfactory.ErrorMessage(err), "shop-9.9.9 does not exist") {
		t.Errorf("missing version: %v", err)
	}
}
