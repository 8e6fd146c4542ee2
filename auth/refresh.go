package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/egovkit/egovkit/errkind"
)

// Refresh token settings.
const (
	RefreshTokenLifetime = 30 * 24 * time.Hour
	// RefreshGrace is how long after a refresh token was used it is still
	// accepted, for a client whose response was lost or that refreshed
	// from several threads at once: it gets the same successor again, as
	// long as that one has not been used.
	RefreshGrace = 30 * time.Second
)

// ErrRefreshReused means a used refresh token came back outside the grace
// window, or after its successor was used: the family has been revoked
// (RFC 9700 section 4.14.2).
var ErrRefreshReused = errkind.New(errkind.Unauthorized, "auth: refresh token reused; its family is revoked")

// RefreshStore keeps a realm's refresh tokens in the code store's
// database.
type RefreshStore struct{ codes *CodeStore }

// Refresh returns the refresh-token store that shares the code store's
// database and realm.
func (s *CodeStore) Refresh() *RefreshStore { return &RefreshStore{codes: s} }

func newOpaqueToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Start opens a new family for g and returns its first refresh token and
// the family id. The family is bound to g's client and single sign-on
// session (g.SessionID), and issued lists the access tokens handed out
// with it, to revoke when the family ends.
func (r *RefreshStore) Start(ctx context.Context, g Grant, issued ...IssuedToken) (token, family string, err error) {
	family, err = newOpaqueToken()
	if err != nil {
		return "", "", err
	}
	tok, err := newOpaqueToken()
	if err != nil {
		return "", "", err
	}
	if issued == nil {
		issued = []IssuedToken{}
	}
	list, err := json.Marshal(issued)
	if err != nil {
		return "", "", err
	}
	s := r.codes
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO auth_refresh_families (realm, family, client_id, sid, tokens) VALUES ($1, $2, $3, $4, $5)`,
			s.realm, family, g.ClientID, g.SessionID, string(list)); err != nil {
			return err
		}
		return r.insert(ctx, tx, family, g, tok)
	})
	if err != nil {
		return "", "", fmt.Errorf("auth: refresh token: %w", err)
	}
	return tok, family, nil
}

func (r *RefreshStore) insert(ctx context.Context, tx *sql.Tx, family string, g Grant, tok string) error {
	doc, err := json.Marshal(g)
	if err != nil {
		return err
	}
	s := r.codes
	_, err = tx.ExecContext(ctx,
		`INSERT INTO auth_refresh_tokens (realm, token_hash, family, client_id, doc, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		s.realm, codeHash(tok), family, g.ClientID, string(doc), s.now().Add(RefreshTokenLifetime).UnixMicro())
	return err
}

// successorAEAD is the cipher a used refresh token's successor is sealed
// with: AES-256-GCM under a key derived from the used token, so that only
// whoever presents that token again can read it, and the stored hash of
// the token does not give the key.
func successorAEAD(token string) (cipher.AEAD, error) {
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte("egovkit auth: refresh token successor"))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealSuccessor(token, next string) (string, error) {
	aead, err := successorAEAD(token)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(next), []byte(codeHash(token)))), nil
}

func openSuccessor(token, sealed string) (string, error) {
	aead, err := successorAEAD(token)
	if err != nil {
		return "", err
	}
	b, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || len(b) < aead.NonceSize() {
		return "", errors.New("auth: sealed refresh token successor is malformed")
	}
	plain, err := aead.Open(nil, b[:aead.NonceSize()], b[aead.NonceSize():], []byte(codeHash(token)))
	if err != nil {
		return "", fmt.Errorf("auth: open refresh token successor: %w", err)
	}
	return string(plain), nil
}

// Rotate redeems a refresh token of client and returns its grant, the next
// token of the family, and the family id (to record the access token issued
// with it). A used token presented again within RefreshGrace, while its
// successor is still unused, gets that same successor back (the answer
// that carried it may have been lost), so the family never forks; any other
// reuse revokes the family and returns ErrRefreshReused with the access
// tokens to revoke. Unknown, expired, revoked or other clients' tokens fail
// with ErrInvalidGrant.
func (r *RefreshStore) Rotate(ctx context.Context, token, clientID string) (g Grant, next, family string, revoke []IssuedToken, err error) {
	return r.rotate(ctx, token, clientID, nil)
}

// rotate is Rotate with a check of the grant made before anything is
// used up: when check fails, rotate returns its error and the token is as
// it was.
func (r *RefreshStore) rotate(ctx context.Context, token, clientID string, check func(Grant) error) (g Grant, next, family string, revoke []IssuedToken, err error) {
	s := r.codes
	if token == "" || len(token) > 256 {
		return Grant{}, "", "", nil, ErrInvalidGrant
	}
	var outcome error
	txErr := s.db.Tx(ctx, func(tx *sql.Tx) error {
		outcome, revoke, next, g = nil, nil, "", Grant{}
		var doc, owner, nextHash, sealed string
		var expires, used int64
		err := tx.QueryRowContext(ctx,
			`SELECT family, client_id, doc, expires_at, used_at, next_hash, next_sealed FROM auth_refresh_tokens
			 WHERE realm = $1 AND token_hash = $2`+s.db.Dialect().ForUpdate(),
			s.realm, codeHash(token)).Scan(&family, &owner, &doc, &expires, &used, &nextHash, &sealed)
		if errors.Is(err, sql.ErrNoRows) {
			outcome = ErrInvalidGrant
			return nil
		}
		if err != nil {
			return err
		}
		// The family's row is locked before any decision: every rotation
		// and revocation of one family, on any instance, takes its turn.
		var revokedAt int64
		if err := tx.QueryRowContext(ctx,
			`SELECT revoked_at FROM auth_refresh_families WHERE realm = $1 AND family = $2`+s.db.Dialect().ForUpdate(),
			s.realm, family).Scan(&revokedAt); err != nil {
			return err
		}
		now := s.now().UnixMicro()
		if owner != clientID || revokedAt != 0 || now >= expires {
			outcome = ErrInvalidGrant
			return nil
		}
		if used != 0 {
			retry, err := r.graceRetry(ctx, tx, now, used, nextHash)
			if err != nil {
				return err
			}
			if !retry {
				// Reuse: the family is compromised.
				ended, err := r.endFamily(ctx, tx, family, now)
				if err != nil {
					return err
				}
				revoke, outcome = ended.Tokens, ErrRefreshReused
				return nil
			}
		}
		if err := json.Unmarshal([]byte(doc), &g); err != nil {
			return err
		}
		if check != nil {
			if err := check(g); err != nil {
				outcome = err
				return nil
			}
		}
		if used != 0 {
			// A retry within the grace window: the successor already
			// made, not a new branch.
			next, err = openSuccessor(token, sealed)
			return err
		}
		if next, err = newOpaqueToken(); err != nil {
			return err
		}
		if sealed, err = sealSuccessor(token, next); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx,
			`UPDATE auth_refresh_tokens SET used_at = $1, next_hash = $2, next_sealed = $3 WHERE realm = $4 AND token_hash = $5`,
			now, codeHash(next), sealed, s.realm, codeHash(token)); err != nil {
			return err
		}
		return r.insert(ctx, tx, family, g, next)
	})
	switch {
	case txErr != nil:
		return Grant{}, "", "", nil, fmt.Errorf("auth: refresh: %w", txErr)
	case outcome != nil:
		return Grant{}, "", "", revoke, outcome
	}
	return g, next, family, nil, nil
}

// graceRetry reports whether a used token presented again may have its
// successor back: within RefreshGrace of its use, and the successor still
// unused (a client that used it got the answer, so the old token coming
// back now is not that client's).
func (r *RefreshStore) graceRetry(ctx context.Context, tx *sql.Tx, now, used int64, nextHash string) (bool, error) {
	if now-used > RefreshGrace.Microseconds() || nextHash == "" {
		return false, nil
	}
	s := r.codes
	var nextUsed int64
	err := tx.QueryRowContext(ctx, `SELECT used_at FROM auth_refresh_tokens WHERE realm = $1 AND token_hash = $2`,
		s.realm, nextHash).Scan(&nextUsed)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return nextUsed == 0, nil
}

// endedFamily is what ending a family leaves to do: revoke the access
// tokens issued in it, which were issued to ClientID.
type endedFamily struct {
	ClientID string
	Tokens   []IssuedToken
}

// endFamily marks a family revoked and returns its access tokens; a family
// revoked before returns none (they were revoked then).
func (r *RefreshStore) endFamily(ctx context.Context, tx *sql.Tx, family string, now int64) (endedFamily, error) {
	s := r.codes
	var ended endedFamily
	var list string
	err := tx.QueryRowContext(ctx,
		`UPDATE auth_refresh_families SET revoked_at = $1 WHERE realm = $2 AND family = $3 AND revoked_at = 0 RETURNING client_id, tokens`,
		now, s.realm, family).Scan(&ended.ClientID, &list)
	if errors.Is(err, sql.ErrNoRows) {
		return endedFamily{}, nil
	}
	if err != nil {
		return endedFamily{}, err
	}
	if err := json.Unmarshal([]byte(list), &ended.Tokens); err != nil {
		return endedFamily{}, err
	}
	return ended, nil
}

// revokeToken ends the family of a refresh token presented by client for
// revocation (RFC 7009), whichever of the family's tokens it is. A token
// unknown here or issued to another client changes nothing and returns
// ErrInvalidGrant.
func (r *RefreshStore) revokeToken(ctx context.Context, token, clientID string) (endedFamily, error) {
	if token == "" || len(token) > 256 {
		return endedFamily{}, ErrInvalidGrant
	}
	s := r.codes
	var ended endedFamily
	var outcome error
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		ended, outcome = endedFamily{}, nil
		var family, owner string
		err := tx.QueryRowContext(ctx, `SELECT family, client_id FROM auth_refresh_tokens WHERE realm = $1 AND token_hash = $2`,
			s.realm, codeHash(token)).Scan(&family, &owner)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != clientID) {
			outcome = ErrInvalidGrant
			return nil
		}
		if err != nil {
			return err
		}
		ended, err = r.endFamily(ctx, tx, family, s.now().UnixMicro())
		if ended.ClientID == "" {
			ended.ClientID = owner
		}
		return err
	})
	if err != nil {
		return endedFamily{}, fmt.Errorf("auth: revoke refresh token: %w", err)
	}
	return ended, outcome
}

// revokeFamily ends a family by its id, as a replayed code asks.
func (r *RefreshStore) revokeFamily(ctx context.Context, family string) (endedFamily, error) {
	s := r.codes
	var ended endedFamily
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		ended, err = r.endFamily(ctx, tx, family, s.now().UnixMicro())
		return err
	})
	if err != nil {
		return endedFamily{}, fmt.Errorf("auth: revoke refresh family: %w", err)
	}
	return ended, nil
}

// revokeSession ends every family issued in the single sign-on session
// sid, and returns what they leave to revoke.
func (r *RefreshStore) revokeSession(ctx context.Context, sid string) ([]endedFamily, error) {
	if sid == "" {
		return nil, nil
	}
	s := r.codes
	var out []endedFamily
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx,
			`UPDATE auth_refresh_families SET revoked_at = $1 WHERE realm = $2 AND sid = $3 AND revoked_at = 0 RETURNING client_id, tokens`,
			s.now().UnixMicro(), s.realm, sid)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e endedFamily
			var list string
			if err := rows.Scan(&e.ClientID, &list); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(list), &e.Tokens); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("auth: revoke session refresh tokens: %w", err)
	}
	return out, nil
}

// moveSession binds the families of session from to session to, when a
// step-up replaces a session of the same person.
func (r *RefreshStore) moveSession(ctx context.Context, from, to string) error {
	if from == "" {
		return nil
	}
	s := r.codes
	_, err := s.db.ExecContext(ctx, `UPDATE auth_refresh_families SET sid = $1 WHERE realm = $2 AND sid = $3`, to, s.realm, from)
	if err != nil {
		return fmt.Errorf("auth: move session refresh tokens: %w", err)
	}
	return nil
}

// RecordToken adds an access token to the family's list, to revoke if the
// family is. When the family was revoked meanwhile (a revocation or logout
// between the rotation and now) nothing is recorded and RecordToken
// returns ErrInvalidGrant: the caller must revoke t itself and not hand
// it out.
func (r *RefreshStore) RecordToken(ctx context.Context, family string, t IssuedToken) error {
	s := r.codes
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var raw string
		var revokedAt int64
		if err := tx.QueryRowContext(ctx, `SELECT tokens, revoked_at FROM auth_refresh_families WHERE realm = $1 AND family = $2`+s.db.Dialect().ForUpdate(),
			s.realm, family).Scan(&raw, &revokedAt); err != nil {
			return err
		}
		if revokedAt != 0 {
			return ErrInvalidGrant
		}
		var list []IssuedToken
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return err
		}
		now := s.now()
		kept := list[:0]
		for _, t := range list {
			if t.ExpiresAt.After(now) {
				kept = append(kept, t)
			}
		}
		b, err := json.Marshal(append(kept, t))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE auth_refresh_families SET tokens = $1 WHERE realm = $2 AND family = $3`, string(b), s.realm, family)
		return err
	})
}

// Purge deletes refresh tokens that expired a day before t, and the
// families left with none. The day's margin keeps a family, and the list of
// access tokens issued in it, as long as any of those can still be used.
func (r *RefreshStore) Purge(ctx context.Context, before time.Time) (int64, error) {
	s := r.codes
	res, err := s.db.ExecContext(ctx, `DELETE FROM auth_refresh_tokens WHERE realm = $1 AND expires_at < $2`,
		s.realm, before.Add(-24*time.Hour).UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("auth: purge refresh tokens: %w", err)
	}
	_, err = s.db.ExecContext(ctx,
		`DELETE FROM auth_refresh_families WHERE realm = $1 AND NOT EXISTS (
		   SELECT 1 FROM auth_refresh_tokens t WHERE t.realm = auth_refresh_families.realm AND t.family = auth_refresh_families.family)`,
		s.realm)
	if err != nil {
		return 0, fmt.Errorf("auth: purge refresh families: %w", err)
	}
	return res.RowsAffected()
}
