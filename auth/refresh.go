package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Refresh token settings.
const (
	RefreshTokenLifetime = 30 * 24 * time.Hour
	// RefreshGrace is how long after a refresh token was used one more use
	// is still accepted, for a client whose response was lost.
	RefreshGrace = 30 * time.Second
)

// ErrRefreshReused means a used refresh token came back outside the grace
// window: the family has been revoked (RFC 9700 section 4.14.2).
var ErrRefreshReused = errors.New("auth: refresh token reused; its family is revoked")

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
// the family id.
func (r *RefreshStore) Start(ctx context.Context, g Grant) (token, family string, err error) {
	family, err = newOpaqueToken()
	if err != nil {
		return "", "", err
	}
	s := r.codes
	var tok string
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO auth_refresh_families (realm, family) VALUES ($1, $2)`, s.realm, family); err != nil {
			return err
		}
		var err error
		tok, err = r.insert(ctx, tx, family, g)
		return err
	})
	if err != nil {
		return "", "", fmt.Errorf("auth: refresh token: %w", err)
	}
	return tok, family, nil
}

func (r *RefreshStore) insert(ctx context.Context, tx *sql.Tx, family string, g Grant) (string, error) {
	tok, err := newOpaqueToken()
	if err != nil {
		return "", err
	}
	doc, err := json.Marshal(g)
	if err != nil {
		return "", err
	}
	s := r.codes
	_, err = tx.ExecContext(ctx,
		`INSERT INTO auth_refresh_tokens (realm, token_hash, family, client_id, doc, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		s.realm, codeHash(tok), family, g.ClientID, string(doc), s.now().Add(RefreshTokenLifetime).UnixMicro())
	return tok, err
}

// Rotate redeems a refresh token of client and returns its grant, the next
// token of the family, and the family id (to record the access token issued
// with it). A token used before is accepted once more within RefreshGrace;
// any other reuse revokes the family and returns ErrRefreshReused with the
// access tokens to revoke. Unknown, expired, revoked or other clients'
// tokens fail with ErrInvalidGrant.
func (r *RefreshStore) Rotate(ctx context.Context, token, clientID string) (g Grant, next, family string, revoke []IssuedToken, err error) {
	s := r.codes
	if token == "" || len(token) > 256 {
		return Grant{}, "", "", nil, ErrInvalidGrant
	}
	var outcome error
	txErr := s.db.Tx(ctx, func(tx *sql.Tx) error {
		outcome, revoke, next = nil, nil, ""
		var doc, owner string
		var expires, used int64
		var grace bool
		err := tx.QueryRowContext(ctx,
			`SELECT family, client_id, doc, expires_at, used_at, grace_used FROM auth_refresh_tokens WHERE realm = $1 AND token_hash = $2`+s.db.Dialect().ForUpdate(),
			s.realm, codeHash(token)).Scan(&family, &owner, &doc, &expires, &used, &grace)
		if errors.Is(err, sql.ErrNoRows) {
			outcome = ErrInvalidGrant
			return nil
		}
		if err != nil {
			return err
		}
		var revokedAt int64
		var famTokens string
		if err := tx.QueryRowContext(ctx,
			`SELECT revoked_at, tokens FROM auth_refresh_families WHERE realm = $1 AND family = $2`+s.db.Dialect().ForUpdate(),
			s.realm, family).Scan(&revokedAt, &famTokens); err != nil {
			return err
		}
		now := s.now().UnixMicro()
		switch {
		case owner != clientID || revokedAt != 0 || now >= expires:
			outcome = ErrInvalidGrant
			return nil
		case used != 0 && (grace || now-used > RefreshGrace.Microseconds()):
			// Reuse: the family is compromised.
			if _, err := tx.ExecContext(ctx, `UPDATE auth_refresh_families SET revoked_at = $1 WHERE realm = $2 AND family = $3`,
				now, s.realm, family); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(famTokens), &revoke); err != nil {
				return err
			}
			outcome = ErrRefreshReused
			return nil
		}
		if err := json.Unmarshal([]byte(doc), &g); err != nil {
			return err
		}
		if used == 0 {
			_, err = tx.ExecContext(ctx, `UPDATE auth_refresh_tokens SET used_at = $1 WHERE realm = $2 AND token_hash = $3`,
				now, s.realm, codeHash(token))
		} else {
			// The one retry the grace window allows.
			_, err = tx.ExecContext(ctx, `UPDATE auth_refresh_tokens SET grace_used = TRUE WHERE realm = $1 AND token_hash = $2`,
				s.realm, codeHash(token))
		}
		if err != nil {
			return err
		}
		next, err = r.insert(ctx, tx, family, g)
		return err
	})
	switch {
	case txErr != nil:
		return Grant{}, "", "", nil, fmt.Errorf("auth: refresh: %w", txErr)
	case outcome != nil:
		return Grant{}, "", "", revoke, outcome
	}
	return g, next, family, nil, nil
}

// RecordToken adds an access token to the family's list, to revoke if the
// family is.
func (r *RefreshStore) RecordToken(ctx context.Context, family string, t IssuedToken) error {
	s := r.codes
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		var raw string
		if err := tx.QueryRowContext(ctx, `SELECT tokens FROM auth_refresh_families WHERE realm = $1 AND family = $2`+s.db.Dialect().ForUpdate(),
			s.realm, family).Scan(&raw); err != nil {
			return err
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
