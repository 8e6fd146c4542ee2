-- Rollups that let every statistics question read a bounded number of rows
-- whatever the number of label sets and the length of the period, built
-- here from the rows already stored. Units: 1 = day (days since
-- 1970-01-01), 2 = month (year*12 + month-1), 3 = year.

-- Totals of one kind, summed over its label sets, added to by every flush
-- in its transaction (additive upserts, exact with several instances).
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

-- Running totals of each label set, for the top values of a label: cum is
-- the label set's total from its first day to day, on every day from its
-- first day to metrics_rolled.through, so that a period's totals of every
-- label set are two days' rows apart. A day is added once it is over,
-- outside the flush (which so writes no more rows than the daily ones);
-- until then it is read from metrics_daily. A flush that still writes a
-- day already added adds to the running totals itself.
CREATE TABLE metrics_label_cum (
	day    INTEGER NOT NULL,
	kind   TEXT NOT NULL,
	labels TEXT NOT NULL,
	cum    BIGINT NOT NULL,
	PRIMARY KEY (day, kind, labels)
) WITHOUT ROWID;

-- The last day added to the running totals (one row).
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

WITH RECURSIVE bounds (lo, hi) AS (SELECT MIN(day), MAX(day) FROM metrics_daily),
days (day) AS (SELECT lo FROM bounds WHERE lo IS NOT NULL UNION ALL SELECT days.day + 1 FROM days, bounds WHERE days.day < bounds.hi),
sets (kind, labels, first_day) AS (SELECT kind, labels, MIN(day) FROM metrics_daily GROUP BY kind, labels)
INSERT INTO metrics_label_cum (day, kind, labels, cum)
SELECT days.day, sets.kind, sets.labels, CAST(SUM(COALESCE(d.total, 0)) OVER (PARTITION BY sets.kind, sets.labels ORDER BY days.day) AS BIGINT)
FROM sets JOIN days ON days.day >= sets.first_day
LEFT JOIN metrics_daily d ON d.kind = sets.kind AND d.labels = sets.labels AND d.day = days.day;

INSERT INTO metrics_kind_totals (kind, unit, n, total)
SELECT kind, 1, day, SUM(total) FROM metrics_daily GROUP BY kind, day;

INSERT INTO metrics_kind_totals (kind, unit, n, total)
SELECT kind, 2, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER) * 12 + CAST(strftime('%m', day * 86400, 'unixepoch') AS INTEGER) - 1, SUM(total) FROM metrics_daily GROUP BY 1, 2, 3;

INSERT INTO metrics_kind_totals (kind, unit, n, total)
SELECT kind, 3, CAST(strftime('%Y', day * 86400, 'unixepoch') AS INTEGER), SUM(total) FROM metrics_daily GROUP BY 1, 2, 3;

INSERT INTO metrics_all_totals (unit, n, total)
SELECT unit, n, SUM(total) FROM metrics_kind_totals GROUP BY unit, n;

INSERT INTO metrics_kind_span (kind, first_day, last_day)
SELECT kind, MIN(n), MAX(n) FROM metrics_kind_totals WHERE unit = 1 GROUP BY kind;

INSERT INTO metrics_imported_totals (kind, first_day, last_day, total)
SELECT kind, first_day, last_day, SUM(total) FROM metrics_imported GROUP BY kind, first_day, last_day;
