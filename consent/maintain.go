package consent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

// DueLister is the optional capability of a Store that Maintain uses: the
// ids of records whose deadline has passed at a time but whose stored
// state does not say so yet (AwaitingAuthorisation at or past
// RequestExpires, Authorised at or past ValidUntil), at most limit of
// them, the earliest deadline first. NewSQLStore and NewMemoryStore have
// it; a Store without it is not maintained, and loses nothing by that,
// since a record past its deadline reads as Expired anyway.
type DueLister interface {
	Due(ctx context.Context, at time.Time, limit int) ([]string, error)
}

// maintainBatch bounds the records one Maintain call writes down.
const maintainBatch = 500

// Maintain writes down the expiries that have come (ExpireDue). Run it
// every few minutes from any number of instances.
func (s *Service) Maintain(ctx context.Context) error {
	_, err := s.ExpireDue(ctx)
	return err
}

// ExpireDue writes down the expiries that have come: a request nobody
// answered in time, and a consent whose window has closed, become Expired
// with an event by the system, at most 500 a call. A record another
// instance expired first, or that changed meanwhile, is skipped. A Check,
// a withdrawal or a page never waits for it, since expiry is read from
// the deadlines (Record.StateAt); it makes the stored state and the
// events tell the same. It returns how many records it expired.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	due, ok := s.store.(DueLister)
	if !ok {
		return 0, nil
	}
	now := s.now()
	ids, err := due.Due(ctx, now, maintainBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		r, err := s.store.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return n, err
		}
		if r.StateAt(now) != StateExpired || r.State == StateExpired {
			continue
		}
		_, err = s.store.Update(ctx, Change{ID: id, From: r.State, To: StateExpired, At: now,
			Event: Event{At: now, Actor: ActorSystem, Action: ActionExpired, State: StateExpired}})
		var se *StateError
		switch {
		case errors.As(err, &se):
			continue // changed meanwhile, by the citizen, a use or another instance
		case err != nil:
			return n, err
		}
		n++
	}
	if n > 0 {
		s.log.Info("consents expired", zap.Int("count", n))
	}
	return n, nil
}

// Due implements DueLister.
func (m *MemoryStore) Due(_ context.Context, at time.Time, limit int) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	type due struct {
		id string
		at time.Time
	}
	var out []due
	for _, r := range m.records {
		switch {
		case r.State == StateAwaitingAuthorisation && !at.Before(r.RequestExpires):
			out = append(out, due{r.ID, r.RequestExpires})
		case r.State == StateAuthorised && !at.Before(r.ValidUntil):
			out = append(out, due{r.ID, r.ValidUntil})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].at.Before(out[j].at) || out[i].at.Equal(out[j].at) && out[i].id < out[j].id
	})
	ids := make([]string, 0, min(limit, len(out)))
	for i := 0; i < len(out) && i < limit; i++ {
		ids = append(ids, out[i].id)
	}
	return ids, nil
}

// Due implements DueLister.
func (s *SQLStore) Due(ctx context.Context, at time.Time, limit int) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM consent_records
		WHERE state = 'AwaitingAuthorisation' AND request_expires <= $1 OR state = 'Authorised' AND valid_until <= $1
		ORDER BY id LIMIT $2`, micro(at), limit)
	if err != nil {
		return nil, fmt.Errorf("consent: due: %w", sqlstore.MapError(err))
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("consent: due: %w", sqlstore.MapError(err))
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consent: due: %w", sqlstore.MapError(err))
	}
	return ids, nil
}
