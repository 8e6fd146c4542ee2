-- One-time codes. Neither the code nor the subject is stored in clear: the
-- code as an HMAC bound to challenge, purpose and subject; the subject
-- (a phone number, a tax number) as an HMAC.
CREATE TABLE otp_challenges (
	id           TEXT PRIMARY KEY,
	subject_hash TEXT NOT NULL,
	purpose      TEXT NOT NULL,
	code_mac     BYTEA NOT NULL,
	state        TEXT NOT NULL,        -- pending, used, dead, superseded
	attempts     INTEGER NOT NULL DEFAULT 0,
	created_at   BIGINT NOT NULL,      -- Unix microseconds
	expires_at   BIGINT NOT NULL,
	used_at      BIGINT
);
CREATE INDEX otp_challenges_subject ON otp_challenges (subject_hash, purpose, created_at);
CREATE INDEX otp_challenges_expiry ON otp_challenges (expires_at);

-- Consecutive failures per subject, across codes, and the lock-out they
-- earn. The row is also what serialises issue and verify for one subject.
CREATE TABLE otp_subjects (
	subject_hash TEXT PRIMARY KEY,
	failures     INTEGER NOT NULL DEFAULT 0,
	lockouts     INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT NOT NULL DEFAULT 0
);
