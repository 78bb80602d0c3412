package upfactory

import (
	"context"
	"time"
)

// Incident severities, most severe first.
var Severities = []string{"sev1", "sev2", "sev3", "sev4"}

// Incident is a time users were, or could have been, hurt: opened by
// upfactory when a canary is rolled back on its checks, or by a person.
// Closing it records the time to restore.
type Incident struct {
	ID       int64  `json:"id"`
	Service  string `json:"service"`
	Severity string `json:"severity"`
	Title    string `json:"title"`
	// Upgrade is the upgrade that caused it, when known; Version the
	// version that was running it.
	Upgrade string `json:"upgrade,omitempty"`
	Version string `json:"version,omitempty"`
	// Source is how it was opened: rollback.automatic, rollout.failed, manual.
	Source    string    `json:"source"`
	StartedAt time.Time `json:"started_at"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	OpenedBy  string    `json:"opened_by"`
	ClosedBy  string    `json:"closed_by,omitempty"`
	// Resolution says how it ended.
	Resolution string `json:"resolution,omitempty"`
	// Seq is the log entry that opened it (for an automatic one, the
	// rollback's entry): one incident per source entry.
	Seq int64 `json:"seq"`
}

// Open reports whether the incident has not ended.
func (i *Incident) Open() bool { return i.EndedAt.IsZero() }

// TimeToRestore is from its start to its end; 0 while open.
func (i *Incident) TimeToRestore() time.Duration {
	if i.Open() {
		return 0
	}
	return i.EndedAt.Sub(i.StartedAt)
}

// IncidentFilter selects incidents.
type IncidentFilter struct {
	Service string
	// OpenOnly leaves out the ended ones.
	OpenOnly bool
}

// IncidentStore keeps incidents.
type IncidentStore interface {
	// OpenIncident stores in (filling its ID) and appends entry, whose
	// Seq becomes in.Seq unless in.Seq is set (an automatic incident
	// names the rollback's entry). ECONFLICT when an incident with the
	// same Seq exists already.
	OpenIncident(ctx context.Context, in *Incident, entry LogEntry) error
	// CloseIncident ends incident id at at and appends entry. ENOTFOUND
	// for an unknown one; ECONFLICT when it has ended already.
	CloseIncident(ctx context.Context, id int64, at time.Time, by, resolution string, entry LogEntry) (*Incident, error)
	// Incidents returns incidents, newest first.
	Incidents(ctx context.Context, f IncidentFilter) ([]*Incident, error)
}
