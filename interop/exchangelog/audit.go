package exchangelog

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

// auditChunk is how many leaves Audit reads per query.
const auditChunk = 5000

// Audit recomputes the whole tree from the stored leaves and checks
// everything stored against it: every leaf parses in canonical form and
// its exchange id column matches it, every stored hash is the one the leaves
// imply, the head's root is the root of all leaves, and every stored
// checkpoint is signed by the log's key over the root its size implies.
// It returns nil, or a *TamperError (matching ErrTampered) naming the
// first fault found. It reads the log in chunks, each under the database
// deadline, so it runs on a log of any length; run it from a scheduled
// job, and against a copy of the database for an independent audit.
func (l *Log) Audit(ctx context.Context) error {
	size, root, err := l.head(ctx)
	if err != nil {
		return err
	}
	checkpoints, err := l.checkpointSizes(ctx)
	if err != nil {
		return err
	}
	hashes := mapReader{}
	next := 0 // the next checkpoint to check
	check := func(n int64) error {
		for next < len(checkpoints) && checkpoints[next] == n {
			cp, _, err := l.storedCheckpoint(ctx, n)
			if err != nil {
				return err
			}
			want, err := tlog.TreeHash(n, hashes)
			if err != nil {
				return err
			}
			if cp.Root != want {
				return &TamperError{Index: n, Detail: "the checkpoint's root is not the root of the stored leaves"}
			}
			next++
		}
		return nil
	}
	if err := check(0); err != nil {
		return err
	}
	for lo := int64(0); lo < size; lo += auditChunk {
		hi := min(lo+auditChunk, size)
		leaves, err := l.leafChunk(ctx, lo, hi)
		if err != nil {
			return err
		}
		stored, err := l.hashChunk(ctx, tlog.StoredHashIndex(0, lo), tlog.StoredHashCount(hi))
		if err != nil {
			return err
		}
		for n := lo; n < hi; n++ {
			lf := leaves[n-lo]
			if lf.index != n {
				return &TamperError{Index: n, Detail: "leaf missing"}
			}
			e, err := verify.ParseLeaf(lf.leaf)
			if err != nil {
				return &TamperError{Index: n, Detail: "leaf does not parse: " + err.Error()}
			}
			h := verify.LeafHash(lf.leaf)
			if e.ExchangeID != lf.exchangeID {
				return &TamperError{Index: n, Detail: "the leaf's exchange id column does not match the leaf"}
			}
			hs, err := tlog.StoredHashesForRecordHash(n, h, hashes)
			if err != nil {
				return err
			}
			base := tlog.StoredHashIndex(0, n)
			for j, want := range hs {
				id := base + int64(j)
				got, ok := stored[id]
				if !ok {
					return &TamperError{Index: n, Detail: fmt.Sprintf("stored hash %d missing", id)}
				}
				if got != want {
					return &TamperError{Index: n, Detail: fmt.Sprintf("stored hash %d is not the one the leaves imply", id)}
				}
				hashes[id] = want
			}
			// Keep only the right edge: all that later leaves read.
			keep := map[int64]bool{}
			for _, id := range frontierIndexes(n + 1) {
				keep[id] = true
			}
			for id := range hashes {
				if !keep[id] {
					delete(hashes, id)
				}
			}
			if err := check(n + 1); err != nil {
				return err
			}
		}
		if int64(len(leaves)) != hi-lo {
			return &TamperError{Index: lo + int64(len(leaves)), Detail: "more leaves stored than the head counts"}
		}
	}
	if err := l.countCheck(ctx, size); err != nil {
		return err
	}
	want, err := tlog.TreeHash(size, hashes)
	if err != nil {
		return err
	}
	if want != root {
		return &TamperError{Index: size, Detail: "the head's root is not the root of the stored leaves"}
	}
	if next != len(checkpoints) {
		return &TamperError{Index: checkpoints[next], Detail: "a checkpoint is of a size beyond the stored tree"}
	}
	return nil
}

type storedLeaf struct {
	index      int64
	exchangeID string
	leaf       []byte
}

// leafChunk reads the leaves lo..hi-1, and at most one more so that a
// leaf beyond the head's count is noticed.
func (l *Log) leafChunk(ctx context.Context, lo, hi int64) ([]storedLeaf, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT idx, exchange_id, leaf FROM exchangelog_leaves
		WHERE idx >= $1 AND idx < $2 ORDER BY idx`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("exchangelog: audit: %w", err)
	}
	defer rows.Close()
	out := make([]storedLeaf, 0, hi-lo)
	for rows.Next() {
		var s storedLeaf
		if err := rows.Scan(&s.index, &s.exchangeID, &s.leaf); err != nil {
			return nil, fmt.Errorf("exchangelog: audit: %w", sqlstore.MapError(err))
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("exchangelog: audit: %w", sqlstore.MapError(err))
	}
	for len(out) < int(hi-lo) {
		out = append(out, storedLeaf{index: -1})
	}
	return out, nil
}

// hashChunk reads the stored hashes with indexes lo..hi-1.
func (l *Log) hashChunk(ctx context.Context, lo, hi int64) (map[int64]Hash, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, hash FROM exchangelog_hashes WHERE id >= $1 AND id < $2`, lo, hi)
	if err != nil {
		return nil, fmt.Errorf("exchangelog: audit: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]Hash, hi-lo)
	for rows.Next() {
		var id int64
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, fmt.Errorf("exchangelog: audit: %w", sqlstore.MapError(err))
		}
		var h Hash
		if len(raw) != len(h) {
			return nil, &TamperError{Index: -1, Detail: fmt.Sprintf("stored hash %d is not a hash", id)}
		}
		copy(h[:], raw)
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("exchangelog: audit: %w", sqlstore.MapError(err))
	}
	return out, nil
}

// countCheck makes sure nothing is stored beyond the tree of size leaves.
func (l *Log) countCheck(ctx context.Context, size int64) error {
	var leaves, hashes int64
	if err := l.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM exchangelog_leaves), (SELECT COUNT(*) FROM exchangelog_hashes)`).
		Scan(&leaves, &hashes); err != nil {
		return fmt.Errorf("exchangelog: audit: %w", sqlstore.MapError(err))
	}
	if leaves != size || hashes != tlog.StoredHashCount(size) {
		return &TamperError{Index: -1, Detail: fmt.Sprintf("%d leaves and %d hashes stored for a tree of %d", leaves, hashes, size)}
	}
	return nil
}

// checkpointSizes lists the sizes of the stored checkpoints, ascending.
func (l *Log) checkpointSizes(ctx context.Context) ([]int64, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT size FROM exchangelog_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("exchangelog: audit: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var n int64
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("exchangelog: audit: %w", sqlstore.MapError(err))
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
