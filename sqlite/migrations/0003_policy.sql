-- Policies: the plan of each change window, and overrides of violations
-- by named approvers (never updated or deleted).
CREATE TABLE window_plans (
	window_name TEXT PRIMARY KEY,
	data       TEXT NOT NULL, -- JSON of upfactory.WindowPlan
	updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE policy_overrides (
	seq          INTEGER PRIMARY KEY,
	violation_id TEXT NOT NULL,
	approver     TEXT NOT NULL,
	reason       TEXT NOT NULL,
	at           TEXT NOT NULL
) STRICT;
