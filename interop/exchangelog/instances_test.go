package exchangelog_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

// TestInstancesWriteOneLog: two gateways, each with its own pool on one
// database, append at once from many goroutines. The indexes handed out
// are 0..n-1 with no gap and no repeat, every inclusion proof verifies
// against a checkpoint, one instance restarts, both append more, and the
// first checkpoint is proved a prefix of the last.
func TestInstancesWriteOneLog(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		a := newLog(t, db.OpenAnother(t), clock)
		b := newLog(t, db.OpenAnother(t), clock)

		const appenders, each = 8, 40
		var mu sync.Mutex
		owner := map[int64]string{}
		round := func(tag string, logs ...*exchangelog.Log) {
			var wg sync.WaitGroup
			for li, l := range logs {
				for g := range appenders {
					wg.Go(func() {
						name := fmt.Sprintf("%s%d.%d", tag, li, g)
						for i := range each {
							idx, err := l.Append(ctx, entry(name, i))
							if !assert.NoError(t, err) {
								return
							}
							mu.Lock()
							if prev, dup := owner[idx]; dup {
								t.Errorf("index %d given to %s and to %s", idx, prev, name)
							}
							owner[idx] = name
							mu.Unlock()
						}
					})
				}
			}
			wg.Wait()
		}
		round("r1-", a, b)
		n1 := int64(2 * appenders * each)
		require.Len(t, owner, int(n1))
		for i := range n1 {
			require.Contains(t, owner, i, "gap at %d", i)
		}

		clock.Advance(time.Minute)
		cpA, err := a.Checkpoint(ctx)
		require.NoError(t, err)
		cpB, err := b.Checkpoint(ctx)
		require.NoError(t, err)
		assert.Equal(t, n1, cpA.Size)
		assert.Equal(t, cpA.Note, cpB.Note, "both instances sign the same tree head")
		checkAll(t, b, cpA)

		// Restart instance a: close it, open a new one on a fresh pool.
		require.NoError(t, a.Close())
		a = newLog(t, db.OpenAnother(t), clock)
		round("r2-", a, b)
		n2 := n1 + int64(2*appenders*each)
		require.Len(t, owner, int(n2))

		clock.Advance(time.Minute)
		cp2, err := a.Checkpoint(ctx)
		require.NoError(t, err)
		require.Equal(t, n2, cp2.Size)
		checkAll(t, a, cp2)

		// Offline: both checkpoints verify with the published key, and
		// the consistency proof from one to the other.
		old, err := verify.OpenCheckpoint(cpA.Note, b.VerifierKey())
		require.NoError(t, err)
		cur, err := verify.OpenCheckpoint(cp2.Note, b.VerifierKey())
		require.NoError(t, err)
		proof, err := b.ConsistencyProof(ctx, old.Size, cur.Size)
		require.NoError(t, err)
		require.NoError(t, cur.Extends(old, proof))
		require.NoError(t, b.Audit(ctx))
	})
}
