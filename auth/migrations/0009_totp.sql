-- Authenticator apps (TOTP, RFC 6238) bound to subjects. The secret is
-- sealed with the store's key; last_step stops a code being used twice.
CREATE TABLE auth_totp (
	subject      TEXT PRIMARY KEY,
	secret_enc   BYTEA NOT NULL,
	confirmed_at BIGINT NOT NULL DEFAULT 0,   -- 0 while enrolment waits for a first code
	last_step    BIGINT NOT NULL DEFAULT 0,
	failures     INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT NOT NULL DEFAULT 0,
	created_at   BIGINT NOT NULL
);
