-- Sign-ins under way: the checked authorization request and how far the
-- person has got, by the SHA-256 of the transaction id. The browser that
-- started a sign-in holds a binding cookie whose hash is kept here, so a
-- transaction id alone, leaked from a URL, is useless.
CREATE TABLE auth_signins (
	realm      TEXT NOT NULL,
	id_hash    TEXT NOT NULL,
	bind_hash  TEXT NOT NULL,
	doc        TEXT NOT NULL,      -- the state as JSON
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (realm, id_hash)
);
CREATE INDEX auth_signins_expiry ON auth_signins (expires_at);

-- Single sign-on sessions, by the SHA-256 of the cookie value. sid is the
-- public session identifier put in ID tokens and logout tokens.
CREATE TABLE auth_sessions (
	realm      TEXT NOT NULL,
	id_hash    TEXT NOT NULL,
	sid        TEXT NOT NULL UNIQUE,
	subject    TEXT NOT NULL,
	acr        TEXT NOT NULL,
	amr        TEXT NOT NULL,      -- JSON array
	auth_time  BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (realm, id_hash)
);
CREATE INDEX auth_sessions_expiry ON auth_sessions (expires_at);

-- The clients a session signed in to, told by back-channel logout when it
-- ends.
CREATE TABLE auth_session_clients (
	sid       TEXT NOT NULL,
	client_id TEXT NOT NULL,
	subject   TEXT NOT NULL,
	PRIMARY KEY (sid, client_id)
);

-- Failed sign-ins per account and per client address, keyed by a hash.
CREATE TABLE auth_throttle (
	realm        TEXT NOT NULL,
	key_hash     TEXT NOT NULL,
	failures     INTEGER NOT NULL,
	window_start BIGINT NOT NULL,
	locked_until BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (realm, key_hash)
);

-- Pushed authorization requests (RFC 9126), single use.
CREATE TABLE auth_pushed_requests (
	realm      TEXT NOT NULL,
	id_hash    TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	params     TEXT NOT NULL,      -- the form, URL-encoded
	expires_at BIGINT NOT NULL,
	PRIMARY KEY (realm, id_hash)
);
