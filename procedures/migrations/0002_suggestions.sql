-- Suggestions from the public on published procedures. The sender's
-- address is kept only as a keyed hash, for the rate limit.
CREATE TABLE procedures_suggestions (
	id           TEXT PRIMARY KEY,
	procedure_id TEXT NOT NULL,
	version      INTEGER NOT NULL,
	kind         TEXT NOT NULL,
	text         TEXT NOT NULL,
	contact      TEXT NOT NULL,
	client_hash  TEXT NOT NULL,
	created_at   BIGINT NOT NULL,
	closed_at    BIGINT NOT NULL DEFAULT 0,
	closed_by    TEXT NOT NULL DEFAULT '',
	resolution   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX procedures_suggestions_open ON procedures_suggestions (closed_at, created_at);
CREATE INDEX procedures_suggestions_client ON procedures_suggestions (client_hash, created_at);
