package storetest

import (
	"testing"
	"time"

	"github.com/upfactory/upfactory"
)

// ReviewStore is a store that keeps review actions.
type ReviewStore interface {
	upfactory.Store
	upfactory.ReviewStore
}

// RunReview runs the conformance suite of upfactory.ReviewStore.
func RunReview(t *testing.T, open func(t *testing.T) ReviewStore) {
	t.Run("AddCloseList", func(t *testing.T) {
		s := open(t)
		t.Cleanup(func() { s.Close() })
		ctx := t.Context()
		a := &upfactory.ReviewAction{Upgrade: "checkout/c-1", Service: "checkout", Text: "alert on 5xx per route", Owner: "sre", CreatedAt: t0, CreatedBy: "dana"}
		if err := s.AddAction(ctx, a, newEntry("checkout", "review.action", nil)); err != nil {
			t.Fatal(err)
		}
		if a.ID == 0 || a.Seq != 1 {
			t.Fatalf("added %+v: want an ID and the seq of its entry", a)
		}
		b := &upfactory.ReviewAction{Upgrade: "blog/c-2", Service: "blog", Text: "drill the rollback", CreatedAt: t0, CreatedBy: "erin"}
		if err := s.AddAction(ctx, b, newEntry("blog", "review.action", nil)); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "an action without text", s.AddAction(ctx, &upfactory.ReviewAction{Upgrade: "x/y", Service: "x", Text: " ", CreatedBy: "dana"}, newEntry("x", "review.action", nil)), upfactory.EINVALID)
		if n := len(mustLog(t, s, upfactory.LogFilter{})); n != 2 {
			t.Errorf("a refused action appended: %d entries", n)
		}
		done, err := s.CloseAction(ctx, a.ID, t0.Add(time.Hour), "sam", newEntry("checkout", "review.action.done", nil))
		if err != nil || done.Open() || done.DoneBy != "sam" || !done.DoneAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("closed %+v, %v", done, err)
		}
		_, err = s.CloseAction(ctx, a.ID, t0.Add(2*time.Hour), "sam", newEntry("checkout", "review.action.done", nil))
		wantCode(t, "closing twice", err, upfactory.ECONFLICT)
		_, err = s.CloseAction(ctx, 999, t0, "sam", newEntry("checkout", "review.action.done", nil))
		wantCode(t, "closing an unknown action", err, upfactory.ENOTFOUND)
		if n := len(mustLog(t, s, upfactory.LogFilter{})); n != 3 {
			t.Errorf("log has %d entries, want 3 (two adds, one close)", n)
		}
		for _, tc := range []struct {
			f    upfactory.ActionFilter
			want []int64
		}{
			{upfactory.ActionFilter{}, []int64{a.ID, b.ID}},
			{upfactory.ActionFilter{OpenOnly: true}, []int64{b.ID}},
			{upfactory.ActionFilter{Service: "checkout"}, []int64{a.ID}},
			{upfactory.ActionFilter{Upgrade: "blog/c-2"}, []int64{b.ID}},
		} {
			got, err := s.Actions(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, x := range got {
				ids = append(ids, x.ID)
			}
			if len(ids) != len(tc.want) || len(ids) > 0 && ids[0] != tc.want[0] || len(ids) > 1 && ids[1] != tc.want[1] {
				t.Errorf("Actions(%+v) = %v, want %v", tc.f, ids, tc.want)
			}
		}
	})
}
