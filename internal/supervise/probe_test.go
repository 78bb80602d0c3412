package supervise_test

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/internal/supervise"
)

func TestLiveness(t *testing.T) {
	fail := errors.New("503")
	var l supervise.Liveness
	var got []upfactory.InstanceState
	for _, err := range []error{nil, fail, fail, nil, fail, fail, fail, fail, nil, fail} {
		got = append(got, l.Observe(err))
	}
	R, U := upfactory.InstanceReady, upfactory.InstanceUnhealthy
	want := []upfactory.InstanceState{R, R, R, R, R, R, U, U, R, R}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

func TestProbeCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusNoContent)
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			http.Error(w, "nope", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()

	for _, tt := range []struct {
		path, addr string
		want       string // "" for ready
	}{
		{"/ok", addr, ""},
		{"ok", addr, ""}, // a missing slash is added
		{"/moved", addr, "302 Found"},
		{"/broken", addr, "500 Internal Server Error"},
		{"/ok", deadAddr, "connection refused"},
	} {
		p := supervise.NewProbe(upfactory.Readiness{Path: tt.path})
		err := p.Check(t.Context(), tt.addr)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Check(%s%s) = %v, want ready", tt.addr, tt.path, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("Check(%s%s) = %v, want an error saying %q", tt.addr, tt.path, err, tt.want)
		}
	}
}

func TestProbeDefaults(t *testing.T) {
	p := supervise.NewProbe(upfactory.Readiness{})
	if p.Interval() != upfactory.DefaultReadyInterval || p.Timeout() != upfactory.DefaultReadyTimeout || p.URL("h:1") != "http://h:1"+upfactory.DefaultReadinessPath {
		t.Errorf("zero Readiness gives interval %s, timeout %s, URL %s", p.Interval(), p.Timeout(), p.URL("h:1"))
	}
}
