-- Counted transactions per day (days since 1970-01-01 in the configured
-- time zone), kind and label set (a JSON array of the label values).
CREATE TABLE metrics_daily (
	kind   TEXT NOT NULL,
	labels TEXT NOT NULL,
	day    INTEGER NOT NULL,
	total  BIGINT NOT NULL,
	PRIMARY KEY (kind, labels, day)
);
CREATE INDEX metrics_daily_day ON metrics_daily (day);

-- Flushes already applied, so that a flush retried after an error whose
-- commit did happen is not counted twice.
CREATE TABLE metrics_flushes (
	instance TEXT NOT NULL,
	seq      BIGINT NOT NULL,
	at       BIGINT NOT NULL,
	PRIMARY KEY (instance, seq)
);

-- Totals for periods before counting began, imported from published
-- figures; kept apart from counted ones and added in every query whose
-- period contains them whole.
CREATE TABLE metrics_imported (
	kind      TEXT NOT NULL,
	labels    TEXT NOT NULL,
	first_day INTEGER NOT NULL,
	last_day  INTEGER NOT NULL,
	total     BIGINT NOT NULL,
	source    TEXT NOT NULL,
	PRIMARY KEY (kind, labels, first_day, last_day)
);
