-- Where each notifier stands in the operation log: every entry up to seq
-- has been delivered, or given up on and logged.
CREATE TABLE notify_cursors (
	name TEXT COLLATE "C" PRIMARY KEY,
	seq  BIGINT NOT NULL
);
