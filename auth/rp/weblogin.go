package rp

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap"
)

// LoginConfig configures "log in with the provider" for a server-rendered
// site: the authorization code flow with PKCE, and a session kept in a
// sealed cookie.
type LoginConfig struct {
	// Issuer is the provider's issuer URL; its endpoints are discovered.
	Issuer string
	// ClientID and ClientSecret are the site's registration
	// (client_secret_basic).
	ClientID     string
	ClientSecret string
	// RedirectURL is the absolute URL the callback handler is mounted at,
	// exactly as registered with the provider.
	RedirectURL string
	// PostLogoutURL is where the provider sends the person after logout;
	// it must be registered as a post-logout redirect URI. Empty means the
	// provider shows its own page.
	PostLogoutURL string
	// Scopes asked for; "openid" is always included. Empty means openid
	// and profile.
	Scopes []string
	// ACR is the lowest level of assurance the site accepts (LoALow,
	// LoASubstantial, LoAHigh); it is asked for and checked in the ID
	// token. Empty means any.
	ACR string
	// CookieKey seals the cookies (AES-256-GCM): 32 random bytes, the same
	// on every instance of the site. Changing it signs everyone out.
	CookieKey []byte
	// CookieName names the session cookie; the sign-in in progress uses
	// the same name with "_flow". Empty means "egovkit_session".
	CookieName string
	// CookiePath scopes the cookies; empty means "/".
	CookiePath string
	// SessionLifetime bounds a session; zero means 8 hours.
	SessionLifetime time.Duration
	// OnError answers a failed sign-in (cancelled, refused, expired); nil
	// answers with a short plain-text page and the status of the error.
	OnError func(w http.ResponseWriter, r *http.Request, err *LoginError)
	// HTTPClient talks to the provider; nil means a 10-second timeout.
	HTTPClient *http.Client
	// Now replaces time.Now, for tests; nil means time.Now.
	Now func() time.Time
	// Logger logs sign-ins (the subject identifier and level, never a
	// token) and failed ones; nil logs nothing.
	Logger *zap.Logger
}

// Session is the signed-in person as the site sees them.
type Session struct {
	Subject     string    `json:"sub"`
	ACR         string    `json:"acr,omitempty"`
	AMR         []string  `json:"amr,omitempty"`
	AuthTime    time.Time `json:"auth_time"`
	Expiry      time.Time `json:"exp"`
	IDToken     string    `json:"id_token"`
	AccessToken string    `json:"access_token,omitempty"`
	// AccessExpiry is when AccessToken expires; call the site's APIs with
	// it until then.
	AccessExpiry time.Time `json:"access_exp,omitzero"`
}

// LoginError is why a sign-in did not complete.
type LoginError struct {
	Status      int
	Code        string // the provider's error code, or the site's own
	Description string
	Err         error
}

func (e *LoginError) Error() string {
	s := "rp: sign-in failed: " + e.Code + ": " + e.Description
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *LoginError) Unwrap() error { return e.Err }

// WebLogin signs people in to a site through the provider. Mount
// LoginHandler, CallbackHandler (at RedirectURL's path) and LogoutHandler;
// wrap pages with Require, or read SessionFrom. Sessions live in a sealed
// cookie, so any instance of the site serves any request and nothing is
// stored server-side.
type WebLogin struct {
	cfg   LoginConfig
	aead  cipher.AEAD
	keys  *keyCache
	log   *zap.Logger
	mu    sync.Mutex
	meta  *providerMeta
	flowC string
}

type providerMeta struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	EndSessionEndpoint    string `json:"end_session_endpoint"`
	// IssInResponse says the provider names itself in every
	// authorization response (RFC 9207); an answer without iss is then
	// not from it.
	IssInResponse bool `json:"authorization_response_iss_parameter_supported"`
}

// NewWebLogin checks cfg and returns the helper; the provider is contacted
// on first use.
func NewWebLogin(cfg LoginConfig) (*WebLogin, error) {
	switch {
	case cfg.Issuer == "" || cfg.ClientID == "" || cfg.RedirectURL == "":
		return nil, errors.New("rp: Issuer, ClientID and RedirectURL are required")
	case len(cfg.CookieKey) != 32:
		return nil, errors.New("rp: CookieKey must be 32 random bytes")
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || !u.IsAbs() {
		return nil, errors.New("rp: RedirectURL must be an absolute URL")
	}
	if cfg.ACR != "" && acrRank[cfg.ACR] == 0 {
		return nil, fmt.Errorf("rp: unknown level of assurance %q", cfg.ACR)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "profile"}
	}
	if !slices.Contains(cfg.Scopes, "openid") {
		cfg.Scopes = append([]string{"openid"}, cfg.Scopes...)
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "egovkit_session"
	}
	if cfg.CookiePath == "" {
		cfg.CookiePath = "/"
	}
	if cfg.SessionLifetime == 0 {
		cfg.SessionLifetime = 8 * time.Hour
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = zap.NewNop()
	}
	block, err := aes.NewCipher(cfg.CookieKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &WebLogin{
		cfg: cfg, aead: aead, log: log, flowC: cfg.CookieName + "_flow",
		keys: &keyCache{
			client: cfg.HTTPClient, now: cfg.Now, cooldown: 30 * time.Second, maxAge: time.Hour,
			discovery: strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration",
		},
	}, nil
}

var acrRank = map[string]int{LoALow: 1, LoASubstantial: 2, LoAHigh: 3}

func (l *WebLogin) provider(ctx context.Context) (*providerMeta, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.meta != nil {
		return l.meta, nil
	}
	body, err := l.keys.get(ctx, l.keys.discovery)
	if err != nil {
		return nil, fmt.Errorf("rp: discovery: %w", err)
	}
	var m providerMeta
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("rp: discovery: %w", err)
	}
	if m.Issuer != l.cfg.Issuer || m.AuthorizationEndpoint == "" || m.TokenEndpoint == "" {
		return nil, errors.New("rp: discovery document does not describe this issuer's authorization and token endpoints")
	}
	l.meta = &m
	return l.meta, nil
}

// flow is the sign-in in progress, sealed in a short-lived cookie.
type flow struct {
	State    string    `json:"state"`
	Nonce    string    `json:"nonce"`
	Verifier string    `json:"verifier"`
	Return   string    `json:"return"`
	Expiry   time.Time `json:"exp"`
}

const flowLifetime = 15 * time.Minute

func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// safeReturn keeps a return path on this site: a path, never another
// host. Browsers forgive a lot when they resolve a location: they drop
// tabs and line breaks, read a backslash as a slash, and take "//" to
// start a host, so "/\t/evil.example" and "/\\evil.example" lead away.
// Anything with a control character or a backslash, anything starting
// with "//", and anything that parses with a scheme, a host or user
// information is refused for "/".
func safeReturn(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || len(p) > 2048 {
		return "/"
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' || (r >= 0x80 && r <= 0x9f) || r == utf8.RuneError {
			return "/"
		}
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return p
}

// LoginHandler sends the person to the provider. ?return=/path says where
// to come back to after signing in.
func (l *WebLogin) LoginHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.startLogin(w, r, safeReturn(r.URL.Query().Get("return")))
	})
}

func (l *WebLogin) startLogin(w http.ResponseWriter, r *http.Request, ret string) {
	m, err := l.provider(r.Context())
	if err != nil {
		l.fail(w, r, &LoginError{Status: http.StatusBadGateway, Code: "provider_unavailable", Description: "the sign-in service cannot be reached", Err: err})
		return
	}
	f := flow{State: randomString(), Nonce: randomString(), Verifier: randomString(), Return: ret, Expiry: l.cfg.Now().Add(flowLifetime)}
	if err := l.setSealed(w, l.flowC, f, int(flowLifetime/time.Second)); err != nil {
		l.fail(w, r, &LoginError{Status: http.StatusInternalServerError, Code: "server_error", Description: "the sign-in could not start", Err: err})
		return
	}
	sum := sha256.Sum256([]byte(f.Verifier))
	q := url.Values{
		"response_type": {"code"}, "client_id": {l.cfg.ClientID}, "redirect_uri": {l.cfg.RedirectURL},
		"scope": {strings.Join(l.cfg.Scopes, " ")}, "state": {f.State}, "nonce": {f.Nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}
	if l.cfg.ACR != "" {
		q.Set("acr_values", l.cfg.ACR)
	}
	if lang := r.URL.Query().Get("lang"); lang == "el" || lang == "en" {
		q.Set("ui_locales", lang)
	}
	http.Redirect(w, r, m.AuthorizationEndpoint+"?"+q.Encode(), http.StatusSeeOther)
}

// CallbackHandler completes the sign-in: it checks the state and the
// issuer (RFC 9207: the iss parameter must equal Issuer, and is required
// when the provider's discovery document announces
// authorization_response_iss_parameter_supported), exchanges the code with the PKCE verifier, verifies
// the ID token (signature, issuer, audience, expiry, nonce, level of
// assurance) and starts the session.
func (l *WebLogin) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, ret, lerr := l.callback(r)
		l.clearCookie(w, l.flowC)
		if lerr != nil {
			l.fail(w, r, lerr)
			return
		}
		if err := l.setSealed(w, l.cfg.CookieName, sess, int(time.Until(sess.Expiry)/time.Second)); err != nil {
			l.fail(w, r, &LoginError{Status: http.StatusInternalServerError, Code: "server_error", Description: "the session could not be kept", Err: err})
			return
		}
		l.log.Info("signed in", zap.String("sub", sess.Subject), zap.String("acr", sess.ACR))
		http.Redirect(w, r, ret, http.StatusSeeOther)
	})
}

func (l *WebLogin) callback(r *http.Request) (*Session, string, *LoginError) {
	ctx := r.Context()
	q := r.URL.Query()
	var f flow
	if !l.openSealed(r, l.flowC, &f) {
		return nil, "", &LoginError{Status: http.StatusBadRequest, Code: "no_sign_in", Description: "no sign-in was started in this browser, or it expired"}
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.State)) != 1 {
		return nil, "", &LoginError{Status: http.StatusBadRequest, Code: "state_mismatch", Description: "the answer does not belong to the sign-in started here"}
	}
	m, err := l.provider(ctx)
	if err != nil {
		return nil, "", &LoginError{Status: http.StatusBadGateway, Code: "provider_unavailable", Description: "the sign-in service cannot be reached", Err: err}
	}
	// Mix-up defence (RFC 9207): the answer names the provider that sent
	// it, and must when the provider says it always does, before the code
	// in it goes anywhere.
	iss, named := q["iss"]
	switch {
	case named && (len(iss) != 1 || iss[0] != l.cfg.Issuer):
		return nil, "", &LoginError{Status: http.StatusBadRequest, Code: "issuer_mismatch", Description: "the answer comes from another provider"}
	case !named && m.IssInResponse:
		return nil, "", &LoginError{Status: http.StatusBadRequest, Code: "issuer_missing", Description: "the answer does not say which provider sent it"}
	}
	if code := q.Get("error"); code != "" {
		status := http.StatusBadRequest
		if code == "access_denied" {
			status = http.StatusForbidden
		}
		return nil, "", &LoginError{Status: status, Code: code, Description: q.Get("error_description")}
	}
	tr, err := l.exchange(ctx, m.TokenEndpoint, q.Get("code"), f.Verifier)
	if errors.Is(err, errProviderUnavailable) {
		return nil, "", &LoginError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable",
			Description: "the sign-in service is temporarily unavailable; try again in a few minutes", Err: err}
	}
	if err != nil {
		return nil, "", &LoginError{Status: http.StatusBadGateway, Code: "token_exchange", Description: "the sign-in could not be completed", Err: err}
	}
	sess, err := l.verifyIDToken(ctx, tr.IDToken, f.Nonce)
	if err != nil {
		return nil, "", &LoginError{Status: http.StatusBadGateway, Code: "invalid_id_token", Description: "the provider's answer could not be verified", Err: err}
	}
	if l.cfg.ACR != "" && acrRank[sess.ACR] < acrRank[l.cfg.ACR] {
		return nil, "", &LoginError{Status: http.StatusForbidden, Code: "insufficient_acr", Description: "the sign-in did not reach the level of assurance this site needs"}
	}
	sess.AccessToken = tr.AccessToken
	if tr.ExpiresIn > 0 {
		sess.AccessExpiry = l.cfg.Now().Add(time.Duration(tr.ExpiresIn) * time.Second).UTC().Truncate(time.Second)
	}
	return sess, f.Return, nil
}

// errProviderUnavailable means the provider said 503: it is up but cannot
// serve now (its database is unavailable, say), which is not a refusal.
var errProviderUnavailable = errors.New("rp: provider temporarily unavailable")

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
	ExpiresIn   int    `json:"expires_in"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

func (l *WebLogin) exchange(ctx context.Context, endpoint, code, verifier string) (*tokenAnswer, error) {
	if code == "" {
		return nil, errors.New("no code in the answer")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {l.cfg.RedirectURL}, "code_verifier": {verifier}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(l.cfg.ClientID), url.QueryEscape(l.cfg.ClientSecret))
	resp, err := l.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		return nil, fmt.Errorf("%w: token endpoint answered %s", errProviderUnavailable, resp.Status)
	}
	var tr tokenAnswer
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("token endpoint answered %s with no JSON", resp.Status)
	}
	if resp.StatusCode != http.StatusOK || tr.IDToken == "" {
		return nil, fmt.Errorf("token endpoint answered %s: %s %s", resp.Status, tr.Error, tr.Description)
	}
	return &tr, nil
}

// idTokenKey picks the issuer's key for an ID token; access and logout
// tokens are refused here.
func (l *WebLogin) idTokenKey(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	if typ := strings.ToLower(sig.ProtectedHeaders().Type()); typ != "" && typ != "jwt" {
		return fmt.Errorf("rp: token type %q is not an ID token", typ)
	}
	return l.keys.provide(ctx, sink, sig)
}

func (l *WebLogin) verifyIDToken(ctx context.Context, raw, nonce string) (*Session, error) {
	tok, err := jwt.ParseString(raw,
		jwt.WithKeyProvider(jws.KeyProviderFunc(l.idTokenKey)), jwt.WithContext(ctx),
		jwt.WithValidate(true), jwt.WithIssuer(l.cfg.Issuer), jwt.WithAudience(l.cfg.ClientID),
		jwt.WithAcceptableSkew(30*time.Second), jwt.WithClock(jwt.ClockFunc(l.cfg.Now)),
		jwt.WithRequiredClaim(jwt.ExpirationKey), jwt.WithRequiredClaim(jwt.SubjectKey), jwt.WithRequiredClaim(jwt.IssuedAtKey))
	if err != nil {
		return nil, err
	}
	claims := tok.PrivateClaims()
	if got, _ := claims["nonce"].(string); subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return nil, errors.New("rp: ID token nonce does not match")
	}
	if azp, ok := claims["azp"].(string); ok && azp != l.cfg.ClientID {
		return nil, errors.New("rp: ID token authorized party is another client")
	}
	s := &Session{Subject: tok.Subject(), IDToken: raw, Expiry: l.cfg.Now().Add(l.cfg.SessionLifetime).UTC().Truncate(time.Second)}
	s.ACR, _ = claims["acr"].(string)
	if list, ok := claims["amr"].([]any); ok {
		for _, v := range list {
			if m, ok := v.(string); ok {
				s.AMR = append(s.AMR, m)
			}
		}
	}
	if at, ok := claims["auth_time"].(float64); ok {
		s.AuthTime = time.Unix(int64(at), 0).UTC()
	}
	return s, nil
}

// SessionFrom returns the request's session, if it has a valid one.
func (l *WebLogin) SessionFrom(r *http.Request) (*Session, bool) {
	var s Session
	if !l.openSealed(r, l.cfg.CookieName, &s) {
		return nil, false
	}
	return &s, true
}

type sessionKey struct{}

// Require lets signed-in people through, with the session in the request
// context (SessionFromContext), and sends everyone else to sign in, back
// to the same page afterwards. Only GET and HEAD start a sign-in; other
// methods get 401.
func (l *WebLogin) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s, ok := l.SessionFrom(r); ok {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, s)))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		l.startLogin(w, r, safeReturn(r.URL.RequestURI()))
	})
}

// SessionFromContext returns the session Require put in the context.
func SessionFromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(*Session)
	return s, ok
}

// LogoutHandler ends the site's session and then the provider's (OpenID
// Connect RP-initiated logout, with the ID token as hint), coming back to
// PostLogoutURL. Mount it for POST, so that another site cannot sign
// people out with a link.
func (l *WebLogin) LogoutHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := l.SessionFrom(r)
		l.clearCookie(w, l.cfg.CookieName)
		m, err := l.provider(r.Context())
		if !ok || err != nil || m.EndSessionEndpoint == "" {
			target := l.cfg.PostLogoutURL
			if target == "" {
				target = "/"
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		q := url.Values{"id_token_hint": {s.IDToken}, "client_id": {l.cfg.ClientID}}
		if l.cfg.PostLogoutURL != "" {
			q.Set("post_logout_redirect_uri", l.cfg.PostLogoutURL)
		}
		http.Redirect(w, r, m.EndSessionEndpoint+"?"+q.Encode(), http.StatusSeeOther)
	})
}

func (l *WebLogin) fail(w http.ResponseWriter, r *http.Request, err *LoginError) {
	l.log.Info("sign-in failed", zap.String("code", err.Code), zap.Error(err.Err))
	if l.cfg.OnError != nil {
		l.cfg.OnError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "Sign-in failed: "+err.Description+".", err.Status)
}

// sealed is a cookie's content with its own expiry, so that a copied
// cookie is useless after it.
type sealed struct {
	Exp  time.Time       `json:"exp"`
	Data json.RawMessage `json:"data"`
}

// maxCookie is the largest cookie browsers are sure to keep.
const maxCookie = 4000

func (l *WebLogin) setSealed(w http.ResponseWriter, name string, v any, maxAge int) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	plain, err := json.Marshal(sealed{Exp: l.cfg.Now().Add(time.Duration(maxAge) * time.Second), Data: data})
	if err != nil {
		return err
	}
	nonce := make([]byte, l.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	value := base64.RawURLEncoding.EncodeToString(l.aead.Seal(nonce, nonce, plain, []byte(name)))
	if len(value)+len(name) > maxCookie {
		return fmt.Errorf("rp: cookie %s would be %d bytes, more than browsers keep", name, len(value))
	}
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: l.cfg.CookiePath, MaxAge: maxAge,
		Secure: strings.HasPrefix(l.cfg.RedirectURL, "https://"), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	return nil
}

func (l *WebLogin) openSealed(r *http.Request, name string, v any) bool {
	c, err := r.Cookie(name)
	if err != nil {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) < l.aead.NonceSize() {
		return false
	}
	plain, err := l.aead.Open(nil, raw[:l.aead.NonceSize()], raw[l.aead.NonceSize():], []byte(name))
	if err != nil {
		return false
	}
	var s sealed
	if json.Unmarshal(plain, &s) != nil || !l.cfg.Now().Before(s.Exp) {
		return false
	}
	return json.Unmarshal(s.Data, v) == nil
}

func (l *WebLogin) clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: l.cfg.CookiePath, MaxAge: -1,
		Secure: strings.HasPrefix(l.cfg.RedirectURL, "https://"), HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
