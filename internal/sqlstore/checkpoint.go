package sqlstore

import (
	"context"
	"sync"
)

// Checkpointer copies SQLite's write-ahead log into the database file in
// the background, when a writer says it has written enough, so that the
// writer's own commits rarely do it.
//
// Left to SQLite, the commit that takes the log past 1,000 pages copies
// it back (and syncs the file) before it returns, and everything queued
// behind that writer waits for the copy: the slowest commits of a busy
// writer are those. A checkpoint that completes lets the next commit
// start the log again from its beginning, so a writer that asks for one
// every few hundred pages keeps its commits below that mark. The
// checkpoint is PASSIVE: it waits for no reader or writer and copies what
// it can; what it cannot is left to the next one, or to SQLite's.
//
// On PostgreSQL, and for a nil *Checkpointer, Wrote and Close do nothing.
type Checkpointer struct {
	db    *DB
	every int
	mu    sync.Mutex
	n     int
	ask   chan struct{}
	done  chan struct{}
	once  sync.Once
}

// NewCheckpointer returns a checkpointer of db that checkpoints once
// every units of work a writer reports with Wrote; it returns nil on
// PostgreSQL, which needs none. Close stops it.
func NewCheckpointer(db *DB, every int) *Checkpointer {
	if db.Dialect() != SQLite || every <= 0 {
		return nil
	}
	c := &Checkpointer{db: db, every: every, ask: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// Wrote tells the checkpointer that n units of work were committed; once
// they add up to its interval it starts a checkpoint, unless one is
// under way.
func (c *Checkpointer) Wrote(n int) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.n += n
	due := c.n >= c.every
	if due {
		c.n = 0
	}
	c.mu.Unlock()
	if due {
		select {
		case c.ask <- struct{}{}:
		default: // one is under way
		}
	}
}

// Close waits for a checkpoint under way and stops the checkpointer.
// Wrote must not be called after it.
func (c *Checkpointer) Close() {
	if c == nil {
		return
	}
	c.once.Do(func() { close(c.ask) })
	<-c.done
}

func (c *Checkpointer) run() {
	defer close(c.done)
	for range c.ask {
		ctx, cancel := c.db.Bound(context.Background())
		// A failed checkpoint is left to the next one, or to SQLite's.
		_, _ = c.db.DB.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		cancel()
	}
}
