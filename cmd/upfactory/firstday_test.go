package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// withPorts is the config at path with fresh API and router ports, same
// data dir: what an operator gets by copying a config to try something.
func withPorts(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`listen: 127\.0\.0\.1:\d+`)
	out := re.ReplaceAllStringFunc(string(b), func(string) string {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		return "listen: 127.0.0.1:" + p
	})
	copyPath := filepath.Join(t.TempDir(), "copy.yaml")
	if err := os.WriteFile(copyPath, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	return copyPath
}

// Given a serving upfactory, when a second serve starts on the same data
// dir (other ports), then it refuses at once with exit 2 naming the first
// server's process, and the first server's instances keep serving.
func TestSecondServeOnTheSameDataDirIsRefused(t *testing.T) {
	s := startServe(t, testSteps)
	before := s.status(t)

	// A server that wrongly starts runs until its context ends: the
	// deadline turns that into a failure instead of a hang.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := Main(ctx, []string{"serve", "-c", withPorts(t, s.cfg)}, &out, &errb)
	if code != exitUsage {
		t.Fatalf("second serve: exit %d, want %d\nstderr: %s", code, exitUsage, errb.String())
	}
	msg := errb.String()
	for _, want := range []string{"in use by upfactory serve", "pid " + strconv.Itoa(s.cmd.Process.Pid), s.api} {
		if !strings.Contains(msg, want) {
			t.Errorf("refusal does not say %q:\n%s", want, msg)
		}
	}

	after := s.status(t)
	pids := func(st []upfactory.Instance) []int {
		var p []int
		for _, in := range st {
			p = append(p, in.PID)
		}
		return p
	}
	if len(before.Versions) != 1 || len(after.Versions) != 1 {
		t.Fatalf("versions before %d after %d, want 1", len(before.Versions), len(after.Versions))
	}
	b, a := pids(before.Versions[0].Instances), pids(after.Versions[0].Instances)
	if len(b) == 0 || !slices.Equal(a, b) {
		t.Errorf("the first server's instances changed: before %v, after %v", b, a)
	}
	for _, in := range after.Versions[0].Instances {
		if in.State != upfactory.InstanceReady {
			t.Errorf("instance %s is %s after the refused start, want Ready", in.ID, in.State)
		}
	}
}
