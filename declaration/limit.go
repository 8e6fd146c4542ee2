package declaration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/problem"
)

// Verification from the public is limited per client address: an address
// that asks for VerifyFailuresPerWindow unknown codes within
// VerifyWindow is refused until the window ends. Known codes do not
// count, so an office checking many real documents is never held up;
// codes are far too long to guess, and the limit keeps anyone from trying.
const (
	VerifyWindow            = 10 * time.Minute
	VerifyFailuresPerWindow = 20
)

// ErrRateLimited means the client address asked for too many unknown
// codes; see RateLimitError.RetryAfter.
var ErrRateLimited = errkind.New(errkind.RateLimited, "declaration: too many unknown codes from this address; try later")

// RateLimitError is ErrRateLimited with the wait.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string { return ErrRateLimited.Error() }

// Is matches ErrRateLimited and its kind, errkind.RateLimited.
func (e *RateLimitError) Is(target error) bool {
	return target == ErrRateLimited || target == errkind.RateLimited
}

// Problem renders the error as a 429 with Retry-After.
func (e *RateLimitError) Problem() *problem.Problem {
	return httpx.RateLimited(int(e.RetryAfter.Seconds()) + 1)
}

// clientKey hashes a client address under the code secret, so the table
// holds no address.
func (s *Service) clientKey(addr string) string {
	m := hmac.New(sha256.New, s.cfg.CodeSecret)
	m.Write([]byte("declaration verify\x00" + addr))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// VerifyFrom is Verify for the public: limited per client address (see
// VerifyWindow), it answers *RateLimitError once an address has asked for
// too many unknown codes.
func (s *Service) VerifyFrom(ctx context.Context, code, clientAddr string) (Verification, error) {
	now := s.now()
	window := now.Truncate(VerifyWindow)
	key := s.clientKey(clientAddr)
	var failures int
	err := s.db.QueryRowContext(ctx, `SELECT failures FROM declaration_verify_failures WHERE client = $1 AND window_start = $2`,
		key, window.UnixMicro()).Scan(&failures)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Verification{}, fmt.Errorf("declaration: verify: %w", err)
	}
	if failures >= VerifyFailuresPerWindow {
		return Verification{}, &RateLimitError{RetryAfter: window.Add(VerifyWindow).Sub(now)}
	}
	v, err := s.Verify(ctx, code)
	if err != nil || v.Status != StatusUnknown {
		return v, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO declaration_verify_failures (client, window_start, failures) VALUES ($1, $2, 1)
		ON CONFLICT (client, window_start) DO UPDATE SET failures = declaration_verify_failures.failures + 1`,
		key, window.UnixMicro()); err != nil {
		return Verification{}, fmt.Errorf("declaration: verify: %w", err)
	}
	return v, nil
}
