package haproxy

import (
	"math"
	"testing"

	"github.com/upfactory/upfactory"
)

// servers state as HAProxy 2.6 answers `show servers state be`.
const stateReply = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 be 1 u_5_1.0.0_127.0.0.1_9001 127.0.0.1 2 0 13 10 0 1 0 0 0 0 0 0 - 9001 - 0 0 - - 0
3 be 2 u_5_2.0.0_127.0.0.1_9002 127.0.0.1 2 8 256 10 0 1 0 0 0 0 0 0 - 9002 - 0 0 - - 0
3 be 3 static1 10.0.0.5 2 1 1 1 0 1 0 0 0 0 0 0 - 80 - 0 0 - - 0`

func TestParseServersState(t *testing.T) {
	got, err := parseServersState(stateReply)
	if err != nil {
		t.Fatal(err)
	}
	want := []server{
		{Name: "u_5_1.0.0_127.0.0.1_9001", Addr: "127.0.0.1:9001", Weight: 13},
		{Name: "u_5_2.0.0_127.0.0.1_9002", Addr: "127.0.0.1:9002", Weight: 256, Drain: true},
		{Name: "static1", Addr: "10.0.0.5:80", Weight: 1, Maint: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("server %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if versionOf(got[0].Name) != "1.0.0" || versionOf("static1") != "" || versionOf(serverName("1.0.0_rc1", "[::1]:80")) != "1.0.0_rc1" {
		t.Error("versionOf does not give back the version serverName wrote")
	}
	if _, err := parseServersState("1\n3 be 1 x 127.0.0.1 2 0 1 1"); err == nil {
		t.Error("a server line before the header: no error")
	}
	if _, err := parseServersState("1\n# srv_name srv_addr\nx 127.0.0.1"); err == nil {
		t.Error("a header without srv_port: no error")
	}
}

func TestParseSessions(t *testing.T) {
	reply := `# pxname,svname,qcur,qmax,scur,smax
fe,FRONTEND,,,3,9
be,u_5_1.0.0_127.0.0.1_9001,0,0,2,5
be,u_5_2.0.0_127.0.0.1_9002,0,0,0,1
be,BACKEND,0,0,2,5
other,srv,0,0,7,7
`
	got, err := parseSessions(reply, "be")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got["u_5_1.0.0_127.0.0.1_9001"] != 2 || got["u_5_2.0.0_127.0.0.1_9002"] != 0 {
		t.Errorf("sessions %v", got)
	}
}

func TestWeightsKeepTheShares(t *testing.T) {
	pools := []upfactory.Pool{
		{Version: "1.0.0", Weight: 95, Addrs: []string{"127.0.0.1:1", "127.0.0.1:2"}},
		{Version: "2.0.0", Weight: 5, Addrs: []string{"127.0.0.1:3", "127.0.0.1:4"}},
		{Version: "0.9.0", Weight: 0, Addrs: []string{"127.0.0.1:5"}},
	}
	w := weights(pools)
	total, canary := 0, 0
	for name, x := range w {
		if x.weight < 0 || x.weight > maxWeight {
			t.Errorf("%s: weight %d out of HAProxy's range", name, x.weight)
		}
		total += x.weight
		if versionOf(name) == "2.0.0" {
			canary += x.weight
		}
	}
	if share := float64(canary) / float64(total); math.Abs(share-0.05) > 0.005 {
		t.Errorf("the canary's share is %.3f, want 0.05 within half a point", share)
	}
	if w[serverName("0.9.0", "127.0.0.1:5")].weight != 0 {
		t.Error("a pool of weight 0 gets a server weight")
	}
}

func FuzzParseServersState(f *testing.F) {
	f.Add(stateReply)
	f.Add("1\n# srv_name srv_addr srv_port srv_uweight srv_admin_state\nx 1.2.3.4 80 1 0")
	f.Fuzz(func(t *testing.T, reply string) {
		servers, err := parseServersState(reply)
		if err != nil {
			return
		}
		for _, s := range servers {
			if s.Name == "" || s.Addr == "" {
				t.Errorf("a server without a name or an address from %q", reply)
			}
		}
	})
}

func FuzzParseSessions(f *testing.F) {
	f.Add("# pxname,svname,scur\nbe,a,1\n")
	f.Fuzz(func(t *testing.T, reply string) {
		got, err := parseSessions(reply, "be")
		if err == nil && got == nil {
			t.Error("no error and no map")
		}
	})
}
