package exchangelog_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

// appenders is how many goroutines append at once in the benchmarks: a
// gateway's concurrent exchanges.
const appenders = 64

// BenchmarkAppend measures group-committed appends from 64 goroutines,
// and beside it, on the same engine in the same run, the floor: the same
// rows (leaves and stored hashes) written by bare multi-row INSERTs in one
// transaction, with nothing computed.
func BenchmarkAppend(b *testing.B) {
	engines := map[string]func(testing.TB) *sqltest.DB{"sqlite": sqltest.SQLite, "postgres": sqltest.Postgres}
	for _, name := range []string{"sqlite", "postgres"} {
		open := engines[name]
		// Exchange ids that grow with time (as UUIDv7 or any id with a
		// time prefix), and random ones (UUIDv4), which cost the id's
		// index a page write per entry.
		for _, ids := range []string{"ordered-ids", "random-ids"} {
			b.Run(name+"/log-"+ids, func(b *testing.B) {
				db := open(b)
				l := newLog(b, db.DB.DB, nil)
				var seq, next atomic.Int64
				ctx := context.Background()
				b.SetParallelism(max(1, appenders/runtime.GOMAXPROCS(0)))
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					tag := fmt.Sprint("g", seq.Add(1))
					for i := 0; pb.Next(); i++ {
						e := entry(tag, i)
						if ids == "random-ids" {
							e.ExchangeID = rand.Text()
						} else {
							e.ExchangeID = fmt.Sprintf("x%012d", next.Add(1))
						}
						if _, err := l.Append(ctx, e); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
			})
		}
		for _, ids := range []string{"ordered-ids", "random-ids"} {
			b.Run(name+"/bare-insert-"+ids, func(b *testing.B) {
				db := open(b)
				newLog(b, db.DB.DB, nil) // the same tables
				leaves, hashes := benchRows(b, b.N, ids == "random-ids")
				ctx := context.Background()
				b.ResetTimer()
				start := time.Now()
				tx, err := db.DB.DB.BeginTx(ctx, nil)
				require.NoError(b, err)
				insertBare(b, tx, db.Dialect(), `INSERT INTO exchangelog_leaves (idx, exchange_id, leaf) VALUES `, 3, leaves)
				insertBare(b, tx, db.Dialect(), `INSERT INTO exchangelog_hashes (id, hash) VALUES `, 2, hashes)
				require.NoError(b, tx.Commit())
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
			})
		}
	}
}

// benchRows returns the leaf and stored-hash rows of n entries, as the
// log would write them.
func benchRows(b *testing.B, n int, randomIDs bool) (leaves, hashes []any) {
	stored := memHashes{}
	for i := range n {
		e := entry("bare", i)
		if randomIDs {
			e.ExchangeID = rand.Text()
		}
		leaf, err := e.MarshalLeaf()
		require.NoError(b, err)
		base := tlog.StoredHashIndex(0, int64(i))
		for j, sh := range stored.add(b, int64(i), verify.LeafHash(leaf)) {
			hashes = append(hashes, base+int64(j), sh[:])
		}
		leaves = append(leaves, int64(i), e.ExchangeID, leaf)
	}
	return leaves, hashes
}

// insertBare writes rows with the log's multi-row INSERTs.
func insertBare(b *testing.B, tx *sql.Tx, d sqlstore.Dialect, prefix string, width int, args []any) {
	b.Helper()
	for len(args) > 0 {
		n := min(len(args)/width, exchangelog.MaxRowsPerStatement)
		_, err := tx.ExecContext(context.Background(), exchangelog.MultiRow(d, prefix, width, n), args[:n*width]...)
		require.NoError(b, err)
		args = args[n*width:]
	}
}

// BenchmarkProof measures inclusion and consistency proofs read from a
// log on SQLite, each checked by the verifier, beside the floor of the
// same proofs built by tlog from hashes in memory; with 1,000 entries and
// with 100,000 (the same log, grown), so that the cost's growth shows.
func BenchmarkProof(b *testing.B) {
	db := sqltest.SQLite(b)
	l := newLog(b, db.DB.DB, nil)
	ctx := context.Background()
	appended := 0
	for _, size := range []int{1_000, 100_000} {
		for appended < size {
			k := min(appenders, size-appended)
			errs := make(chan error, k)
			for g := range k {
				go func() { _, err := l.Append(ctx, entry("p", appended+g)); errs <- err }()
			}
			for range k {
				require.NoError(b, <-errs)
			}
			appended += k
		}
		b.Run(fmt.Sprintf("entries=%d", size), func(b *testing.B) { benchmarkProofs(b, db, l) })
	}
}

func benchmarkProofs(b *testing.B, db *sqltest.DB, l *exchangelog.Log) {
	ctx := context.Background()
	n, err := l.Size(ctx)
	require.NoError(b, err)
	cp, err := l.Checkpoint(ctx)
	require.NoError(b, err)
	require.Equal(b, n, cp.Size)
	mem := memHashes{}
	rows, err := db.QueryContext(ctx, `SELECT id, hash FROM exchangelog_hashes`)
	require.NoError(b, err)
	for rows.Next() {
		var id int64
		var raw []byte
		require.NoError(b, rows.Scan(&id, &raw))
		var h verify.Hash
		copy(h[:], raw)
		mem[id] = h
	}
	require.NoError(b, rows.Err())
	rows.Close()
	rng := mrand.New(mrand.NewPCG(1, 2))

	b.Run("inclusion/log", func(b *testing.B) {
		for b.Loop() {
			i := rng.Int64N(n)
			rec, err := l.Entry(ctx, i)
			if err != nil {
				b.Fatal(err)
			}
			p, err := l.InclusionProof(ctx, i, n)
			if err != nil {
				b.Fatal(err)
			}
			if err := verify.Inclusion(n, cp.Root, i, rec.LeafHash, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("inclusion/tlog-in-memory", func(b *testing.B) {
		for b.Loop() {
			i := rng.Int64N(n)
			p, err := tlog.ProveRecord(n, i, mem)
			if err != nil {
				b.Fatal(err)
			}
			if err := verify.Inclusion(n, cp.Root, i, mem[tlog.StoredHashIndex(0, i)], p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("consistency/log", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.ConsistencyProof(ctx, 1+rng.Int64N(n), n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("consistency/tlog-in-memory", func(b *testing.B) {
		for b.Loop() {
			if _, err := tlog.ProveTree(n, 1+rng.Int64N(n), mem); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("checkpoint/open", func(b *testing.B) {
		for b.Loop() {
			if _, err := verify.OpenCheckpoint(cp.Note, l.VerifierKey()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("audit", func(b *testing.B) {
		for b.Loop() {
			if err := l.Audit(ctx); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	})
}
