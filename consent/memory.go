package consent

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
)

// MemoryStore is a Store in memory, for tests and demonstrations: what it
// holds is lost when the process ends, and instances do not share it.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string]*Record
	log     map[string][]Access // by subject, oldest first
	seq     int64
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[string]*Record{}, log: map[string][]Access{}}
}

var _ Store = (*MemoryStore)(nil)

// clone copies a record deeply enough that callers cannot change what is
// stored.
func clone(r *Record, events bool) *Record {
	c := *r
	c.SealedSubject = slices.Clone(r.SealedSubject)
	c.Items = slices.Clone(r.Items)
	c.Recipients = slices.Clone(r.Recipients)
	if events {
		c.Events = slices.Clone(r.Events)
	} else {
		c.Events = nil
	}
	return &c
}

// Create implements Store.
func (m *MemoryStore) Create(_ context.Context, r *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.records[r.ID]; ok {
		return fmt.Errorf("%w: %s", ErrExists, r.ID)
	}
	m.records[r.ID] = clone(r, true)
	return nil
}

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, id string) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[id]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(r, true), nil
}

// Update implements Store.
func (m *MemoryStore) Update(_ context.Context, ch Change) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[ch.ID]
	if !ok || ch.Subject != "" && r.Subject != ch.Subject {
		return nil, ErrNotFound
	}
	if r.State != ch.From {
		return nil, &StateError{ID: r.ID, State: r.State, Action: ch.Event.Action}
	}
	if ch.To != StateExpired && expiredAt(r.State, r.RequestExpires, r.ValidUntil, ch.At) {
		return nil, &StateError{ID: r.ID, State: StateExpired, Action: ch.Event.Action}
	}
	r.State, r.UpdatedAt = ch.To, ch.At
	if ch.Notice != nil {
		r.Notice = *ch.Notice
	}
	if ch.Evidence != nil {
		r.Evidence = *ch.Evidence
	}
	r.Events = append(r.Events, ch.Event)
	return clone(r, true), nil
}

// List implements Store.
func (m *MemoryStore) List(_ context.Context, subject string) ([]*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Record
	for _, r := range m.records {
		if r.Subject == subject {
			out = append(out, clone(r, true))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Candidates implements Store.
func (m *MemoryStore) Candidates(_ context.Context, q CandidateQuery) ([]*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Record
	for _, r := range m.records {
		if r.Subject == q.Subject && r.Requester.Organisation == q.Organisation &&
			r.Requester.Client == q.Client && r.Source == q.Source {
			out = append(out, clone(r, false))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].UpdatedAt.Equal(out[j].UpdatedAt) {
			return out[i].UpdatedAt.After(out[j].UpdatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// Use implements Store.
func (m *MemoryStore) Use(_ context.Context, u Use) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.records[u.ConsentID]
	if !ok || r.State != StateAuthorised || u.At.Before(r.ValidFrom) || !u.At.Before(r.ValidUntil) ||
		r.MaxUses != Unlimited && r.Uses >= r.MaxUses {
		return false, nil
	}
	r.Uses++
	if r.MaxUses != Unlimited && r.Uses >= r.MaxUses {
		r.State, r.UpdatedAt = StateConsumed, u.At
		r.Events = append(r.Events, Event{At: u.At, Actor: ActorSystem, Action: ActionConsumed, State: StateConsumed})
	}
	m.seq++
	a := u.Access
	a.Seq, a.Subject, a.ConsentID = m.seq, r.Subject, r.ID
	a.Items = slices.Clone(a.Items)
	m.log[r.Subject] = append(m.log[r.Subject], a)
	return true, nil
}

// AccessLog implements Store.
func (m *MemoryStore) AccessLog(_ context.Context, subject string, q LogQuery) (LogPage, error) {
	q, err := q.normalise()
	if err != nil {
		return LogPage{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	all := m.log[subject]
	var page LogPage
	skip := q.Offset
	if q.Before > 0 {
		skip = 0
	}
	for i := len(all) - 1; i >= 0; i-- {
		a := all[i]
		if q.Organisation != "" && a.Requester.Organisation != q.Organisation || q.Before > 0 && a.Seq >= q.Before {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(page.Entries) == q.Limit {
			page.Next = page.Entries[len(page.Entries)-1].Seq
			break
		}
		a.Items = slices.Clone(a.Items)
		page.Entries = append(page.Entries, a)
	}
	return page, nil
}
