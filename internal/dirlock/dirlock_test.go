package dirlock_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory/internal/dirlock"
)

func TestSecondAcquireNamesTheHolder(t *testing.T) {
	dir := t.TempDir()
	since := time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC)
	l, err := dirlock.Acquire(dir, dirlock.Holder{PID: 4242, Since: since})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Update(dirlock.Holder{PID: 4242, Since: since, API: "http://127.0.0.1:7070"}); err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open file descriptions, so a second Acquire in
	// the same process is refused as another process's would be.
	_, err = dirlock.Acquire(dir, dirlock.Holder{PID: 1})
	var held *dirlock.HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second Acquire: got %v, want a HeldError", err)
	}
	if held.Holder.PID != 4242 || held.Holder.API != "http://127.0.0.1:7070" {
		t.Errorf("holder = %+v, want pid 4242 with its API", held.Holder)
	}
	for _, want := range []string{"pid 4242", "API http://127.0.0.1:7070", dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not name %q", err, want)
		}
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := dirlock.Acquire(dir, dirlock.Holder{PID: 7})
	if err != nil {
		t.Fatalf("Acquire after Release: %v", err)
	}
	l2.Release()
}

// A holder killed with SIGKILL leaves no stale lock: the kernel drops it.
func TestKilledHolderLeavesNoLock(t *testing.T) {
	if os.Getenv("DIRLOCK_HOLD") != "" {
		if _, err := dirlock.Acquire(os.Getenv("DIRLOCK_HOLD"), dirlock.Holder{PID: os.Getpid()}); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		select {} // until killed
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolderLeavesNoLock$")
	cmd.Env = append(os.Environ(), "DIRLOCK_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil || string(buf) != "held\n" {
		t.Fatalf("child did not take the lock: %q %v", buf, err)
	}
	var held *dirlock.HeldError
	if _, err := dirlock.Acquire(dir, dirlock.Holder{PID: 1}); !errors.As(err, &held) || held.Holder.PID != cmd.Process.Pid {
		t.Fatalf("while the child holds it: got %v, want HeldError naming pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := dirlock.Acquire(dir, dirlock.Holder{PID: 1})
	if err != nil {
		t.Fatalf("after kill -9 of the holder: %v", err)
	}
	l.Release()
}

func TestPeek(t *testing.T) {
	dir := t.TempDir()
	if _, held, err := dirlock.Peek(dir); held || err != nil {
		t.Fatalf("Peek of a dir never locked: held %v, err %v", held, err)
	}
	l, err := dirlock.Acquire(dir, dirlock.Holder{PID: 99, ConfigSHA256: "abc"})
	if err != nil {
		t.Fatal(err)
	}
	h, held, err := dirlock.Peek(dir)
	if !held || err != nil || h.PID != 99 || h.ConfigSHA256 != "abc" {
		t.Fatalf("Peek while held: %+v held %v err %v", h, held, err)
	}
	l.Release()
	if _, held, err := dirlock.Peek(dir); held || err != nil {
		t.Fatalf("Peek after release: held %v, err %v", held, err)
	}
	// Peek does not keep the dir from being taken.
	l, err = dirlock.Acquire(dir, dirlock.Holder{PID: 1})
	if err != nil {
		t.Fatalf("Acquire after Peek: %v", err)
	}
	l.Release()
}
