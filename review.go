package upfactory

import (
	"context"
	"time"
)

// ReviewAction is one thing to automate or change, written down in the
// blameless review of an upgrade. Open actions are shown in the next
// readouts until someone marks them done.
type ReviewAction struct {
	ID        int64     `json:"id"`
	Upgrade   string    `json:"upgrade"`
	Service   string    `json:"service"`
	Text      string    `json:"text"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	DoneAt    time.Time `json:"done_at,omitzero"`
	DoneBy    string    `json:"done_by,omitempty"`
	// Seq is the log entry that recorded it.
	Seq int64 `json:"seq"`
}

// Open reports whether the action is not done.
func (a *ReviewAction) Open() bool { return a.DoneAt.IsZero() }

// ActionFilter selects review actions.
type ActionFilter struct {
	Service  string
	Upgrade  string
	OpenOnly bool
}

// ReviewStore keeps the actions of blameless reviews.
type ReviewStore interface {
	// AddAction stores a (filling its ID and Seq) and appends entry in
	// one transaction.
	AddAction(ctx context.Context, a *ReviewAction, entry LogEntry) error
	// CloseAction marks action id done and appends entry. ENOTFOUND for
	// an unknown one; ECONFLICT when it is done already.
	CloseAction(ctx context.Context, id int64, at time.Time, by string, entry LogEntry) (*ReviewAction, error)
	// Actions returns actions, oldest first.
	Actions(ctx context.Context, f ActionFilter) ([]*ReviewAction, error)
}
