-- Every document: drafts waiting for their one-time code, issued documents
-- and revoked ones. content is the JSON of what the declarant wrote and who
-- they are; token is the signed JWS of an issued document.
CREATE TABLE declaration_documents (
	id            TEXT PRIMARY KEY,
	issuer        TEXT NOT NULL,
	kind          TEXT NOT NULL,
	state         TEXT NOT NULL,
	declarant     TEXT NOT NULL,           -- tax number (ΑΦΜ)
	grantee       TEXT NOT NULL DEFAULT '', -- tax number, for authorizations
	content       TEXT NOT NULL,
	challenge     TEXT NOT NULL DEFAULT '', -- the one-time code's challenge
	created_at    BIGINT NOT NULL,
	expires_at    BIGINT NOT NULL,          -- when an unconfirmed draft dies
	issued_at     BIGINT NOT NULL DEFAULT 0,
	valid_until   BIGINT NOT NULL DEFAULT 0, -- 0: no end
	protocol_year INTEGER NOT NULL DEFAULT 0,
	protocol_seq  BIGINT NOT NULL DEFAULT 0,
	code          TEXT,                     -- verification code, once issued
	token         TEXT NOT NULL DEFAULT '',
	qr_token      TEXT NOT NULL DEFAULT '', -- the signed summary in the QR code
	revoked_at    BIGINT NOT NULL DEFAULT 0,
	revoked_by    TEXT NOT NULL DEFAULT '',
	revoke_reason TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX declaration_documents_code ON declaration_documents (code);
CREATE UNIQUE INDEX declaration_documents_protocol ON declaration_documents (issuer, protocol_year, protocol_seq) WHERE protocol_seq > 0;
CREATE INDEX declaration_documents_declarant ON declaration_documents (declarant, created_at);
CREATE INDEX declaration_documents_grantee ON declaration_documents (grantee, created_at) WHERE grantee <> '';
CREATE INDEX declaration_documents_expiry ON declaration_documents (expires_at) WHERE state = 'draft';

-- The last protocol number given per issuer and year. Numbers are taken in
-- the transaction that issues the document, so a failed issue gives its
-- number back and the sequence has no gaps.
CREATE TABLE declaration_protocol (
	issuer TEXT NOT NULL,
	year   INTEGER NOT NULL,
	last   BIGINT NOT NULL,
	PRIMARY KEY (issuer, year)
);
