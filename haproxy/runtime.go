package haproxy

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

// Runtime is a client of HAProxy's runtime API on its admin socket: one
// command per connection, the reply read to the end. HAProxy answers
// errors as plain text ("No such server."), so each command says which
// replies mean success and any other is an error carrying HAProxy's own
// words.
type Runtime struct {
	// Socket is the path of a `stats socket … level admin`.
	Socket string
	// Timeout bounds one command. Default 5s.
	Timeout time.Duration
}

// Do sends cmd and returns HAProxy's reply.
func (r Runtime) Do(ctx context.Context, cmd string) (string, error) {
	if strings.ContainsAny(cmd, "\n;") {
		return "", upfactory.Errorf(upfactory.EINVALID, "haproxy: one command at a time, got %q", cmd)
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", r.Socket)
	if err != nil {
		return "", upfactory.Errorf(upfactory.EUNAVAILABLE, "haproxy runtime API at %s: %v", r.Socket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", upfactory.Errorf(upfactory.EUNAVAILABLE, "haproxy runtime API at %s: sending %q: %v", r.Socket, cmd, err)
	}
	b, err := io.ReadAll(conn)
	if err != nil {
		return "", upfactory.Errorf(upfactory.EUNAVAILABLE, "haproxy runtime API at %s: reading the reply to %q: %v", r.Socket, cmd, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// expect sends cmd and fails unless HAProxy's reply is one of ok ("" for
// an empty reply), with HAProxy's reply in the error.
func (r Runtime) expect(ctx context.Context, cmd string, ok ...string) error {
	reply, err := r.Do(ctx, cmd)
	if err != nil {
		return err
	}
	for _, o := range ok {
		if reply == o {
			return nil
		}
	}
	return upfactory.Errorf(upfactory.EUNAVAILABLE, "haproxy refused %q: %s", cmd, reply)
}

// server is one server of a backend as `show servers state` lists it.
type server struct {
	Name   string
	Addr   string // host:port
	Weight int    // the weight in force (srv_uweight)
	Maint  bool   // in maintenance: administratively down
	Drain  bool   // draining: no new requests
}

// ServersState reads the servers of backend: `show servers state`, whose
// reply is a version line, a header naming the columns, and one line per
// server.
func (r Runtime) ServersState(ctx context.Context, backend string) ([]server, error) {
	reply, err := r.Do(ctx, "show servers state "+backend)
	if err != nil {
		return nil, err
	}
	return parseServersState(reply)
}

// Admin states of srv_admin_state: bit flags.
const (
	adminForcedMaint = 0x01
	adminForcedDrain = 0x08
)

func parseServersState(reply string) ([]server, error) {
	lines := strings.Split(reply, "\n")
	var cols map[string]int
	var out []server
	for i, line := range lines {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "#"):
			cols = map[string]int{}
			for j, c := range strings.Fields(strings.TrimPrefix(line, "#")) {
				cols[c] = j
			}
			continue
		case cols == nil:
			if i == 0 {
				continue // the format's version
			}
			return nil, fmt.Errorf("haproxy: show servers state: %q before the header line", line)
		}
		f := strings.Fields(line)
		get := func(c string) (string, error) {
			j, ok := cols[c]
			if !ok || j >= len(f) {
				return "", fmt.Errorf("haproxy: show servers state: line %d has no %s: %q", i+1, c, line)
			}
			return f[j], nil
		}
		var s server
		var vals [5]string
		for k, c := range []string{"srv_name", "srv_addr", "srv_port", "srv_uweight", "srv_admin_state"} {
			v, err := get(c)
			if err != nil {
				return nil, err
			}
			vals[k] = v
		}
		w, err1 := strconv.Atoi(vals[3])
		admin, err2 := strconv.Atoi(vals[4])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("haproxy: show servers state: line %d: weight %q or admin state %q is not a number", i+1, vals[3], vals[4])
		}
		s.Name, s.Addr, s.Weight = vals[0], net.JoinHostPort(vals[1], vals[2]), w
		s.Maint, s.Drain = admin&adminForcedMaint != 0, admin&adminForcedDrain != 0
		out = append(out, s)
	}
	return out, nil
}

// Sessions reads how many connections each server of backend has open
// (scur of `show stat`), by server name.
func (r Runtime) Sessions(ctx context.Context, backend string) (map[string]int, error) {
	reply, err := r.Do(ctx, "show stat")
	if err != nil {
		return nil, err
	}
	return parseSessions(reply, backend)
}

func parseSessions(reply, backend string) (map[string]int, error) {
	rd := csv.NewReader(strings.NewReader(strings.TrimPrefix(reply, "# ")))
	rd.FieldsPerRecord = -1
	recs, err := rd.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("haproxy: show stat: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("haproxy: show stat: an empty reply")
	}
	cols := map[string]int{}
	for j, c := range recs[0] {
		cols[c] = j
	}
	px, sv, sc := cols["pxname"], cols["svname"], cols["scur"]
	if _, ok := cols["scur"]; !ok {
		return nil, fmt.Errorf("haproxy: show stat: no scur column in %q", strings.Join(recs[0], ","))
	}
	out := map[string]int{}
	for _, rec := range recs[1:] {
		if len(rec) <= max(px, sv, sc) || rec[px] != backend {
			continue
		}
		n, err := strconv.Atoi(rec[sc])
		if err != nil {
			continue // BACKEND and FRONTEND lines are not servers
		}
		out[rec[sv]] = n
	}
	return out, nil
}
