-- The contact registry: each subject's verified mobile number, and a
-- record of changes (a new number is a new authenticator).
CREATE TABLE auth_contacts (
	subject            TEXT PRIMARY KEY,
	mobile             TEXT NOT NULL,
	mobile_verified_at BIGINT NOT NULL,   -- Unix microseconds
	updated_at         BIGINT NOT NULL
);

CREATE TABLE auth_contact_events (
	id      TEXT PRIMARY KEY,
	subject TEXT NOT NULL,
	kind    TEXT NOT NULL,       -- mobile_verified, mobile_changed
	detail  TEXT NOT NULL,       -- masked: never a full number
	at      BIGINT NOT NULL
);
CREATE INDEX auth_contact_events_subject ON auth_contact_events (subject, at);
