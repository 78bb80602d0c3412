package http_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/app"
	"github.com/upfactory/upfactory/config"
	"github.com/upfactory/upfactory/engine"
	uhttp "github.com/upfactory/upfactory/http"
	"github.com/upfactory/upfactory/proxy"
	"github.com/upfactory/upfactory/sqlite"
	"github.com/upfactory/upfactory/static"
)

// rolesServer runs the API over a real store, the real proxy and a static
// target whose versions are real HTTP servers, with four eyes on, and the
// tokens it made: one per role.
func rolesServer(t *testing.T) (*uhttp.Server, *sqlite.DB, map[upfactory.Role]string, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	backend := func() string {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") }))
		t.Cleanup(s.Close)
		return s.Listener.Addr().String()
	}
	yaml := fmt.Sprintf(`server: {data_dir: %s}
roles: {four_eyes: true}
services:
  - name: shop
    stable_version: 1.0.0
    target: {type: static, versions: {"1.0.0": [%q], "2.0.0": [%q]}, readiness: {path: /, interval: 20ms}}
    router: {type: builtin, listen: "127.0.0.1:0"}
    gates: {notes: false, compat: false, preflight: false, drill: false}
    verification: {off: true}
    strategy: {canary: {steps: [{approval: {role: approver}}, {weight: 100}]}}
`, filepath.Join(dir, "data"), backend(), backend())
	path := filepath.Join(dir, "upfactory.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "u.db")
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := cfg.Service("shop")
	target, err := static.New(svc, static.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := proxy.New(proxy.Options{Service: "shop"})
	eng := engine.New(db, []engine.Runtime{{Service: svc, Target: target, Router: p, Metrics: p}}, engine.Options{Tick: 20 * time.Millisecond})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); eng.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-ran; eng.Close(ctx, false) })
	a := &app.App{Config: func() *upfactory.Config { return cfg }, Store: db, Engine: eng}
	tokens := map[upfactory.Role]string{}
	for _, role := range upfactory.Roles {
		nt, err := a.CreateToken(ctx, "ann-"+string(role), role, "admin") // from this process: no identity needed
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = nt.Token
	}
	s := &uhttp.Server{App: a, Store: db}
	if err := s.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	return s, db, tokens, dbPath
}

func lastEntry(t *testing.T, db *sqlite.DB, action string) *upfactory.LogEntry {
	t.Helper()
	entries, err := db.Log(context.Background(), upfactory.LogFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Action == action {
			return &entries[i]
		}
	}
	return nil
}

func TestRolesTokensAndFourEyes(t *testing.T) {
	s, db, tokens, dbPath := rolesServer(t)
	ctx := context.Background()
	as := func(role upfactory.Role) *uhttp.Client { return uhttp.NewClient(s.URL(), tokens[role]) }
	code := func(err error) string { return upfactory.ErrorCode(err) }

	if _, err := uhttp.NewClient(s.URL(), "").StartRollout(ctx, "shop", "2.0.0", "bob"); code(err) != upfactory.EUNAUTHORIZED {
		t.Errorf("no token: %v, want unauthorized", err)
	}
	if _, err := uhttp.NewClient(s.URL(), "upf_made-up").StartRollout(ctx, "shop", "2.0.0", "bob"); code(err) != upfactory.EUNAUTHORIZED {
		t.Errorf("unknown token: %v, want unauthorized", err)
	}
	// Reads stay open to every token, and to none.
	if _, err := as(upfactory.RoleViewer).Status(ctx, "shop"); err != nil {
		t.Errorf("viewer reads: %v", err)
	}
	if _, err := as(upfactory.RoleViewer).StartRollout(ctx, "shop", "2.0.0", "bob"); code(err) != upfactory.EFORBIDDEN {
		t.Fatalf("viewer starts: %v, want forbidden", err)
	}
	if e := lastEntry(t, db, "auth.denied"); e == nil || e.Actor != "ann-viewer" || e.Subject != "rollout start" || e.Values["role"] != "viewer" {
		t.Errorf("the refusal is not logged with the identity and the action: %+v", e)
	}
	// The operator starts; the log names the token, not the body's name.
	if _, err := as(upfactory.RoleOperator).StartRollout(ctx, "shop", "2.0.0", "mallory"); err != nil {
		t.Fatal(err)
	}
	if e := lastEntry(t, db, "rollout.start"); e == nil || e.Actor != "ann-operator" {
		t.Errorf("rollout.start actor: %+v, want the token's name", e)
	}
	waitGate(t, as(upfactory.RoleViewer))
	if _, err := as(upfactory.RoleOperator).Do(ctx, "shop", "approve", "", "lgtm"); code(err) != upfactory.EFORBIDDEN {
		t.Errorf("operator approves: %v, want forbidden", err)
	}
	if _, err := as(upfactory.RoleApprover).Do(ctx, "shop", "approve", "", "lgtm"); err != nil {
		t.Fatalf("approver approves: %v", err)
	}
	if e := lastEntry(t, db, "approval.granted"); e == nil || e.Actor != "ann-approver" {
		t.Errorf("approval actor: %+v", e)
	}

	// Four eyes: whoever started a rollout may not approve it.
	if _, err := as(upfactory.RoleOperator).Do(ctx, "shop", "rollback", "", ""); err != nil {
		t.Fatal(err)
	}
	waitDone(t, as(upfactory.RoleViewer))
	if _, err := as(upfactory.RoleApprover).StartRollout(ctx, "shop", "2.0.0", ""); err != nil {
		t.Fatal(err)
	}
	waitGate(t, as(upfactory.RoleViewer))
	_, err := as(upfactory.RoleApprover).Do(ctx, "shop", "approve", "", "")
	if code(err) != upfactory.EFORBIDDEN || !strings.Contains(err.Error(), "four eyes") {
		t.Errorf("the starter approves: %v, want four eyes", err)
	}
	if _, err := as(upfactory.RoleAdmin).Do(ctx, "shop", "approve", "", ""); err != nil {
		t.Errorf("another person approves: %v", err)
	}

	// A revoked token is refused; only hashes are stored.
	if _, err := s.App.RevokeToken(ctx, "ann-operator", "admin"); err != nil {
		t.Fatal(err)
	}
	_, err = as(upfactory.RoleOperator).Do(ctx, "shop", "pause", "", "")
	if code(err) != upfactory.EUNAUTHORIZED || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked token: %v, want unauthorized, revoked", err)
	}
	db.Close()
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		b, _ := os.ReadFile(f)
		for role, secret := range tokens {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s holds the %s token's secret", f, role)
			}
		}
	}
}

func waitGate(t *testing.T, c *uhttp.Client) {
	t.Helper()
	waitStatus(t, c, "the approval gate", func(st *engine.Status) bool { return st.Phase == upfactory.PhaseAwaitingApproval })
}

func waitDone(t *testing.T, c *uhttp.Client) {
	t.Helper()
	waitStatus(t, c, "the rollout's end", func(st *engine.Status) bool { return st.Phase.Done() })
}

// waitStatus polls the status until cond holds, for up to 20s.
func waitStatus(t *testing.T, c *uhttp.Client, what string, cond func(*engine.Status) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := c.Status(context.Background(), "shop")
		if err != nil {
			t.Fatal(err)
		}
		if cond(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s: %s", what, st.Phase, st.Message)
		}
		<-tick.C // poll the condition again
	}
}
