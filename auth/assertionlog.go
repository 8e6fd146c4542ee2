package auth

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Assertion ids are recorded in groups. Every private_key_jwt request
// writes one row, and on SQLite one writer at a time holds the file: when
// each request committed its own insert, parallel requests queued at the
// write lock (a writer that finds it taken sleeps a millisecond or more)
// and the token endpoint ran no faster on two cores than on one. Instead,
// the first request to arrive leads: it takes every id waiting (up to
// maxAssertionBatch) and inserts them in one statement, which commits
// once; the requests that came meanwhile form the next group. A lone
// request is a group of one. The insert is still the single-use check,
// across instances: an id already stored is not inserted again, and its
// request is refused.

// maxAssertionBatch bounds how many ids one statement inserts.
const maxAssertionBatch = 64

type assertionReq struct {
	clientID, jti string
	exp           time.Time
	done          chan assertionResult
}

type assertionResult struct {
	fresh bool // recorded now: the assertion was never used before
	err   error
}

type assertionLog struct {
	mu      sync.Mutex
	queue   []*assertionReq
	leading bool
}

// recordAssertion stores an assertion's id and reports whether it was
// new. Once queued, the id is recorded whatever becomes of ctx.
func (r *ClientRegistry) recordAssertion(ctx context.Context, clientID, jti string, exp time.Time) (bool, error) {
	req := &assertionReq{clientID: clientID, jti: jti, exp: exp, done: make(chan assertionResult, 1)}
	l := &r.assertions
	l.mu.Lock()
	l.queue = append(l.queue, req)
	if l.leading {
		l.mu.Unlock()
		select {
		case res := <-req.done:
			return res.fresh, res.err
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	l.leading = true
	for len(l.queue) > 0 {
		n := min(len(l.queue), maxAssertionBatch)
		batch := l.queue[:n:n]
		l.queue = l.queue[n:]
		l.mu.Unlock()
		// The group carries other requests' ids: it must not end when
		// this request does.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.db.Timeout())
		r.insertAssertions(bctx, batch)
		cancel()
		l.mu.Lock()
	}
	l.leading = false
	l.mu.Unlock()
	res := <-req.done
	return res.fresh, res.err
}

// insertAssertions inserts the ids of a group in one statement and
// answers every request of it.
func (r *ClientRegistry) insertAssertions(ctx context.Context, batch []*assertionReq) {
	type key struct{ client, jti string }
	first := make(map[key]*assertionReq, len(batch))
	var rows []string
	args := make([]any, 0, 1+3*len(batch))
	args = append(args, r.realm)
	for _, q := range batch {
		k := key{q.clientID, q.jti}
		if first[k] != nil {
			continue // the same id twice in one group: the second is a replay
		}
		first[k] = q
		n := len(args)
		rows = append(rows, fmt.Sprintf("($1, $%d, $%d, $%d)", n+1, n+2, n+3))
		args = append(args, q.clientID, q.jti, q.exp.UnixMicro())
	}
	stored := make(map[*assertionReq]bool, len(batch))
	err := func() error {
		if len(rows) == 1 { // the statement prepared once
			q := batch[0]
			res, err := r.db.ExecStmt(ctx, r.assertionStmt, r.realm, q.clientID, q.jti, q.exp.UnixMicro())
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			stored[q] = n == 1
			return err
		}
		return r.db.WriteRows(ctx, `INSERT INTO auth_client_assertions (realm, client_id, jti, expires_at) VALUES `+
			strings.Join(rows, ", ")+` ON CONFLICT (realm, client_id, jti) DO NOTHING RETURNING client_id, jti`, args,
			func(res *sql.Rows) error {
				var k key
				if err := res.Scan(&k.client, &k.jti); err != nil {
					return err
				}
				stored[first[k]] = true
				return nil
			})
	}()
	for _, q := range batch {
		if err != nil {
			q.done <- assertionResult{err: fmt.Errorf("auth: record client assertion: %w", err)}
			continue
		}
		q.done <- assertionResult{fresh: stored[q] && first[key{q.clientID, q.jti}] == q}
	}
}
