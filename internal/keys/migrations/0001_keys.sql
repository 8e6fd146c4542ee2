-- Signing keys, one row per key of a named set ("auth/citizen",
-- "declaration"). The private key is encrypted with AES-256-GCM under the
-- caller's key-encryption key; the public key is kept as a JWK.
CREATE TABLE keys_sets (
	set_name   TEXT PRIMARY KEY,
	kek_check  BYTEA NOT NULL,   -- a known value sealed under the KEK: proves the KEK before any key is used
	created_at BIGINT NOT NULL
);

CREATE TABLE keys_keys (
	set_name    TEXT NOT NULL REFERENCES keys_sets (set_name),
	seq         INTEGER NOT NULL,  -- 1, 2, 3 … in the order keys were created
	kid         TEXT NOT NULL,     -- RFC 7638 thumbprint
	alg         TEXT NOT NULL,
	public_jwk  TEXT NOT NULL,
	private_enc BYTEA NOT NULL,    -- nonce ‖ AES-256-GCM ciphertext
	created_at  BIGINT NOT NULL,   -- Unix microseconds; published from then
	active_from BIGINT NOT NULL,   -- signs from then until the next key is active
	PRIMARY KEY (set_name, seq),
	UNIQUE (set_name, kid)
);
