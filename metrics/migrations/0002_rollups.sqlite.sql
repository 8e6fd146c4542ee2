-- Rollups that let every statistics question read a bounded number of rows
-- whatever the number of label sets and the length of the period. They are
-- written in the same transaction as the daily rows (and the imported
-- totals), by additive upserts, so they stay exact with several instances.
-- Units: 1 = day (days since 1970-01-01), 2 = month (year*12 + month-1),
-- 3 = year.

-- Totals of one kind, summed over its label sets.
CREATE TABLE metrics_kind_totals (
	kind  TEXT NOT NULL,
	unit  INTEGER NOT NULL,
	n     INTEGER NOT NULL,
	total BIGINT NOT NULL,
	PRIMARY KEY (kind, unit, n)
) WITHOUT ROWID;

-- Totals of every kind together.
CREATE TABLE metrics_all_totals (
	unit  INTEGER NOT NULL,
	n     INTEGER NOT NULL,
	total BIGINT NOT NULL,
	PRIMARY KEY (unit, n)
) WITHOUT ROWID;

-- Totals of one label set, for the top values of a label. They hold the
-- days up to metrics_rolled.through: the days before are rolled up once
-- they are over (outside the flush, which then stays as cheap as writing
-- the daily rows), and a flush that still writes such a day adds to them
-- itself. Days after it are read from metrics_daily.
CREATE TABLE metrics_label_totals (
	kind   TEXT NOT NULL,
	unit   INTEGER NOT NULL,
	n      INTEGER NOT NULL,
	labels TEXT NOT NULL,
	total  BIGINT NOT NULL,
	PRIMARY KEY (kind, unit, n, labels)
) WITHOUT ROWID;

-- The last day whose label sets have been rolled up (one row).
CREATE TABLE metrics_rolled (
	id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
	through INTEGER NOT NULL
);
INSERT INTO metrics_rolled (id, through) SELECT 1, COALESCE(MAX(day), -1000000) FROM metrics_daily;

-- The first and last day each kind was counted.
CREATE TABLE metrics_kind_span (
	kind      TEXT NOT NULL PRIMARY KEY,
	first_day INTEGER NOT NULL,
	last_day  INTEGER NOT NULL
) WITHOUT ROWID;

-- Imported totals summed over their label sets.
CREATE TABLE metrics_imported_totals (
	kind      TEXT NOT NULL,
	first_day INTEGER NOT NULL,
	last_day  INTEGER NOT NULL,
	total     BIGINT NOT NULL,
	PRIMARY KEY (kind, first_day, last_day)
) WITHOUT ROWID;

INSERT INTO metrics_label_totals (kind, unit, n, labels, total)
SELECT kind, 1, day, labels, total FROM metrics_daily;

INSERT INTO metrics_label_totals (kind, unit, n, labels, total)
SELECT kind, 2, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, labels, SUM(total)
FROM metrics_daily GROUP BY 1, 2, 3, 4;

INSERT INTO metrics_label_totals (kind, unit, n, labels, total)
SELECT kind, 3, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER), labels, SUM(total)
FROM metrics_daily GROUP BY 1, 2, 3, 4;

INSERT INTO metrics_kind_totals (kind, unit, n, total)
SELECT kind, unit, n, SUM(total) FROM metrics_label_totals GROUP BY kind, unit, n;

INSERT INTO metrics_all_totals (unit, n, total)
SELECT unit, n, SUM(total) FROM metrics_kind_totals GROUP BY unit, n;

INSERT INTO metrics_kind_span (kind, first_day, last_day)
SELECT kind, MIN(n), MAX(n) FROM metrics_kind_totals WHERE unit = 1 GROUP BY kind;

INSERT INTO metrics_imported_totals (kind, first_day, last_day, total)
SELECT kind, first_day, last_day, SUM(total) FROM metrics_imported GROUP BY kind, first_day, last_day;
