-- Every version of every procedure; the document is the validated JSON.
CREATE TABLE procedures_versions (
	id           TEXT NOT NULL,
	version      INTEGER NOT NULL,
	state        TEXT NOT NULL,
	doc          TEXT NOT NULL,
	hash         TEXT NOT NULL,      -- sha256 of doc: the ETag
	author       TEXT NOT NULL,      -- who last wrote the document
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	published_at BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (id, version)
);
-- At most one published version, and one being worked on, per procedure.
CREATE UNIQUE INDEX procedures_one_published ON procedures_versions (id) WHERE state = 'published';
CREATE UNIQUE INDEX procedures_one_working ON procedures_versions (id) WHERE state IN ('draft', 'pending_approval', 'approved');
CREATE INDEX procedures_state ON procedures_versions (state);

-- The history: every change of every version.
CREATE TABLE procedures_events (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT NOT NULL,
	version    INTEGER NOT NULL,
	from_state TEXT NOT NULL,
	to_state   TEXT NOT NULL,
	actor      TEXT NOT NULL,
	note       TEXT NOT NULL,
	at         BIGINT NOT NULL
);
CREATE INDEX procedures_events_id ON procedures_events (id, at);
