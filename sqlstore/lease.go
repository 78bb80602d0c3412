package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/upfactory/upfactory"
)

var _ upfactory.LeaseStore = (*DB)(nil)

// fence is the lease a store's writes are made under.
type fence struct {
	name, holder string
	token        int64
}

// Fenced returns a handle on the same database whose every write first
// checks that l is still the stored lease, and fails with
// upfactory.ErrLeaseLost once it is not. Writes and lease changes are
// serialized, so no write of a deposed leader lands after its successor
// took the lease.
func (db *DB) Fenced(l upfactory.Lease) *DB {
	f := *db
	f.fence = &fence{name: l.Name, holder: l.Holder, token: l.Token}
	return &f
}

// checkFence fails when tx's store is fenced by a lease it lost.
func (db *DB) checkFence(ctx context.Context, tx *sql.Tx) error {
	if db.fence == nil {
		return nil
	}
	var holder string
	var token int64
	err := tx.QueryRowContext(ctx, `SELECT holder, token FROM leases WHERE name = ?`, db.fence.name).Scan(&holder, &token)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading lease %s: %w", db.fence.name, err)
	}
	if holder != db.fence.holder || token != db.fence.token {
		return fmt.Errorf("%w: %w", upfactory.Errorf(upfactory.ECONFLICT,
			"lease %s (token %d) is held by %s with token %d: this server no longer leads and writes nothing", db.fence.name, db.fence.token, holder, token), upfactory.ErrLeaseLost)
	}
	return nil
}

// AcquireLease takes or renews lease name for holder, by the database's
// clock.
func (db *DB) AcquireLease(ctx context.Context, name, holder, addr string, ttl time.Duration) (upfactory.Lease, bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return upfactory.Lease{}, false, upfactory.Errorf(upfactory.EINVALID, "a lease needs a name, a holder and a time to live")
	}
	var l upfactory.Lease
	held := false
	err := db.write(ctx, func(tx *sql.Tx) error {
		var now int64
		if err := tx.QueryRowContext(ctx, `SELECT `+db.dialect.NowMillis).Scan(&now); err != nil {
			return fmt.Errorf("reading the database's clock: %w", err)
		}
		var cur struct {
			holder, addr string
			token, exp   int64
		}
		err := tx.QueryRowContext(ctx, `SELECT holder, addr, token, expires_ms FROM leases WHERE name = ?`, name).Scan(&cur.holder, &cur.addr, &cur.token, &cur.exp)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			l = upfactory.Lease{Name: name, Holder: holder, Addr: addr, Token: 1, Expires: time.UnixMilli(now + ttl.Milliseconds()).UTC()}
			held = true
			_, err = tx.ExecContext(ctx, `INSERT INTO leases (name, holder, addr, token, expires_ms) VALUES (?, ?, ?, ?, ?)`, name, holder, addr, l.Token, now+ttl.Milliseconds())
			return err
		case err != nil:
			return fmt.Errorf("reading lease %s: %w", name, err)
		case cur.holder != holder && cur.exp > now:
			l = upfactory.Lease{Name: name, Holder: cur.holder, Addr: cur.addr, Token: cur.token, Expires: time.UnixMilli(cur.exp).UTC()}
			return nil
		}
		token := cur.token
		if cur.holder != holder {
			token++ // a new holder: the old one's writes are fenced from now on
		}
		l = upfactory.Lease{Name: name, Holder: holder, Addr: addr, Token: token, Expires: time.UnixMilli(now + ttl.Milliseconds()).UTC()}
		held = true
		_, err = tx.ExecContext(ctx, `UPDATE leases SET holder = ?, addr = ?, token = ?, expires_ms = ? WHERE name = ?`, holder, addr, token, now+ttl.Milliseconds(), name)
		return err
	})
	if err != nil {
		return upfactory.Lease{}, false, fmt.Errorf("acquiring lease %s: %w", name, err)
	}
	return l, held, nil
}

// ReleaseLease lets lease name expire now, when holder holds it; the
// token stays, so the next holder's is greater still.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE leases SET expires_ms = 0 WHERE name = ? AND holder = ?`, name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("releasing lease %s: %w", name, err)
	}
	return nil
}

// CurrentLease returns lease name as it stands.
func (db *DB) CurrentLease(ctx context.Context, name string) (upfactory.Lease, error) {
	l := upfactory.Lease{Name: name}
	var exp int64
	err := db.db.QueryRowContext(ctx, `SELECT holder, addr, token, expires_ms FROM leases WHERE name = ?`, name).Scan(&l.Holder, &l.Addr, &l.Token, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return l, upfactory.Errorf(upfactory.ENOTFOUND, "no lease %s was ever taken", name)
	} else if err != nil {
		return l, fmt.Errorf("reading lease %s: %w", name, err)
	}
	l.Expires = time.UnixMilli(exp).UTC()
	return l, nil
}
