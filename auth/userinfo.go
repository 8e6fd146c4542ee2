package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

// PathUserInfo is the UserInfo endpoint, below the issuer.
const PathUserInfo = "/userinfo"

// ScopeGreekIdentity releases the tax and social-security numbers (claims
// "afm" and "amka"); a client must be registered for it.
const ScopeGreekIdentity = "gr_identity"

// ScopePhone releases the person's mobile number (OpenID Connect Core
// 5.4): "phone_number" in E.164 form and "phone_number_verified" true,
// and only for a number proven with a code sent to it (or imported as
// verified) in ProviderConfig.Contacts; a person without one gets
// neither claim. A client must be registered for it. Like the claims of
// "profile", they are released at UserInfo: the provider issues an access
// token with every ID token, so they do not go into the ID token.
const ScopePhone = "phone"

// AuthorizationDetail is one of a servant's authorizations as it appears
// in claims, in the shape of RFC 9396 authorization_details.
type AuthorizationDetail struct {
	Type       string `json:"type"`
	Agency     string `json:"agency"`
	Service    string `json:"service"`
	Role       string `json:"role"`
	ValidUntil int64  `json:"valid_until,omitempty"`
}

// AuthorizationDetailType names egovkit's authorization_details entries.
const AuthorizationDetailType = "egovkit_agency_role"

// servantDetails lists the servant's authorizations valid at now, as
// authorization_details entries.
func (p *Provider) servantDetails(ctx context.Context, servantID string, now time.Time) ([]AuthorizationDetail, error) {
	zs, err := p.cfg.Accounts.ActiveAuthorizations(ctx, servantID, now)
	if err != nil {
		return nil, err
	}
	details := make([]AuthorizationDetail, 0, len(zs))
	for _, z := range zs {
		d := AuthorizationDetail{Type: AuthorizationDetailType, Agency: z.Agency, Service: z.Service, Role: z.Role}
		if !z.ValidUntil.IsZero() {
			d.ValidUntil = z.ValidUntil.Unix()
		}
		details = append(details, d)
	}
	return details, nil
}

// UserInfo returns the claims about the person an access token speaks
// for: for citizens, names and birth date with "profile", the tax and
// social-security numbers with "gr_identity"; for civil servants, their
// names, user name and the authorizations valid now; for both, the
// verified mobile number with "phone" (ScopePhone). Only access tokens
// issued to a person (scope "openid"), unexpired and not revoked, are
// accepted.
func (p *Provider) UserInfo(ctx context.Context, raw string) (map[string]any, error) {
	if p.cfg.Accounts == nil {
		return nil, errors.New("auth: no accounts configured")
	}
	tok, err := p.parseOwnToken(ctx, raw)
	if err != nil {
		return nil, errInvalidToken
	}
	scopes := strings.Fields(tok.Scope)
	now := p.cfg.Now()
	if tok.Issuer != p.cfg.Issuer || !slices.Contains(scopes, "openid") || !now.Before(tok.expiration()) {
		return nil, errInvalidToken
	}
	if revoked, err := p.revoked(ctx, tok.JTI); err != nil {
		return nil, err
	} else if revoked {
		return nil, errInvalidToken
	}
	claims := map[string]any{"sub": tok.Subject}
	local, err := p.localSubject(ctx, tok.ClientID, tok.Subject)
	if err != nil {
		return nil, err
	}
	if p.cfg.Servants {
		s, err := p.cfg.Accounts.Servant(ctx, local)
		if err != nil && !errors.Is(err, ErrNoSuchAccount) {
			return nil, err
		}
		if err != nil || s.Disabled {
			return nil, errInvalidToken
		}
		claims["preferred_username"] = s.Username
		claims["given_name"], claims["family_name"] = s.GivenName, s.FamilyName
		details, err := p.servantDetails(ctx, s.ID, now)
		if err != nil {
			return nil, err
		}
		claims["authorization_details"] = details
		if err := p.releasePhone(ctx, scopes, local, claims); err != nil {
			return nil, err
		}
		return claims, nil
	}
	c, err := p.cfg.Accounts.Citizen(ctx, local)
	if err != nil && !errors.Is(err, ErrNoSuchAccount) {
		return nil, err
	}
	if err != nil || c.Disabled {
		return nil, errInvalidToken
	}
	if slices.Contains(scopes, "profile") {
		claims["preferred_username"] = c.Username
		claims["given_name"], claims["family_name"] = c.GivenName, c.FamilyName
		claims["father_name"], claims["mother_name"] = c.FatherName, c.MotherName
		claims["birthdate"] = c.BirthDate
	}
	if slices.Contains(scopes, ScopeGreekIdentity) {
		claims["afm"], claims["amka"] = c.AFM, c.AMKA
	}
	if err := p.releasePhone(ctx, scopes, local, claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// releasePhone adds the account's verified mobile number to claims when
// the token was granted ScopePhone. The contact registry holds only
// numbers proven with a code (or imported as verified), so the number it
// gives is verified; without one, neither claim is released.
func (p *Provider) releasePhone(ctx context.Context, scopes []string, local string, claims map[string]any) error {
	if p.cfg.Contacts == nil || !slices.Contains(scopes, ScopePhone) {
		return nil
	}
	c, err := p.cfg.Contacts.Get(ctx, local)
	switch {
	case errors.Is(err, ErrContactNotFound):
		return nil
	case err != nil:
		return err
	case c.Mobile == "" || c.MobileVerifiedAt.IsZero():
		return nil
	}
	claims["phone_number"], claims["phone_number_verified"] = c.Mobile, true
	return nil
}

var errInvalidToken = errors.New("auth: invalid access token")

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	raw := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		raw = strings.TrimSpace(h[7:])
	}
	w.Header().Set("Cache-Control", "no-store")
	if raw == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="userinfo"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	claims, err := p.UserInfo(r.Context(), raw)
	switch {
	case errors.Is(err, errInvalidToken):
		w.Header().Set("WWW-Authenticate", `Bearer realm="userinfo", error="invalid_token", error_description="the access token is invalid, expired or revoked"`)
		w.WriteHeader(http.StatusUnauthorized)
		return
	case err != nil:
		// 503 with Retry-After when the database is unavailable, else a
		// logged 500; problem+json either way, never an empty body.
		httpx.WriteError(w, r, p.log.With(zap.String("realm", p.cfg.Realm)), err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(claims)
}
