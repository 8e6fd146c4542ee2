package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/sqlstore"
)

// CodeLifetime is how long an authorization code can be redeemed.
const CodeLifetime = 60 * time.Second

// Authorization code errors, matched with errors.Is.
var (
	// ErrInvalidGrant covers every refused redemption (unknown, expired,
	// other client, other redirect URI, wrong PKCE verifier); the token
	// endpoint answers invalid_grant.
	ErrInvalidGrant = errkind.New(errkind.Unauthorized, "auth: invalid authorization code")
	// ErrCodeReused means the code was redeemed before: the tokens issued
	// from it must be revoked (RFC 9700 section 4.5.3).
	ErrCodeReused = errkind.New(errkind.Unauthorized, "auth: authorization code used twice")
)

// Grant is what a person's sign-in produced, waiting to be exchanged for
// tokens with an authorization code.
type Grant struct {
	ClientID      string    `json:"client_id"`
	RedirectURI   string    `json:"redirect_uri"`
	Subject       string    `json:"sub"`
	Scopes        []string  `json:"scope"`
	Nonce         string    `json:"nonce,omitempty"`
	ACR           string    `json:"acr"`
	AMR           []string  `json:"amr"`
	AuthTime      time.Time `json:"auth_time"`
	CodeChallenge string    `json:"code_challenge"`
	// SessionID is the provider session the sign-in belongs to, put in
	// the ID token as "sid" for logout.
	SessionID string `json:"sid,omitempty"`
}

// IssuedToken is a token issued from a code, remembered so a replayed code
// can revoke it.
type IssuedToken struct {
	JTI       string    `json:"jti"`
	ExpiresAt time.Time `json:"exp"`
}

// ReusedCodeError is ErrCodeReused with the tokens to revoke: the access
// tokens issued from the code and, when one was, the refresh token family
// started with them (every refresh token rotated from the first).
type ReusedCodeError struct {
	ClientID string
	Tokens   []IssuedToken
	Family   string
}

func (e *ReusedCodeError) Error() string { return ErrCodeReused.Error() }

// Is makes errors.Is(err, ErrCodeReused) hold.
func (e *ReusedCodeError) Is(target error) bool {
	return target == ErrCodeReused || target == errkind.Unauthorized
}

// CodeStore keeps a realm's authorization codes. Redemption is atomic
// across instances sharing a database: a code redeemed on two at once gives
// tokens once.
type CodeStore struct {
	db    *sqlstore.DB
	realm string
	now   func() time.Time

	// The statements every sign-in runs, prepared once: on SQLite,
	// parsing the SQL cost as much as running it.
	insertStmt, redeemStmt, markRedeemedStmt, markReplayedStmt, recordStmt, replayedStmt *sql.Stmt
}

// NewCodeStore opens the realm's authorization codes and refresh tokens in
// db. It takes WithClock and WithDBTimeout, and WithLogger, though it logs
// nothing.
func NewCodeStore(ctx context.Context, db *sql.DB, realm string, opts ...Option) (*CodeStore, error) {
	o, err := collect("NewCodeStore", opts)
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
	s := &CodeStore{db: sdb.WithTimeout(o.dbTimeout), realm: realm, now: o.now}
	for _, p := range []struct {
		st  **sql.Stmt
		sql string
	}{
		{&s.insertStmt, `INSERT INTO auth_codes (realm, code_hash, client_id, doc, expires_at) VALUES ($1, $2, $3, $4, $5)`},
		{&s.redeemStmt, `SELECT client_id, doc, expires_at, redeemed_at, tokens, family FROM auth_codes WHERE realm = $1 AND code_hash = $2` +
			s.db.Dialect().ForUpdate()},
		{&s.markRedeemedStmt, `UPDATE auth_codes SET redeemed_at = $1, tokens = $2 WHERE realm = $3 AND code_hash = $4 AND redeemed_at = 0`},
		{&s.replayedStmt, `SELECT client_id, tokens, replayed_at FROM auth_codes WHERE realm = $1 AND code_hash = $2`},
		{&s.markReplayedStmt, `UPDATE auth_codes SET replayed_at = $1 WHERE realm = $2 AND code_hash = $3 AND replayed_at = 0`},
		{&s.recordStmt, `UPDATE auth_codes SET tokens = $1, family = CASE WHEN CAST($2 AS TEXT) = '' THEN family ELSE CAST($2 AS TEXT) END
		 WHERE realm = $3 AND code_hash = $4 RETURNING client_id, replayed_at`},
	} {
		if *p.st, err = s.db.PrepareContext(ctx, p.sql); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return s, nil
}

func codeHash(code string) string {
	sum := sha256.Sum256([]byte(code))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Create stores the grant and returns its code: 256 random bits, valid for
// CodeLifetime, shown once.
func (s *CodeStore) Create(ctx context.Context, g Grant) (string, error) {
	if g.ClientID == "" || g.RedirectURI == "" || g.Subject == "" || !pkceChallenge.MatchString(g.CodeChallenge) {
		return "", errors.New("auth: a grant needs client, redirect URI, subject and an S256 code challenge")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	code := base64.RawURLEncoding.EncodeToString(b)
	doc, err := json.Marshal(g)
	if err != nil {
		return "", err
	}
	_, err = s.db.ExecStmt(ctx, s.insertStmt,
		s.realm, codeHash(code), g.ClientID, string(doc), s.now().Add(CodeLifetime).UnixMicro())
	if err != nil {
		return "", fmt.Errorf("auth: store code: %w", err)
	}
	return code, nil
}

// pkceVerifier is RFC 7636's code_verifier: 43 to 128 unreserved characters.
var pkceVerifier = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// Redeem exchanges a code for its grant, once. The client and redirect URI
// must be the ones the code was issued to, and the verifier must hash to the
// challenge (S256). A second redemption fails with a *ReusedCodeError
// listing the tokens issued the first time.
func (s *CodeStore) Redeem(ctx context.Context, code, clientID, redirectURI, verifier string) (Grant, error) {
	return s.redeem(ctx, code, clientID, redirectURI, verifier, nil)
}

// redeem is Redeem that also records, in the redemption's transaction,
// the tokens about to be issued from the code (when issuing is not nil):
// a replay from then on revokes them, and the exchange asks
// replayedSince after signing them instead of writing them down then.
func (s *CodeStore) redeem(ctx context.Context, code, clientID, redirectURI, verifier string, issuing []IssuedToken) (Grant, error) {
	if code == "" || len(code) > 256 {
		return Grant{}, ErrInvalidGrant
	}
	var (
		g     Grant
		out   error
		reuse *ReusedCodeError
	)
	hash := codeHash(code)
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out, reuse = nil, nil
		var doc, owner, tokens, family string
		var expires, redeemed int64
		err := tx.StmtContext(ctx, s.redeemStmt).QueryRowContext(ctx, s.realm, hash).
			Scan(&owner, &doc, &expires, &redeemed, &tokens, &family)
		if errors.Is(err, sql.ErrNoRows) {
			out = ErrInvalidGrant
			return nil
		}
		if err != nil {
			return err
		}
		if owner != clientID {
			out = ErrInvalidGrant
			return nil
		}
		if redeemed != 0 {
			reuse = &ReusedCodeError{ClientID: owner, Family: family}
			if err := json.Unmarshal([]byte(tokens), &reuse.Tokens); err != nil {
				return err
			}
			// Marked, so that a redemption still issuing its tokens
			// learns of the replay when it records them.
			return s.markReplayed(ctx, tx, hash)
		}
		if s.now().UnixMicro() >= expires {
			out = ErrInvalidGrant
			return nil
		}
		if err := json.Unmarshal([]byte(doc), &g); err != nil {
			return err
		}
		sum := sha256.Sum256([]byte(verifier))
		if g.RedirectURI != redirectURI || !pkceVerifier.MatchString(verifier) ||
			subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(g.CodeChallenge)) != 1 {
			out = ErrInvalidGrant
			return nil
		}
		if issuing != nil {
			b, err := json.Marshal(issuing)
			if err != nil {
				return err
			}
			tokens = string(b)
		}
		res, err := tx.StmtContext(ctx, s.markRedeemedStmt).ExecContext(ctx, s.now().UnixMicro(), tokens, s.realm, hash)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			reuse = &ReusedCodeError{ClientID: owner}
			return s.markReplayed(ctx, tx, hash)
		}
		return nil
	})
	switch {
	case err != nil:
		return Grant{}, fmt.Errorf("auth: redeem code: %w", err)
	case reuse != nil:
		return Grant{}, reuse
	case out != nil:
		return Grant{}, out
	}
	return g, nil
}

func (s *CodeStore) markReplayed(ctx context.Context, tx *sql.Tx, hash string) error {
	_, err := tx.StmtContext(ctx, s.markReplayedStmt).ExecContext(ctx, s.now().UnixMicro(), s.realm, hash)
	return err
}

// RecordTokens remembers the tokens issued from a redeemed code. When the
// code was presented again since it was redeemed, it returns a
// *ReusedCodeError (errors.Is ErrCodeReused): the replay could not revoke
// tokens not yet recorded, so the caller must revoke them and not hand
// them out.
func (s *CodeStore) RecordTokens(ctx context.Context, code string, tokens ...IssuedToken) error {
	return s.recordIssued(ctx, code, "", tokens)
}

// recordIssued is RecordTokens with the refresh token family started from
// the code, if any.
func (s *CodeStore) recordIssued(ctx context.Context, code, family string, tokens []IssuedToken) error {
	if tokens == nil {
		tokens = []IssuedToken{}
	}
	b, err := json.Marshal(tokens)
	if err != nil {
		return err
	}
	var owner string
	var replayed int64
	err = s.db.WriteRowStmt(ctx, s.recordStmt, []any{string(b), family, s.realm, codeHash(code)}, &owner, &replayed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: record tokens: %w", err)
	}
	if replayed != 0 {
		return &ReusedCodeError{ClientID: owner, Tokens: tokens, Family: family}
	}
	return nil
}

// replayedSince reports, as a *ReusedCodeError listing the tokens recorded
// for the code, a replay of a code redeemed with its tokens recorded
// (redeem with issuing): the caller must revoke them and not hand them
// out. A read, where recordIssued writes.
func (s *CodeStore) replayedSince(ctx context.Context, code string) error {
	var owner, tokens string
	var replayed int64
	err := s.db.QueryRowStmt(ctx, s.replayedStmt, s.realm, codeHash(code)).Scan(&owner, &tokens, &replayed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: code replayed: %w", err)
	}
	if replayed == 0 {
		return nil
	}
	reuse := &ReusedCodeError{ClientID: owner}
	if err := json.Unmarshal([]byte(tokens), &reuse.Tokens); err != nil {
		return fmt.Errorf("auth: code replayed: %w", err)
	}
	return reuse
}

// Purge deletes codes that expired before t (redeemed ones included: a
// replay after expiry is refused as unknown, and the tokens it would revoke
// have expired by then too when their lifetime is not longer than the
// purge delay).
func (s *CodeStore) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM auth_codes WHERE realm = $1 AND expires_at < $2`, s.realm, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("auth: purge codes: %w", err)
	}
	return res.RowsAffected()
}
