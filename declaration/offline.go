package declaration

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/egovkit/egovkit/internal/keys"
)

// A document's full content can run to pages, more than a QR code holds.
// The QR code carries a summary signed on its own: who declared what kind
// of document, its numbers and dates, and the SHA-256 of the full signed
// token, so that an offline check shows the essentials and can match the
// full token when it has one.

// QRTokenType is the "typ" of the signed summary in the QR code.
const QRTokenType = "egovkit-declaration-qr+jwt"

// Summary is the signed content of the QR code.
type Summary struct {
	Issuer     string `json:"iss"`
	ID         string `json:"jti"`
	IssuedAt   int64  `json:"iat"`
	Expiry     int64  `json:"exp,omitempty"`
	IssuerName string `json:"issuer_name"`
	Kind       string `json:"kind"`
	Protocol   string `json:"protocol"`
	Code       string `json:"code"`
	// Declarant is the declarant's name and tax number.
	Declarant Party `json:"declarant"`
	// Grantee is an authorization's grantee.
	Grantee *Party `json:"grantee,omitempty"`
	// Recipient is the authority the document is addressed to.
	Recipient string `json:"recipient,omitempty"`
	// TokenSHA256 is the base64url SHA-256 of the full signed token.
	TokenSHA256 string `json:"token_sha256"`
}

func (s *Service) summary(d *Document, token string) Summary {
	sum := sha256.Sum256([]byte(token))
	out := Summary{Issuer: s.cfg.BaseURL, ID: d.ID, IssuedAt: d.IssuedAt.Unix(), IssuerName: d.Issuer, Kind: d.Draft.Kind,
		Protocol: d.Protocol, Code: d.Code, Recipient: d.Draft.Recipient,
		Declarant:   Party{AFM: d.Declarant.AFM, Name: d.Declarant.GivenName + " " + d.Declarant.FamilyName},
		Grantee:     d.Draft.Grantee,
		TokenSHA256: base64.RawURLEncoding.EncodeToString(sum[:])}
	if !d.Draft.ValidUntil.IsZero() {
		out.Expiry = d.Draft.ValidUntil.Unix()
	}
	return out
}

func (s *Service) signSummary(ctx context.Context, d *Document, token string) (string, error) {
	payload, err := json.Marshal(s.summary(d, token))
	if err != nil {
		return "", err
	}
	tok, err := s.cfg.Keys.Sign(ctx, payload, keys.WithType(QRTokenType))
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return string(tok), nil
}

// QRContent is what the QR code on a document holds: the verification URL,
// which any phone opens, with the signed summary after "#" (a fragment, so
// the phone never sends it to the server) for offline checks.
func (s *Service) QRContent(d *Document) string {
	return s.VerifyURL(d.Code) + "#" + d.QRToken
}

// ParseQR splits what a QR code holds into the verification code and the
// signed summary (empty when the code carries none). It does not verify
// anything.
func ParseQR(content string) (code, token string, err error) {
	if len(content) > 8<<10 {
		return "", "", errors.New("declaration: QR content too long")
	}
	raw, fragment, _ := strings.Cut(content, "#")
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("declaration: QR content is not a URL: %w", err)
	}
	code, ok := NormalizeCode(u.Query().Get("code"))
	if !ok {
		return "", "", errors.New("declaration: QR content has no verification code")
	}
	return code, fragment, nil
}

// Errors of offline verification.
var (
	ErrBadToken   = errors.New("declaration: the token is malformed or its signature is not valid")
	ErrUnknownKey = errors.New("declaration: the token is signed with a key the issuer does not publish")
)

// OfflineVerifier checks signed documents and QR summaries against an
// issuer's published keys alone, with no call to the issuer: for an
// office without a connection, or a wallet. It cannot see a revocation;
// when online, verify the code too.
type OfflineVerifier struct {
	issuer string
	keys   map[string]verifyKey
	now    func() time.Time
}

type verifyKey struct {
	alg jwa.SignatureAlgorithm
	key any
}

// NewOfflineVerifier takes the issuer's URL (Config.BaseURL) and its JWK
// Set as published (the document at the service's jwks.json), fetched
// beforehand and refreshed now and then.
func NewOfflineVerifier(issuer string, jwks []byte) (*OfflineVerifier, error) {
	set, err := jwk.Parse(jwks)
	if err != nil {
		return nil, fmt.Errorf("declaration: JWK Set: %w", err)
	}
	v := &OfflineVerifier{issuer: strings.TrimSuffix(issuer, "/"), keys: map[string]verifyKey{}, now: time.Now}
	for i := range set.Len() {
		k, _ := set.Key(i)
		alg := jwa.SignatureAlgorithm(k.Algorithm().String())
		if alg != jwa.ES256 && alg != jwa.EdDSA || k.KeyID() == "" {
			continue
		}
		var raw any
		if err := k.Raw(&raw); err != nil {
			return nil, fmt.Errorf("declaration: JWK %q: %w", k.KeyID(), err)
		}
		v.keys[k.KeyID()] = verifyKey{alg: alg, key: raw}
	}
	if len(v.keys) == 0 {
		return nil, errors.New("declaration: the JWK Set has no ES256 or EdDSA key")
	}
	return v, nil
}

// WithClock sets the clock expiry is judged by.
func (v *OfflineVerifier) WithClock(now func() time.Time) *OfflineVerifier {
	v.now = now
	return v
}

func (v *OfflineVerifier) verify(token, typ string, claims any) error {
	if len(token) > 1<<20 {
		return ErrBadToken
	}
	var typOK bool
	provider := jws.KeyProviderFunc(func(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
		h := sig.ProtectedHeaders()
		k, ok := v.keys[h.KeyID()]
		if !ok {
			return ErrUnknownKey
		}
		if h.Algorithm() != k.alg {
			return ErrBadToken
		}
		typOK = h.Type() == typ
		sink.Key(k.alg, k.key)
		return nil
	})
	payload, err := jws.Verify([]byte(token), jws.WithKeyProvider(provider))
	switch {
	case errors.Is(err, ErrUnknownKey):
		return ErrUnknownKey
	case err != nil:
		return fmt.Errorf("%w: %v", ErrBadToken, err)
	case !typOK:
		return fmt.Errorf("%w: not a %s", ErrBadToken, typ)
	}
	if err := json.Unmarshal(payload, claims); err != nil {
		return fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	return nil
}

// status judges a verified token's issuer and expiry.
func (v *OfflineVerifier) status(iss string, exp int64) (string, error) {
	if iss != v.issuer {
		return "", fmt.Errorf("%w: issued by %q, not %q", ErrBadToken, iss, v.issuer)
	}
	if exp != 0 && !v.now().Before(time.Unix(exp, 0)) {
		return StatusExpired, nil
	}
	return StatusValid, nil
}

// Verify checks a document's full signed token (Document.Token) and
// returns its content with StatusValid or StatusExpired.
func (v *OfflineVerifier) Verify(token string) (*Claims, string, error) {
	var c Claims
	if err := v.verify(token, TokenType, &c); err != nil {
		return nil, "", err
	}
	st, err := v.status(c.Issuer, c.Expiry)
	if err != nil {
		return nil, "", err
	}
	return &c, st, nil
}

// VerifyQR checks what a QR code holds (QRContent): the signed summary,
// that it belongs to the verification code beside it, and that the URL a
// phone would open is the issuer's own, not a look-alike site's.
func (v *OfflineVerifier) VerifyQR(content string) (*Summary, string, error) {
	if !strings.HasPrefix(content, v.issuer+"/verify?") {
		return nil, "", fmt.Errorf("%w: the QR code leads to another site than the issuer's", ErrBadToken)
	}
	code, token, err := ParseQR(content)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrBadToken, err)
	}
	if token == "" {
		return nil, "", fmt.Errorf("%w: the QR code carries no signed summary; verify the code online", ErrBadToken)
	}
	var s Summary
	if err := v.verify(token, QRTokenType, &s); err != nil {
		return nil, "", err
	}
	if s.Code != code {
		return nil, "", fmt.Errorf("%w: the summary is another document's", ErrBadToken)
	}
	st, err := v.status(s.Issuer, s.Expiry)
	if err != nil {
		return nil, "", err
	}
	return &s, st, nil
}

// Matches reports whether a full token is the one a summary was signed
// with.
func (s *Summary) Matches(token string) bool {
	sum := sha256.Sum256([]byte(token))
	return s.TokenSHA256 == base64.RawURLEncoding.EncodeToString(sum[:])
}
