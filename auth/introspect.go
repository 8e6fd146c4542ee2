package auth

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

// Paths of the introspection and revocation endpoints, below the issuer.
const (
	PathIntrospect = "/introspect"
	PathRevoke     = "/revoke"
)

// Introspection is the answer of the introspection endpoint (RFC 7662).
// An inactive token has only Active set.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	Expiry    int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	ACR       string   `json:"acr,omitempty"`
	// AuthorizationDetails are, for a civil servant's token, the
	// authorizations valid at the time of the introspection: one revoked
	// after the token was issued is absent.
	AuthorizationDetails []AuthorizationDetail `json:"authorization_details,omitempty"`
}

// parseOwnToken verifies a token this provider signed and reads its
// claims; expiry is checked by the caller when it matters. Verified tokens
// are remembered, by the hash of their text, in a bounded cache: resource
// servers introspect the same token again and again, and a signature
// check is the dearest part of an introspection. Revocation is never
// cached.
func (p *Provider) parseOwnToken(ctx context.Context, raw string) (*ownToken, error) {
	key := sha256.Sum256([]byte(raw))
	if t, ok := p.verified.get(key); ok {
		return t, nil
	}
	t, err := p.verifyOwnToken(ctx, raw)
	if err != nil {
		return nil, err
	}
	if t.expiration().After(p.cfg.Now()) {
		p.verified.put(key, t)
	}
	return t, nil
}

// maxVerifiedTokens bounds the cache of verified tokens (under 1 KB each).
const maxVerifiedTokens = 20000

// Introspect reports whether token is active for the caller: signed by this
// provider, of this issuer, not expired, not revoked. The details are shown
// only to a caller the token concerns: the resource server it was issued
// for (the caller's registered ResourceServer is in the token's audience),
// or the client it was issued to; to any other caller every token is
// inactive.
func (p *Provider) Introspect(ctx context.Context, caller Client, raw string) (Introspection, error) {
	tok, err := p.parseOwnToken(ctx, raw)
	if err != nil {
		return Introspection{}, nil
	}
	now := p.cfg.Now()
	concerns := tok.ClientID == caller.ID ||
		(caller.ResourceServer != "" && slices.Contains(tok.Audience, caller.ResourceServer))
	if tok.Issuer != p.cfg.Issuer || !concerns || !now.Before(tok.expiration()) ||
		(!tok.notBefore().IsZero() && now.Before(tok.notBefore())) {
		return Introspection{}, nil
	}
	revoked, err := p.revoked(ctx, tok.JTI)
	if err != nil {
		return Introspection{}, err
	}
	if revoked {
		return Introspection{}, nil
	}
	res := Introspection{
		Active: true, Scope: tok.Scope, ClientID: tok.ClientID, Subject: tok.Subject, Audience: slices.Clone(tok.Audience),
		Issuer: tok.Issuer, Expiry: tok.Expiry, IssuedAt: tok.IssuedAt, JTI: tok.JTI,
		TokenType: "Bearer", ACR: tok.ACR,
	}
	if tok.Details != nil && p.cfg.Servants && p.cfg.Accounts != nil {
		local, err := p.localSubject(ctx, tok.ClientID, tok.Subject)
		if errors.Is(err, errInvalidToken) {
			return Introspection{}, nil
		}
		if err != nil {
			return Introspection{}, err
		}
		if res.AuthorizationDetails, err = p.servantDetails(ctx, local, now); err != nil {
			return Introspection{}, err
		}
	}
	return res, nil
}

func (p *Provider) revoked(ctx context.Context, jti string) (bool, error) {
	if jti == "" {
		return true, nil // every token we issue has one
	}
	var n int
	err := p.cfg.Clients.db.QueryRowStmt(ctx, p.cfg.Clients.revokedStmt, p.cfg.Realm, jti).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("auth: revocation check: %w", err)
	}
	return n > 0, nil
}

// Revoke revokes an access token or a refresh token issued to client
// (RFC 7009). A refresh token ends its whole family: every refresh token
// rotated from the same grant, the one presented being any of them, and
// the access tokens issued with them. Tokens that are not this provider's,
// already expired or issued to another client are left alone, and, as RFC
// 7009 asks, the answer is the same either way. The token_type_hint is not
// needed: the two kinds cannot be mistaken for one another.
func (p *Provider) Revoke(ctx context.Context, client Client, raw string) error {
	tok, err := p.parseOwnToken(ctx, raw)
	if err != nil {
		return p.revokeRefresh(ctx, client, raw)
	}
	if tok.Issuer != p.cfg.Issuer || tok.JTI == "" {
		return nil
	}
	if tok.ClientID != client.ID {
		p.log.Info("revocation of another client's token ignored", zap.String("realm", p.cfg.Realm), zap.String("client_id", client.ID))
		return nil
	}
	if !p.cfg.Now().Before(tok.expiration()) {
		return nil
	}
	if err := p.revokeJTI(ctx, client.ID, IssuedToken{JTI: tok.JTI, ExpiresAt: tok.expiration()}); err != nil {
		return fmt.Errorf("auth: revoke: %w", err)
	}
	p.log.Info("access token revoked", zap.String("realm", p.cfg.Realm), zap.String("client_id", client.ID), zap.String("jti", tok.JTI))
	return nil
}

// revokeRefresh ends the family of a refresh token of client, if raw is
// one.
func (p *Provider) revokeRefresh(ctx context.Context, client Client, raw string) error {
	if p.cfg.Codes == nil {
		return nil
	}
	ended, err := p.cfg.Codes.Refresh().revokeToken(ctx, raw, client.ID)
	if errors.Is(err, ErrInvalidGrant) {
		return nil // unknown, or another client's
	}
	if err != nil {
		return err
	}
	if err := p.revokeEnded(ctx, ended); err != nil {
		return fmt.Errorf("auth: revoke: %w", err)
	}
	p.log.Info("refresh token revoked with its family", zap.String("realm", p.cfg.Realm), zap.String("client_id", client.ID),
		zap.Int("access_tokens_revoked", len(ended.Tokens)))
	return nil
}

// PurgeRevocations forgets revocations of tokens that expired before t.
func (p *Provider) PurgeRevocations(ctx context.Context, before time.Time) (int64, error) {
	res, err := p.cfg.Clients.db.ExecContext(ctx,
		`DELETE FROM auth_revoked_tokens WHERE realm = $1 AND expires_at < $2`, p.cfg.Realm, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("auth: purge revocations: %w", err)
	}
	return res.RowsAffected()
}

// formRequest reads a form POST to an OAuth endpoint and authenticates its
// client, as the token endpoint does.
func (p *Provider) formRequest(w http.ResponseWriter, r *http.Request) (Client, error) {
	if err := p.readForm(w, r); err != nil {
		return Client{}, err
	}
	return p.cfg.Clients.Authenticate(r.Context(), r, []string{p.tokenURL, p.cfg.Issuer})
}

func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	client, err := p.formRequest(w, r)
	if err == nil && r.PostForm.Get("token") == "" {
		err = invalidRequest("token is required")
	}
	var res Introspection
	if err == nil {
		res, err = p.Introspect(r.Context(), client, r.PostForm.Get("token"))
	}
	if err != nil {
		p.writeOAuthError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(res)
}

func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	client, err := p.formRequest(w, r)
	if err == nil && r.PostForm.Get("token") == "" {
		err = invalidRequest("token is required")
	}
	if err == nil {
		err = p.Revoke(r.Context(), client, r.PostForm.Get("token"))
	}
	if err != nil {
		p.writeOAuthError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// writeOAuthError answers err as an RFC 6749 error; anything that is not an
// OAuthError is logged and answered as server_error. An unavailable
// database comes first, whatever wraps it: 503 problem+json with
// Retry-After that also carries RFC 6749's "error" member
// (temporarily_unavailable), never a credential error.
func (p *Provider) writeOAuthError(w http.ResponseWriter, err error) {
	if pr := httpx.UnavailableProblem(err); pr != nil {
		p.log.Warn("oauth endpoint: database unavailable", zap.String("realm", p.cfg.Realm), zap.Error(err))
		writeUnavailable(w, pr)
		return
	}
	var oe *OAuthError
	if !errors.As(err, &oe) {
		p.log.Error("oauth endpoint failed", zap.String("realm", p.cfg.Realm), zap.Error(err))
		oe = &OAuthError{Code: "server_error", Description: "the request could not be completed", Status: http.StatusInternalServerError}
	}
	oe.Write(w)
}
