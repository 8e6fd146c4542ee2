-- Citizens: they sign in with a user name; the tax number (AFM) is unique
-- and links identities from federated providers; the id is the stable
-- subject.
CREATE TABLE auth_citizens (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	afm           TEXT NOT NULL UNIQUE,
	amka          TEXT NOT NULL,
	given_name    TEXT NOT NULL,
	family_name   TEXT NOT NULL,
	father_name   TEXT NOT NULL,
	mother_name   TEXT NOT NULL,
	birth_date    TEXT NOT NULL,   -- YYYY-MM-DD
	password_hash TEXT NOT NULL,
	disabled      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);

-- Civil servants, with credentials separate from any personal ones.
CREATE TABLE auth_servants (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL UNIQUE,
	given_name    TEXT NOT NULL,
	family_name   TEXT NOT NULL,
	password_hash TEXT NOT NULL,
	disabled      BOOLEAN NOT NULL DEFAULT FALSE,
	created_at    BIGINT NOT NULL,
	updated_at    BIGINT NOT NULL
);

-- What an agency authorizes a servant to do. The row belongs to the
-- servant, so it follows them when they move to another agency.
CREATE TABLE auth_servant_authorizations (
	id          TEXT PRIMARY KEY,
	servant_id  TEXT NOT NULL REFERENCES auth_servants (id),
	agency      TEXT NOT NULL,
	service     TEXT NOT NULL,
	role        TEXT NOT NULL,
	valid_from  BIGINT NOT NULL,
	valid_until BIGINT NOT NULL,   -- 0: no end
	granted_by  TEXT NOT NULL,
	revoked_at  BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL
);
CREATE INDEX auth_servant_authorizations_servant ON auth_servant_authorizations (servant_id);
