package exchangelog

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"

	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"

	"github.com/egovkit/egovkit/internal/sqlstore"
)

// SigningKey is the log's Ed25519 note key, kept in the database with its
// private half sealed under a key-encryption key. It signs checkpoints
// (it is a note.Signer) and publishes its verifier key.
type SigningKey struct {
	note.Signer
	verifier string
}

// VerifierKey returns the public note verifier key,
// "<name>+<hash>+<key>", that verify.OpenCheckpoint takes. Publish it where
// auditors find it independently of the log (a web page, a registry).
func (k *SigningKey) VerifierKey() string { return k.verifier }

// NewSigningKey opens the note key called name in db, creating it the
// first time: an Ed25519 key whose private half is stored sealed with
// AES-256-GCM under kek (32 bytes, kept outside the database, such as the
// service's key-encryption key of package kek). Instances that start at
// once against one database agree on one key. The name is the log's
// origin, such as "gateway.example.gr/exchange-log"; it may not contain
// spaces or '+'.
//
// It fails with ErrWrongKEK, changing nothing, when the stored key was
// sealed under another key-encryption key. It takes WithLogger, WithClock
// and WithDBTimeout.
func NewSigningKey(ctx context.Context, db *sql.DB, kek []byte, name string, opts ...Option) (*SigningKey, error) {
	o := collect(opts)
	aead, err := newAEAD(kek)
	if err != nil {
		return nil, err
	}
	sdb, err := open(ctx, db, o.dbTimeout)
	if err != nil {
		return nil, err
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, fmt.Errorf("exchangelog: signing key %q: %w", name, err)
	}
	sealed := seal(aead, []byte(skey), keyAAD(name, vkey))
	res, err := sdb.ExecContext(ctx, `INSERT INTO exchangelog_keys (name, verifier, sealed, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING`, name, vkey, sealed, o.now().UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("exchangelog: signing key %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		o.log.Info("exchange log signing key created", zap.String("name", name), zap.String("verifier_key", vkey))
	}
	if err := sdb.QueryRowContext(ctx, `SELECT verifier, sealed FROM exchangelog_keys WHERE name = $1`, name).
		Scan(&vkey, &sealed); err != nil {
		return nil, fmt.Errorf("exchangelog: signing key %q: %w", name, sqlstore.MapError(err))
	}
	plain, err := unseal(aead, sealed, keyAAD(name, vkey))
	if err != nil {
		return nil, fmt.Errorf("%w (key %q)", ErrWrongKEK, name)
	}
	signer, err := note.NewSigner(string(plain))
	if err != nil {
		return nil, fmt.Errorf("exchangelog: signing key %q: %w", name, err)
	}
	return &SigningKey{Signer: signer, verifier: vkey}, nil
}

// keyAAD binds a sealed key to its row: it cannot be moved to another
// name or paired with another public key.
func keyAAD(name, verifier string) []byte {
	return []byte("egovkit/exchangelog/note-key/v1\x00" + name + "\x00" + verifier)
}

func newAEAD(kek []byte) (cipher.AEAD, error) {
	if len(kek) != 32 {
		return nil, errors.New("exchangelog: the key-encryption key must be 32 bytes")
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func seal(aead cipher.AEAD, plain, aad []byte) []byte {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand does not fail on supported platforms
	return aead.Seal(nonce, nonce, plain, aad)
}

func unseal(aead cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	n := aead.NonceSize()
	if len(sealed) < n+aead.Overhead() {
		return nil, ErrWrongKEK
	}
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}
