-- Intake: the advisories already ingested (only their digests: the feeds
-- stay the source of truth), the candidates found, who acknowledged their
-- breaking items, and one row per run.
CREATE TABLE advisories (
	id         TEXT PRIMARY KEY,
	digest     TEXT NOT NULL, -- SHA-256 of the record as read
	modified   TEXT NOT NULL, -- the record's own "modified"
	source     TEXT NOT NULL, -- feed and file it was read from
	updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE candidates (
	id          TEXT PRIMARY KEY,
	risk        REAL NOT NULL,
	first_seen  TEXT NOT NULL,
	last_seen   TEXT NOT NULL,
	resolved_at TEXT,          -- NULL while open
	run_id      INTEGER NOT NULL,
	data        TEXT NOT NULL  -- JSON of upfactory.Candidate, without first_seen, resolved_at, ack and status
) STRICT;

CREATE INDEX candidates_open ON candidates (resolved_at, risk);

-- Acknowledgements are kept apart from candidates: intake rewrites
-- candidates, never acknowledgements.
CREATE TABLE candidate_acks (
	seq          INTEGER PRIMARY KEY,
	candidate_id TEXT NOT NULL,
	acked_by     TEXT NOT NULL,
	at           TEXT NOT NULL,
	digest       TEXT NOT NULL
) STRICT;

CREATE INDEX candidate_acks_candidate ON candidate_acks (candidate_id, seq);

CREATE TABLE intake_runs (
	id       INTEGER PRIMARY KEY,
	started  TEXT NOT NULL,
	finished TEXT NOT NULL,
	data     TEXT NOT NULL -- JSON of upfactory.IntakeRun
) STRICT;
