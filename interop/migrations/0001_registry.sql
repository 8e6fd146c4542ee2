-- The registry's generation: moved by every change, in the change's own
-- transaction, and polled by every instance to know when to reload.
CREATE TABLE interop_generation (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	gen BIGINT NOT NULL
);
INSERT INTO interop_generation (id, gen) VALUES (1, 0);

-- Services registered by providers; id is INSTANCE/CLASS/MEMBER/SUBSYSTEM/SERVICE.
CREATE TABLE interop_services (
	id                 TEXT PRIMARY KEY,
	owner              TEXT NOT NULL,
	title_el           TEXT NOT NULL,
	title_en           TEXT NOT NULL,
	upstream           TEXT NOT NULL,
	openapi            TEXT NOT NULL DEFAULT '',
	items              TEXT NOT NULL DEFAULT '[]',  -- JSON array of data items
	consent_required   BOOLEAN NOT NULL,
	legal_basis        TEXT NOT NULL DEFAULT '',
	max_request_bytes  BIGINT NOT NULL DEFAULT 0,
	max_response_bytes BIGINT NOT NULL DEFAULT 0,
	timeout_ns         BIGINT NOT NULL DEFAULT 0,
	rate_per_second    DOUBLE PRECISION NOT NULL DEFAULT 0,
	burst              BIGINT NOT NULL DEFAULT 0,
	disabled           BOOLEAN NOT NULL DEFAULT FALSE,
	revision           BIGINT NOT NULL,
	updated_by         TEXT NOT NULL DEFAULT '',
	created_at         BIGINT NOT NULL,
	updated_at         BIGINT NOT NULL
);

-- Access rights: consumer × service × method × path pattern, with an
-- optional validity window (0 leaves an end open).
CREATE TABLE interop_rights (
	id         TEXT PRIMARY KEY,
	consumer   TEXT NOT NULL,
	service    TEXT NOT NULL REFERENCES interop_services (id),
	method     TEXT NOT NULL,
	path       TEXT NOT NULL,
	not_before BIGINT NOT NULL DEFAULT 0,
	not_after  BIGINT NOT NULL DEFAULT 0,
	granted_by TEXT NOT NULL DEFAULT '',
	granted_at BIGINT NOT NULL,
	UNIQUE (consumer, service, method, path)
);
CREATE INDEX interop_rights_service ON interop_rights (service, consumer);
CREATE INDEX interop_rights_consumer ON interop_rights (consumer);
