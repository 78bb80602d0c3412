package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
)

// blueGreen is the blue-green strategy of the test: green mirrored to
// before promotion, promoted by an approver, analysed at 100%.
const blueGreen = `    strategy:
      blue_green:
        preview: 127.0.0.1:PREVIEW
        pre_promotion:
          - mirror: {duration: 2s, sample: 50%, min_compared: 5}
        post_promotion:
          - analysis: {duration: 2s}
        rollback_window: 10m
`

// Given steady load, when a version is rolled out blue-green — green at
// full size beside blue, reachable by header only, mirrored to, promoted
// by one switch, analysed at 100%, then backed out by one switch — no
// request fails at any switch.
func TestBlueGreenCutOverAndBackOutDropNoRequest(t *testing.T) {
	previewPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	preview := "http://127.0.0.1:" + previewPort
	s := startEdited(t, "\n          - weight: 100", withStrategy(strings.Replace(blueGreen, "PREVIEW", previewPort, 1)))
	if resp, err := http.Get(preview + "/api/version"); err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("preview with no rollout: %v %v, want 503", resp, err)
	} else {
		resp.Body.Close()
	}
	res, stop := startLoad(t, s, 200)
	waitServed(t, res, "1.0.0", 300)

	if code, out := s.cli(t, "rollout", "start", "checkout", "--version", "2.0.0", "--as", "alice"); code != 0 {
		t.Fatalf("rollout start: %d %s", code, out)
	}
	st := s.waitFor(t, "the promotion gate", 40*time.Second, func(st *engine.Status) bool { return st.Phase == upfactory.PhaseAwaitingApproval })
	if st.CanaryWeight != 0 {
		t.Fatalf("before promotion green takes %d%% of users", st.CanaryWeight)
	}
	green := 0
	for _, v := range st.Versions {
		if v.Version == "2.0.0" {
			for _, in := range v.Instances {
				if in.State == upfactory.InstanceReady {
					green++
				}
			}
		}
	}
	if green != 2 {
		t.Errorf("green has %d ready instances at the gate, want the full 2", green)
	}
	if st.Mirror == nil || st.Mirror.Compared == 0 {
		t.Errorf("no mirrored request was compared before promotion: %+v", st.Mirror)
	}
	// Green answers the header before it takes users.
	req, _ := http.NewRequest(http.MethodGet, s.router+"/api/version", nil)
	req.Header.Set("X-Upfactory-Version", "2.0.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Shop-Version"); got != "2.0.0" {
		t.Errorf("the header reached %q, want green", got)
	}
	resp, err = http.Get(preview + "/api/version")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Shop-Version"); got != "2.0.0" {
		t.Errorf("the preview listener reached %q, want green", got)
	}
	before := res.Snapshot().ByVersion["2.0.0"]

	if code, out := s.cli(t, "rollout", "approve", "checkout", "--as", "bob"); code != 0 {
		t.Fatalf("promote: %d %s", code, out)
	}
	st = s.waitFor(t, "completion after post-promotion analysis", 40*time.Second, func(st *engine.Status) bool { return st.Phase.Done() })
	if st.Phase != upfactory.PhaseCompleted || st.StableVersion != "2.0.0" || st.PreviousVersion != "1.0.0" {
		t.Fatalf("after promotion: %s, stable %s, previous %s: %s", st.Phase, st.StableVersion, st.PreviousVersion, st.Message)
	}
	waitServed(t, res, "2.0.0", 200)
	if before > 0 {
		t.Logf("green served %d users' requests before promotion (sticky or header clients)", before)
	}

	// Back-out: one switch to blue, kept warm.
	if code, out := s.cli(t, "rollout", "rollback", "checkout", "--as", "bob"); code != 0 {
		t.Fatalf("back-out: %d %s", code, out)
	}
	s.waitStable(t, "1.0.0")
	waitServed(t, res, "1.0.0", 200)
	c := stop()
	if c.Failed() != 0 {
		t.Errorf("%d requests failed across the switches: %+v", c.Failed(), c)
	}
	t.Logf("requests %d, failed %d; by version %v", c.Total, c.Failed(), c.ByVersion)
}
