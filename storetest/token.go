package storetest

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// TokenStore is a store that keeps named tokens.
type TokenStore interface {
	upfactory.Store
	upfactory.TokenStore
}

// RunToken runs the conformance suite of upfactory.TokenStore.
func RunToken(t *testing.T, open func(t *testing.T) TokenStore) {
	t.Run("CreateFindRevoke", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		ci := &upfactory.Token{Name: "ci", Role: upfactory.RoleOperator, Hash: "h1", CreatedAt: t0, CreatedBy: "admin"}
		if err := s.CreateToken(ctx, ci, newEntry("", "token.create", nil)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "a second live token of the same name", s.CreateToken(ctx, &upfactory.Token{Name: "ci", Role: upfactory.RoleViewer, Hash: "h2", CreatedAt: t0}, newEntry("", "token.create", nil)), upfactory.ECONFLICT)
		wantCode(t, "an unknown role", s.CreateToken(ctx, &upfactory.Token{Name: "x", Role: "root", Hash: "h3"}, newEntry("", "token.create", nil)), upfactory.EINVALID)
		if n := len(mustLog(t, s, upfactory.LogFilter{})); n != 1 {
			t.Errorf("refused creations appended: %d entries", n)
		}
		got, err := s.TokenByHash(ctx, "h1")
		if err != nil || got.Name != "ci" || got.Role != upfactory.RoleOperator || got.Revoked() {
			t.Fatalf("by hash: %+v, %v", got, err)
		}
		_, err = s.TokenByHash(ctx, "nope")
		wantCode(t, "an unknown hash", err, upfactory.ENOTFOUND)
		rev, err := s.RevokeToken(ctx, "ci", t0.Add(time.Hour), "admin", newEntry("", "token.revoke", nil))
		if err != nil || !rev.Revoked() || rev.RevokedBy != "admin" {
			t.Fatalf("revoked %+v, %v", rev, err)
		}
		if got, err := s.TokenByHash(ctx, "h1"); err != nil || !got.Revoked() {
			t.Errorf("a revoked token is found revoked: %+v, %v", got, err)
		}
		_, err = s.RevokeToken(ctx, "ci", t0, "admin", newEntry("", "token.revoke", nil))
		wantCode(t, "revoking twice", err, upfactory.ENOTFOUND)
		// The name is free again.
		if err := s.CreateToken(ctx, &upfactory.Token{Name: "ci", Role: upfactory.RoleViewer, Hash: "h4", CreatedAt: t0}, newEntry("", "token.create", nil)); err != nil {
			t.Fatal(err)
		}
		all, err := s.Tokens(ctx)
		if err != nil || len(all) != 2 || !all[0].Revoked() || all[1].Revoked() {
			t.Errorf("tokens %+v, %v", all, err)
		}
	})
}
