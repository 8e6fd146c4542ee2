package consent_test

import (
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// BenchmarkCheck measures Check with the use counted and logged on
// SQLite (a file in WAL mode), and on PostgreSQL when
// EGOVKIT_TEST_POSTGRES_DSN is set, beside two floors on the same kind
// of database in the same run: the floor of any counted use, one bare
// UPDATE … RETURNING in its own transaction, and that statement with the
// insert of one access-log row of the store's shape. Each runs with one
// caller ("serial") and with parallelCallers callers at once
// ("parallel"), the gateway's load; Check runs with uses committed
// together (WithMaxBatch(DefaultMaxBatch), the default on SQLite) and
// with a transaction for each use (WithMaxBatch(1), the default on
// PostgreSQL).
func BenchmarkCheck(b *testing.B) {
	for _, engine := range []struct {
		name string
		open func(testing.TB) *sqltest.DB
	}{{"sqlite", func(t testing.TB) *sqltest.DB { return sqltest.SQLite(t) }}, {"postgres", sqltest.Postgres}} {
		for _, mode := range []struct {
			name string
			run  func(b *testing.B, op func() error)
		}{{"serial", runSerial}, {"parallel", runParallel}} {
			suffix := "/" + engine.name + "/" + mode.name
			b.Run("consent.Check-batched"+suffix, func(b *testing.B) {
				mode.run(b, checkOp(b, engine.open(b), consent.WithMaxBatch(consent.DefaultMaxBatch)))
			})
			b.Run("consent.Check-tx-per-use"+suffix, func(b *testing.B) {
				mode.run(b, checkOp(b, engine.open(b), consent.WithMaxBatch(1)))
			})
			b.Run("baseline-update-returning"+suffix, func(b *testing.B) {
				mode.run(b, floorOp(b, engine.open(b), floorBare))
			})
			b.Run("baseline-update-returning-and-log"+suffix, func(b *testing.B) {
				mode.run(b, floorOp(b, engine.open(b), floorLog))
			})
			b.Run("baseline-update-returning-and-log-no-exchange-index"+suffix, func(b *testing.B) {
				mode.run(b, floorOp(b, engine.open(b), floorLogNoExchange))
			})
		}
	}
}

// parallelCallers is how many callers the parallel benchmarks run at once
// (per GOMAXPROCS, 2 here: 32 goroutines).
const parallelCallers = 16

func runSerial(b *testing.B, op func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := op(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

func runParallel(b *testing.B, op func() error) {
	b.ReportAllocs()
	b.SetParallelism(parallelCallers)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
}

// checkOp returns a check of an unlimited standing consent, each a new
// exchange.
func checkOp(b *testing.B, db *sqltest.DB, opts ...consent.Option) func() error {
	ctx := b.Context()
	clock := testclock.New()
	store, err := consent.NewSQLStore(ctx, db.DB.DB, opts...)
	require.NoError(b, err)
	b.Cleanup(func() { store.Close() })
	svc, err := consent.New(ctx, consent.Config{Store: store, SubjectKey: key, Clock: clock.Now})
	require.NoError(b, err)
	d := draft(clock)
	d.MaxUses = consent.Unlimited
	_, err = svc.Give(ctx, citizen, agency, d, notice)
	require.NoError(b, err)
	var n atomic.Int64
	return func() error {
		q := check()
		q.ExchangeID = "x-" + strconv.FormatInt(n.Add(1), 10)
		dec, err := svc.Check(ctx, q)
		if err == nil && !dec.Allowed {
			err = fmt.Errorf("refused: %s", dec.Reason)
		}
		return err
	}
}

// What a floor writes in its transaction.
type floor int

const (
	floorBare          floor = iota // the counted UPDATE
	floorLog                        // and a row of a log of the store's shape
	floorLogNoExchange              // the same without the index by consent and exchange
)

// floorOp returns a floor: the bare counted UPDATE in a transaction and,
// unless bare, the insert of a row into a log of the store's shape
// (clustered by citizen, one index by requester, one by consent and
// exchange) in the same transaction.
func floorOp(b *testing.B, db *sqltest.DB, f floor) func() error {
	ctx := b.Context()
	clustered := ""
	if db.Name() == "sqlite" {
		clustered = " WITHOUT ROWID"
	}
	schema := []string{
		`CREATE TABLE t (id TEXT PRIMARY KEY, uses INTEGER NOT NULL, lim INTEGER NOT NULL)`,
		`INSERT INTO t (id, uses, lim) VALUES ('c', 0, 0)`,
		`CREATE TABLE l (subject TEXT NOT NULL, n BIGINT NOT NULL, org TEXT NOT NULL, nr BIGINT NOT NULL,
			consent TEXT NOT NULL, exchange TEXT NOT NULL, x TEXT NOT NULL, PRIMARY KEY (subject, n))` + clustered,
		`CREATE UNIQUE INDEX l_org ON l (subject, org, nr)`,
	}
	if f == floorLog {
		schema = append(schema, `CREATE UNIQUE INDEX l_exchange ON l (consent, exchange)`)
	}
	for _, q := range schema {
		_, err := db.ExecContext(ctx, q)
		require.NoError(b, err)
	}
	return func() error {
		return db.Tx(ctx, func(tx *sql.Tx) error {
			var n int64
			if err := tx.QueryRowContext(ctx, `UPDATE t SET uses = uses + 1 WHERE id = $1 AND (lim = 0 OR uses < lim) RETURNING uses`, "c").Scan(&n); err != nil || f == floorBare {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO l (subject, n, org, nr, consent, exchange, x) VALUES ($1, $2, $3, $2, $4, $5, $6)`,
				"s", n, "efka", "c", "x-"+strconv.FormatInt(n, 10), `["marital_status"]`)
			return err
		})
	}
}

// BenchmarkAccessLog pages a citizen's access log on SQLite: the first
// page, a page deep in by keyset (Before) and by offset, and a page of one
// requester; with 1,000 entries and with 100,000, so that the cost's
// growth with the log shows.
func BenchmarkAccessLog(b *testing.B) {
	for _, entries := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", entries), func(b *testing.B) { benchmarkAccessLog(b, entries) })
	}
}

func benchmarkAccessLog(b *testing.B, entries int) {
	db := sqltest.SQLite(b)
	ctx := b.Context()
	clock := testclock.New()
	store, err := consent.NewSQLStore(ctx, db.DB.DB)
	require.NoError(b, err)
	b.Cleanup(func() { store.Close() })
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
// would, each a new exchange, and reports the median and the 99th
// percentile of their latency on SQLite: with uses committed together
// (the default), with a transaction for each use, and, as the floor
// under the same load, the bare counted UPDATE in its own transaction.
// It does the same work whatever b.N is.
func BenchmarkCheckLatency(b *testing.B) {
	b.Run("consent.Check-batched/sqlite", func(b *testing.B) {
		steady(b, checkOp(b, sqltest.SQLite(b)))
	})
	b.Run("consent.Check-tx-per-use/sqlite", func(b *testing.B) {
		steady(b, checkOp(b, sqltest.SQLite(b), consent.WithMaxBatch(1)))
	})
	b.Run("baseline-update-returning/sqlite", func(b *testing.B) {
		steady(b, floorOp(b, sqltest.SQLite(b), floorBare))
	})
}

func steady(b *testing.B, op func() error) {
	const rate, total = 1000, 2000
	for b.Loop() {
		lat := make([]time.Duration, total)
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		for i := range total {
			<-tick.C
			wg.Go(func() {
				start := time.Now()
				err := op()
				lat[i] = time.Since(start)
				if err != nil {
					b.Error(err)
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
