-- PostgreSQL's form of sqlite/migrations/0001_init.sql: the same tables and
-- columns, with text compared byte by byte (COLLATE "C") as SQLite does.
-- Service state is one JSON record per service; rev is its revision for
-- optimistic concurrency (Save compares it before writing).
CREATE TABLE service_states (
	service    TEXT COLLATE "C" PRIMARY KEY,
	rev        BIGINT NOT NULL,
	state      TEXT COLLATE "C" NOT NULL, -- JSON of upfactory.ServiceState
	updated_at TEXT COLLATE "C" NOT NULL  -- RFC 3339, UTC
);

-- The operation log: appended, never updated or deleted. Each entry carries
-- the hash of the one before it (see upfactory.LogEntry.ComputeHash).
CREATE TABLE oplog (
	seq       BIGINT PRIMARY KEY,
	time      TEXT COLLATE "C" NOT NULL, -- RFC 3339 with nanoseconds, UTC
	actor     TEXT COLLATE "C" NOT NULL,
	action    TEXT COLLATE "C" NOT NULL,
	service   TEXT COLLATE "C" NOT NULL,
	subject   TEXT COLLATE "C" NOT NULL,
	reason    TEXT COLLATE "C" NOT NULL,
	"values"  TEXT COLLATE "C",          -- JSON object; NULL when the entry has none
	prev_hash TEXT COLLATE "C" NOT NULL,
	hash      TEXT COLLATE "C" NOT NULL
);

CREATE INDEX oplog_service ON oplog (service, seq);

-- The last entry appended, updated in the same transaction as every append,
-- so that removing entries from the end of the log is detected too.
CREATE TABLE oplog_head (
	id   BIGINT PRIMARY KEY CHECK (id = 1),
	seq  BIGINT NOT NULL,
	hash TEXT COLLATE "C" NOT NULL
);

INSERT INTO oplog_head (id, seq, hash) VALUES (1, 0, '');
