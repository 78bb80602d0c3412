-- The actions of blameless reviews: what to automate or change after an
-- upgrade; seq is the log entry that recorded each.
CREATE TABLE review_actions (
	id      INTEGER PRIMARY KEY,
	service TEXT NOT NULL,
	upgrade TEXT NOT NULL,
	seq     INTEGER NOT NULL UNIQUE,
	done_at TEXT,          -- NULL while open
	data    TEXT NOT NULL  -- JSON of upfactory.ReviewAction
) STRICT;

CREATE INDEX review_actions_upgrade ON review_actions (upgrade, id);
