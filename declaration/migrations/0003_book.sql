-- The protocol book: an agency's register of incoming and outgoing
-- documents. Entries are never changed or deleted; each carries the hash
-- of the one before it (prev_hash) and its own (hash), so that a changed
-- or missing entry breaks the chain. Numbers come from
-- declaration_protocol, shared with issued documents of the same issuer.
CREATE TABLE declaration_book (
	issuer         TEXT NOT NULL,
	year           INTEGER NOT NULL,
	seq            BIGINT NOT NULL,
	direction      TEXT NOT NULL,
	subject        TEXT NOT NULL,
	sender         TEXT NOT NULL,
	recipient      TEXT NOT NULL,
	doc_date       TEXT NOT NULL,       -- the document's own date, YYYY-MM-DD
	content_sha256 TEXT NOT NULL,
	signature      TEXT NOT NULL,
	registered_at  BIGINT NOT NULL,
	registered_by  TEXT NOT NULL,
	folded         TEXT NOT NULL,       -- subject, sender and recipient folded for search
	prev_hash      TEXT NOT NULL,
	hash           TEXT NOT NULL,
	PRIMARY KEY (issuer, year, seq)
);
CREATE INDEX declaration_book_registered ON declaration_book (issuer, registered_at);

-- The head of each issuer's chain: the last entry's hash and the number
-- of entries. Updating it in every registration also makes registrations
-- of one issuer take turns, so the chain never forks.
CREATE TABLE declaration_book_head (
	issuer    TEXT PRIMARY KEY,
	last_hash TEXT NOT NULL,
	entries   BIGINT NOT NULL
);
