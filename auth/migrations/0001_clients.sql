-- Registered clients (relying parties and agency systems) of one realm.
CREATE TABLE auth_clients (
	realm       TEXT NOT NULL,
	client_id   TEXT NOT NULL,
	doc         TEXT NOT NULL,     -- the Client as JSON, secret excluded
	secret_hash TEXT NOT NULL,     -- "sha256:<base64>" of a 256-bit random secret, or ""
	disabled    BOOLEAN NOT NULL DEFAULT FALSE,
	created_at  BIGINT NOT NULL,   -- Unix microseconds
	updated_at  BIGINT NOT NULL,
	PRIMARY KEY (realm, client_id)
);

-- Client assertion ids (RFC 7523 "jti") already used, kept until the
-- assertion expires, so that an assertion is accepted once.
CREATE TABLE auth_client_assertions (
	realm      TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	jti        TEXT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (realm, client_id, jti)
);
CREATE INDEX auth_client_assertions_expiry ON auth_client_assertions (expires_at);
