package auth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"golang.org/x/text/language"

	"github.com/egovkit/egovkit/errkind"
)

// Client authentication methods (RFC 7591 token_endpoint_auth_method).
const (
	AuthSecretBasic   = "client_secret_basic"
	AuthPrivateKeyJWT = "private_key_jwt"
	AuthNone          = "none" // public clients (apps in a browser or on a phone), PKCE only
)

// Grant types a client may be allowed. The implicit and password grants do
// not exist here (RFC 9700).
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Levels of assurance, as eIDAS acr values, from lowest to highest.
const (
	LoALow         = "http://eidas.europa.eu/LoA/low"
	LoASubstantial = "http://eidas.europa.eu/LoA/substantial"
	LoAHigh        = "http://eidas.europa.eu/LoA/high"
)

// Client is a registered relying party or agency system.
type Client struct {
	ID   string `json:"client_id"`
	Name string `json:"client_name"`
	// Names is the client's name by language ("el", "en"): the sign-in
	// pages show the name in the page's language, and Name where the
	// language has none. Clients registered before it existed have none.
	Names      map[string]string `json:"client_names,omitempty"`
	AuthMethod string            `json:"token_endpoint_auth_method"`
	GrantTypes []string          `json:"grant_types"`
	// RedirectURIs are matched exactly; for a public (native) client
	// registered with a loopback address (http://127.0.0.1, http://[::1])
	// any port is accepted, as RFC 8252 section 7.3 asks. They have no
	// fragment and no user information.
	RedirectURIs []string `json:"redirect_uris,omitempty"`
	// Scopes the client may ask for.
	Scopes []string `json:"scope"`
	// Audience is put in the "aud" of access tokens issued with the
	// client_credentials grant: the services the client calls.
	Audience []string `json:"audience,omitempty"`
	// ResourceServer is the audience identifier of the API this client
	// runs, if any: introspection shows it the tokens issued for that
	// audience.
	ResourceServer string `json:"resource_server,omitempty"`
	// JWKS holds the client's public keys for private_key_jwt.
	JWKS json.RawMessage `json:"jwks,omitempty"`
	// MinACR is the lowest level of assurance a sign-in for this client
	// may have.
	MinACR string `json:"min_acr,omitempty"`
	// RequirePAR makes pushed authorization requests (RFC 9126) mandatory.
	RequirePAR bool `json:"require_pushed_authorization_requests,omitempty"`
	// SubjectType is "public" (the default: every client knows a person by
	// the same identifier) or "pairwise" (each sector gets its own, so
	// that services cannot link people by it).
	SubjectType string `json:"subject_type,omitempty"`
	// SectorIdentifier groups pairwise clients that must see the same
	// identifiers; empty means the host of the redirect URIs.
	SectorIdentifier string `json:"sector_identifier,omitempty"`
	// PostLogoutRedirectURIs are where the provider may send the person
	// after RP-initiated logout; matched exactly.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// BackchannelLogoutURI receives logout tokens (OpenID Connect
	// Back-Channel Logout).
	BackchannelLogoutURI string `json:"backchannel_logout_uri,omitempty"`
	// Disabled clients cannot authenticate or be used in a sign-in.
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// clone returns c with its own copies of the lists and maps.
func (c Client) clone() Client {
	c.Names = maps.Clone(c.Names)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.Scopes = slices.Clone(c.Scopes)
	c.Audience = slices.Clone(c.Audience)
	c.JWKS = slices.Clone(c.JWKS)
	c.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	return c
}

// Confidential reports whether the client authenticates itself.
func (c *Client) Confidential() bool { return c.AuthMethod != AuthNone }

// AllowsGrant reports whether the client may use grant g.
func (c *Client) AllowsGrant(g string) bool { return slices.Contains(c.GrantTypes, g) }

// InvalidClientError says which registration field is wrong and why.
type InvalidClientError struct {
	Field  string
	Reason string
}

func (e *InvalidClientError) Error() string {
	return fmt.Sprintf("auth: invalid client: %s: %s", e.Field, e.Reason)
}

// Is makes errors.Is(err, ErrInvalidClientMetadata) hold.
func (e *InvalidClientError) Is(target error) bool {
	return target == ErrInvalidClientMetadata || target == errkind.Invalid
}

// Client registry errors, matched with errors.Is.
var (
	ErrInvalidClientMetadata = errkind.New(errkind.Invalid, "auth: invalid client metadata")
	ErrClientNotFound        = errkind.New(errkind.NotFound, "auth: no such client")
	ErrClientExists          = errkind.New(errkind.Conflict, "auth: a client with this id exists")
)

// NameIn is the client's name in lang: Names[lang], or Name when the
// client has no name in that language.
func (c *Client) NameIn(lang string) string {
	if n := c.Names[lang]; n != "" {
		return n
	}
	return c.Name
}

var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$`)

// Validate checks the registration and puts lists in a canonical order.
func (c *Client) Validate() error {
	bad := func(field, reason string) error { return &InvalidClientError{Field: field, Reason: reason} }
	if !clientIDPattern.MatchString(c.ID) {
		return bad("client_id", "3 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if strings.TrimSpace(c.Name) == "" || len(c.Name) > 200 {
		return bad("client_name", "required, at most 200 bytes")
	}
	for lang, name := range c.Names {
		if tag, err := language.Parse(lang); err != nil || tag.String() != lang {
			return bad("client_names", fmt.Sprintf("%q is not a language code such as el or en", lang))
		}
		if strings.TrimSpace(name) == "" || len(name) > 200 {
			return bad("client_names", "each name is required, at most 200 bytes")
		}
	}
	switch c.AuthMethod {
	case AuthSecretBasic, AuthNone:
		if len(c.JWKS) > 0 {
			return bad("jwks", "only for private_key_jwt")
		}
	case AuthPrivateKeyJWT:
		if err := validateClientJWKS(c.JWKS); err != nil {
			return bad("jwks", err.Error())
		}
	default:
		return bad("token_endpoint_auth_method", "client_secret_basic, private_key_jwt or none")
	}
	if len(c.GrantTypes) == 0 {
		return bad("grant_types", "at least one")
	}
	for _, g := range c.GrantTypes {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken:
		case GrantClientCredentials:
			if !c.Confidential() {
				return bad("grant_types", "client_credentials needs a confidential client")
			}
		default:
			return bad("grant_types", fmt.Sprintf("%q is not supported (no implicit or password grant)", g))
		}
	}
	if c.AllowsGrant(GrantRefreshToken) && !c.AllowsGrant(GrantAuthorizationCode) {
		return bad("grant_types", "refresh_token comes with authorization_code")
	}
	if c.AllowsGrant(GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		return bad("redirect_uris", "required for authorization_code")
	}
	for _, u := range c.RedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return bad("redirect_uris", err.Error())
		}
	}
	if c.ResourceServer != "" {
		if u, err := url.Parse(c.ResourceServer); err != nil || !u.IsAbs() || u.Host == "" {
			return bad("resource_server", "an absolute URI")
		}
		if !c.Confidential() {
			return bad("resource_server", "a resource server must authenticate (not auth method none)")
		}
	}
	switch c.SubjectType {
	case "", SubjectPublic, SubjectPairwise:
	default:
		return bad("subject_type", "public or pairwise")
	}
	if len(c.SectorIdentifier) > 200 {
		return bad("sector_identifier", "at most 200 bytes")
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := validateRedirectURI(u); err != nil {
			return bad("post_logout_redirect_uris", err.Error())
		}
	}
	if c.BackchannelLogoutURI != "" {
		if err := validateRedirectURI(c.BackchannelLogoutURI); err != nil {
			return bad("backchannel_logout_uri", err.Error())
		}
	}
	for _, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \"\\") {
			return bad("scope", fmt.Sprintf("%q is not a scope token", s))
		}
	}
	if c.MinACR != "" && c.MinACR != LoALow && c.MinACR != LoASubstantial && c.MinACR != LoAHigh {
		return bad("min_acr", "an eIDAS level: "+LoALow+", "+LoASubstantial+" or "+LoAHigh)
	}
	if c.AllowsGrant(GrantClientCredentials) && len(c.Audience) == 0 {
		return bad("audience", "client_credentials tokens need an audience")
	}
	slices.Sort(c.GrantTypes)
	c.GrantTypes = slices.Compact(c.GrantTypes)
	slices.Sort(c.Scopes)
	c.Scopes = slices.Compact(c.Scopes)
	return nil
}

// validateRedirectURI accepts absolute https URIs without a fragment or
// user information, and http only on loopback addresses.
func validateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%q is not an absolute URI", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("%q has a fragment; a redirect URI must not (RFC 6749 section 3.1.2)", raw)
	}
	if u.User != nil || strings.Contains(u.Host, "@") {
		return fmt.Errorf("%q has user information before the host; a redirect URI must not", raw)
	}
	if strings.ContainsAny(raw, "\\ \t\r\n") {
		return fmt.Errorf("%q has spaces or backslashes", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("%q: http only for loopback addresses", raw)
		}
	default:
		return fmt.Errorf("%q: https (or http on loopback) only", raw)
	}
	return nil
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// RedirectURIAllowed reports whether uri is registered for the client:
// exactly, or, for a public client, a registered loopback address with
// any port (RFC 8252 section 7.3: a native app listens on a port it gets
// when it starts). A confidential client is a server with a fixed
// address, so it gets no such leeway.
//
// A URI the registration rules refuse is not allowed even when stored,
// so a client registered before a rule was added cannot use it.
func (c *Client) RedirectURIAllowed(uri string) bool {
	if validateRedirectURI(uri) != nil {
		return false
	}
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	if c.Confidential() {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || !isLoopback(u.Hostname()) {
		return false
	}
	for _, r := range c.RedirectURIs {
		ru, err := url.Parse(r)
		if err != nil || ru.Scheme != "http" || ru.Hostname() != u.Hostname() {
			continue
		}
		if ru.Path == u.Path && ru.RawQuery == u.RawQuery {
			return true
		}
	}
	return false
}

func validateClientJWKS(raw json.RawMessage) error {
	if len(raw) == 0 {
		return errors.New("required for private_key_jwt")
	}
	set, err := jwk.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a JWK Set: %v", err)
	}
	if set.Len() == 0 {
		return errors.New("no keys")
	}
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		switch k.KeyType() {
		case "EC", "OKP", "RSA":
		default:
			return fmt.Errorf("key %d: only public EC, OKP or RSA keys", i)
		}
		if _, private := k.Get("d"); private {
			return fmt.Errorf("key %d holds private parameters; register the public key only", i)
		}
	}
	return nil
}

// hashSecret returns the stored form of a client secret. Secrets are 256
// random bits made by the registry, so a plain SHA-256 is enough and keeps
// client authentication fast.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return "sha256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}
