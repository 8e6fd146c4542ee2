-- The name of whoever made a change, as the workspace shows it; the
-- identifier stays in actor.
ALTER TABLE procedures_events ADD COLUMN actor_name TEXT NOT NULL DEFAULT '';
