-- Consent records. Subjects are keyed pseudonyms; the tax number is kept
-- only sealed (AES-GCM) under the service's subject key. Times are Unix
-- microseconds; use_limit 0 means unlimited.
CREATE TABLE consent_records (
	id               TEXT PRIMARY KEY,
	schema_version   TEXT NOT NULL,
	subject          TEXT NOT NULL,
	subject_sealed   BYTEA NOT NULL,
	requester_org    TEXT NOT NULL,
	requester_client TEXT NOT NULL,
	source_registry  TEXT NOT NULL,
	source_service   TEXT NOT NULL,
	purpose_code     TEXT NOT NULL,
	item_set         TEXT NOT NULL, -- the item ids, each followed by U+001F and the first preceded by it
	state            TEXT NOT NULL,
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	request_expires  BIGINT NOT NULL,
	valid_from       BIGINT NOT NULL,
	valid_until      BIGINT NOT NULL,
	use_limit        INTEGER NOT NULL,
	uses             INTEGER NOT NULL DEFAULT 0,
	terms            TEXT NOT NULL, -- JSON: requester, items, purpose, legal basis, recipients, withdrawal, return URL
	decision         TEXT NOT NULL  -- JSON: notice and evidence
);
CREATE INDEX consent_records_check ON consent_records (subject, requester_org, requester_client, source_registry, source_service);
CREATE INDEX consent_records_subject ON consent_records (subject, created_at);

-- The history of each record: appended to, never changed.
CREATE TABLE consent_events (
	consent_id TEXT NOT NULL REFERENCES consent_records (id),
	seq        INTEGER NOT NULL,
	at         BIGINT NOT NULL,
	actor      TEXT NOT NULL,
	action     TEXT NOT NULL,
	state      TEXT NOT NULL,
	PRIMARY KEY (consent_id, seq)
);

-- Every use of a consent, for the citizen's access log. n numbers a
-- citizen's entries from 1, nr their entries of one requester, so that a
-- page at any offset is found through the key.
CREATE TABLE consent_uses (
	subject          TEXT NOT NULL,
	n                BIGINT NOT NULL,
	nr               BIGINT NOT NULL,
	at               BIGINT NOT NULL,
	requester_org    TEXT NOT NULL,
	requester_client TEXT NOT NULL,
	requester_person TEXT NOT NULL,
	source_registry  TEXT NOT NULL,
	source_service   TEXT NOT NULL,
	items            TEXT NOT NULL, -- JSON array of item ids
	purpose          TEXT NOT NULL,
	consent_id       TEXT NOT NULL REFERENCES consent_records (id),
	exchange_id      TEXT NOT NULL,
	PRIMARY KEY (subject, n)
);
CREATE UNIQUE INDEX consent_uses_requester ON consent_uses (subject, requester_org, nr);

-- Neither the history nor the access log changes once written.
CREATE FUNCTION consent_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER consent_events_no_change BEFORE UPDATE OR DELETE ON consent_events
	FOR EACH ROW EXECUTE FUNCTION consent_append_only();
CREATE TRIGGER consent_uses_no_change BEFORE UPDATE OR DELETE ON consent_uses
	FOR EACH ROW EXECUTE FUNCTION consent_append_only();
