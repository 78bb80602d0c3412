package main

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	"github.com/upfactory/upfactory/loadgen"
)

// Given steady read traffic, when a stable instance is killed, then the
// router resends what the dead instance refused or dropped to the other one
// (no request fails), and the instance is restarted and the crash logged.
// The traffic is reads on purpose: a POST in flight on a process that dies
// cannot be resent, since nobody knows whether it was acted on.
func TestCrashedInstanceIsRestartedWithoutFailedRequests(t *testing.T) {
	s := startServe(t, testSteps)
	ctx, cancel := context.WithCancel(context.Background())
	res, done := loadgen.Run(ctx, loadgen.Options{BaseURL: s.router, Rate: 200, Clients: 12, Limit: 20000, SessionRequests: 2,
		Mix: []loadgen.Request{{Method: http.MethodGet, Path: "/api/products"}, {Method: http.MethodGet, Path: "/"}}})
	stop := func() loadgen.Counts { cancel(); <-done; return res.Snapshot() }
	defer cancel()
	waitServed(t, res, "", 200)
	st := s.status(t)
	victim := st.Versions[0].Instances[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s.waitFor(t, "the restart", 20*time.Second, func(st *engine.Status) bool {
		for _, in := range st.Versions[0].Instances {
			if in.ID == victim.ID && in.Restarts >= 1 && in.State == upfactory.InstanceReady {
				return true
			}
		}
		return false
	})
	waitServed(t, res, "", 200) // through both instances again
	c := stop()
	t.Logf("requests %d, statuses %v", c.Total, c.Status)
	if c.Failed() != 0 {
		t.Errorf("%d requests failed while an instance crashed (last: %s)", c.Failed(), c.LastErr)
	}
	_, out := s.cli(t, "log", "--service", "checkout")
	if !strings.Contains(out, "instance.crashed") {
		t.Errorf("no crash in the log:\n%s", out)
	}
}
