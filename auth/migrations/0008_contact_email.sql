-- A subject's verified e-mail address, beside the mobile number.
CREATE TABLE auth_contact_emails (
	subject     TEXT PRIMARY KEY,
	email       TEXT NOT NULL,
	verified_at BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL
);
