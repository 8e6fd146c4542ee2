package auth

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// ownToken is what introspection, revocation and UserInfo read from an
// access token this provider signed.
type ownToken struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	Expiry    int64    `json:"exp"`
	NotBefore int64    `json:"nbf"`
	IssuedAt  int64    `json:"iat"`
	JTI       string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
	ACR       string   `json:"acr"`
	// Details is present (possibly null) when the token carries
	// authorization_details: a civil servant's token.
	Details json.RawMessage `json:"authorization_details"`
}

func (t *ownToken) expiration() time.Time {
	if t.Expiry == 0 {
		return time.Time{}
	}
	return time.Unix(t.Expiry, 0)
}

func (t *ownToken) notBefore() time.Time {
	if t.NotBefore == 0 {
		return time.Time{}
	}
	return time.Unix(t.NotBefore, 0)
}

// audience is the "aud" claim: one string or an array of them.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New(`auth: "aud" is neither a string nor an array of strings`)
	}
	*a = many
	return nil
}

// jwsVerifier is the capability of a key set to check a compact JWS and
// return its payload, without building a jwt.Token (internal/keys' sets
// have it). Without it, tokens are read through ParseJWT.
type jwsVerifier interface {
	Verify(ctx context.Context, compact []byte) ([]byte, error)
}

// verifyOwnToken checks raw's signature against the provider's keys and
// reads its claims. Times are not checked: the callers do.
func (p *Provider) verifyOwnToken(ctx context.Context, raw string) (*ownToken, error) {
	var t ownToken
	if v, ok := p.cfg.Keys.(jwsVerifier); ok {
		payload, err := v.Verify(ctx, []byte(raw))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(payload, &t); err != nil {
			return nil, err
		}
		return &t, nil
	}
	tok, err := p.cfg.Keys.ParseJWT(ctx, []byte(raw), jwt.WithValidate(false))
	if err != nil {
		return nil, err
	}
	t = ownToken{Issuer: tok.Issuer(), Subject: tok.Subject(), Audience: tok.Audience(), JTI: tok.JwtID()}
	for to, from := range map[*int64]time.Time{&t.Expiry: tok.Expiration(), &t.NotBefore: tok.NotBefore(), &t.IssuedAt: tok.IssuedAt()} {
		if !from.IsZero() {
			*to = from.Unix()
		}
	}
	claims := tok.PrivateClaims()
	t.ClientID, _ = claims["client_id"].(string)
	t.Scope, _ = claims["scope"].(string)
	t.ACR, _ = claims["acr"].(string)
	if d, ok := claims["authorization_details"]; ok {
		if t.Details, err = json.Marshal(d); err != nil {
			return nil, err
		}
	}
	return &t, nil
}
