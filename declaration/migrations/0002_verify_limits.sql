-- Unknown verification codes per client address (a keyed hash of it) and
-- ten-minute window: past the limit, an address is refused until the
-- window ends, on every instance.
CREATE TABLE declaration_verify_failures (
	client       TEXT NOT NULL,
	window_start BIGINT NOT NULL,
	failures     INTEGER NOT NULL,
	PRIMARY KEY (client, window_start)
);
