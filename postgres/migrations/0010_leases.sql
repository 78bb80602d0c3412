-- Leases: which of the servers sharing this store leads. token grows at
-- each change of holder and fences the writes of a leader that lost it;
-- expires_ms is milliseconds since 1970 by the database's clock.
CREATE TABLE leases (
	name       TEXT COLLATE "C" PRIMARY KEY,
	holder     TEXT COLLATE "C" NOT NULL,
	addr       TEXT COLLATE "C" NOT NULL,
	token      BIGINT NOT NULL,
	expires_ms BIGINT NOT NULL
);
