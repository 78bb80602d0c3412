package upfactory

import (
	"context"
	"time"
)

// Notifier types.
const (
	NotifierWebhook = "webhook" // generic JSON, signed with HMAC-SHA256
	NotifierSlack   = "slack"   // a Slack-compatible incoming webhook
)

// DefaultNotifyTimeout bounds one delivery attempt.
const DefaultNotifyTimeout = 5 * time.Second

// NotifierSpec is where rollout events are sent.
type NotifierSpec struct {
	// Name identifies the notifier's cursor and its log entries. Default
	// its type and position: webhook-1.
	Name string `yaml:"name" json:"name"`
	Type string `yaml:"type" json:"type"`
	URL  string `yaml:"url" json:"url"`
	// Secret signs webhook payloads. Written as ${NAME}: read from the
	// environment when the config loads, never logged nor shown.
	Secret string `yaml:"secret" json:"-"`
	// Events keeps to these events (started, step, paused, approved,
	// promoted, tripwire, rolled_back, completed); empty: all.
	Events []string `yaml:"events" json:"events,omitempty"`
	// Timeout bounds one attempt. Default 5s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
}

// Notification is the JSON a webhook receives for one rollout event.
type Notification struct {
	Event   string         `json:"event"`
	Seq     int64          `json:"seq"`
	Time    time.Time      `json:"time"`
	Service string         `json:"service"`
	Version string         `json:"version"`
	Rollout string         `json:"rollout,omitempty"`
	Actor   string         `json:"actor"`
	Action  string         `json:"action"`
	Reason  string         `json:"reason,omitempty"`
	Values  map[string]any `json:"values,omitempty"`
}

// NotifyStore keeps where each notifier stands in the operation log.
type NotifyStore interface {
	// NotifyCursor is the seq of the last entry notifier name handled; 0
	// for a notifier never run.
	NotifyCursor(ctx context.Context, name string) (int64, error)
	// SetNotifyCursor records that name handled every entry up to seq.
	SetNotifyCursor(ctx context.Context, name string, seq int64) error
}

// FlagStore keeps a service's feature flags where its code reads them.
type FlagStore interface {
	// SetFlags sets each named flag to its percent of users, leaving the
	// others alone.
	SetFlags(ctx context.Context, flags map[string]int) error
}

// Previewer is implemented by routers with a preview listener: every
// request there goes to the version set, "" for none.
type Previewer interface {
	SetPreview(version string)
}
