package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// shopsOf lists the live processes running binary's bundled shop.
func shopsOf(t *testing.T, binary string) []string {
	t.Helper()
	var out []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 1 && args[0] == binary && args[1] == "shop" {
			if st, err := os.ReadFile(filepath.Join(d, "stat")); err == nil && !strings.Contains(string(st), ") Z ") {
				out = append(out, filepath.Base(d))
			}
		}
	}
	return out
}

// The demo, as a user runs it: it must end with exit 0 and a summary that
// says the bad version was rolled back, the good one completed, and no
// request was dropped, leaving no instance behind.
func TestDemoRunsToTheEnd(t *testing.T) {
	cmd := exec.Command(binary, "demo", "-o", "json")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	var sum demoSummary
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	if !sum.OK || sum.BadRollout != "RolledBack" || sum.GoodRollout != "Completed" || sum.DeliveryFailures != 0 || !sum.LogVerified {
		t.Errorf("summary %+v", sum)
	}
	if p := shopsOf(t, binary); len(p) != 0 {
		t.Errorf("the demo left instances running: %v", p)
	}
}

// Given a demo in progress, when it gets SIGTERM, then it stops its
// instances before exiting.
func TestDemoInterruptedStopsItsInstances(t *testing.T) {
	cmd := exec.Command(binary, "demo")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Rolling out") {
			break
		}
	}
	go func() {
		for sc.Scan() {
		}
	}()
	if len(shopsOf(t, binary)) == 0 {
		t.Fatal("no shop instance is running mid-demo: the test proves nothing")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the demo did not exit within 60s of SIGTERM")
	}
	eventually(t, "the demo's instances to exit after SIGTERM", 10*time.Second, func() (bool, string) {
		p := shopsOf(t, binary)
		return len(p) == 0, fmt.Sprintf("still running: %v", p)
	})
}
