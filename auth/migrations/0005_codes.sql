-- Authorization codes, by the SHA-256 of the code (the code itself is
-- never stored). Single use: redeemed_at is set once; the tokens issued
-- from a code are listed so that a replayed code can revoke them.
CREATE TABLE auth_codes (
	realm       TEXT NOT NULL,
	code_hash   TEXT NOT NULL,
	client_id   TEXT NOT NULL,
	doc         TEXT NOT NULL,      -- the grant as JSON
	expires_at  BIGINT NOT NULL,
	redeemed_at BIGINT NOT NULL DEFAULT 0,
	tokens      TEXT NOT NULL DEFAULT '[]',
	PRIMARY KEY (realm, code_hash)
);
CREATE INDEX auth_codes_expiry ON auth_codes (expires_at);
