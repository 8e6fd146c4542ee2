package exchangelog

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

// Record is an entry as stored: its index, the leaf (its canonical
// encoding) and the leaf's hash, computed from the stored leaf.
type Record struct {
	Index    int64  `json:"index"`
	Entry    Entry  `json:"entry"`
	Leaf     []byte `json:"leaf"`
	LeafHash Hash   `json:"leaf_hash"`
}

// Size returns the number of entries in the log.
func (l *Log) Size(ctx context.Context) (int64, error) {
	size, _, err := l.head(ctx)
	return size, err
}

func (l *Log) head(ctx context.Context) (int64, Hash, error) {
	var size int64
	var raw []byte
	if err := l.db.QueryRowContext(ctx, `SELECT size, root FROM exchangelog_head WHERE id = 1`).Scan(&size, &raw); err != nil {
		return 0, Hash{}, fmt.Errorf("exchangelog: read head: %w", sqlstore.MapError(err))
	}
	var root Hash
	if len(raw) != len(root) {
		return 0, Hash{}, &TamperError{Index: -1, Detail: "the head's root is not a hash"}
	}
	copy(root[:], raw)
	return size, root, nil
}

// Entry returns the entry at index. The leaf is parsed as stored, and its
// hash computed from it; a leaf that no longer parses fails with
// ErrTampered.
func (l *Log) Entry(ctx context.Context, index int64) (Record, error) {
	if index < 0 {
		return Record{}, fmt.Errorf("exchangelog: entry %d: %w", index, ErrNotFound)
	}
	return l.record(ctx, `WHERE idx = $1`, index)
}

// EntryByExchangeID returns the entry of an exchange.
func (l *Log) EntryByExchangeID(ctx context.Context, exchangeID string) (Record, error) {
	return l.record(ctx, `WHERE exchange_id = $1`, exchangeID)
}

// EntryByLeafHash returns the entry whose leaf has the hash h. Leaf
// hashes are indexed behind the appends (see Maintain); a lookup that
// misses first indexes the leaves appended since, up to the log's size.
func (l *Log) EntryByLeafHash(ctx context.Context, h Hash) (Record, error) {
	idx, err := l.leafIndex(ctx, h)
	if errors.Is(err, ErrNotFound) {
		if err = l.indexLeafHashes(ctx); err == nil {
			idx, err = l.leafIndex(ctx, h)
		}
	}
	if err != nil {
		return Record{}, err
	}
	rec, err := l.Entry(ctx, idx)
	if err != nil {
		return Record{}, err
	}
	if rec.LeafHash != h {
		return Record{}, &TamperError{Index: idx, Detail: "the leaf hash index names a leaf of another hash"}
	}
	return rec, nil
}

func (l *Log) leafIndex(ctx context.Context, h Hash) (int64, error) {
	var idx int64
	err := l.db.QueryRowContext(ctx, `SELECT idx FROM exchangelog_leaf_hashes WHERE leaf_hash = $1`, h[:]).Scan(&idx)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("exchangelog: entry: %w", ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("exchangelog: entry: %w", sqlstore.MapError(err))
	}
	return idx, nil
}

// leafIndexChunk is how many leaf hashes one transaction indexes.
const leafIndexChunk = 20000

// indexLeafHashes indexes the hashes of the leaves appended since the
// last call, in transactions of leafIndexChunk leaves, each under the
// database deadline. Instances may run it at once: rows are inserted if
// missing and the mark only moves forward.
func (l *Log) indexLeafHashes(ctx context.Context) error {
	size, _, err := l.head(ctx)
	if err != nil {
		return err
	}
	for {
		var from int64
		err := l.db.QueryRowContext(ctx, `SELECT indexed FROM exchangelog_leaf_hashes_state WHERE id = 1`).Scan(&from)
		if errors.Is(err, sql.ErrNoRows) {
			from, err = 0, nil
		}
		if err != nil {
			return fmt.Errorf("exchangelog: index leaf hashes: %w", sqlstore.MapError(err))
		}
		if from >= size {
			return nil
		}
		to := min(size, from+leafIndexChunk)
		hashes, err := l.hashChunk(ctx, tlog.StoredHashIndex(0, from), tlog.StoredHashCount(to))
		if err != nil {
			return err
		}
		rows := make([]any, 0, 2*(to-from))
		for n := from; n < to; n++ {
			h, ok := hashes[tlog.StoredHashIndex(0, n)]
			if !ok {
				return &TamperError{Index: n, Detail: "leaf hash missing"}
			}
			rows = append(rows, h[:], n)
		}
		ctx, cancel := l.db.Bound(ctx)
		err = l.db.Tx(ctx, func(tx *sql.Tx) error {
			if err := l.insertRows(ctx, tx, insertLeafHashes, rows); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO exchangelog_leaf_hashes_state (id, indexed) VALUES (1, $1)
				ON CONFLICT (id) DO UPDATE SET indexed = excluded.indexed
				WHERE exchangelog_leaf_hashes_state.indexed < excluded.indexed`, to)
			return err
		})
		cancel()
		if err != nil {
			return fmt.Errorf("exchangelog: index leaf hashes: %w", sqlstore.MapError(err))
		}
	}
}

// Maintain does the log's periodic work: it indexes the hashes of the
// leaves appended since it last ran (so that EntryByLeafHash finds them
// without doing it), and signs a checkpoint when the newest is older than
// Config.CheckpointEvery. Run it every few seconds to minutes from any
// number of instances; each step is safe to repeat.
func (l *Log) Maintain(ctx context.Context) error {
	if err := l.indexLeafHashes(ctx); err != nil {
		return err
	}
	_, err := l.Checkpoint(ctx)
	return err
}

func (l *Log) record(ctx context.Context, where string, arg any) (Record, error) {
	var r Record
	err := l.db.QueryRowContext(ctx, `SELECT idx, leaf FROM exchangelog_leaves `+where+` ORDER BY idx LIMIT 1`, arg).
		Scan(&r.Index, &r.Leaf)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("exchangelog: entry: %w", ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("exchangelog: entry: %w", sqlstore.MapError(err))
	}
	r.LeafHash = verify.LeafHash(r.Leaf)
	if r.Entry, err = verify.ParseLeaf(r.Leaf); err != nil {
		return Record{}, &TamperError{Index: r.Index, Detail: "stored leaf does not parse: " + err.Error()}
	}
	return r, nil
}

// hashReader reads stored hashes under ctx.
func (l *Log) hashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]Hash, error) { return readHashes(ctx, l.db, idx) })
}

// InclusionProof returns the RFC 6962 audit path that shows leaf index is
// in the tree of size leaves (verify.Inclusion checks it). It fails with
// ErrRange unless 0 <= index < size <= the log's size.
func (l *Log) InclusionProof(ctx context.Context, index, size int64) ([]Hash, error) {
	cur, _, err := l.head(ctx)
	if err != nil {
		return nil, err
	}
	if index < 0 || index >= size || size > cur {
		return nil, fmt.Errorf("exchangelog: inclusion of %d in a tree of %d (the log has %d): %w", index, size, cur, ErrRange)
	}
	p, err := tlog.ProveRecord(size, index, l.hashReader(ctx))
	if err != nil {
		return nil, fmt.Errorf("exchangelog: inclusion proof: %w", sqlstore.MapError(err))
	}
	return append([]Hash{}, p...), nil
}

// ConsistencyProof returns the RFC 6962 proof that the tree of size1
// leaves is a prefix of the tree of size2 (verify.Consistency checks it).
// It fails with ErrRange unless 1 <= size1 <= size2 <= the log's size.
func (l *Log) ConsistencyProof(ctx context.Context, size1, size2 int64) ([]Hash, error) {
	cur, _, err := l.head(ctx)
	if err != nil {
		return nil, err
	}
	if size1 < 1 || size2 < size1 || size2 > cur {
		return nil, fmt.Errorf("exchangelog: consistency from %d to %d (the log has %d): %w", size1, size2, cur, ErrRange)
	}
	p, err := tlog.ProveTree(size2, size1, l.hashReader(ctx))
	if err != nil {
		return nil, fmt.Errorf("exchangelog: consistency proof: %w", sqlstore.MapError(err))
	}
	return append([]Hash{}, p...), nil
}

// Checkpoint returns a signed checkpoint of the log: the newest stored
// one when it is younger than Config.CheckpointEvery or the tree has not
// grown since, and otherwise a new one of the current tree, signed and
// stored. Instances sharing the database store one checkpoint per size.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, error) {
	now := l.cfg.Now()
	if c := l.lastCheckpoint.Load(); c != nil && now.Sub(c.at) < l.cfg.CheckpointEvery && !now.Before(c.at) {
		return c.cp, nil
	}
	size, root, err := l.head(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	cp, at, err := l.storedCheckpoint(ctx, size)
	if errors.Is(err, ErrNotFound) {
		cp, err = l.sign(ctx, size, root)
		at = now
	}
	if err != nil {
		return Checkpoint{}, err
	}
	if cp.Root != root {
		return Checkpoint{}, &TamperError{Index: size, Detail: "the stored checkpoint's root is not the tree's"}
	}
	l.lastCheckpoint.Store(&storedCheckpoint{cp: cp, at: at})
	return cp, nil
}

// CheckpointAt returns the stored checkpoint of the tree of size leaves,
// or ErrNotFound when none was signed at that size.
func (l *Log) CheckpointAt(ctx context.Context, size int64) (Checkpoint, error) {
	cp, _, err := l.storedCheckpoint(ctx, size)
	return cp, err
}

func (l *Log) storedCheckpoint(ctx context.Context, size int64) (Checkpoint, time.Time, error) {
	var text string
	var at int64
	err := l.db.QueryRowContext(ctx, `SELECT note, created_at FROM exchangelog_checkpoints WHERE size = $1`, size).Scan(&text, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{}, time.Time{}, fmt.Errorf("exchangelog: checkpoint of %d: %w", size, ErrNotFound)
	}
	if err != nil {
		return Checkpoint{}, time.Time{}, fmt.Errorf("exchangelog: checkpoint: %w", sqlstore.MapError(err))
	}
	cp, err := verify.OpenCheckpoint([]byte(text), l.cfg.VerifierKey)
	if err != nil {
		return Checkpoint{}, time.Time{}, &TamperError{Index: size, Detail: "stored checkpoint does not verify: " + err.Error()}
	}
	if cp.Size != size {
		return Checkpoint{}, time.Time{}, &TamperError{Index: size, Detail: "stored checkpoint is of another size"}
	}
	return cp, time.UnixMicro(at), nil
}

// sign signs a checkpoint of the tree of size leaves with root, stores it
// and returns the one stored (another instance's, if it stored first:
// Ed25519 signatures are deterministic, so it is the same note).
func (l *Log) sign(ctx context.Context, size int64, root Hash) (Checkpoint, error) {
	signed, err := note.Sign(&note.Note{Text: string(verify.FormatCheckpoint(l.origin, size, root))}, l.cfg.Signer)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("exchangelog: sign checkpoint: %w", err)
	}
	if _, err := l.db.ExecContext(ctx, `INSERT INTO exchangelog_checkpoints (size, root, note, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (size) DO NOTHING`, size, root[:], string(signed), l.cfg.Now().UnixMicro()); err != nil {
		return Checkpoint{}, fmt.Errorf("exchangelog: store checkpoint: %w", err)
	}
	cp, _, err := l.storedCheckpoint(ctx, size)
	if err != nil {
		return Checkpoint{}, err
	}
	if !bytes.Equal(cp.Note, signed) {
		l.cfg.Logger.Warn("exchange log checkpoint stored by another signer", zap.Int64("size", size))
	}
	l.cfg.Logger.Debug("exchange log checkpoint", zap.Int64("size", size), zap.String("root", root.String()))
	return cp, nil
}
