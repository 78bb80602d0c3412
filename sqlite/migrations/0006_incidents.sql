-- Incidents: opened by upfactory on a canary rolled back on its checks, or
-- by a person; seq is the log entry that opened it, one incident each.
CREATE TABLE incidents (
	id         INTEGER PRIMARY KEY,
	service    TEXT NOT NULL,
	seq        INTEGER NOT NULL UNIQUE,
	started_at TEXT NOT NULL,
	ended_at   TEXT,          -- NULL while open
	data       TEXT NOT NULL  -- JSON of upfactory.Incident
) STRICT;

CREATE INDEX incidents_service ON incidents (service, started_at);
