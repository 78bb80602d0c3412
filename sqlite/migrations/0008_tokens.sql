-- Named API tokens: only the SHA-256 of each secret is kept; a revoked
-- token stays, so its name and role remain on record.
CREATE TABLE tokens (
	id      INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,
	hash    TEXT NOT NULL UNIQUE,
	revoked INTEGER NOT NULL DEFAULT 0,
	data    TEXT NOT NULL -- JSON of upfactory.Token, without the hash
) STRICT;

-- One live token per name.
CREATE UNIQUE INDEX tokens_live_name ON tokens (name) WHERE revoked = 0;
