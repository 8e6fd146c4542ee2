package exchangelog

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Entry is what the log keeps of one exchange; see verify.Entry, whose
// MarshalLeaf documents the canonical encoding the tree is built over.
type Entry = verify.Entry

// Hash is a SHA-256 value, written in JSON as standard base64.
type Hash = verify.Hash

// Checkpoint is a signed tree head; see verify.Checkpoint.
type Checkpoint = verify.Checkpoint

// Defaults of Config.
const (
	DefaultMaxBatch        = 1024
	DefaultCheckpointEvery = time.Second
	DefaultMaxDelay        = time.Millisecond
)

// Config configures a Log. DB and Signer are required.
type Config struct {
	// DB is the database (SQLite or PostgreSQL, opened by the caller; see
	// package sqldb). Several Logs on one PostgreSQL database, in one
	// process or several, write one log.
	DB *sql.DB
	// Signer signs checkpoints: a *SigningKey (NewSigningKey), or any
	// note.Signer holding an Ed25519 key elsewhere (an HSM). Its name is
	// the log's origin, the first line of every checkpoint; a database
	// holds the log of one origin.
	Signer note.Signer
	// VerifierKey is the signer's public note verifier key, published by
	// the handler and checked against Signer at start. It may be empty
	// when Signer has a VerifierKey() string method, as *SigningKey has.
	VerifierKey string
	// MaxBatch bounds how many appends one transaction commits; zero
	// means DefaultMaxBatch.
	MaxBatch int
	// MaxDelay is how long an append may wait for others to join its
	// batch: when appends come often enough that another is expected
	// within MaxDelay and the batch is small, the writer waits up to
	// MaxDelay from the batch's first entry before it commits, since a
	// commit costs about as much for one entry as for a dozen. At a low
	// rate appends are committed at once. Zero means DefaultMaxDelay; a
	// negative value never waits. A gateway that appends in the background
	// (no caller waiting for the commit) gains from a longer delay, a few
	// milliseconds: fewer, larger commits, at the cost of entries waiting
	// that much longer before they are durable.
	MaxDelay time.Duration
	// CheckpointEvery is how old the newest checkpoint may be before
	// Checkpoint signs one for a tree that has grown; zero means
	// DefaultCheckpointEvery.
	CheckpointEvery time.Duration
	// DBTimeout bounds each database call and each append's transaction;
	// zero means 5 s.
	DBTimeout time.Duration
	// Now replaces time.Now, for tests; nil means time.Now.
	Now func() time.Time
	// Logger logs start, failed commits and checkpoints (sizes and
	// hashes only, never an entry); nil logs nothing.
	Logger *zap.Logger
}

// Log is an append-only, tamper-evident log of exchanges. It is safe for
// concurrent use; Append calls made at once are committed together in one
// transaction by a goroutine the Log starts, so call Close when done.
type Log struct {
	cfg      Config
	db       *sqlstore.DB
	origin   string
	verifier note.Verifier

	// appends go to the writer through queue; mu guards closed against
	// a send racing Close.
	mu      sync.RWMutex
	closed  bool
	queue   chan *appendReq
	stopped chan struct{}
	// checkpoints copies SQLite's write-ahead log back in the background
	// as the writer commits (nil on PostgreSQL).
	checkpoints *sqlstore.Checkpointer

	// frontier caches the hashes of the complete subtrees on the tree's
	// right edge after the last batch this Log committed: all a next
	// append needs when no other instance appended in between. Only the
	// writer goroutine touches it.
	frontier frontier

	// stmts holds the prepared multi-row INSERTs by kind and size
	// (log2 of the rows), closed by Close.
	stmts [insertKinds][sizes]*sql.Stmt
	// readHead and writeHead read (and lock) and write the tree head in
	// an append's transaction; closed by Close.
	readHead, writeHead *sql.Stmt

	// lastCheckpoint caches the newest checkpoint this Log has seen.
	lastCheckpoint atomic.Pointer[storedCheckpoint]

	// batches counts the transactions that committed appends.
	batches atomic.Int64
}

type storedCheckpoint struct {
	cp Checkpoint
	at time.Time
}

// frontier is the set of stored hashes a tree of size leaves needs to
// grow and to compute its root.
type frontier struct {
	size   int64
	hashes map[int64]Hash
}

type appendReq struct {
	leaf  []byte
	hash  Hash
	id    string
	state atomic.Int32 // reqQueued, reqTaken, reqAbandoned
	done  chan appendResult
}

const (
	reqQueued int32 = iota
	reqTaken
	reqAbandoned
)

type appendResult struct {
	index int64
	err   error
}

// open wraps db for this package and migrates its tables.
func open(ctx context.Context, db *sql.DB, timeout time.Duration) (*sqlstore.DB, error) {
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("exchangelog: %w", err)
	}
	if err := sdb.Migrate(ctx, "exchangelog", migrations); err != nil {
		return nil, fmt.Errorf("exchangelog: %w", err)
	}
	return sdb.WithTimeout(timeout), nil
}

// New opens the log in cfg.DB, creating its tables and an empty tree the
// first time, and starts the goroutine that commits appends. It fails
// with ErrOrigin when the database holds the log of another origin.
func New(ctx context.Context, cfg Config) (*Log, error) {
	if cfg.DB == nil || cfg.Signer == nil {
		return nil, errors.New("exchangelog: Config needs DB and Signer")
	}
	if cfg.VerifierKey == "" {
		if k, ok := cfg.Signer.(interface{ VerifierKey() string }); ok {
			cfg.VerifierKey = k.VerifierKey()
		}
	}
	v, err := note.NewVerifier(cfg.VerifierKey)
	if err != nil {
		return nil, fmt.Errorf("exchangelog: Config.VerifierKey: %w", err)
	}
	if err := checkPair(cfg.Signer, v); err != nil {
		return nil, err
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxDelay == 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = DefaultCheckpointEvery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	sdb, err := open(ctx, cfg.DB, cfg.DBTimeout)
	if err != nil {
		return nil, err
	}
	origin := cfg.Signer.Name()
	empty, _ := tlog.TreeHash(0, nil)
	if _, err := sdb.ExecContext(ctx, `INSERT INTO exchangelog_head (id, origin, size, root, updated_at)
		VALUES (1, $1, 0, $2, $3) ON CONFLICT (id) DO NOTHING`, origin, empty[:], cfg.Now().UnixMicro()); err != nil {
		return nil, fmt.Errorf("exchangelog: create head: %w", err)
	}
	var stored string
	var size int64
	if err := sdb.QueryRowContext(ctx, `SELECT origin, size FROM exchangelog_head WHERE id = 1`).Scan(&stored, &size); err != nil {
		return nil, fmt.Errorf("exchangelog: read head: %w", sqlstore.MapError(err))
	}
	if stored != origin {
		return nil, fmt.Errorf("%w: it holds %q, the signer is %q", ErrOrigin, stored, origin)
	}
	l := &Log{
		cfg: cfg, db: sdb, origin: origin, verifier: v,
		queue:    make(chan *appendReq, cfg.MaxBatch),
		stopped:  make(chan struct{}),
		frontier: frontier{size: -1},
	}
	if err := l.prepare(ctx); err != nil {
		return nil, err
	}
	l.checkpoints = sqlstore.NewCheckpointer(sdb, checkpointPages)
	go l.run()
	cfg.Logger.Info("exchange log opened", zap.String("origin", origin), zap.Int64("size", size))
	return l, nil
}

// checkPair makes sure the verifier key is the signer's.
func checkPair(s note.Signer, v note.Verifier) error {
	msg := []byte("egovkit exchange log key check\n")
	sig, err := s.Sign(msg)
	if err != nil {
		return fmt.Errorf("exchangelog: signer: %w", err)
	}
	if s.Name() != v.Name() || s.KeyHash() != v.KeyHash() || !v.Verify(msg, sig) {
		return errors.New("exchangelog: Config.VerifierKey is not the key of Config.Signer")
	}
	return nil
}

// Origin returns the log's name, the first line of its checkpoints.
func (l *Log) Origin() string { return l.origin }

// VerifierKey returns the note verifier key that checks the log's
// checkpoints (verify.OpenCheckpoint).
func (l *Log) VerifierKey() string { return l.cfg.VerifierKey }

// Append adds an entry to the log and returns its index (from 0) once the
// transaction that holds it has committed. Calls made at once are
// committed together: one transaction per batch, whatever the number of
// callers. The entry is normalised (verify.Entry.Normalize) and refused
// with ErrInvalid when it breaks the encoding's limits, and with
// ErrDuplicate when its exchange id is in the log already.
//
// When ctx ends before the entry is taken into a batch, Append returns
// ctx's error and the entry is not logged. Once taken, the batch's
// commit decides, under the log's own deadline (Config.DBTimeout), and
// Append waits for it.
func (l *Log) Append(ctx context.Context, e Entry) (int64, error) {
	leaf, err := e.MarshalLeaf()
	if err != nil {
		return 0, fmt.Errorf("exchangelog: append: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("exchangelog: append: %w", err)
	}
	req := &appendReq{leaf: leaf, hash: verify.LeafHash(leaf), id: e.ExchangeID, done: make(chan appendResult, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return 0, ErrClosed
	}
	select {
	case l.queue <- req:
		l.mu.RUnlock()
	case <-ctx.Done():
		l.mu.RUnlock()
		return 0, fmt.Errorf("exchangelog: append: %w", ctx.Err())
	}
	select {
	case res := <-req.done:
		return res.index, res.err
	case <-ctx.Done():
		if req.state.CompareAndSwap(reqQueued, reqAbandoned) {
			return 0, fmt.Errorf("exchangelog: append: %w", ctx.Err())
		}
		res := <-req.done
		return res.index, res.err
	}
}

// Close stops taking appends, commits those already queued and stops the
// writer goroutine. The database is the caller's, and stays open.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		<-l.stopped
		return nil
	}
	l.closed = true
	close(l.queue)
	l.mu.Unlock()
	<-l.stopped
	l.checkpoints.Close()
	l.closeStatements()
	return nil
}

// checkpointPages is how many pages of SQLite's write-ahead log the
// writer commits between two checkpoints of its own, below the 1,000 at
// which SQLite makes the committing connection checkpoint. A commit
// writes about pagesPerCommit pages whatever its size, and about half a
// page more for each entry (measured on a log of 20,000 entries: 6.6
// pages for a commit of one entry, 18.4 for one of 29).
const (
	checkpointPages = 600
	pagesPerCommit  = 6
)

// amortised is the batch size past which a commit's fixed cost (the
// transaction, the head row's read and write) is a small part of each
// entry's: the writer lingers only for smaller batches.
const amortised = 32

// rateWindow is the shortest time over which the writer measures the
// rate of appends.
const rateWindow = 20 * time.Millisecond

// run is the writer: it takes what is queued, up to MaxBatch, and commits
// it in one transaction.
//
// A commit costs about as much for one entry as for a dozen, so at a
// moderate rate (one append every few hundred microseconds) committing
// each entry as it comes would spend most of the writer's time on
// commits. The writer keeps a fading count of recent appends; when at least one
// more is expected within MaxDelay and the batch is still small, it waits
// up to MaxDelay from the batch's first entry before it takes what has
// come. At a low rate it commits at once, and under a high rate the
// batches grow while the previous commit runs, so no wait is needed.
func (l *Log) run() {
	defer close(l.stopped)
	batch := make([]*appendReq, 0, l.cfg.MaxBatch)
	// rate counts appends with weights that fade as exp(-age/window):
	// rate/window is the recent appends per second, and it falls to
	// nothing in a few windows of quiet.
	window := max(rateWindow, 8*l.cfg.MaxDelay).Seconds()
	var rate float64
	last := time.Now()
	timer := time.NewTimer(0)
	<-timer.C
	for first := range l.queue {
		batch = l.drain(append(batch[:0], first))
		recent := rate * math.Exp(-time.Since(last).Seconds()/window) / window
		if l.cfg.MaxDelay > 0 && len(batch) < min(amortised, l.cfg.MaxBatch) &&
			recent*l.cfg.MaxDelay.Seconds() >= 1 {
			timer.Reset(l.cfg.MaxDelay)
			<-timer.C
			batch = l.drain(batch)
		}
		now := time.Now()
		rate = rate*math.Exp(-now.Sub(last).Seconds()/window) + float64(len(batch))
		last = now
		l.commit(batch)
	}
}

// drain adds to batch what is queued, without waiting, up to MaxBatch.
func (l *Log) drain(batch []*appendReq) []*appendReq {
	for len(batch) < l.cfg.MaxBatch {
		select {
		case r, ok := <-l.queue:
			if !ok {
				return batch
			}
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// commit appends the batch's live requests and answers each.
func (l *Log) commit(batch []*appendReq) {
	live := batch[:0:0]
	for _, r := range batch {
		if r.state.CompareAndSwap(reqQueued, reqTaken) {
			live = append(live, r)
		}
	}
	if len(live) == 0 {
		return
	}
	first, err := l.appendBatch(live)
	l.checkpoints.Wrote(pagesPerCommit + (len(live)+1)/2)
	if err == nil {
		l.batches.Add(1)
		for i, r := range live {
			r.done <- appendResult{index: first + int64(i)}
		}
		return
	}
	if errors.Is(err, sqlstore.ErrConflict) {
		if len(live) > 1 {
			// An exchange id already logged, or given twice in the
			// batch: append one by one, so only the duplicate fails.
			for _, r := range live {
				idx, err := l.appendBatch([]*appendReq{r})
				r.done <- l.result(r, idx, err)
			}
			return
		}
		live[0].done <- l.result(live[0], 0, err)
		return
	}
	l.cfg.Logger.Warn("exchange log append failed", zap.Int("batch", len(live)), zap.Error(err))
	for _, r := range live {
		r.done <- l.result(r, 0, err)
	}
}

// result is the answer to r of an append of r alone. A conflict is a
// duplicate when the exchange id is in the log; any other conflict
// (an index or a stored hash taken) is reported as it is.
func (l *Log) result(r *appendReq, idx int64, err error) appendResult {
	switch {
	case err == nil:
		return appendResult{index: idx}
	case errors.Is(err, sqlstore.ErrConflict) && l.logged(r.id):
		return appendResult{err: fmt.Errorf("exchangelog: append: %w", ErrDuplicate)}
	default:
		return appendResult{err: fmt.Errorf("exchangelog: append: %w", err)}
	}
}

// appendBatch commits the leaves of reqs in one transaction and returns
// the index of the first. The head row is locked first, so that
// instances on one database take turns and each starts from the size the
// previous one left.
func (l *Log) appendBatch(reqs []*appendReq) (int64, error) {
	ctx, cancel := l.db.Bound(context.Background())
	defer cancel()
	var (
		start int64
		next  frontier
	)
	err := l.db.Tx(ctx, func(tx *sql.Tx) error {
		var rootBytes []byte
		if err := tx.StmtContext(ctx, l.readHead).QueryRowContext(ctx).Scan(&start, &rootBytes); err != nil {
			return err
		}
		known := l.frontier
		if known.size != start {
			var err error
			if known, err = loadFrontier(ctx, tx, start); err != nil {
				return err
			}
		}
		hashes := make(map[int64]Hash, len(known.hashes)+2*len(reqs))
		for k, v := range known.hashes {
			hashes[k] = v
		}
		reader := mapReader(hashes)
		hashRows := make([]any, 0, 4*len(reqs)+8)
		leafRows := make([]any, 0, 3*len(reqs))
		for i, r := range reqs {
			n := start + int64(i)
			hs, err := tlog.StoredHashesForRecordHash(n, r.hash, reader)
			if err != nil {
				return err
			}
			base := tlog.StoredHashIndex(0, n)
			for j := range hs {
				// hs[j][:] points into hs, which nothing writes again: no
				// copy of each hash for the statement's arguments.
				hashes[base+int64(j)] = hs[j]
				hashRows = append(hashRows, base+int64(j), hs[j][:])
			}
			leafRows = append(leafRows, n, r.id, r.leaf)
		}
		size := start + int64(len(reqs))
		root, err := tlog.TreeHash(size, reader)
		if err != nil {
			return err
		}
		if err := l.insertRows(ctx, tx, insertLeaves, leafRows); err != nil {
			return err
		}
		if err := l.insertRows(ctx, tx, insertHashes, hashRows); err != nil {
			return err
		}
		if _, err := tx.StmtContext(ctx, l.writeHead).ExecContext(ctx, size, root[:], l.cfg.Now().UnixMicro()); err != nil {
			return err
		}
		next = frontier{size: size, hashes: make(map[int64]Hash, 64)}
		for _, idx := range frontierIndexes(size) {
			next.hashes[idx] = hashes[idx]
		}
		return nil
	})
	if err != nil {
		l.frontier = frontier{size: -1}
		return 0, sqlstore.MapError(err)
	}
	l.frontier = next
	return start, nil
}

// logged reports whether an exchange id is in the log.
func (l *Log) logged(id string) bool {
	var n int64
	err := l.db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM exchangelog_leaves WHERE exchange_id = $1`, id).Scan(&n)
	return err == nil && n > 0
}

// maxRowsPerStatement bounds a multi-row INSERT (768 parameters for the
// leaves), well below both engines' limits.
const maxRowsPerStatement = 256

// The multi-row INSERTs the log runs. Each is prepared at New for every
// power of two of rows up to maxRowsPerStatement, so that a batch of any
// size runs statements parsed once (by database/sql, once per
// connection), and no statement is prepared inside a transaction, which
// would wait for a second connection of the pool.
type insertKind int

const (
	insertLeaves insertKind = iota
	insertHashes
	insertLeafHashes
	insertKinds
)

var inserts = [insertKinds]struct {
	prefix, suffix string
	width          int
}{
	insertLeaves:     {`INSERT INTO exchangelog_leaves (idx, exchange_id, leaf) VALUES `, "", 3},
	insertHashes:     {`INSERT INTO exchangelog_hashes (id, hash) VALUES `, "", 2},
	insertLeafHashes: {`INSERT INTO exchangelog_leaf_hashes (leaf_hash, idx) VALUES `, ` ON CONFLICT (leaf_hash) DO NOTHING`, 2},
}

// sizes is the number of statement sizes: 1, 2, 4 … maxRowsPerStatement.
const sizes = 9

func (l *Log) prepare(ctx context.Context) error {
	d := l.db.Dialect()
	fail := func(err error) error {
		l.closeStatements()
		return fmt.Errorf("exchangelog: prepare: %w", err)
	}
	for k, ins := range inserts {
		for i := range sizes {
			st, err := l.db.PrepareContext(ctx, multiRow(d, ins.prefix, ins.width, 1<<i)+ins.suffix)
			if err != nil {
				return fail(err)
			}
			l.stmts[k][i] = st
		}
	}
	var err error
	if l.readHead, err = l.db.PrepareContext(ctx, `SELECT size, root FROM exchangelog_head WHERE id = 1`+d.ForUpdate()); err != nil {
		return fail(err)
	}
	if l.writeHead, err = l.db.PrepareContext(ctx, `UPDATE exchangelog_head SET size = `+param(d, 1)+
		`, root = `+param(d, 2)+`, updated_at = `+param(d, 3)+` WHERE id = 1`); err != nil {
		return fail(err)
	}
	return nil
}

func (l *Log) closeStatements() {
	for k := range l.stmts {
		for i, st := range l.stmts[k] {
			if st != nil {
				st.Close()
				l.stmts[k][i] = nil
			}
		}
	}
	for _, st := range []**sql.Stmt{&l.readHead, &l.writeHead} {
		if *st != nil {
			(*st).Close()
			*st = nil
		}
	}
}

// insertRows inserts args, inserts[kind].width values a row, in tx.
func (l *Log) insertRows(ctx context.Context, tx *sql.Tx, kind insertKind, args []any) error {
	width := inserts[kind].width
	for len(args) > 0 {
		n := min(len(args)/width, maxRowsPerStatement)
		i := bits.Len(uint(n)) - 1 // the largest power of two not above n
		n = 1 << i
		if _, err := tx.StmtContext(ctx, l.stmts[kind][i]).ExecContext(ctx, args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// multiRow returns prefix followed by n tuples of width parameters.
func multiRow(d sqlstore.Dialect, prefix string, width, n int) string {
	var b strings.Builder
	b.Grow(len(prefix) + n*width*6)
	b.WriteString(prefix)
	p := 1
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range width {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(param(d, p))
			p++
		}
		b.WriteByte(')')
	}
	return b.String()
}

// param is the n-th parameter (from 1) of a statement prepared as it is
// written: SQLite's driver takes them as ?, PostgreSQL's as $n.
func param(d sqlstore.Dialect, n int) string {
	if d == sqlstore.SQLite {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

// frontierIndexes returns the stored hash indexes of the complete
// subtrees that make up a tree of size leaves, left to right: the hashes
// its root is computed from, and all that appending to it reads.
func frontierIndexes(size int64) []int64 {
	var out []int64
	var lo int64
	for level := 62; level >= 0; level-- {
		if size&(1<<level) != 0 {
			out = append(out, tlog.StoredHashIndex(level, lo>>level))
			lo += 1 << level
		}
	}
	return out
}

// loadFrontier reads the right edge of the tree of size leaves.
func loadFrontier(ctx context.Context, q querier, size int64) (frontier, error) {
	idx := frontierIndexes(size)
	hs, err := readHashes(ctx, q, idx)
	if err != nil {
		return frontier{}, err
	}
	f := frontier{size: size, hashes: make(map[int64]Hash, len(idx))}
	for i, x := range idx {
		f.hashes[x] = hs[i]
	}
	return f, nil
}

// mapReader reads hashes from a map; a missing one is an error, never a
// zero hash.
type mapReader map[int64]Hash

func (m mapReader) ReadHashes(idx []int64) ([]Hash, error) {
	out := make([]Hash, len(idx))
	for i, x := range idx {
		h, ok := m[x]
		if !ok {
			return nil, fmt.Errorf("exchangelog: stored hash %d not at hand", x)
		}
		out[i] = h
	}
	return out, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readHashes reads stored hashes by index, in the order asked; a missing
// one is an error.
func readHashes(ctx context.Context, q querier, idx []int64) ([]Hash, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	var b strings.Builder
	b.WriteString(`SELECT id, hash FROM exchangelog_hashes WHERE id IN (`)
	args := make([]any, len(idx))
	for i, x := range idx {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "$%d", i+1)
		args[i] = x
	}
	b.WriteByte(')')
	rows, err := q.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := make(map[int64]Hash, len(idx))
	for rows.Next() {
		var id int64
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		var h Hash
		if len(raw) != len(h) {
			return nil, &TamperError{Index: -1, Detail: fmt.Sprintf("stored hash %d is %d bytes long", id, len(raw))}
		}
		copy(h[:], raw)
		got[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Hash, len(idx))
	for i, x := range idx {
		h, ok := got[x]
		if !ok {
			return nil, &TamperError{Index: -1, Detail: fmt.Sprintf("stored hash %d is missing", x)}
		}
		out[i] = h
	}
	return out, nil
}
