package http_test

import (
	"context"
	"github.com/upfactory/upfactory/app"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/upfactory/upfactory"
	"github.com/upfactory/upfactory/engine"
	uhttp "github.com/upfactory/upfactory/http"
	"github.com/upfactory/upfactory/sqlite"
)

// MustServer runs the API over a real store and an engine with no services.
func MustServer(t *testing.T, token string) *uhttp.Server {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	eng := engine.New(db, nil, engine.Options{})
	if err := eng.Open(ctx); err != nil {
		t.Fatal(err)
	}
	s := &uhttp.Server{App: &app.App{Config: func() *upfactory.Config { return &upfactory.Config{} }, Store: db, Engine: eng}, Store: db, Token: token}
	if err := s.Open("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(ctx) })
	return s
}

func TestErrorCodesMapToStatusesAndBack(t *testing.T) {
	for _, code := range []string{upfactory.ECONFLICT, upfactory.EINVALID, upfactory.ENOTFOUND, upfactory.EUNAUTHORIZED, upfactory.EFORBIDDEN, upfactory.EUNAVAILABLE, upfactory.EINTERNAL} {
		if got := uhttp.FromErrorStatusCode(uhttp.ErrorStatusCode(code)); got != code {
			t.Errorf("%s -> %d -> %s", code, uhttp.ErrorStatusCode(code), got)
		}
	}
	if got := uhttp.ErrorStatusCode("made-up"); got != http.StatusInternalServerError {
		t.Errorf("unknown code -> %d", got)
	}
}

func TestClientGetsCodedErrors(t *testing.T) {
	s := MustServer(t, "tok")
	ctx := context.Background()
	tests := []struct {
		name string
		call func(c *uhttp.Client) error
		code string
		msg  string
	}{
		{"unknown service", func(c *uhttp.Client) error { _, err := c.Status(ctx, "nope"); return err }, upfactory.ENOTFOUND, "unknown service"},
		{"change without token", func(c *uhttp.Client) error {
			_, err := uhttp.NewClient(c.URL, "").Do(ctx, "nope", "pause", "bob", "")
			return err
		}, upfactory.EUNAUTHORIZED, "bearer token"},
		{"change with wrong token", func(c *uhttp.Client) error {
			_, err := uhttp.NewClient(c.URL, "toc").Do(ctx, "nope", "pause", "bob", "")
			return err
		}, upfactory.EUNAUTHORIZED, "bearer token"},
		{"change with token, unknown service", func(c *uhttp.Client) error { _, err := c.Do(ctx, "nope", "pause", "bob", ""); return err }, upfactory.ENOTFOUND, "unknown service"},
		{"start without version", func(c *uhttp.Client) error { _, err := c.StartRollout(ctx, "nope", "", "bob"); return err }, upfactory.EINVALID, "version is required"},
		{"server down", func(c *uhttp.Client) error {
			_, err := uhttp.NewClient("http://127.0.0.1:1", "").Status(ctx, "x")
			return err
		}, upfactory.EUNAVAILABLE, "cannot reach"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(uhttp.NewClient(s.URL(), "tok"))
			if upfactory.ErrorCode(err) != tt.code || !strings.Contains(upfactory.ErrorMessage(err), tt.msg) {
				t.Fatalf("err = %v, want %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestRequestBodiesAreStrict(t *testing.T) {
	s := MustServer(t, "")
	resp, err := http.Post(s.URL()+"/api/v1/services/x/rollouts", "application/json", strings.NewReader(`{"version":"2","verison":"3"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown field: status %d, want 400", resp.StatusCode)
	}
	resp, err = http.Get(s.URL() + "/api/v1/log?limit=lots")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad limit: status %d, want 400", resp.StatusCode)
	}
}
