package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore"
)

// Authenticator app errors, matched with errors.Is.
var (
	ErrNoAuthenticator   = errkind.New(errkind.NotFound, "auth: no authenticator app is bound to this subject")
	ErrAuthenticatorCode = errkind.New(errkind.Unauthorized, "auth: wrong or already used authenticator code")
)

// TOTPStore binds authenticator apps (TOTP, RFC 6238: SHA-1, six digits,
// 30 seconds, what every app supports) to subjects. Secrets are sealed
// with AES-256-GCM under the store's key. A code is accepted once (a used
// time step cannot be used again, on any instance), one step of clock
// drift either way is allowed, and five wrong codes in a row lock the
// subject for a minute, twice as long after each further failure, at most
// an hour.
type TOTPStore struct {
	db     *sqlstore.DB
	aead   cipher.AEAD
	issuer string
	now    func() time.Time
	log    *zap.Logger
}

// NewTOTPStore opens the store in db. key (32 bytes) seals the secrets;
// issuer names the service in the apps ("gov.gr"). It takes WithLogger
// (bindings and lock-outs are logged, subjects masked), WithClock and
// WithDBTimeout.
func NewTOTPStore(ctx context.Context, db *sql.DB, key []byte, issuer string, opts ...Option) (*TOTPStore, error) {
	if len(key) != 32 || issuer == "" {
		return nil, errors.New("auth: a TOTP store needs a 32-byte key and an issuer name")
	}
	o, err := collect("NewTOTPStore", opts)
	if err != nil {
		return nil, err
	}
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := sdb.Migrate(ctx, "auth", migrations); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &TOTPStore{db: sdb.WithTimeout(o.dbTimeout), aead: aead, issuer: issuer, now: o.now, log: o.log}, nil
}

func (s *TOTPStore) seal(subject string, secret []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, secret, []byte("totp:"+subject)), nil
}

func (s *TOTPStore) open(subject string, enc []byte) ([]byte, error) {
	if len(enc) < s.aead.NonceSize() {
		return nil, errors.New("auth: sealed TOTP secret too short")
	}
	n := s.aead.NonceSize()
	return s.aead.Open(nil, enc[:n], enc[n:], []byte("totp:"+subject))
}

// Enroll starts binding a new authenticator app to subject and returns the
// otpauth:// URI to show as a QR code (account names the person in the
// app). The app counts only once Confirm has seen a code from it; until
// then any earlier app keeps working, and a new Enroll replaces the
// pending one.
func (s *TOTPStore) Enroll(ctx context.Context, subject, account string) (string, error) {
	secret, err := NewTOTPSecret()
	if err != nil {
		return "", err
	}
	enc, err := s.seal(subject+":pending", secret)
	if err != nil {
		return "", err
	}
	_, err = s.db.ExecContext(ctx,
		`INSERT INTO auth_totp (subject, secret_enc, created_at) VALUES ($1, $2, $3)
		 ON CONFLICT (subject) DO UPDATE SET secret_enc = excluded.secret_enc, created_at = excluded.created_at
		 WHERE auth_totp.confirmed_at = 0`,
		subject+":pending", enc, s.now().UnixMicro())
	if err != nil {
		return "", fmt.Errorf("auth: enrol authenticator: %w", err)
	}
	return TOTP{Secret: secret}.URI(s.issuer, account)
}

// Pending returns the otpauth:// URI of the app being enrolled for
// subject, to show its QR code again (after a wrong first code, or a page
// reloaded); ErrNoAuthenticator when no enrolment is pending.
func (s *TOTPStore) Pending(ctx context.Context, subject, account string) (string, error) {
	var enc []byte
	err := s.db.QueryRowContext(ctx, `SELECT secret_enc FROM auth_totp WHERE subject = $1`, subject+":pending").Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNoAuthenticator
	}
	if err != nil {
		return "", fmt.Errorf("auth: pending authenticator: %w", err)
	}
	secret, err := s.open(subject+":pending", enc)
	if err != nil {
		return "", fmt.Errorf("auth: pending authenticator: %w", err)
	}
	return TOTP{Secret: secret}.URI(s.issuer, account)
}

// Confirm checks a first code from the app being enrolled and makes it the
// subject's authenticator, replacing any earlier one.
func (s *TOTPStore) Confirm(ctx context.Context, subject, code string) error {
	var enc []byte
	err := s.db.QueryRowContext(ctx, `SELECT secret_enc FROM auth_totp WHERE subject = $1`, subject+":pending").Scan(&enc)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNoAuthenticator
	}
	if err != nil {
		return fmt.Errorf("auth: confirm authenticator: %w", err)
	}
	secret, err := s.open(subject+":pending", enc)
	if err != nil {
		return fmt.Errorf("auth: confirm authenticator: %w", err)
	}
	step, ok := TOTP{Secret: secret}.Verify(code, s.now(), 1)
	if !ok {
		return ErrAuthenticatorCode
	}
	sealed, err := s.seal(subject, secret)
	if err != nil {
		return err
	}
	now := s.now().UnixMicro()
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM auth_totp WHERE subject = $1`, subject+":pending"); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO auth_totp (subject, secret_enc, confirmed_at, last_step, created_at) VALUES ($1, $2, $3, $4, $3)
			 ON CONFLICT (subject) DO UPDATE SET secret_enc = excluded.secret_enc, confirmed_at = excluded.confirmed_at,
			   last_step = excluded.last_step, failures = 0, locked_until = 0, created_at = excluded.created_at`,
			subject, sealed, now, step)
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: confirm authenticator: %w", err)
	}
	s.log.Info("authenticator app bound", zap.String("sub", subject))
	return nil
}

// Has reports whether subject has a confirmed authenticator app.
func (s *TOTPStore) Has(ctx context.Context, subject string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM auth_totp WHERE subject = $1 AND confirmed_at > 0`, subject).Scan(&n)
	return n > 0, err
}

// Remove unbinds the subject's authenticator app.
func (s *TOTPStore) Remove(ctx context.Context, subject string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM auth_totp WHERE subject = $1 OR subject = $2`, subject, subject+":pending")
	return err
}

// Verify checks a code from the subject's app. It fails with
// ErrNoAuthenticator, ErrAuthenticatorCode (wrong, or a time step already
// used) or, after too many wrong codes, a *RateLimitError of kind
// ErrAuthenticatorLocked.
func (s *TOTPStore) Verify(ctx context.Context, subject, code string) error {
	var out error
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out = nil
		var enc []byte
		var last, locked int64
		var failures int
		err := tx.QueryRowContext(ctx,
			`SELECT secret_enc, last_step, failures, locked_until FROM auth_totp WHERE subject = $1 AND confirmed_at > 0`+s.db.Dialect().ForUpdate(),
			subject).Scan(&enc, &last, &failures, &locked)
		if errors.Is(err, sql.ErrNoRows) {
			out = ErrNoAuthenticator
			return nil
		}
		if err != nil {
			return err
		}
		now := s.now()
		if now.UnixMicro() < locked {
			out = &RateLimitError{Kind: ErrAuthenticatorLocked, RetryAfter: time.UnixMicro(locked).Sub(now)}
			return nil
		}
		secret, err := s.open(subject, enc)
		if err != nil {
			return err
		}
		step, ok := TOTP{Secret: secret}.Verify(code, now, 1)
		if ok && step > last {
			_, err := tx.ExecContext(ctx, `UPDATE auth_totp SET last_step = $1, failures = 0, locked_until = 0 WHERE subject = $2`, step, subject)
			return err
		}
		failures++
		lock := int64(0)
		if failures >= 5 {
			d := time.Minute << min(failures-5, 6)
			lock = now.Add(min(d, time.Hour)).UnixMicro()
		}
		out = ErrAuthenticatorCode
		_, err = tx.ExecContext(ctx, `UPDATE auth_totp SET failures = $1, locked_until = $2 WHERE subject = $3`, failures, lock, subject)
		return err
	})
	if err != nil {
		return fmt.Errorf("auth: verify authenticator: %w", err)
	}
	return out
}
