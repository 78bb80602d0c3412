package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/upfactory/upfactory"
)

var _ upfactory.TokenStore = (*DB)(nil)

// CreateToken stores t (its hash, never a secret) and appends entry.
func (db *DB) CreateToken(ctx context.Context, t *upfactory.Token, entry upfactory.LogEntry) error {
	if t.Name == "" || t.Hash == "" || !t.Role.Known() {
		return upfactory.Errorf(upfactory.EINVALID, "a token needs a name, a hash and a known role")
	}
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		body, err := json.Marshal(t)
		if err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE name = ? AND revoked = 0`, t.Name).Scan(&n); err != nil {
			return fmt.Errorf("reading tokens: %w", err)
		}
		if n > 0 {
			return upfactory.Errorf(upfactory.ECONFLICT, "a token named %q exists already: revoke it first (upfactory token revoke %s)", t.Name, t.Name)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (name, hash, data) VALUES (?, ?, ?)`, t.Name, t.Hash, string(body)); err != nil {
			return fmt.Errorf("storing token %s: %w", t.Name, err)
		}
		return appendEntries(ctx, tx, pending)
	})
}

// TokenByHash returns the token with hash.
func (db *DB) TokenByHash(ctx context.Context, hash string) (*upfactory.Token, error) {
	t, err := scanToken(db.db.QueryRowContext(ctx, `SELECT hash, data FROM tokens WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, upfactory.Errorf(upfactory.ENOTFOUND, "no such token")
	}
	return t, err
}

// Tokens returns every token, oldest first.
func (db *DB) Tokens(ctx context.Context) ([]*upfactory.Token, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT hash, data FROM tokens ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("reading tokens: %w", err)
	}
	defer rows.Close()
	out := []*upfactory.Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes the live token name and appends entry.
func (db *DB) RevokeToken(ctx context.Context, name string, at time.Time, by string, entry upfactory.LogEntry) (*upfactory.Token, error) {
	pending, err := prepare([]upfactory.LogEntry{entry})
	if err != nil {
		return nil, err
	}
	var out *upfactory.Token
	err = db.write(ctx, func(tx *sql.Tx) error {
		t, err := scanToken(tx.QueryRowContext(ctx, `SELECT hash, data FROM tokens WHERE name = ? AND revoked = 0`, name))
		if errors.Is(err, sql.ErrNoRows) {
			return upfactory.Errorf(upfactory.ENOTFOUND, "no live token named %q (upfactory token list)", name)
		} else if err != nil {
			return err
		}
		t.RevokedAt, t.RevokedBy = at.UTC(), by
		body, err := json.Marshal(t)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tokens SET revoked = 1, data = ? WHERE hash = ?`, string(body), t.Hash); err != nil {
			return fmt.Errorf("revoking token %s: %w", name, err)
		}
		out = t
		return appendEntries(ctx, tx, pending)
	})
	return out, err
}

func scanToken(row interface{ Scan(...any) error }) (*upfactory.Token, error) {
	var hash, data string
	if err := row.Scan(&hash, &data); err != nil {
		return nil, err
	}
	var t upfactory.Token
	if err := json.Unmarshal([]byte(data), &t); err != nil {
		return nil, fmt.Errorf("decoding token: %w", err)
	}
	t.Hash = hash
	return &t, nil
}
