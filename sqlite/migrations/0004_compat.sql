-- Compatibility runs: one row per run of a candidate, its cells as JSON.
CREATE TABLE compat_runs (
	id           INTEGER PRIMARY KEY,
	candidate_id TEXT NOT NULL,
	key          TEXT NOT NULL,
	started      TEXT NOT NULL,
	outcome      TEXT NOT NULL,
	data         TEXT NOT NULL -- JSON of upfactory.CompatRun
) STRICT;

CREATE INDEX compat_runs_candidate ON compat_runs (candidate_id, key, id);
