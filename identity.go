package upfactory

import (
	"context"
	"slices"
	"time"
)

// Role is what an identity may do. Each role may do what the ones before
// it may: a viewer reads; an operator starts, pauses, resumes, aborts,
// rolls back and cleans up rollouts, runs intake and acknowledges notes;
// an approver also approves and promotes; an admin also creates and
// revokes tokens, overrides gates and reloads the config.
type Role string

const (
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RoleApprover Role = "approver"
	RoleAdmin    Role = "admin"
)

// Roles lists the roles, least allowed first.
var Roles = []Role{RoleViewer, RoleOperator, RoleApprover, RoleAdmin}

// Known reports whether r is one of Roles.
func (r Role) Known() bool { return slices.Contains(Roles, r) }

// Allows reports whether r may do what need may.
func (r Role) Allows(need Role) bool {
	return r.Known() && need.Known() && slices.Index(Roles, r) >= slices.Index(Roles, need)
}

// Identity is who made a request: a named token's name and role.
type Identity struct {
	Name string `json:"name"`
	Role Role   `json:"role"`
	// Bootstrap is the server's --api-token: an admin without a name, so
	// the actor of its calls is the name the request gives.
	Bootstrap bool `json:"bootstrap,omitempty"`
}

// Token is a named API token. Only the hash of its secret is kept.
type Token struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Hash      string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	RevokedBy string    `json:"revoked_by,omitempty"`
}

// Revoked reports whether the token no longer authenticates.
func (t *Token) Revoked() bool { return !t.RevokedAt.IsZero() }

// TokenStore keeps named tokens.
type TokenStore interface {
	// CreateToken stores t and appends entry. ECONFLICT when a token
	// that is not revoked has its name.
	CreateToken(ctx context.Context, t *Token, entry LogEntry) error
	// TokenByHash returns the token whose secret hashes to hash, revoked
	// or not; ENOTFOUND when none does.
	TokenByHash(ctx context.Context, hash string) (*Token, error)
	// Tokens returns every token, oldest first.
	Tokens(ctx context.Context) ([]*Token, error)
	// RevokeToken revokes the live token name and appends entry;
	// ENOTFOUND when there is none.
	RevokeToken(ctx context.Context, name string, at time.Time, by string, entry LogEntry) (*Token, error)
}

// RolesConfig tunes who may do what.
type RolesConfig struct {
	// FourEyes stops the person who started a rollout from approving or
	// promoting it.
	FourEyes bool `yaml:"four_eyes" json:"four_eyes,omitempty"`
}
