package exchangelog_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

const origin = "gateway.example.gr/exchange-log"

// testKEK is a fixed key-encryption key for the tests.
var testKEK = []byte("0123456789abcdef0123456789abcdef")

// newLog opens a log on db with the KEK-backed signing key, closed when
// the test ends.
func newLog(t testing.TB, db *sql.DB, clock *testclock.Clock) *exchangelog.Log {
	t.Helper()
	ctx := context.Background()
	key, err := exchangelog.NewSigningKey(ctx, db, testKEK, origin)
	require.NoError(t, err)
	cfg := exchangelog.Config{DB: db, Signer: key}
	if clock != nil {
		cfg.Now = clock.Now
	}
	l, err := exchangelog.New(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// entry returns an exchange's entry numbered i, with tag in its id so
// that several writers' entries differ.
func entry(tag string, i int) exchangelog.Entry {
	req := sha256.Sum256(fmt.Appendf(nil, "request %s %d", tag, i))
	resp := sha256.Sum256(fmt.Appendf(nil, "response %s %d", tag, i))
	return exchangelog.Entry{
		ExchangeID:       fmt.Sprintf("%s-%06d", tag, i),
		Time:             testclock.Start.Add(time.Duration(i) * time.Millisecond),
		Gateway:          "gw-" + tag,
		Consumer:         "EL/GOV/090165560/portal",
		Service:          "EL/GOV/090153025/registry/birth-record",
		Method:           "GET",
		ConsentID:        fmt.Sprintf("c-%d", i%7),
		Subject:          fmt.Sprintf("psn-%x", req[:6]),
		RequestSHA256:    req,
		ResponseSHA256:   resp,
		RequestSize:      int64(i % 300),
		ResponseSize:     int64(1000 + i),
		Status:           200,
		Duration:         1500 * time.Microsecond,
		UpstreamDuration: 900 * time.Microsecond,
	}
}

// checkAll verifies offline, from a checkpoint and the log's public key,
// the inclusion of every leaf in the checkpoint's tree.
func checkAll(t *testing.T, l *exchangelog.Log, cp exchangelog.Checkpoint) {
	t.Helper()
	ctx := context.Background()
	opened, err := verify.OpenCheckpoint(cp.Note, l.VerifierKey())
	require.NoError(t, err)
	for i := int64(0); i < opened.Size; i++ {
		rec, err := l.Entry(ctx, i)
		require.NoError(t, err)
		proof, err := l.InclusionProof(ctx, i, opened.Size)
		require.NoError(t, err)
		e, err := opened.Entry(i, rec.Leaf, proof)
		require.NoError(t, err, "leaf %d", i)
		assert.Equal(t, rec.Entry, e)
	}
}

func TestAppendProveVerify(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		l := newLog(t, db.DB.DB, clock)

		empty, err := l.Checkpoint(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(0), empty.Size)

		// Concurrent appenders: every one gets its own index, and the
		// indexes are 0..n-1 without a gap.
		const writers, each = 8, 25
		got := make(chan int64, writers*each)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					idx, err := l.Append(ctx, entry(fmt.Sprint("w", w), i))
					if !assert.NoError(t, err) {
						return
					}
					got <- idx
				}
			})
		}
		wg.Wait()
		close(got)
		seen := map[int64]bool{}
		for idx := range got {
			assert.False(t, seen[idx], "index %d given twice", idx)
			seen[idx] = true
		}
		require.Len(t, seen, writers*each)
		for i := range int64(writers * each) {
			assert.True(t, seen[i], "index %d missing", i)
		}

		// A checkpoint younger than CheckpointEvery is reused; an older
		// one is replaced once the tree has grown.
		cp1, err := l.Checkpoint(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(0), cp1.Size, "the cached checkpoint is a second old at most")
		clock.Advance(2 * time.Second)
		cp1, err = l.Checkpoint(ctx)
		require.NoError(t, err)
		assert.Equal(t, int64(writers*each), cp1.Size)
		checkAll(t, l, cp1)

		// Lookups by exchange id and by leaf hash find the same record.
		rec, err := l.EntryByExchangeID(ctx, "w3-000007")
		require.NoError(t, err)
		assert.Equal(t, entry("w3", 7).Normalize(), rec.Entry)
		byHash, err := l.EntryByLeafHash(ctx, rec.LeafHash)
		require.NoError(t, err)
		assert.Equal(t, rec, byHash)

		// Grow the log, then prove the old checkpoint's tree is a prefix
		// of the new one's.
		for i := range 37 {
			_, err := l.Append(ctx, entry("late", i))
			require.NoError(t, err)
		}
		clock.Advance(2 * time.Second)
		cp2, err := l.Checkpoint(ctx)
		require.NoError(t, err)
		assert.Equal(t, cp1.Size+37, cp2.Size)
		proof, err := l.ConsistencyProof(ctx, cp1.Size, cp2.Size)
		require.NoError(t, err)
		require.NoError(t, cp2.Extends(cp1, proof))
		require.NoError(t, l.Audit(ctx))

		// Maintain indexes the new leaves' hashes.
		require.NoError(t, l.Maintain(ctx))
		var indexed int64
		require.NoError(t, db.QueryRowContext(ctx, `SELECT indexed FROM exchangelog_leaf_hashes_state`).Scan(&indexed))
		assert.Equal(t, cp2.Size, indexed)
		late, err := l.EntryByExchangeID(ctx, "late-000036")
		require.NoError(t, err)
		found, err := l.EntryByLeafHash(ctx, late.LeafHash)
		require.NoError(t, err)
		assert.Equal(t, late.Index, found.Index)

		// A consistency proof does not fit another pair of trees.
		other, err := l.ConsistencyProof(ctx, cp1.Size-1, cp2.Size)
		require.NoError(t, err)
		assert.ErrorIs(t, cp2.Extends(cp1, other), verify.ErrProof)
	})
}

func TestAppendRefusals(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		l := newLog(t, db.DB.DB, nil)
		_, err := l.Append(ctx, entry("a", 1))
		require.NoError(t, err)
		before := db.Dump(t, `SELECT idx, exchange_id, leaf FROM exchangelog_leaves ORDER BY idx`)

		_, err = l.Append(ctx, entry("a", 1))
		assert.ErrorIs(t, err, exchangelog.ErrDuplicate)
		assert.ErrorIs(t, err, errkind.Conflict)

		for name, change := range map[string]func(*exchangelog.Entry){
			"no id":         func(e *exchangelog.Entry) { e.ExchangeID = "" },
			"id with space": func(e *exchangelog.Entry) { e.ExchangeID = "a b" },
			"no consumer":   func(e *exchangelog.Entry) { e.Consumer = "" },
			"newline":       func(e *exchangelog.Entry) { e.Service = "EL/GOV/1\nstatus 200" },
			"bad utf-8":     func(e *exchangelog.Entry) { e.Subject = "\xff" },
			"status":        func(e *exchangelog.Entry) { e.Status = 1000 },
			"method":        func(e *exchangelog.Entry) { e.Method = "get" },
			"no time":       func(e *exchangelog.Entry) { e.Time = time.Time{} },
			"negative size": func(e *exchangelog.Entry) { e.ResponseSize = -1 },
			"negative time": func(e *exchangelog.Entry) { e.Duration = -time.Second },
		} {
			e := entry("bad", 1)
			change(&e)
			_, err := l.Append(ctx, e)
			assert.ErrorIs(t, err, exchangelog.ErrInvalid, name)
			assert.ErrorIs(t, err, errkind.Invalid, name)
		}

		// A duplicate inside a batch fails alone; the others are logged.
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() {
				e := entry("b", i)
				if i%5 == 0 {
					e = entry("a", 1)
				}
				_, errs[i] = l.Append(ctx, e)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if i%5 == 0 {
				assert.ErrorIs(t, err, exchangelog.ErrDuplicate)
			} else {
				assert.NoError(t, err)
			}
		}
		after := db.Dump(t, `SELECT idx, exchange_id, leaf FROM exchangelog_leaves ORDER BY idx`)
		assert.Equal(t, before, after[:1])
		assert.Len(t, after, 17)
		require.NoError(t, l.Audit(ctx))

		// Out of range and unknown.
		_, err = l.Entry(ctx, 17)
		assert.ErrorIs(t, err, exchangelog.ErrNotFound)
		_, err = l.EntryByExchangeID(ctx, "nobody")
		assert.ErrorIs(t, err, errkind.NotFound)
		_, err = l.InclusionProof(ctx, 17, 17)
		assert.ErrorIs(t, err, exchangelog.ErrRange)
		_, err = l.InclusionProof(ctx, 0, 18)
		assert.ErrorIs(t, err, exchangelog.ErrRange)
		_, err = l.ConsistencyProof(ctx, 0, 17)
		assert.ErrorIs(t, err, exchangelog.ErrRange)
		_, err = l.ConsistencyProof(ctx, 5, 4)
		assert.ErrorIs(t, err, exchangelog.ErrRange)

		// Closed: refused, and Close again is harmless.
		require.NoError(t, l.Close())
		_, err = l.Append(ctx, entry("c", 1))
		assert.ErrorIs(t, err, exchangelog.ErrClosed)
		assert.ErrorIs(t, err, errkind.Unavailable)
		require.NoError(t, l.Close())
	})
}

// TestAppendAbandoned: an append whose context ends before its batch is
// taken is not logged, and says so.
func TestAppendAbandoned(t *testing.T) {
	db := sqltest.SQLite(t)
	l := newLog(t, db.DB.DB, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := l.Append(ctx, entry("gone", 1))
	require.ErrorIs(t, err, context.Canceled)
	_, err = l.Append(t.Context(), entry("kept", 1))
	require.NoError(t, err)
	_, err = l.EntryByExchangeID(t.Context(), "gone-000001")
	assert.ErrorIs(t, err, exchangelog.ErrNotFound)
}

// TestAppendModerateRate: appends that come one at a time but often (a
// gateway's background appends at a few thousand calls a second) share
// commits, each waiting at most MaxDelay for the others; a lone append
// is committed at once.
func TestAppendModerateRate(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	key, err := exchangelog.NewSigningKey(ctx, db.DB.DB, testKEK, origin)
	require.NoError(t, err)
	const maxDelay = 5 * time.Millisecond
	l, err := exchangelog.New(ctx, exchangelog.Config{DB: db.DB.DB, Signer: key, MaxDelay: maxDelay})
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })

	// Quiet: one append, after nothing, waits for no other.
	start := time.Now()
	_, err = l.Append(ctx, entry("lone", 0))
	require.NoError(t, err)
	assert.Less(t, time.Since(start), time.Second)
	require.EqualValues(t, 1, exchangelog.Batches(l))

	// Busy: an append started every 250 µs, none waiting for another.
	const n = 400
	var wg sync.WaitGroup
	indexes := make([]int64, n)
	for i := range n {
		wg.Go(func() {
			idx, err := l.Append(ctx, entry("steady", i))
			assert.NoError(t, err)
			indexes[i] = idx
		})
		time.Sleep(250 * time.Microsecond)
	}
	wg.Wait()
	batches := exchangelog.Batches(l) - 1
	t.Logf("%d appends in %d commits", n, batches)
	assert.LessOrEqual(t, batches, int64(n/2), "appends at a steady rate should share commits")
	seen := map[int64]bool{}
	for _, idx := range indexes {
		assert.False(t, seen[idx], "index %d given twice", idx)
		seen[idx] = true
	}
	size, err := l.Size(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, n+1, size)
}

func TestSigningKey(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		k1, err := exchangelog.NewSigningKey(ctx, db.DB.DB, testKEK, origin)
		require.NoError(t, err)
		k2, err := exchangelog.NewSigningKey(ctx, db.OpenAnother(t), testKEK, origin)
		require.NoError(t, err)
		assert.Equal(t, k1.VerifierKey(), k2.VerifierKey(), "one key per name, whoever opens it")
		assert.Equal(t, origin, k1.Name())

		before := db.Dump(t, `SELECT name, verifier, sealed FROM exchangelog_keys`)
		other := []byte("fedcba9876543210fedcba9876543210")
		_, err = exchangelog.NewSigningKey(ctx, db.DB.DB, other, origin)
		assert.ErrorIs(t, err, exchangelog.ErrWrongKEK)
		assert.ErrorIs(t, err, errkind.Unauthorized)
		assert.Equal(t, before, db.Dump(t, `SELECT name, verifier, sealed FROM exchangelog_keys`))
		for _, row := range before {
			assert.NotContains(t, row, "PRIVATE+KEY", "the private key is stored sealed")
		}
		_, err = exchangelog.NewSigningKey(ctx, db.DB.DB, []byte("short"), origin)
		assert.Error(t, err)

		// A log refuses a verifier key that is not its signer's, and a
		// database that holds another origin's log.
		_, vkey, err := note.GenerateKey(rand.Reader, origin)
		require.NoError(t, err)
		_, err = exchangelog.New(ctx, exchangelog.Config{DB: db.DB.DB, Signer: k1, VerifierKey: vkey})
		assert.Error(t, err)
		l := newLog(t, db.DB.DB, nil)
		require.NoError(t, l.Close())
		otherKey, err := exchangelog.NewSigningKey(ctx, db.DB.DB, testKEK, "another.example/log")
		require.NoError(t, err)
		_, err = exchangelog.New(ctx, exchangelog.Config{DB: db.DB.DB, Signer: otherKey})
		assert.ErrorIs(t, err, exchangelog.ErrOrigin)
	})
}
