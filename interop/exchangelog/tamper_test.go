package exchangelog_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

// TestTamperDetected changes rows behind the log's back, as someone with
// write access to the database could, and shows that the audit and the
// offline verifier (holding an earlier checkpoint and the log's public
// key) notice each change.
func TestTamperDetected(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		l := newLog(t, db.DB.DB, clock)
		for i := range 20 {
			_, err := l.Append(ctx, entry("t", i))
			require.NoError(t, err)
		}
		cp, err := l.Checkpoint(ctx)
		require.NoError(t, err)
		require.Equal(t, int64(20), cp.Size)
		require.NoError(t, l.Audit(ctx))
		held, err := verify.OpenCheckpoint(cp.Note, l.VerifierKey())
		require.NoError(t, err)

		exec := func(query string, args ...any) {
			t.Helper()
			_, err := db.ExecContext(ctx, query, args...)
			require.NoError(t, err)
		}
		rec7, err := l.Entry(ctx, 7)
		require.NoError(t, err)

		// 1. A leaf rewritten in canonical form: another status, the
		// leaf_hash column left alone.
		forged := rec7.Entry
		forged.Status = 404
		leaf, err := forged.MarshalLeaf()
		require.NoError(t, err)
		exec(`UPDATE exchangelog_leaves SET leaf = $1 WHERE idx = 7`, leaf)
		err = l.Audit(ctx)
		var tamper *exchangelog.TamperError
		require.ErrorAs(t, err, &tamper)
		assert.Equal(t, int64(7), tamper.Index)
		assert.ErrorIs(t, err, exchangelog.ErrTampered)
		assert.ErrorIs(t, err, errkind.Conflict)
		got, err := l.Entry(ctx, 7)
		require.NoError(t, err, "the forged leaf is well formed")
		proof, err := l.InclusionProof(ctx, 7, held.Size)
		require.NoError(t, err)
		_, err = held.Entry(7, got.Leaf, proof)
		assert.ErrorIs(t, err, verify.ErrProof, "the offline verifier refuses the changed entry")

		// 2. The same, with the stored leaf hash rewritten to match: the
		// hashes above it, the head, the stored checkpoint and the held
		// one all disagree.
		h := verify.LeafHash(leaf)
		exec(`UPDATE exchangelog_hashes SET hash = $1 WHERE id = $2`, h[:], storedLeafIndex(7))
		require.ErrorAs(t, l.Audit(ctx), &tamper)
		proof, err = l.InclusionProof(ctx, 7, held.Size)
		require.NoError(t, err)
		_, err = held.Entry(7, got.Leaf, proof)
		assert.ErrorIs(t, err, verify.ErrProof)

		// Put the leaf back; the audit passes again.
		exec(`UPDATE exchangelog_leaves SET leaf = $1 WHERE idx = 7`, rec7.Leaf)
		exec(`UPDATE exchangelog_hashes SET hash = $1 WHERE id = $2`, rec7.LeafHash[:], storedLeafIndex(7))
		require.NoError(t, l.Audit(ctx))

		// 3. A leaf deleted.
		exec(`DELETE FROM exchangelog_leaves WHERE idx = 12`)
		require.ErrorAs(t, l.Audit(ctx), &tamper)
		assert.Equal(t, int64(12), tamper.Index)
		rec12 := entry("t", 12).Normalize()
		leaf12, err := rec12.MarshalLeaf()
		require.NoError(t, err)
		exec(`INSERT INTO exchangelog_leaves (idx, exchange_id, leaf) VALUES (12, $1, $2)`, rec12.ExchangeID, leaf12)
		require.NoError(t, l.Audit(ctx))

		// 4. A stored checkpoint's text changed: its signature fails.
		var note string
		require.NoError(t, db.QueryRowContext(ctx, `SELECT note FROM exchangelog_checkpoints WHERE size = 20`).Scan(&note))
		exec(`UPDATE exchangelog_checkpoints SET note = $1 WHERE size = 20`,
			string(bytes.Replace([]byte(note), []byte("\n20\n"), []byte("\n21\n"), 1)))
		require.ErrorAs(t, l.Audit(ctx), &tamper)
		assert.Equal(t, int64(20), tamper.Index)
		exec(`UPDATE exchangelog_checkpoints SET note = $1 WHERE size = 20`, note)
		require.NoError(t, l.Audit(ctx))

		// 5. The tree rewritten from a leaf on, with a new head, as an
		// insider with the database but not the signing key could: the
		// audit finds the checkpoint signed before does not match, and a
		// consistency proof to the held checkpoint fails.
		newForgery(t, db, 20, 7, leaf)
		require.ErrorAs(t, l.Audit(ctx), &tamper)
		assert.Equal(t, int64(20), tamper.Index, "the checkpoint of 20 no longer matches")
		proof, err = l.InclusionProof(ctx, 7, held.Size)
		require.NoError(t, err, "the forged tree is consistent in itself")
		_, err = held.Entry(7, leaf, proof)
		assert.ErrorIs(t, err, verify.ErrProof, "but not with the checkpoint the auditor holds")

		// Appending to the forged tree and signing anew does not help:
		// the new checkpoint does not extend the held one.
		_, err = l.Append(ctx, entry("after", 1))
		require.NoError(t, err)
		clock.Advance(time.Minute)
		cp2, err := l.Checkpoint(ctx)
		require.NoError(t, err)
		cproof, err := l.ConsistencyProof(ctx, held.Size, cp2.Size)
		require.NoError(t, err)
		assert.ErrorIs(t, cp2.Extends(held, cproof), verify.ErrProof)
	})
}

// storedLeafIndex is tlog's stored hash index of leaf n.
func storedLeafIndex(n int64) int64 { return tlog.StoredHashIndex(0, n) }

// memHashes is a tree's stored hashes in memory, by stored hash index.
type memHashes map[int64]verify.Hash

// ReadHashes makes memHashes a tlog.HashReader.
func (m memHashes) ReadHashes(idx []int64) ([]verify.Hash, error) {
	out := make([]verify.Hash, len(idx))
	for i, x := range idx {
		out[i] = m[x]
	}
	return out, nil
}

// add stores the hashes of leaf n, whose hash is h, and returns them.
func (m memHashes) add(t testing.TB, n int64, h verify.Hash) []verify.Hash {
	hs, err := tlog.StoredHashesForRecordHash(n, h, m)
	require.NoError(t, err)
	for j, sh := range hs {
		m[storedLeafIndex(n)+int64(j)] = sh
	}
	return hs
}

// buildTree returns the stored hashes and root of the tree of leaves.
func buildTree(t *testing.T, leaves [][]byte) (memHashes, verify.Hash) {
	t.Helper()
	hashes := memHashes{}
	for n, leaf := range leaves {
		hashes.add(t, int64(n), verify.LeafHash(leaf))
	}
	root, err := tlog.TreeHash(int64(len(leaves)), hashes)
	require.NoError(t, err)
	return hashes, root
}

// newForgery rebuilds the stored tree of size leaves with leaf number at
// replaced, directly in the database, and updates the head: what an
// insider who cannot sign would do.
func newForgery(t *testing.T, db *sqltest.DB, size, at int64, leaf []byte) {
	t.Helper()
	ctx := t.Context()
	rows, err := db.QueryContext(ctx, `SELECT leaf FROM exchangelog_leaves ORDER BY idx`)
	require.NoError(t, err)
	var leaves [][]byte
	for rows.Next() {
		var b []byte
		require.NoError(t, rows.Scan(&b))
		leaves = append(leaves, b)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.Len(t, leaves, int(size))
	leaves[at] = leaf
	hashes, root := buildTree(t, leaves)
	_, err = db.ExecContext(ctx, `DELETE FROM exchangelog_hashes`)
	require.NoError(t, err)
	for id, h := range hashes {
		_, err := db.ExecContext(ctx, `INSERT INTO exchangelog_hashes (id, hash) VALUES ($1, $2)`, id, h[:])
		require.NoError(t, err)
	}
	_, err = db.ExecContext(ctx, `UPDATE exchangelog_leaves SET leaf = $1 WHERE idx = $2`, leaf, at)
	require.NoError(t, err)
	_, err = db.ExecContext(ctx, `UPDATE exchangelog_head SET root = $1`, root[:])
	require.NoError(t, err)
}
