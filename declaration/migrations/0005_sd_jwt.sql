-- The SD-JWT VC form of each issued document, and its index in the
-- issuer's status list (Token Status List), where a revocation is
-- published for wallets and verifiers of the SD-JWT VC.
ALTER TABLE declaration_documents ADD COLUMN sd_jwt TEXT NOT NULL DEFAULT '';
ALTER TABLE declaration_documents ADD COLUMN status_idx BIGINT NOT NULL DEFAULT -1;
CREATE INDEX declaration_documents_revoked ON declaration_documents (issuer, status_idx) WHERE state = 'revoked';

-- The last status-list index given per issuer.
CREATE TABLE declaration_status (
	issuer TEXT PRIMARY KEY,
	last   BIGINT NOT NULL
);
