-- Refresh tokens, by SHA-256 (never in clear). Each use returns a new
-- token of the same family; a reuse outside the grace window revokes the
-- family, with the access tokens listed for it.
CREATE TABLE auth_refresh_tokens (
	realm       TEXT NOT NULL,
	token_hash  TEXT NOT NULL,
	family      TEXT NOT NULL,
	client_id   TEXT NOT NULL,
	doc         TEXT NOT NULL,      -- the grant as JSON
	expires_at  BIGINT NOT NULL,
	used_at     BIGINT NOT NULL DEFAULT 0,
	grace_used  BOOLEAN NOT NULL DEFAULT FALSE,
	PRIMARY KEY (realm, token_hash)
);
CREATE INDEX auth_refresh_tokens_family ON auth_refresh_tokens (realm, family);

CREATE TABLE auth_refresh_families (
	realm      TEXT NOT NULL,
	family     TEXT NOT NULL,
	revoked_at BIGINT NOT NULL DEFAULT 0,
	tokens     TEXT NOT NULL DEFAULT '[]',  -- access tokens issued in the family
	PRIMARY KEY (realm, family)
);
