-- Pairwise subject identifiers (OpenID Connect Core 8.1): what each
-- sector knows a person as, mapped back to the account.
CREATE TABLE auth_pairwise (
	realm   TEXT NOT NULL,
	sector  TEXT NOT NULL,
	sub     TEXT NOT NULL,
	subject TEXT NOT NULL,
	PRIMARY KEY (realm, sector, sub)
);
