package keys

import (
	"context"
	"crypto"
	"time"
)

// Static is a KeySet of one key held outside the database: any
// crypto.Signer, such as a key in an HSM or a cloud KMS (ECDSA P-256 or
// Ed25519). Rotation is then the key holder's business; previous public
// keys that should still verify can be added with WithPrevious.
type Static struct {
	core
	snap *snapshot
}

// StaticOption configures a Static key set.
type StaticOption func(*staticConfig)

type staticConfig struct {
	now      func() time.Time
	previous []crypto.PublicKey
}

// WithStaticClock replaces time.Now, for tests.
func WithStaticClock(now func() time.Time) StaticOption {
	return func(c *staticConfig) { c.now = now }
}

// WithPrevious publishes further public keys that verify but never sign,
// such as the key a new HSM key replaced.
func WithPrevious(keys ...crypto.PublicKey) StaticOption {
	return func(c *staticConfig) { c.previous = append(c.previous, keys...) }
}

// NewStatic returns a key set that signs with signer. The algorithm follows
// the key: ES256 for P-256, EdDSA for Ed25519.
func NewStatic(signer crypto.Signer, opts ...StaticOption) (*Static, error) {
	cfg := staticConfig{now: time.Now}
	for _, o := range opts {
		o(&cfg)
	}
	var entries []*entry
	for _, pub := range cfg.previous {
		e, err := staticEntry(pub, nil)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	e, err := staticEntry(signer.Public(), signer)
	if err != nil {
		return nil, err
	}
	entries = append(entries, e)
	snap, err := newSnapshot(entries, cfg.now())
	if err != nil {
		return nil, err
	}
	s := &Static{snap: snap}
	s.core = core{
		now:    cfg.now,
		view:   func(context.Context) (*snapshot, error) { return s.snap, nil },
		maxAge: time.Hour,
	}
	return s, nil
}

func staticEntry(pub crypto.PublicKey, signer crypto.Signer) (*entry, error) {
	alg, err := algFor(pub)
	if err != nil {
		return nil, err
	}
	jk, kid, err := publicJWK(pub, alg)
	if err != nil {
		return nil, err
	}
	return &entry{kid: kid, alg: alg, public: pub, publicJWK: jk, signer: signer}, nil
}

var _ KeySet = (*Static)(nil)
