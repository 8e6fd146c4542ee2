-- Access tokens revoked before they expire (RFC 7009), by their "jti",
-- kept until they would have expired anyway.
CREATE TABLE auth_revoked_tokens (
	realm      TEXT NOT NULL,
	jti        TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	expires_at BIGINT NOT NULL,   -- Unix microseconds
	revoked_at BIGINT NOT NULL,
	PRIMARY KEY (realm, jti)
);
CREATE INDEX auth_revoked_tokens_expiry ON auth_revoked_tokens (expires_at);
