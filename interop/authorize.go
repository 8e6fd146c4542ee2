package interop

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Config configures an [Authorizer].
type Config struct {
	// Store is the registry; required.
	Store Store
	// PollInterval is how often the registry's generation is read; a
	// change made on any instance takes effect here within about one
	// interval. Zero means DefaultPollInterval; a negative value starts no
	// goroutine, and the caller calls Maintain itself.
	PollInterval time.Duration
	// MaxStale is how long decisions are still served from the last
	// snapshot when the registry cannot be read: past it, Authorize fails
	// with ErrRegistryStale rather than honour rights that may have been
	// revoked meanwhile. Zero means DefaultMaxStale; a negative value
	// serves the last snapshot for ever.
	MaxStale time.Duration
	// Logger logs reloads and failed polls; nil logs nothing.
	Logger *zap.Logger
	// Now replaces time.Now, for the validity windows of rights and for
	// MaxStale; nil means time.Now.
	Now func() time.Time
}

// Defaults of [Config].
const (
	DefaultPollInterval = time.Second
	DefaultMaxStale     = time.Minute
)

// Decision is what the gateway needs to forward an allowed call. Upstream
// and Items are shared by every decision on the same snapshot: read them,
// never modify them.
type Decision struct {
	Service  ServiceID
	Owner    ClientID
	Upstream *url.URL
	// Items are the codes of the data items the service offers, for the
	// ConsentQuery.
	Items           []string
	ConsentRequired bool
	LegalBasis      string
	Limits          Limits
	// Right is the identifier of the right that allows the call.
	Right string
	// Generation is the registry's generation the decision was made on.
	Generation int64
}

// Authorizer answers the gateway's one question, may this consumer make
// this call, from an in-memory snapshot of the registry: no database read
// on the hot path. A goroutine polls the store's generation every
// PollInterval and reloads the snapshot when it moved, so a grant, a
// revocation or a disabled service takes effect on every instance within
// about one interval, without a restart. Close stops it.
type Authorizer struct {
	store    Store
	log      *zap.Logger
	now      func() time.Time
	interval time.Duration
	maxStale time.Duration

	snap     atomic.Pointer[snapshot]
	stale    atomic.Bool
	reloadMu sync.Mutex
	lastOK   atomic.Int64 // Unix nanoseconds of the last successful poll

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// snapshot is the registry compiled for decisions. An allowed call costs
// one lookup of the (service, consumer) pair; the services map is read
// only to say why a call is refused.
type snapshot struct {
	generation int64
	services   map[ServiceID]*entry
	grants     map[grantKey]*grant
}

type entry struct {
	disabled bool
	decision Decision
}

type grantKey struct {
	service  ServiceID
	consumer ClientID
}

// grant holds the rights of one consumer to one service.
type grant struct {
	e      *entry
	rights []compiledRight
}

type compiledRight struct {
	id       string
	method   string
	pat      pattern
	windowed bool
	r        *Right
}

var errStale = &Error{Kind: ErrRegistryStale, Detail: "the registry could not be read lately; try again shortly"}

// New loads the registry and starts polling it (unless PollInterval is
// negative). It fails when the first load fails.
func New(ctx context.Context, cfg Config) (*Authorizer, error) {
	if cfg.Store == nil {
		return nil, errors.New("interop: the Authorizer needs a Store")
	}
	a := &Authorizer{store: cfg.Store, log: cfg.Logger, now: cfg.Now, interval: cfg.PollInterval,
		maxStale: cfg.MaxStale, done: make(chan struct{})}
	if a.log == nil {
		a.log = zap.NewNop()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.interval == 0 {
		a.interval = DefaultPollInterval
	}
	if a.maxStale == 0 {
		a.maxStale = DefaultMaxStale
	}
	if err := a.reload(ctx); err != nil {
		return nil, err
	}
	if a.interval > 0 {
		a.wg.Add(1)
		go a.poll()
	}
	return a, nil
}

// Authorize decides a call: consumer calls method on path (the escaped
// rest of the REST path, "/" when empty, as [ParsePath] returns it) of
// service. An allowed call returns the service's configuration; a refused
// one a *[Refusal] whose Kind is ErrNotFound (no such service),
// ErrServiceDisabled, or ErrForbidden (no right of the consumer has this
// method, a pattern that matches the path and a validity window that
// holds now). The method is compared as given: a right for GET does not
// allow HEAD.
//
// An allowed decision does not allocate.
func (a *Authorizer) Authorize(_ context.Context, consumer ClientID, service ServiceID, method, path string) (Decision, error) {
	if a.stale.Load() {
		return Decision{}, errStale
	}
	s := a.snap.Load()
	g := s.grants[grantKey{service, consumer}]
	if g == nil || g.e.disabled {
		return Decision{}, s.refuse(consumer, service, method, path)
	}
	var now time.Time
	for i := range g.rights {
		r := &g.rights[i]
		if r.method != method && r.method != AnyMethod || !r.pat.match(path) {
			continue
		}
		if r.windowed {
			if now.IsZero() {
				now = a.now()
			}
			if !r.r.holds(now) {
				continue
			}
		}
		d := g.e.decision
		d.Right = r.id
		return d, nil
	}
	return Decision{}, &Refusal{Kind: ErrForbidden, Consumer: consumer, Service: service, Method: method, Path: path}
}

// refuse says why a call without a grant is refused.
func (s *snapshot) refuse(consumer ClientID, service ServiceID, method, path string) *Refusal {
	kind := ErrForbidden
	switch e := s.services[service]; {
	case e == nil:
		kind = ErrNotFound
	case e.disabled:
		kind = ErrServiceDisabled
	}
	return &Refusal{Kind: kind, Consumer: consumer, Service: service, Method: method, Path: path}
}

// Generation returns the generation of the snapshot decisions are made on.
func (a *Authorizer) Generation() int64 { return a.snap.Load().generation }

// Maintain reads the store's generation and reloads the snapshot when it
// moved. The polling goroutine calls it every PollInterval; a caller that
// set a negative PollInterval calls it itself, and anyone may call it to
// see a change at once.
func (a *Authorizer) Maintain(ctx context.Context) error {
	g, err := a.store.Generation(ctx)
	if err != nil {
		return a.failed(err)
	}
	if g != a.snap.Load().generation {
		if err := a.reload(ctx); err != nil {
			return a.failed(err)
		}
	}
	a.lastOK.Store(a.now().UnixNano())
	a.stale.Store(false)
	return nil
}

// failed suspends decisions when the last good poll is older than
// MaxStale.
func (a *Authorizer) failed(err error) error {
	if a.maxStale > 0 && a.now().UnixNano()-a.lastOK.Load() > int64(a.maxStale) {
		if !a.stale.Swap(true) {
			a.log.Error("registry unreadable for longer than MaxStale; refusing every call", zap.Duration("max_stale", a.maxStale), zap.Error(err))
		}
	}
	return err
}

// Close stops the polling goroutine and waits for it. Authorize keeps
// answering from the last snapshot.
func (a *Authorizer) Close() error {
	a.closeOnce.Do(func() { close(a.done) })
	a.wg.Wait()
	return nil
}

func (a *Authorizer) poll() {
	defer a.wg.Done()
	t := time.NewTicker(a.interval)
	defer t.Stop()
	// A poll under way when Close is called is cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-a.done
		cancel()
	}()
	failing := false
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
		}
		err := a.Maintain(ctx)
		switch {
		case err != nil && !failing:
			a.log.Warn("registry poll failed; deciding on the last snapshot", zap.Int64("generation", a.Generation()), zap.Error(err))
			failing = true
		case err == nil && failing:
			a.log.Info("registry poll works again", zap.Int64("generation", a.Generation()))
			failing = false
		}
	}
}

// reload reads the whole registry and swaps the snapshot; a snapshot
// older than the one in use is dropped.
func (a *Authorizer) reload(ctx context.Context) error {
	a.reloadMu.Lock()
	defer a.reloadMu.Unlock()
	raw, err := a.store.Snapshot(ctx)
	if err != nil {
		return err
	}
	if cur := a.snap.Load(); cur != nil && raw.Generation <= cur.generation {
		return nil
	}
	s, err := compile(raw)
	if err != nil {
		return err
	}
	a.snap.Store(s)
	a.lastOK.Store(a.now().UnixNano())
	a.stale.Store(false)
	a.log.Debug("registry loaded", zap.Int64("generation", s.generation),
		zap.Int("services", len(raw.Services)), zap.Int("rights", len(raw.Rights)))
	return nil
}

func compile(raw Snapshot) (*snapshot, error) {
	s := &snapshot{generation: raw.Generation, services: make(map[ServiceID]*entry, len(raw.Services)),
		grants: make(map[grantKey]*grant, len(raw.Rights))}
	for _, svc := range raw.Services {
		u, err := url.Parse(svc.Upstream)
		if err != nil {
			return nil, fmt.Errorf("interop: stored upstream of %s: %w", svc.ID, err)
		}
		items := make([]string, len(svc.Items))
		for i, it := range svc.Items {
			items[i] = it.Code
		}
		s.services[svc.ID] = &entry{
			disabled: svc.Disabled,
			decision: Decision{Service: svc.ID, Owner: svc.Owner, Upstream: u, Items: items,
				ConsentRequired: svc.ConsentRequired, LegalBasis: svc.LegalBasis, Limits: svc.Limits,
				Generation: raw.Generation},
		}
	}
	for i := range raw.Rights {
		r := &raw.Rights[i]
		e := s.services[r.Service]
		if e == nil || checkPattern(r.Path) != "" {
			// A right that does not compile allows nothing.
			continue
		}
		k := grantKey{r.Service, r.Consumer}
		g := s.grants[k]
		if g == nil {
			g = &grant{e: e}
			s.grants[k] = g
		}
		g.rights = append(g.rights, compiledRight{id: r.ID, method: r.Method,
			pat: compilePattern(r.Path), windowed: !r.NotBefore.IsZero() || !r.NotAfter.IsZero(), r: r})
	}
	return s, nil
}
