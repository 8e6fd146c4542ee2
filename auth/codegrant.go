package auth

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/keys"
)

func invalidGrant(desc string) *OAuthError {
	return &OAuthError{Code: ErrCodeInvalidGrant, Description: desc, Status: http.StatusBadRequest}
}

// authorizationCode exchanges a code for an access token, an ID token and,
// for a client allowed them, a refresh token. A code presented a second
// time revokes the access token issued from it and ends the refresh token
// family started with it; a replay that comes while the first exchange is
// still issuing makes that exchange revoke what it issued and refuse.
func (p *Provider) authorizationCode(ctx context.Context, c Client, r *http.Request) (*TokenResponse, error) {
	if !c.AllowsGrant(GrantAuthorizationCode) {
		return nil, &OAuthError{Code: ErrCodeUnauthorizedClient, Description: "the client may not use the authorization code flow", Status: http.StatusBadRequest}
	}
	code, redirect, verifier := r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"), r.PostForm.Get("code_verifier")
	if code == "" || redirect == "" || verifier == "" {
		return nil, invalidRequest("code, redirect_uri and code_verifier are required")
	}
	// The access token's id and expiry are recorded with the redemption,
	// before it is signed: a replay from then on revokes it.
	now := p.cfg.Now().Truncate(time.Second)
	issued := IssuedToken{JTI: newTokenID(), ExpiresAt: now.Add(p.cfg.AccessTokenLifetime)}
	g, err := p.cfg.Codes.redeem(ctx, code, c.ID, redirect, verifier, []IssuedToken{issued})
	var reused *ReusedCodeError
	switch {
	case errors.As(err, &reused):
		return nil, p.codeReplayed(ctx, c, reused)
	case errors.Is(err, ErrInvalidGrant):
		return nil, invalidGrant("the authorization code is invalid, expired, or was issued for another client, redirect URI or verifier")
	case err != nil:
		return nil, err
	}

	sub, err := p.subjectFor(ctx, c, g.Subject)
	if err != nil {
		return nil, err
	}
	access, err := p.userAccessToken(ctx, c, g, sub, g.Scopes, now, issued)
	if err != nil {
		return nil, err
	}
	idb := jwt.NewBuilder().Issuer(p.cfg.Issuer).Subject(sub).Audience([]string{c.ID}).
		IssuedAt(now).Expiration(now.Add(p.cfg.IDTokenLifetime)).
		Claim("auth_time", g.AuthTime.Unix()).Claim("acr", g.ACR).Claim("amr", g.AMR).Claim("azp", c.ID)
	if g.Nonce != "" {
		idb = idb.Claim("nonce", g.Nonce)
	}
	if g.SessionID != "" {
		idb = idb.Claim("sid", g.SessionID)
	}
	idb = idb.Claim("at_hash", p.accessTokenHash(access))
	it, err := idb.Build()
	if err != nil {
		return nil, err
	}
	idToken, err := p.cfg.Keys.SignJWT(ctx, it, keys.WithType("JWT"))
	if err != nil {
		return nil, err
	}
	resp := &TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(issued.ExpiresAt.Sub(now) / time.Second),
		Scope: strings.Join(g.Scopes, " "), IDToken: string(idToken)}
	var family string
	if c.AllowsGrant(GrantRefreshToken) {
		resp.RefreshToken, family, err = p.cfg.Codes.Refresh().Start(ctx, g, issued)
		if err != nil {
			return nil, err
		}
	}
	// Asked last: a replay seen before this point may have come before
	// the refresh token family was recorded, which this exchange must
	// then end; the access token it revoked already.
	if family != "" {
		err = p.cfg.Codes.recordIssued(ctx, code, family, []IssuedToken{issued})
	} else {
		err = p.cfg.Codes.replayedSince(ctx, code)
	}
	if err != nil {
		if errors.As(err, &reused) {
			return nil, p.codeReplayed(ctx, c, reused)
		}
		return nil, err
	}
	p.log.Info("tokens issued", zap.String("realm", p.cfg.Realm), zap.String("grant", GrantAuthorizationCode),
		zap.String("client_id", c.ID), zap.String("acr", g.ACR))
	return resp, nil
}

// codeReplayed revokes what was issued from a replayed code: its access
// tokens and its refresh token family.
func (p *Provider) codeReplayed(ctx context.Context, c Client, reused *ReusedCodeError) error {
	for _, t := range reused.Tokens {
		if err := p.revokeJTI(ctx, reused.ClientID, t); err != nil {
			return err
		}
	}
	ended := 0
	if reused.Family != "" {
		fam, err := p.cfg.Codes.Refresh().revokeFamily(ctx, reused.Family)
		if err != nil {
			return err
		}
		if err := p.revokeEnded(ctx, fam); err != nil {
			return err
		}
		ended = 1
	}
	p.log.Warn("authorization code replayed; tokens issued from it revoked", zap.String("realm", p.cfg.Realm),
		zap.String("client_id", c.ID), zap.Int("revoked", len(reused.Tokens)), zap.Int("refresh_families_ended", ended))
	return invalidGrant("the authorization code was already used")
}

// revokeEnded revokes the access tokens of ended refresh token families.
func (p *Provider) revokeEnded(ctx context.Context, ended ...endedFamily) error {
	for _, e := range ended {
		for _, t := range e.Tokens {
			if err := p.revokeJTI(ctx, e.ClientID, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// accessTokenHash is the ID token's at_hash (OpenID Connect Core 3.1.3.6):
// the left half of the access token's hash, with the hash of the signing
// algorithm (SHA-512 for EdDSA with Ed25519).
func (p *Provider) accessTokenHash(access string) string {
	var sum []byte
	if p.algs[0] == "EdDSA" {
		s := sha512.Sum512([]byte(access))
		sum = s[:]
	} else {
		s := sha256.Sum256([]byte(access))
		sum = s[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// userAccessToken signs an RFC 9068 access token for a person's grant.
// sub is the subject as the client knows the person (subjectFor); t is
// the token's id and expiry.
func (p *Provider) userAccessToken(ctx context.Context, c Client, g Grant, sub string, scopes []string, now time.Time, t IssuedToken) (string, error) {
	aud := c.Audience
	if len(aud) == 0 {
		aud = []string{c.ID}
	}
	b := jwt.NewBuilder().Issuer(p.cfg.Issuer).Subject(sub).Audience(aud).
		IssuedAt(now).Expiration(t.ExpiresAt).JwtID(t.JTI).
		Claim("client_id", c.ID).Claim("scope", strings.Join(scopes, " ")).
		Claim("acr", g.ACR).Claim("auth_time", g.AuthTime.Unix())
	if p.cfg.Servants && p.cfg.Accounts != nil {
		// What the servant may do now, read afresh for every token: a
		// revoked authorization is absent from the next one.
		details, err := p.servantDetails(ctx, g.Subject, p.cfg.Now())
		if err != nil {
			return "", err
		}
		b = b.Claim("authorization_details", details)
	}
	at, err := b.Build()
	if err != nil {
		return "", err
	}
	signed, err := p.cfg.Keys.SignJWT(ctx, at, keys.WithType("at+jwt"))
	if err != nil {
		return "", err
	}
	return string(signed), nil
}

// refreshToken rotates a refresh token into a new access token and the
// next refresh token. A reused token revokes its family and every access
// token issued in it.
func (p *Provider) refreshToken(ctx context.Context, c Client, r *http.Request) (*TokenResponse, error) {
	if !c.AllowsGrant(GrantRefreshToken) {
		return nil, &OAuthError{Code: ErrCodeUnauthorizedClient, Description: "the client may not use refresh tokens", Status: http.StatusBadRequest}
	}
	token := r.PostForm.Get("refresh_token")
	if token == "" {
		return nil, invalidRequest("refresh_token is required")
	}
	// The scope asked for is checked before the token is used up, so a
	// refused request leaves it as it was.
	var scopes []string
	narrow := func(g Grant) error {
		scopes = g.Scopes
		if s := r.PostForm.Get("scope"); s != "" {
			scopes = strings.Fields(s)
			for _, sc := range scopes {
				if !slices.Contains(g.Scopes, sc) {
					return &OAuthError{Code: ErrCodeInvalidScope, Description: "a refreshed token cannot have more scope than was granted", Status: http.StatusBadRequest}
				}
			}
		}
		return nil
	}
	store := p.cfg.Codes.Refresh()
	g, next, family, revoke, err := store.rotate(ctx, token, c.ID, narrow)
	var oe *OAuthError
	switch {
	case errors.As(err, &oe):
		return nil, err
	case errors.Is(err, ErrRefreshReused):
		for _, t := range revoke {
			if rerr := p.revokeJTI(ctx, c.ID, t); rerr != nil {
				return nil, rerr
			}
		}
		p.log.Warn("refresh token reused; family revoked", zap.String("realm", p.cfg.Realm), zap.String("client_id", c.ID),
			zap.Int("access_tokens_revoked", len(revoke)))
		return nil, invalidGrant("the refresh token was already used")
	case errors.Is(err, ErrInvalidGrant):
		return nil, invalidGrant("the refresh token is invalid, expired or revoked")
	case err != nil:
		return nil, err
	}
	now := p.cfg.Now().Truncate(time.Second)
	sub, err := p.subjectFor(ctx, c, g.Subject)
	if err != nil {
		return nil, err
	}
	issued := IssuedToken{JTI: newTokenID(), ExpiresAt: now.Add(p.cfg.AccessTokenLifetime)}
	access, err := p.userAccessToken(ctx, c, g, sub, scopes, now, issued)
	if err != nil {
		return nil, err
	}
	if err := store.RecordToken(ctx, family, issued); errors.Is(err, ErrInvalidGrant) {
		// The family ended (revoked, or its session logged out) after
		// the rotation: the token just made is revoked, not handed out.
		if rerr := p.revokeJTI(ctx, c.ID, issued); rerr != nil {
			return nil, rerr
		}
		return nil, invalidGrant("the refresh token is invalid, expired or revoked")
	} else if err != nil {
		return nil, err
	}
	return &TokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int(issued.ExpiresAt.Sub(now) / time.Second),
		Scope: strings.Join(scopes, " "), RefreshToken: next}, nil
}

// revokeJTI records a token of client as revoked until it expires.
func (p *Provider) revokeJTI(ctx context.Context, clientID string, t IssuedToken) error {
	_, err := p.cfg.Clients.db.ExecContext(ctx,
		`INSERT INTO auth_revoked_tokens (realm, jti, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5)
		 ON CONFLICT (realm, jti) DO NOTHING`,
		p.cfg.Realm, t.JTI, clientID, t.ExpiresAt.UnixMicro(), p.cfg.Now().UnixMicro())
	return err
}
