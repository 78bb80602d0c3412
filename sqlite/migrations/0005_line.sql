-- The factory line: one row per upgrade (a candidate delivered to one
-- service), written with the log entries of its stage changes; the cursor
-- is the last log entry the line was derived up to, moved in the same
-- transaction.
CREATE TABLE upgrades (
	id         TEXT PRIMARY KEY,
	service    TEXT NOT NULL,
	stage      TEXT NOT NULL,
	created_at TEXT NOT NULL,
	data       TEXT NOT NULL -- JSON of upfactory.Upgrade
) STRICT;

CREATE INDEX upgrades_service ON upgrades (service, created_at);

CREATE TABLE line_cursor (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	seq INTEGER NOT NULL
) STRICT;

INSERT INTO line_cursor (id, seq) VALUES (1, 0);

-- What the gates read: preflight results and confirmations, rollback
-- drills and config snapshots, one JSON record each, never updated.
CREATE TABLE line_records (
	id      INTEGER PRIMARY KEY,
	kind    TEXT NOT NULL, -- preflight, confirmation, drill, snapshot
	service TEXT NOT NULL,
	version TEXT NOT NULL,
	at      TEXT NOT NULL,
	data    TEXT NOT NULL
) STRICT;

CREATE INDEX line_records_service ON line_records (kind, service, id);

-- Candidates a rollout named that intake had not found (run_id 0) are
-- not resolved by intake runs; see AddCandidate.
