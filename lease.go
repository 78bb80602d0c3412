package upfactory

import (
	"context"
	"errors"
	"time"
)

// Lease is who leads the servers sharing one store: the one that ticks
// the engine. Token grows by one at each change of holder; a store
// fenced with a lease refuses every write once its token is no longer
// the stored one, so a leader that lost its lease (a long pause, a
// partition) can never write again.
type Lease struct {
	Name   string `json:"name"`
	Holder string `json:"holder"`
	// Addr is where the holder's API answers, for the others to forward to.
	Addr    string    `json:"addr"`
	Token   int64     `json:"token"`
	Expires time.Time `json:"expires"`
}

// ErrLeaseLost is what a fenced store's writes fail with once another
// server holds the lease.
var ErrLeaseLost = errors.New("the lease was lost: another server leads now")

// LeaseStore keeps leases, timed by the store's own clock so that the
// servers' clocks need not agree.
type LeaseStore interface {
	// AcquireLease takes or renews lease name for holder for ttl, when it
	// is free, expired or holder's already. It returns the lease as it
	// now stands and whether holder holds it.
	AcquireLease(ctx context.Context, name, holder, addr string, ttl time.Duration) (Lease, bool, error)
	// ReleaseLease lets lease name go at once, when holder holds it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// CurrentLease returns lease name as it stands; ENOTFOUND when never taken.
	CurrentLease(ctx context.Context, name string) (Lease, error)
}
