package interop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Store keeps the registry: services and rights, and a generation that
// every change moves, in the same transaction as the change, so that every
// instance of the gateway notices a change with one cheap read. [NewSQLStore]
// keeps it in SQLite or PostgreSQL, [NewMemoryStore] in memory; the
// conformance suite interoptest.RunStoreTests checks any other.
//
// Validation happens in the store: CreateService, UpdateService and
// GrantRight refuse what [Service.Validate] or [Right.Validate] refuse.
type Store interface {
	// CreateService registers s (Revision 1). ErrExists when the
	// identifier is taken.
	CreateService(ctx context.Context, s Service) (Service, error)
	// UpdateService replaces the registration of s.ID, which must be at
	// revision s.Revision (ErrStale otherwise, ErrNotFound when there is
	// none). It returns the service at its next revision; CreatedAt is
	// kept.
	UpdateService(ctx context.Context, s Service) (Service, error)
	// Service returns one service, with its OpenAPI document.
	Service(ctx context.Context, id ServiceID) (Service, error)
	// Services lists every service ordered by identifier, without their
	// OpenAPI documents.
	Services(ctx context.Context) ([]Service, error)
	// GrantRight records r and returns it with its ID and GrantedAt.
	// ErrNotFound when the service does not exist, ErrExists when the
	// consumer has the same right (service, method and path) already.
	GrantRight(ctx context.Context, r Right) (Right, error)
	// RevokeRight deletes a right. ErrNotFound when there is none.
	RevokeRight(ctx context.Context, id string) error
	// Rights lists the rights the filter selects, ordered by service,
	// consumer, method, path.
	Rights(ctx context.Context, f RightFilter) ([]Right, error)
	// Generation returns the registry's generation: it moves with every
	// change, and is the same on every instance sharing the store.
	Generation(ctx context.Context) (int64, error)
	// Snapshot returns every service (without OpenAPI documents) and every
	// right as of one generation, read consistently.
	Snapshot(ctx context.Context) (Snapshot, error)
}

// RightFilter selects rights; zero fields select all.
type RightFilter struct {
	Service  ServiceID
	Consumer ClientID
}

func (f RightFilter) selects(r *Right) bool {
	return (f.Service.IsZero() || f.Service == r.Service) && (f.Consumer.IsZero() || f.Consumer == r.Consumer)
}

// Snapshot is the whole registry at one generation.
type Snapshot struct {
	Generation int64
	Services   []Service
	Rights     []Right
}

// Option configures a store. Each option names the constructors that take
// it; a constructor given another fails with [ErrOption].
type Option struct {
	name  string
	apply func(*options)
}

type options struct {
	log       *zap.Logger
	now       func() time.Time
	dbTimeout time.Duration
}

// WithLogger logs what the store does (identifiers only); nil logs
// nothing. Taken by NewSQLStore.
func WithLogger(l *zap.Logger) Option {
	return Option{"WithLogger", func(o *options) { o.log = l }}
}

// WithClock replaces time.Now for the times the store records; nil keeps
// time.Now. Taken by NewSQLStore and NewMemoryStore.
func WithClock(now func() time.Time) Option {
	return Option{"WithClock", func(o *options) { o.now = now }}
}

// WithDBTimeout bounds each database call; zero means the default of 5 s.
// Taken by NewSQLStore.
func WithDBTimeout(d time.Duration) Option {
	return Option{"WithDBTimeout", func(o *options) { o.dbTimeout = d }}
}

func applyOptions(constructor string, opts []Option, takes ...string) (options, error) {
	o := options{log: zap.NewNop(), now: time.Now}
	for _, opt := range opts {
		if opt.apply == nil {
			continue
		}
		if !slices.Contains(takes, opt.name) {
			return o, fmt.Errorf("%w: %s does not take %s", ErrOption, constructor, opt.name)
		}
		opt.apply(&o)
	}
	if o.log == nil {
		o.log = zap.NewNop()
	}
	if o.now == nil {
		o.now = time.Now
	}
	return o, nil
}

// newRightID returns a random identifier for a right.
func newRightID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "r-" + hex.EncodeToString(b[:])
}

// validRightID reports whether id has the form newRightID makes, so that
// no other string reaches a query.
func validRightID(id string) bool {
	h, ok := strings.CutPrefix(id, "r-")
	if !ok || len(h) != 24 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// MemoryStore keeps the registry in memory: for tests, demonstrations and
// a single instance that loads its registry from code at start. Two
// gateways never share it.
type MemoryStore struct {
	now func() time.Time

	mu         sync.RWMutex
	generation int64
	services   map[ServiceID]Service
	rights     map[string]Right
	byKey      map[rightKey]string // the right's ID by what makes it unique
}

type rightKey struct {
	consumer     ClientID
	service      ServiceID
	method, path string
}

func keyOf(r *Right) rightKey { return rightKey{r.Consumer, r.Service, r.Method, r.Path} }

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty registry in memory. It takes WithClock.
func NewMemoryStore(opts ...Option) (*MemoryStore, error) {
	o, err := applyOptions("NewMemoryStore", opts, "WithClock")
	if err != nil {
		return nil, err
	}
	return &MemoryStore{now: o.now, services: map[ServiceID]Service{}, rights: map[string]Right{},
		byKey: map[rightKey]string{}}, nil
}

func (m *MemoryStore) stamp() time.Time { return m.now().UTC().Truncate(time.Microsecond) }

// CreateService implements [Store].
func (m *MemoryStore) CreateService(_ context.Context, s Service) (Service, error) {
	if err := s.Validate(); err != nil {
		return Service{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.services[s.ID]; ok {
		return Service{}, fail(ErrExists, "service %s is registered already", s.ID)
	}
	s.Revision = 1
	s.CreatedAt = m.stamp()
	s.UpdatedAt = s.CreatedAt
	s = cloneService(s)
	m.services[s.ID] = s
	m.generation++
	return cloneService(s), nil
}

// UpdateService implements [Store].
func (m *MemoryStore) UpdateService(_ context.Context, s Service) (Service, error) {
	if err := s.Validate(); err != nil {
		return Service{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.services[s.ID]
	if !ok {
		return Service{}, fail(ErrNotFound, "no service %s", s.ID)
	}
	if old.Revision != s.Revision {
		return Service{}, fail(ErrStale, "service %s is at revision %d, not %d", s.ID, old.Revision, s.Revision)
	}
	s.Revision++
	s.CreatedAt = old.CreatedAt
	s.UpdatedAt = m.stamp()
	s = cloneService(s)
	m.services[s.ID] = s
	m.generation++
	return cloneService(s), nil
}

// Service implements [Store].
func (m *MemoryStore) Service(_ context.Context, id ServiceID) (Service, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.services[id]
	if !ok {
		return Service{}, fail(ErrNotFound, "no service %s", id)
	}
	return cloneService(s), nil
}

// Services implements [Store].
func (m *MemoryStore) Services(context.Context) ([]Service, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.servicesLocked(), nil
}

func (m *MemoryStore) servicesLocked() []Service {
	out := make([]Service, 0, len(m.services))
	for _, s := range m.services {
		s = cloneService(s)
		s.OpenAPI = nil
		out = append(out, s)
	}
	sortServices(out)
	return out
}

func sortServices(s []Service) {
	slices.SortFunc(s, func(a, b Service) int { return strings.Compare(a.ID.String(), b.ID.String()) })
}

func sortRights(r []Right) { slices.SortFunc(r, compareRights) }

// GrantRight implements [Store].
func (m *MemoryStore) GrantRight(_ context.Context, r Right) (Right, error) {
	if err := r.Validate(); err != nil {
		return Right{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.services[r.Service]; !ok {
		return Right{}, fail(ErrNotFound, "no service %s", r.Service)
	}
	if id, ok := m.byKey[keyOf(&r)]; ok {
		return Right{}, fail(ErrExists, "%s has this right already (%s)", r.Consumer, id)
	}
	r.ID = newRightID()
	r.GrantedAt = m.stamp()
	r.NotBefore, r.NotAfter = truncTime(r.NotBefore), truncTime(r.NotAfter)
	m.rights[r.ID] = r
	m.byKey[keyOf(&r)] = r.ID
	m.generation++
	return r, nil
}

// RevokeRight implements [Store].
func (m *MemoryStore) RevokeRight(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rights[id]
	if !ok {
		return fail(ErrNotFound, "no right %s", id)
	}
	delete(m.byKey, keyOf(&r))
	delete(m.rights, id)
	m.generation++
	return nil
}

// Rights implements [Store].
func (m *MemoryStore) Rights(_ context.Context, f RightFilter) ([]Right, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.rightsLocked(f), nil
}

func (m *MemoryStore) rightsLocked(f RightFilter) []Right {
	out := make([]Right, 0, len(m.rights))
	for _, r := range m.rights {
		if f.selects(&r) {
			out = append(out, r)
		}
	}
	sortRights(out)
	return out
}

// Generation implements [Store].
func (m *MemoryStore) Generation(context.Context) (int64, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.generation, nil
}

// Snapshot implements [Store].
func (m *MemoryStore) Snapshot(context.Context) (Snapshot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return Snapshot{Generation: m.generation, Services: m.servicesLocked(), Rights: m.rightsLocked(RightFilter{})}, nil
}

func compareRights(a, b Right) int {
	if c := strings.Compare(a.Service.String(), b.Service.String()); c != 0 {
		return c
	}
	if c := strings.Compare(a.Consumer.String(), b.Consumer.String()); c != 0 {
		return c
	}
	if c := strings.Compare(a.Method, b.Method); c != 0 {
		return c
	}
	return strings.Compare(a.Path, b.Path)
}

func cloneService(s Service) Service {
	s.OpenAPI = slices.Clone(s.OpenAPI)
	s.Items = slices.Clone(s.Items)
	return s
}

func truncTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}
