package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/upfactory/upfactory"
)

type identityKey struct{}

// WithIdentity returns ctx carrying who makes the request.
func WithIdentity(ctx context.Context, id upfactory.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// IdentityFrom returns the identity ctx carries, if any. A request without
// one comes from this process (the CLI on the store) or from a server
// that requires no token.
func IdentityFrom(ctx context.Context) (upfactory.Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(upfactory.Identity)
	return id, ok
}

// tokenPrefix marks upfactory's token secrets, so that secret scanners
// can find a leaked one.
const tokenPrefix = "upf_"

// HashToken is what the store keeps of a token's secret: its SHA-256. A
// secret is 32 random bytes, so a fast hash is enough.
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Authenticate turns a bearer secret into an identity: bootstrap (the
// server's --api-token) is an admin without a name; any other secret must
// be a named token that is not revoked. EUNAUTHORIZED otherwise.
func (a *App) Authenticate(ctx context.Context, secret, bootstrap string) (upfactory.Identity, error) {
	if bootstrap != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(bootstrap)) == 1 {
		return upfactory.Identity{Role: upfactory.RoleAdmin, Bootstrap: true}, nil
	}
	t, err := a.Store.TokenByHash(ctx, HashToken(secret))
	switch {
	case upfactory.ErrorCode(err) == upfactory.ENOTFOUND:
		return upfactory.Identity{}, upfactory.Errorf(upfactory.EUNAUTHORIZED, "the bearer token sent is not the one this server accepts, nor a named token (upfactory token list)")
	case err != nil:
		return upfactory.Identity{}, err
	case t.Revoked():
		return upfactory.Identity{}, upfactory.Errorf(upfactory.EUNAUTHORIZED, "token %q was revoked at %s", t.Name, t.RevokedAt.Format(time.RFC3339))
	}
	return upfactory.Identity{Name: t.Name, Role: t.Role}, nil
}

// TokensConfigured reports whether changes need a token: the server has a
// bootstrap token, or a named token is live.
func (a *App) TokensConfigured(ctx context.Context, bootstrap string) (bool, error) {
	if bootstrap != "" {
		return true, nil
	}
	ts, err := a.Store.Tokens(ctx)
	if err != nil {
		return false, err
	}
	for _, t := range ts {
		if !t.Revoked() {
			return true, nil
		}
	}
	return false, nil
}

// Authorize checks that the identity in ctx, if any, may do action, which
// needs role need, and returns the actor to record: the identity's name,
// or actor for the bootstrap token and for requests without an identity.
// A refusal is EFORBIDDEN and is logged with the identity and the action.
func (a *App) Authorize(ctx context.Context, need upfactory.Role, action, service, actor string) (string, error) {
	id, ok := IdentityFrom(ctx)
	if !ok {
		return actor, nil
	}
	if !id.Role.Allows(need) {
		who := id.Name
		if id.Bootstrap {
			who = "the bootstrap token"
		}
		err := upfactory.Errorf(upfactory.EFORBIDDEN, "%s has role %s; %s needs %s", who, id.Role, action, need)
		entry := upfactory.LogEntry{Time: a.now(), Actor: id.Name, Action: "auth.denied", Service: service, Subject: action,
			Reason: upfactory.ErrorMessage(err), Values: map[string]any{"role": string(id.Role), "needs": string(need)}}
		if lerr := a.Store.AppendLog(ctx, []upfactory.LogEntry{entry}); lerr != nil {
			return "", lerr
		}
		return "", err
	}
	if id.Bootstrap {
		if actor == "" {
			actor = "api-token"
		}
		return actor, nil
	}
	return id.Name, nil
}

// NewToken is a token just created: its secret is shown once.
type NewToken struct {
	Name  string         `json:"name"`
	Role  upfactory.Role `json:"role"`
	Token string         `json:"token"`
}

// CreateToken makes a named token with role; the store keeps its hash.
func (a *App) CreateToken(ctx context.Context, name string, role upfactory.Role, by string) (*NewToken, error) {
	by, err := a.Authorize(ctx, upfactory.RoleAdmin, "token create", "", by)
	if err != nil {
		return nil, err
	}
	var problems []string
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t\n") {
		problems = append(problems, fmt.Sprintf("token name %q: want one word, such as ci-deploy", name))
	}
	if !role.Known() {
		problems = append(problems, fmt.Sprintf("role %q: want one of viewer, operator, approver, admin", role))
	}
	if by == "" {
		problems = append(problems, "a name is required (--as)")
	}
	if len(problems) > 0 {
		return nil, upfactory.Errorf(upfactory.EINVALID, "%s", strings.Join(problems, "; "))
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	now := a.now()
	t := &upfactory.Token{Name: name, Role: role, Hash: HashToken(secret), CreatedAt: now, CreatedBy: by}
	entry := upfactory.LogEntry{Time: now, Actor: by, Action: "token.create", Subject: name, Reason: "token " + name + " with role " + string(role),
		Values: map[string]any{"role": string(role)}}
	if err := a.Store.CreateToken(ctx, t, entry); err != nil {
		return nil, err
	}
	return &NewToken{Name: name, Role: role, Token: secret}, nil
}

// Tokens lists the named tokens, without secrets or hashes.
func (a *App) Tokens(ctx context.Context) ([]*upfactory.Token, error) {
	if _, err := a.Authorize(ctx, upfactory.RoleAdmin, "token list", "", ""); err != nil {
		return nil, err
	}
	return a.Store.Tokens(ctx)
}

// RevokeToken revokes the live token name, logged.
func (a *App) RevokeToken(ctx context.Context, name, by string) (*upfactory.Token, error) {
	by, err := a.Authorize(ctx, upfactory.RoleAdmin, "token revoke", "", by)
	if err != nil {
		return nil, err
	}
	if by == "" {
		return nil, upfactory.Errorf(upfactory.EINVALID, "a name is required (--as)")
	}
	now := a.now()
	entry := upfactory.LogEntry{Time: now, Actor: by, Action: "token.revoke", Subject: name, Reason: "token " + name + " revoked"}
	return a.Store.RevokeToken(ctx, name, now, by, entry)
}
