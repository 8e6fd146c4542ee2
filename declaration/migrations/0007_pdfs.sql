-- Each PDF is drawn and signed once, on its first download, and kept, so
-- that every download from every instance serves the same bytes: one
-- form per document and state, since a revoked document's PDF says so.
-- qr is the QR code's signed content, which both forms share.
CREATE TABLE declaration_pdfs (
	id         TEXT NOT NULL REFERENCES declaration_documents (id) ON DELETE CASCADE,
	state      TEXT NOT NULL,
	qr         TEXT NOT NULL,
	pdf        BYTEA NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (id, state)
);
