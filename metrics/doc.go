// Package metrics counts every e-government transaction at its source,
// keeps the totals safely, and answers the questions published statistics
// ask: totals for any period, series, top agencies or services, growth
// against an earlier period, and visits to an office avoided.
//
// # Counting
//
//	m, err := metrics.New(ctx, metrics.Config{
//		DB: db, Location: athens,
//		Kinds: []metrics.Kind{
//			{Name: metrics.KindDeclaration, Labels: []string{"agency", "channel"}, ReplacesVisit: true},
//		},
//	})
//	defer m.Close()
//	m.Count(metrics.KindDeclaration, "ypes", metrics.ChannelDigital)
//	h := m.Handle(metrics.KindDeclaration, "ypes", metrics.ChannelDigital) // for a hot path
//	h.Inc()
//
// Metrics satisfies the counting interface every egovkit package that
// counts declares, Count(kind string, labels ...string)
// (auth.TransactionCounter, declaration.Counter), so wiring is one line:
// Counter: m. Each such package names the kinds it reports and their
// labels as constants; declare them so that the labels have their names
// and the kinds that replace a visit count as such:
//
//	Kinds: []metrics.Kind{
//		{Name: auth.CountSignIn, Labels: auth.CountLabels()},
//		{Name: declaration.CountDeclaration, Labels: declaration.CountLabels(), ReplacesVisit: true},
//		{Name: declaration.CountAuthorization, Labels: declaration.CountLabels(), ReplacesVisit: true},
//	}
//
// Their values are this package's KindAuthentication, KindDeclaration and
// KindAuthorization, whose titles the statistics page knows. Counting
// takes no lock and allocates nothing for a label set seen before: each
// processor adds to its own cache line, and a label set is found through
// an immutable map read atomically. A kind keeps at most MaxLabelSets
// label sets; further ones are counted in one overflow series (label
// OverflowLabel) and a warning is logged once, so memory cannot grow
// without bound.
//
// # Keeping the totals
//
// Every second (FlushEvery) and on Close the counts since the last flush
// are added to per-day totals in the database (SQLite or PostgreSQL), the
// day taken in Config.Location (Europe/Athens unless set). Each flush is recorded under this
// instance's identifier and a sequence number in the same transaction, so
// a flush retried after an error whose commit did happen is not counted
// twice. Close loses nothing; a crash loses at most one flush interval;
// instances sharing a database add up exactly. Counts are filed under the
// day of the flush that writes them, so a count in the last second before
// midnight may land on the next day.
//
// Published totals for periods before counting began are imported (Import,
// ImportCSV, ImportJSON) and kept apart from counted ones; every query adds
// those whose period it contains whole. The overall figure of a period is
// imported under kind KindAll.
//
// # Questions
//
// Periods are parsed by ParsePeriod: "2020", "2021-H1", "2020-Q3",
// "2020-05", "2020-W05", "2020-05-17" and "2020-03-01..2020-06-30"; a
// period it cannot read is a *PeriodError whose Code names the mistake
// (PeriodHalf, PeriodRangeOrder, …). Total,
// Series (by day, month or year), Top (values of one label), Growth (the
// plain change and the change of the daily rate, so that a half-year
// compares fairly with a year) and VisitsAvoided read the store, so their
// answers lag the counting by at most one flush interval.
//
// They read rollups, not the daily rows of every label set: each flush
// adds, in its own transaction, its deltas to per-kind and all-kinds
// totals by day, month and year, and a period is cut into at most five
// runs (days, months, years, months, days), so Total, Growth, Series and
// VisitsAvoided read a few dozen rows whatever the number of label sets.
// For Top every label set keeps a running total on every day up to the
// last day that is over (added by the first flush of the next day, outside
// the flush transaction), so a period's totals are two days' rows apart,
// plus the daily rows of today. Every rollup is written by additive
// upserts and a lock on the roll-up watermark, so instances sharing a
// database stay exact; the answers equal the sums over the daily rows.
//
// # Publishing
//
// Collector exposes this instance's counts to Prometheus (client_golang),
// one counter family per kind; the output passes promtool check metrics.
// APIHandler serves the questions above as JSON (and series as CSV), with
// RFC 9457 problems naming a bad parameter (a bad period is a 400 of type
// ProblemBadPeriod with its code).
//
// # The statistics page
//
// PageHandler serves the public statistics page in Greek and English. It
// leads with the latest period that has ended and the published history,
// not with a few transactions counted this year: where Greece published
// totals up to the first half of 2021, the page opens with "Jan–Jun 2021"
// and the change of its daily rate against 2020, for all transactions and
// for sign-ins and interoperability calls, and says apart what has been
// counted so far this year. The page knows which days have figures (the
// periods of the imported totals, and the days since counting of a kind
// began), so a year with figures for part of its days is named by them
// («Ιαν.–Ιουν. 2021»), its daily rate counts only them, and a year
// without figures reads "no data" («δεν υπάρχουν στοιχεία») rather than 0
// and -100 %. It shows the totals by year, a bar chart of all transactions
// and one per kind, the comparisons of PageConfig.Comparisons kind by
// kind, the current year month by month, and a form to compare two
// periods, which says in the page's language what is wrong with a period
// it cannot read and keeps what was typed. Charts are SVG drawn on the
// server, each with a text alternative that lists every value; their text
// is near-black and 12 to 17 pixels high at any width. At 390 pixels the page
// does not scroll sideways: wide tables scroll in their own labelled,
// focusable box. No JavaScript is needed, and in every state, at 390 and
// 1280 pixels, the page passes axe-core's WCAG 2.1 AA rules with the
// charts included. The page handler serves the page's stylesheet itself, at
// PageConfig.Prefix + "/static/egovkit.<hash>.css" (text/css, cached for a
// year since its name changes with its content), so the page mounted alone
// is styled; PageConfig.StaticPrefix points it at a site's shared copy
// instead. Every database call has a deadline (Config.DBTimeout, 5 s
// by default); a database that is down or does not answer in time is
// answered 503 with Retry-After, as a problem or a "temporarily
// unavailable" page.
//
// # Opening the database
//
// New keeps its state in the *sql.DB it is handed, SQLite or
// PostgreSQL; the package imports no driver. Open the pool with
// [github.com/egovkit/egovkit/sqldb], sqldb.Open(ctx, "sqlite:PATH", nil) or
// a postgres:// URL, which gives it the settings the stores need. A service
// that opens its own SQLite pool with modernc.org/sqlite (driver name
// "sqlite") gives every connection foreign keys, a busy timeout and WAL mode
// in the data source name, sql.Open("sqlite", path+"?"+sqlcheck.DSNSettings)
// (package [github.com/egovkit/egovkit/sqldb/sqlcheck]); a SQLite pool
// without them is refused with a *sqlcheck.SettingsError that says what to
// change. A PostgreSQL pool (github.com/jackc/pgx/v5/stdlib, driver name
// "pgx") is taken as it is.
//
// # A service that imports only this package
//
// examples/metrics-only in the repository is an agency's service that counts
// its own transactions with this package and nothing else of egovkit, with the
// statistics page, its JSON API and Prometheus mounted; run it from a checkout
// with go run ./examples/metrics-only.
package metrics
