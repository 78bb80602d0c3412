package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// LeaseStore is a store that keeps leases and fences writes with them.
type LeaseStore interface {
	upfactory.Store
	upfactory.LeaseStore
}

// RunLease runs the conformance suite of upfactory.LeaseStore. open opens
// the store; two calls in one test must reach the same data (two servers
// on one database). fenced returns s's handle whose writes are made under
// lease l.
func RunLease[S LeaseStore](t *testing.T, open func(t *testing.T) (S, func(t *testing.T) S), fenced func(s S, l upfactory.Lease) upfactory.Store) {
	t.Run("OneHolderAtATime", func(t *testing.T) {
		a, again := open(t)
		b := again(t)
		ctx := t.Context()
		la, held, err := a.AcquireLease(ctx, "engine", "a", "127.0.0.1:7070", time.Hour)
		if err != nil || !held || la.Token != 1 || la.Holder != "a" {
			t.Fatalf("first acquire: %+v held %v, %v; want a with token 1", la, held, err)
		}
		lb, held, err := b.AcquireLease(ctx, "engine", "b", "127.0.0.1:7071", time.Hour)
		if err != nil || held || lb.Holder != "a" || lb.Addr != "127.0.0.1:7070" || lb.Token != 1 {
			t.Fatalf("b while a holds it: %+v held %v, %v; want a's lease back, not held", lb, held, err)
		}
		renewed, held, err := a.AcquireLease(ctx, "engine", "a", "127.0.0.1:7070", time.Hour)
		if err != nil || !held || renewed.Token != 1 || renewed.Expires.Before(la.Expires) {
			t.Fatalf("renewal: %+v held %v, %v; want the same token, expiring no sooner", renewed, held, err)
		}
		cur, err := b.CurrentLease(ctx, "engine")
		if err != nil || cur.Holder != "a" || cur.Token != 1 {
			t.Fatalf("CurrentLease: %+v, %v", cur, err)
		}
		wantCode(t, "a lease never taken", func() error { _, err := b.CurrentLease(ctx, "other"); return err }(), upfactory.ENOTFOUND)
		wantCode(t, "a lease without a holder", func() error { _, _, err := a.AcquireLease(ctx, "engine", "", "", time.Hour); return err }(), upfactory.EINVALID)
	})

	t.Run("ATakeOverFencesTheOldLeader", func(t *testing.T) {
		a, again := open(t)
		b := again(t)
		ctx := t.Context()
		la, _, err := a.AcquireLease(ctx, "engine", "a", "", 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		leader := fenced(a, la)
		st := &upfactory.ServiceState{Service: "checkout", StableVersion: "1.0.0"}
		if err := leader.Save(ctx, st, []upfactory.LogEntry{newEntry("checkout", "rollout.start", nil)}); err != nil {
			t.Fatalf("the leader's write: %v", err)
		}
		// b takes over once a's lease expires (by the store's clock).
		var lb upfactory.Lease
		deadline := time.Now().Add(10 * time.Second)
		for {
			var held bool
			if lb, held, err = b.AcquireLease(ctx, "engine", "b", "", time.Hour); err != nil {
				t.Fatal(err)
			}
			if held {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("b never took the lease a let expire: %+v", lb)
			}
			<-time.After(10 * time.Millisecond)
		}
		if lb.Token != la.Token+1 {
			t.Errorf("new holder's token %d, want %d", lb.Token, la.Token+1)
		}
		// a's writes are refused from now on, and nothing of them lands.
		st2 := *st
		err = leader.Save(ctx, &st2, []upfactory.LogEntry{newEntry("checkout", "step.weight", nil)})
		if !errors.Is(err, upfactory.ErrLeaseLost) || upfactory.ErrorCode(err) != upfactory.ECONFLICT {
			t.Fatalf("the deposed leader's Save: %v, want ErrLeaseLost (conflict)", err)
		}
		err = leader.AppendLog(ctx, []upfactory.LogEntry{newEntry("checkout", "step.weight", nil)})
		if !errors.Is(err, upfactory.ErrLeaseLost) {
			t.Fatalf("the deposed leader's AppendLog: %v, want ErrLeaseLost", err)
		}
		if n := len(mustLog(t, b, upfactory.LogFilter{})); n != 1 {
			t.Errorf("log has %d entries, want the one written while a led", n)
		}
		// a renewing does not win the lease back while b holds it.
		if l, held, err := a.AcquireLease(ctx, "engine", "a", "", time.Hour); err != nil || held || l.Holder != "b" {
			t.Errorf("a renewing after the take-over: %+v held %v, %v", l, held, err)
		}
		// The new leader writes.
		if err := fenced(b, lb).Save(ctx, &st2, []upfactory.LogEntry{newEntry("checkout", "step.weight", nil)}); err != nil {
			t.Errorf("the new leader's write: %v", err)
		}
	})

	t.Run("ReleaseHandsOverAtOnce", func(t *testing.T) {
		a, again := open(t)
		b := again(t)
		ctx := t.Context()
		la, _, err := a.AcquireLease(ctx, "engine", "a", "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.ReleaseLease(ctx, "engine", "b"); err != nil {
			t.Fatal(err)
		}
		if _, held, _ := b.AcquireLease(ctx, "engine", "b", "", time.Hour); held {
			t.Fatal("a release by a server that does not hold the lease let it go")
		}
		if err := a.ReleaseLease(ctx, "engine", "a"); err != nil {
			t.Fatal(err)
		}
		lb, held, err := b.AcquireLease(ctx, "engine", "b", "", time.Hour)
		if err != nil || !held || lb.Token != la.Token+1 {
			t.Fatalf("after a's release: %+v held %v, %v; want b with token %d", lb, held, err, la.Token+1)
		}
	})
}
