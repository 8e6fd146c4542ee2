package consent_test

import (
	"database/sql"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// BenchmarkCheck measures Check with the use counted and logged on
// SQLite (a file in WAL mode) beside the floor of any counted use on the
// same kind of database: one UPDATE … RETURNING in a transaction.
func BenchmarkCheck(b *testing.B) {
	b.Run("consent.Check/sqlite", func(b *testing.B) {
		db := sqltest.SQLite(b)
		clock := testclock.New()
		store, err := consent.NewSQLStore(b.Context(), db.DB.DB)
		require.NoError(b, err)
		svc, err := consent.New(b.Context(), consent.Config{Store: store, SubjectKey: key, Clock: clock.Now})
		require.NoError(b, err)
		d := draft(clock)
		d.MaxUses = consent.Unlimited
		_, err = svc.Give(b.Context(), citizen, agency, d, notice)
		require.NoError(b, err)
		q := check()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			dec, err := svc.Check(b.Context(), q)
			if err != nil || !dec.Allowed {
				b.Fatal(err, dec)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
	b.Run("baseline-update-returning/sqlite", func(b *testing.B) {
		db := sqltest.SQLite(b)
		ctx := b.Context()
		_, err := db.ExecContext(ctx, `CREATE TABLE t (id TEXT PRIMARY KEY, uses INTEGER NOT NULL, lim INTEGER NOT NULL)`)
		require.NoError(b, err)
		_, err = db.ExecContext(ctx, `INSERT INTO t (id, uses, lim) VALUES ('c', 0, 0)`)
		require.NoError(b, err)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				var n int
				return tx.QueryRowContext(ctx, `UPDATE t SET uses = uses + 1 WHERE id = $1 AND (lim = 0 OR uses < lim) RETURNING uses`, "c").Scan(&n)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
	// The least a logged use writes: the count and one row of a log of
	// the same shape as the store's (clustered by citizen, one index by
	// requester), in one transaction.
	b.Run("baseline-update-returning-and-log/sqlite", func(b *testing.B) {
		db := sqltest.SQLite(b)
		ctx := b.Context()
		for _, q := range []string{
			`CREATE TABLE t (id TEXT PRIMARY KEY, uses INTEGER NOT NULL, lim INTEGER NOT NULL)`,
			`INSERT INTO t (id, uses, lim) VALUES ('c', 0, 0)`,
			`CREATE TABLE l (subject TEXT NOT NULL, n BIGINT NOT NULL, org TEXT NOT NULL, nr BIGINT NOT NULL, x TEXT NOT NULL,
				PRIMARY KEY (subject, n)) WITHOUT ROWID`,
			`CREATE UNIQUE INDEX l_org ON l (subject, org, nr)`,
		} {
			_, err := db.ExecContext(ctx, q)
			require.NoError(b, err)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				var n int
				if err := tx.QueryRowContext(ctx, `UPDATE t SET uses = uses + 1 WHERE id = $1 AND (lim = 0 OR uses < lim) RETURNING uses`, "c").Scan(&n); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO l (subject, n, org, nr, x) VALUES ($1, $2, $3, $2, $4)`, "s", n, "efka", "x")
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	})
}

// BenchmarkAccessLog pages a citizen's access log of 100,000 entries on
// SQLite: the first page, a page deep in by keyset (Before) and by
// offset, and a page of one requester.
func BenchmarkAccessLog(b *testing.B) {
	const entries = 100_000
	db := sqltest.SQLite(b)
	ctx := b.Context()
	clock := testclock.New()
	store, err := consent.NewSQLStore(ctx, db.DB.DB)
	require.NoError(b, err)
	svc, err := consent.New(ctx, consent.Config{Store: store, SubjectKey: key, Clock: clock.Now})
	require.NoError(b, err)
	d := draft(clock)
	d.MaxUses = consent.Unlimited
	r, err := svc.Give(ctx, citizen, agency, d, notice)
	require.NoError(b, err)
	// Filled directly, in one transaction, as a year of exchanges would.
	err = db.Tx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO consent_uses (subject, n, nr, at, requester_org, requester_client,
			requester_person, source_registry, source_service, items, purpose, consent_id, exchange_id)
			VALUES ($1, $2, $3, $4, $5, 'client', '', 'civil-registry', 'family-status', '["marital_status"]', 'child-benefit', $6, $7)`)
		if err != nil {
			return err
		}
		defer st.Close()
		nr := map[string]int{}
		for i := range entries {
			org := "efka"
			if i%10 == 0 {
				org = "aade"
			}
			nr[org]++
			if _, err := st.ExecContext(ctx, r.Subject, i+1, nr[org], clock.Now().Add(time.Duration(i)*time.Second).UnixMicro(),
				org, r.ID, fmt.Sprint("x-", i)); err != nil {
				return err
			}
		}
		return nil
	})
	require.NoError(b, err)
	page := func(b *testing.B, q consent.LogQuery) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p, err := svc.AccessLog(ctx, citizen, q)
			if err != nil || len(p.Entries) != consent.DefaultPage {
				b.Fatal(err, len(p.Entries))
			}
		}
	}
	middle, err := svc.AccessLog(ctx, citizen, consent.LogQuery{Offset: entries / 2})
	require.NoError(b, err)
	b.Run("first", func(b *testing.B) { page(b, consent.LogQuery{}) })
	b.Run("keyset-middle", func(b *testing.B) { page(b, consent.LogQuery{Before: middle.Entries[0].Seq + 1}) })
	b.Run("offset-middle", func(b *testing.B) { page(b, consent.LogQuery{Offset: entries / 2}) })
	b.Run("offset-last", func(b *testing.B) { page(b, consent.LogQuery{Offset: entries - consent.DefaultPage}) })
	b.Run("requester-offset-middle", func(b *testing.B) {
		page(b, consent.LogQuery{Organisation: "aade", Offset: entries / 20})
	})
	b.Run("requester-offset-last", func(b *testing.B) {
		page(b, consent.LogQuery{Organisation: "aade", Offset: entries/10 - consent.DefaultPage})
	})
}

// BenchmarkCheckLatency sends checks at a steady 1,000 a second for two
// seconds, each on its own goroutine as requests arriving at a gateway
// would, and reports the median and the 99th percentile of their
// latency on SQLite. It does the same work whatever b.N is.
func BenchmarkCheckLatency(b *testing.B) {
	const rate, total = 1000, 2000
	db := sqltest.SQLite(b)
	clock := testclock.New()
	store, err := consent.NewSQLStore(b.Context(), db.DB.DB)
	require.NoError(b, err)
	svc, err := consent.New(b.Context(), consent.Config{Store: store, SubjectKey: key, Clock: clock.Now})
	require.NoError(b, err)
	d := draft(clock)
	d.MaxUses = consent.Unlimited
	_, err = svc.Give(b.Context(), citizen, agency, d, notice)
	require.NoError(b, err)
	q := check()
	for b.Loop() {
		lat := make([]time.Duration, total)
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		for i := range total {
			<-tick.C
			wg.Go(func() {
				start := time.Now()
				dec, err := svc.Check(b.Context(), q)
				lat[i] = time.Since(start)
				if err != nil || !dec.Allowed {
					b.Error(err, dec)
				}
			})
		}
		tick.Stop()
		wg.Wait()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[total/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[total*99/100].Microseconds())/1000, "p99-ms")
	}
}
