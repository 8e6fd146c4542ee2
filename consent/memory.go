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
	log     map[string][]logEntry // by subject, oldest first
	// exchanges holds the consents each exchange of a subject counted
	// against.
	exchanges map[[2]string][]string
}

// logEntry is an access with its number among the requester's entries.
type logEntry struct {
	Access
	nr int64
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[string]*Record{}, log: map[string][]logEntry{}, exchanges: map[[2]string][]string{}}
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
func (m *MemoryStore) Use(_ context.Context, u Use) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.repeated(u); ok {
		return id, nil
	}
	var r *Record
	for _, c := range m.records {
		if c.allows(u) && (r == nil || c.ValidUntil.Before(r.ValidUntil) || c.ValidUntil.Equal(r.ValidUntil) && c.ID < r.ID) {
			r = c
		}
	}
	if r == nil {
		return "", nil
	}
	r.Uses++
	if r.MaxUses != Unlimited && r.Uses >= r.MaxUses {
		r.State, r.UpdatedAt = StateConsumed, u.At
		r.Events = append(r.Events, Event{At: u.At, Actor: ActorSystem, Action: ActionConsumed, State: StateConsumed})
	}
	log := m.log[r.Subject]
	e := logEntry{Access: u.Access, nr: 1}
	e.Seq, e.Subject, e.ConsentID = int64(len(log)+1), r.Subject, r.ID
	e.Items = slices.Clone(e.Items)
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].Requester.Organisation == e.Requester.Organisation {
			e.nr = log[i].nr + 1
			break
		}
	}
	m.log[r.Subject] = append(log, e)
	x := [2]string{r.Subject, u.ExchangeID}
	m.exchanges[x] = append(m.exchanges[x], r.ID)
	return r.ID, nil
}

// repeated reports whether u's exchange was counted before against the
// consent u names or, without one, against a consent of the same
// requester and source; and then the consent, while it still allows the
// exchange: not withdrawn, within its window, and (without a consent
// named) for the purpose and the items of u.
func (m *MemoryStore) repeated(u Use) (string, bool) {
	subject := u.Subject
	if r, ok := m.records[u.ConsentID]; ok {
		subject = r.Subject
	}
	found := false
	for _, id := range m.exchanges[[2]string{subject, u.ExchangeID}] {
		r := m.records[id]
		if u.ConsentID != "" && id != u.ConsentID ||
			u.ConsentID == "" && (r.Requester.Organisation != u.Requester.Organisation ||
				r.Requester.Client != u.Requester.Client || r.Source != u.Source) {
			continue
		}
		found = true
		if (r.State == StateAuthorised || r.State == StateConsumed) && !u.At.Before(r.ValidFrom) &&
			u.At.Before(r.ValidUntil) && (u.ConsentID != "" || r.Purpose.Code == u.Purpose && r.Covers(u.Items)) {
			return r.ID, true
		}
	}
	return "", found
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
		e := all[i]
		pos := e.Seq
		if q.Organisation != "" {
			pos = e.nr
		}
		if q.Organisation != "" && e.Requester.Organisation != q.Organisation || q.Before > 0 && pos >= q.Before {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(page.Entries) == q.Limit {
			break
		}
		a := e.Access
		a.Items = slices.Clone(a.Items)
		page.Entries = append(page.Entries, a)
		page.Next = pos
	}
	if len(page.Entries) < q.Limit || page.Next == 1 {
		page.Next = 0
	}
	return page, nil
}
