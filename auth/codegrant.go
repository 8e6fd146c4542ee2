package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/keys"
)

func invalidGrant(desc string) *OAuthError {
	return &OAuthError{Code: ErrCodeInvalidGrant, Description: desc, Status: http.StatusBadRequest}
}

// authorizationCode exchanges a code for an access token and an ID token.
// A code presented a second time revokes the access token issued from it.
func (p *Provider) authorizationCode(ctx context.Context, c Client, r *http.Request) (*TokenResponse, error) {
	if !c.AllowsGrant(GrantAuthorizationCode) {
		return nil, &OAuthError{Code: ErrCodeUnauthorizedClient, Description: "the client may not use the authorization code flow", Status: http.StatusBadRequest}
	}
	code, redirect, verifier := r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier")
	if code == "" || redirect == "" || verifier == "" {
		return nil, invalidRequest("code, redirect_uri and code_verifier are required")
	}
	g, err := p.cfg.Codes.Redeem(ctx, code, c.ID, redirect, verifier)
	var reused *ReusedCodeError
	switch {
	case errors.As(err, &reused):
		for _, t := range reused.Tokens {
			if rerr := p.revokeJTI(ctx, reused.ClientID, t); rerr != nil {
				return nil, rerr
			}
		}
		p.log.Warn("authorization code replayed; tokens issued from it revoked", zap.String("realm", p.cfg.Realm),
			zap.String("client_id", c.ID), zap.Int("revoked", len(reused.Tokens)))
		p.count("token", p.cfg.Realm, GrantAuthorizationCode, "code_replayed")
		return nil, invalidGrant("the authorization code was already used")
	case errors.Is(err, ErrInvalidGrant):
		return nil, invalidGrant("the authorization code is invalid, expired, or was issued for another client, redirect URI or verifier")
	case err != nil:
		return nil, err
	}

	now := p.cfg.Clock().Truncate(time.Second)
	aud := c.Audience
	if len(aud) == 0 {
		aud = []string{c.ID}
	}
	jti := newTokenID()
	exp := now.Add(p.cfg.AccessTokenLifetime)
	at, err := jwt.NewBuilder().Issuer(p.cfg.Issuer).Subject(g.Subject).Audience(aud).
		IssuedAt(now).Expiration(exp).JwtID(jti).
		Claim("client_id", c.ID).Claim("scope", strings.Join(g.Scopes, " ")).
		Claim("acr", g.ACR).Claim("auth_time", g.AuthTime.Unix()).Build()
	if err != nil {
		return nil, err
	}
	access, err := p.cfg.Keys.SignJWT(ctx, at, keys.WithType("at+jwt"))
	if err != nil {
		return nil, err
	}
	idb := jwt.NewBuilder().Issuer(p.cfg.Issuer).Subject(g.Subject).Audience([]string{c.ID}).
		IssuedAt(now).Expiration(now.Add(p.cfg.IDTokenLifetime)).
		Claim("auth_time", g.AuthTime.Unix()).Claim("acr", g.ACR).Claim("amr", g.AMR).Claim("azp", c.ID)
	if g.Nonce != "" {
		idb = idb.Claim("nonce", g.Nonce)
	}
	it, err := idb.Build()
	if err != nil {
		return nil, err
	}
	idToken, err := p.cfg.Keys.SignJWT(ctx, it, keys.WithType("JWT"))
	if err != nil {
		return nil, err
	}
	if err := p.cfg.Codes.RecordTokens(ctx, code, IssuedToken{JTI: jti, ExpiresAt: exp}); err != nil {
		return nil, err
	}
	p.log.Info("tokens issued", zap.String("realm", p.cfg.Realm), zap.String("grant", GrantAuthorizationCode),
		zap.String("client_id", c.ID), zap.String("acr", g.ACR))
	p.count("token", p.cfg.Realm, GrantAuthorizationCode, "issued")
	return &TokenResponse{AccessToken: string(access), TokenType: "Bearer", ExpiresIn: int(exp.Sub(now) / time.Second),
		Scope: strings.Join(g.Scopes, " "), IDToken: string(idToken)}, nil
}

// revokeJTI records a token of client as revoked until it expires.
func (p *Provider) revokeJTI(ctx context.Context, clientID string, t IssuedToken) error {
	_, err := p.cfg.Clients.db.ExecContext(ctx,
		`INSERT INTO auth_revoked_tokens (realm, jti, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (realm, jti) DO NOTHING`,
		p.cfg.Realm, t.JTI, clientID, t.ExpiresAt.UnixMicro(), p.cfg.Clock().UnixMicro())
	return err
}
