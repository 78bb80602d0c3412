-- Leases: which of the servers sharing this store leads. token grows at
-- each change of holder and fences the writes of a leader that lost it;
-- expires_ms is milliseconds since 1970 by the database's clock.
CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	addr       TEXT NOT NULL,
	token      INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL
) STRICT;
