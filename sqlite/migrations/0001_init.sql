-- Service state is one JSON record per service; rev is its revision for
-- optimistic concurrency (Save compares it before writing).
CREATE TABLE service_states (
	service    TEXT PRIMARY KEY,
	rev        INTEGER NOT NULL,
	state      TEXT NOT NULL, -- JSON of upfactory.ServiceState
	updated_at TEXT NOT NULL  -- RFC 3339, UTC
) STRICT;

-- The operation log: appended, never updated or deleted. Each entry carries
-- the hash of the one before it (see upfactory.LogEntry.ComputeHash).
CREATE TABLE oplog (
	seq       INTEGER PRIMARY KEY,
	time      TEXT NOT NULL, -- RFC 3339 with nanoseconds, UTC
	actor     TEXT NOT NULL,
	action    TEXT NOT NULL,
	service   TEXT NOT NULL,
	subject   TEXT NOT NULL,
	reason    TEXT NOT NULL,
	"values"  TEXT,          -- JSON object; NULL when the entry has none
	prev_hash TEXT NOT NULL,
	hash      TEXT NOT NULL
) STRICT;

CREATE INDEX oplog_service ON oplog (service, seq);

-- The last entry appended, updated in the same transaction as every append,
-- so that removing entries from the end of the log is detected too.
CREATE TABLE oplog_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	seq  INTEGER NOT NULL,
	hash TEXT NOT NULL
) STRICT;

INSERT INTO oplog_head (id, seq, hash) VALUES (1, 0, '');
