-- A refresh token family knows its client and the single sign-on session
-- it was issued in, so that revoking a token, replaying its code or ending
-- the session ends the family. A used refresh token keeps the hash of the
-- successor it was rotated into, and that successor sealed with a key
-- derived from the used token itself: a retry within the grace window gets
-- the same successor back, and the database alone cannot open it. Retries
-- are no longer counted (each gives the same token, so none forks the
-- family).
ALTER TABLE auth_refresh_families ADD COLUMN client_id TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_refresh_families ADD COLUMN sid TEXT NOT NULL DEFAULT '';
CREATE INDEX auth_refresh_families_sid ON auth_refresh_families (realm, sid);
ALTER TABLE auth_refresh_tokens ADD COLUMN next_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_refresh_tokens ADD COLUMN next_sealed TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_refresh_tokens DROP COLUMN grace_used;

-- The refresh token family issued from a code, and when a replay of the
-- code was seen (a replay racing the first redemption is noticed when
-- that redemption records what it issued).
ALTER TABLE auth_codes ADD COLUMN family TEXT NOT NULL DEFAULT '';
ALTER TABLE auth_codes ADD COLUMN replayed_at BIGINT NOT NULL DEFAULT 0;
