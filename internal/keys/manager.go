package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Defaults, each changeable by an option.
const (
	DefaultPublishLead      = 10 * time.Minute
	DefaultMaxTokenLifetime = 24 * time.Hour
	DefaultRotateEvery      = 30 * 24 * time.Hour
	DefaultRefresh          = time.Minute
)

// Manager keeps a named set of signing keys in the database, private halves
// encrypted at rest, and rotates them with overlap:
//
//   - a new key is published (in the JWKS) as soon as it is created, and
//     signs only from PublishLead later, once verifiers have fetched it;
//   - the key it replaces stops signing then, and stays published for
//     MaxTokenLifetime more, so every token it signed can still be checked;
//   - after that it leaves the JWKS and tokens signed with it fail.
//
// Every instance derives the active key from the same rows with its own
// clock, so instances sharing one PostgreSQL agree on it; creating a key is
// a conditional insert, so instances racing to create or rotate make one.
// Instances reload the set every Refresh interval, at once when an
// activation or retirement falls due, and when a token names a key they do
// not know (at most once a second).
type Manager struct {
	core
	db          *sqlstore.DB
	set         string
	alg         Alg
	sealer      *sealer
	log         *zap.Logger
	publishLead time.Duration
	maxLifetime time.Duration
	rotateEvery time.Duration
	refreshFreq time.Duration

	snap       atomic.Pointer[snapshot]
	mu         sync.Mutex // one reload at a time
	lastForced atomic.Int64
}

// Option configures a Manager.
type Option func(*Manager)

// WithAlgorithm chooses the algorithm of new keys (ES256 by default).
func WithAlgorithm(a Alg) Option { return func(m *Manager) { m.alg = a } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// WithDBTimeout bounds each database call; zero or less keeps the default.
func WithDBTimeout(d time.Duration) Option { return func(m *Manager) { m.db = m.db.WithTimeout(d) } }

// WithLogger logs key creation and rotation.
func WithLogger(l *zap.Logger) Option { return func(m *Manager) { m.log = l } }

// WithPublishLead sets how long a new key is published before it signs
// (default 10 minutes). It must exceed the time verifiers cache the JWKS.
func WithPublishLead(d time.Duration) Option { return func(m *Manager) { m.publishLead = d } }

// WithMaxTokenLifetime sets how long a retired key stays published: the
// longest lifetime of anything signed with the set (default 24 hours).
func WithMaxTokenLifetime(d time.Duration) Option { return func(m *Manager) { m.maxLifetime = d } }

// WithRotateEvery sets the age at which Maintain rotates the active key
// (default 30 days; zero or less turns automatic rotation off).
func WithRotateEvery(d time.Duration) Option { return func(m *Manager) { m.rotateEvery = d } }

// WithRefresh sets how often the set is reloaded from the database (default
// one minute).
func WithRefresh(d time.Duration) Option { return func(m *Manager) { m.refreshFreq = d } }

// New opens the key set named set in db, creating the tables, the set and
// its first key when they do not exist. kek (32 bytes) encrypts the private
// keys; New fails with ErrNoKEK without one and with ErrWrongKEK when the set
// was created under another, changing nothing.
func New(ctx context.Context, db *sql.DB, set string, kek []byte, opts ...Option) (*Manager, error) {
	s, err := newSealer(kek)
	if err != nil {
		return nil, err
	}
	if set == "" {
		return nil, errors.New("keys: empty set name")
	}
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	if err := sdb.Migrate(ctx, "keys", migrations); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	m := &Manager{
		db: sdb, set: set, alg: ES256, sealer: s, log: zap.NewNop(),
		publishLead: DefaultPublishLead, maxLifetime: DefaultMaxTokenLifetime,
		rotateEvery: DefaultRotateEvery, refreshFreq: DefaultRefresh,
	}
	m.core.now = time.Now
	for _, o := range opts {
		o(m)
	}
	if m.alg != ES256 && m.alg != EdDSA {
		return nil, fmt.Errorf("%w: algorithm %s", ErrUnsupportedKey, m.alg)
	}
	m.core.view = m.view
	m.core.refresh = m.forceRefresh
	m.core.maxAge = min(m.publishLead/4, time.Hour)
	if err := m.ensureSet(ctx); err != nil {
		return nil, err
	}
	if _, err := m.reload(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// ensureSet creates the set's KEK check value and first key, or checks the
// KEK against an existing set.
func (m *Manager) ensureSet(ctx context.Context) error {
	check := m.sealer.seal([]byte("egovkit key set"), aad("check", m.set))
	ctx, cancel := m.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO keys_sets (set_name, kek_check, created_at) VALUES ($1, $2, $3) ON CONFLICT (set_name) DO NOTHING`,
			m.set, check, m.now().UnixMicro()); err != nil {
			return err
		}
		var stored []byte
		if err := tx.QueryRowContext(ctx, `SELECT kek_check FROM keys_sets WHERE set_name = $1`, m.set).Scan(&stored); err != nil {
			return err
		}
		if _, err := m.sealer.open(stored, aad("check", m.set)); err != nil {
			return fmt.Errorf("%w (set %q)", ErrWrongKEK, m.set)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM keys_keys WHERE set_name = $1`, m.set).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		// Nothing was ever published for this set, so the first key may
		// sign at once.
		now := m.now()
		return m.insertKey(ctx, tx, 1, now, now)
	})
	if err != nil {
		if errors.Is(err, ErrWrongKEK) {
			return err
		}
		return fmt.Errorf("keys: set %q: %w", m.set, err)
	}
	return nil
}

// insertKey generates a key and stores it as number seq. A conflict on seq
// means another instance created that key first.
func (m *Manager) insertKey(ctx context.Context, tx *sql.Tx, seq int, created, activeFrom time.Time) error {
	signer, err := generate(m.alg)
	if err != nil {
		return err
	}
	pub, kid, err := publicJWK(signer.Public(), m.alg)
	if err != nil {
		return err
	}
	pubJSON, err := json.Marshal(pub)
	if err != nil {
		return err
	}
	der, err := x509.MarshalPKCS8PrivateKey(signer)
	if err != nil {
		return err
	}
	enc := m.sealer.seal(der, aad("key", m.set, kid, string(m.alg)))
	_, err = tx.ExecContext(ctx,
		`INSERT INTO keys_keys (set_name, seq, kid, alg, public_jwk, private_enc, created_at, active_from)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		m.set, seq, kid, string(m.alg), string(pubJSON), enc, created.UnixMicro(), activeFrom.UnixMicro())
	if err != nil {
		return sqlstore.MapError(err)
	}
	m.log.Info("signing key created", zap.String("set", m.set), zap.String("kid", kid),
		zap.String("alg", string(m.alg)), zap.Time("active_from", activeFrom))
	return nil
}

func generate(alg Alg) (crypto.Signer, error) {
	switch alg {
	case EdDSA:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	default:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
}

// Rotate creates the next key, published now and signing from PublishLead
// later. When a key created earlier is still waiting to become active, Rotate
// does nothing, so instances that rotate at the same moment make one key.
func (m *Manager) Rotate(ctx context.Context) error {
	now := m.now()
	ctx, cancel := m.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := m.db.Tx(ctx, func(tx *sql.Tx) error {
		var seq int
		var activeFrom int64
		err := tx.QueryRowContext(ctx,
			`SELECT seq, active_from FROM keys_keys WHERE set_name = $1 ORDER BY seq DESC LIMIT 1`, m.set).Scan(&seq, &activeFrom)
		if err != nil {
			return err
		}
		if activeFrom > now.UnixMicro() {
			return nil // a rotation is already under way
		}
		return m.insertKey(ctx, tx, seq+1, now, now.Add(m.publishLead))
	})
	if errors.Is(err, sqlstore.ErrConflict) {
		err = nil // another instance rotated at the same moment
	}
	if err != nil {
		return fmt.Errorf("keys: rotate %q: %w", m.set, err)
	}
	_, err = m.reload(ctx)
	return err
}

// Maintain rotates the active key once it is older than RotateEvery. Call it
// periodically (say hourly) from any number of instances.
func (m *Manager) Maintain(ctx context.Context) error {
	if m.rotateEvery <= 0 {
		return nil
	}
	s, err := m.reload(ctx)
	if err != nil {
		return err
	}
	now := m.now()
	newest := s.entries[len(s.entries)-1]
	if newest.activeFrom.After(now) || now.Sub(newest.activeFrom) < m.rotateEvery {
		return nil
	}
	return m.Rotate(ctx)
}

// view returns the cached snapshot, reloading it when it is older than the
// refresh interval or an activation or retirement has fallen due.
func (m *Manager) view(ctx context.Context) (*snapshot, error) {
	if s := m.snap.Load(); m.fresh(s) {
		return s, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Callers that waited here find the snapshot the first one loaded.
	if s := m.snap.Load(); m.fresh(s) {
		return s, nil
	}
	return m.reloadLocked(ctx)
}

func (m *Manager) fresh(s *snapshot) bool {
	now := m.now()
	return s != nil && now.Sub(s.loaded) < m.refreshFreq && (s.expires.IsZero() || now.Before(s.expires))
}

// forceRefresh reloads for a token naming an unknown key, at most once a
// second so that forged kids cannot hammer the database.
func (m *Manager) forceRefresh(ctx context.Context) (*snapshot, error) {
	now := m.now().UnixNano()
	last := m.lastForced.Load()
	if now-last < int64(time.Second) || !m.lastForced.CompareAndSwap(last, now) {
		return m.snap.Load(), nil
	}
	return m.reload(ctx)
}

// reload reads every key of the set and builds a new snapshot.
func (m *Manager) reload(ctx context.Context) (*snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloadLocked(ctx)
}

func (m *Manager) reloadLocked(ctx context.Context) (*snapshot, error) {
	rows, err := m.db.QueryContext(ctx,
		`SELECT kid, alg, public_jwk, private_enc, active_from FROM keys_keys WHERE set_name = $1 ORDER BY seq`, m.set)
	if err != nil {
		return nil, fmt.Errorf("keys: load %q: %w", m.set, err)
	}
	defer rows.Close()
	var entries []*entry
	for rows.Next() {
		var (
			kid, alg, pubJSON string
			enc               []byte
			activeFrom        int64
		)
		if err := rows.Scan(&kid, &alg, &pubJSON, &enc, &activeFrom); err != nil {
			return nil, fmt.Errorf("keys: load %q: %w", m.set, err)
		}
		e, err := m.decode(kid, Alg(alg), pubJSON, enc, activeFrom)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys: load %q: %w", m.set, err)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("keys: set %q has no keys", m.set)
	}
	// A key is retired when its successor becomes active, and published
	// until every token it signed has expired.
	for i := 0; i+1 < len(entries); i++ {
		entries[i].publishedUntil = entries[i+1].activeFrom.Add(m.maxLifetime)
	}
	s, err := newSnapshot(entries, m.now())
	if err != nil {
		return nil, fmt.Errorf("keys: load %q: %w", m.set, err)
	}
	m.snap.Store(s)
	return s, nil
}

func (m *Manager) decode(kid string, alg Alg, pubJSON string, enc []byte, activeFrom int64) (*entry, error) {
	der, err := m.sealer.open(enc, aad("key", m.set, kid, string(alg)))
	if err != nil {
		return nil, fmt.Errorf("%w (set %q, key %s)", ErrWrongKEK, m.set, kid)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", kid, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, priv)
	}
	pub, gotKid, err := publicJWK(signer.Public(), alg)
	if err != nil {
		return nil, err
	}
	if gotKid != kid {
		return nil, fmt.Errorf("keys: key %s: stored public key does not match its private key", kid)
	}
	return &entry{
		kid: kid, alg: alg, public: signer.Public(), publicJWK: pub, signer: signer,
		activeFrom: time.UnixMicro(activeFrom),
	}, nil
}

var _ KeySet = (*Manager)(nil)

// CheckKEK checks kek against every key set stored in db and fails with
// ErrWrongKEK, naming the set, when one was created under another key. A
// server calls it at start so that a wrong KEK stops it at once instead of
// when a package first signs. An empty database passes.
func CheckKEK(ctx context.Context, db *sql.DB, kek []byte) error {
	s, err := newSealer(kek)
	if err != nil {
		return err
	}
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if err := sdb.Migrate(ctx, "keys", migrations); err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	rows, err := sdb.QueryContext(ctx, `SELECT set_name, kek_check FROM keys_sets ORDER BY set_name`)
	if err != nil {
		return fmt.Errorf("keys: check KEK: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var check []byte
		if err := rows.Scan(&name, &check); err != nil {
			return fmt.Errorf("keys: check KEK: %w", err)
		}
		if _, err := s.open(check, aad("check", name)); err != nil {
			return fmt.Errorf("%w (set %q)", ErrWrongKEK, name)
		}
	}
	return rows.Err()
}
