package consumer

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap"
)

// clientAssertionType is the client_assertion_type of RFC 7523.
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: long enough
// for clock differences, short enough to be worthless soon if copied.
const assertionLifetime = time.Minute

// maxTokenAnswer bounds the body of a token or discovery answer.
const maxTokenAnswer = 64 << 10

// tokens holds the access token and fetches a new one when it is about to
// expire. One fetch at a time: callers that find a fetch under way wait for
// its result instead of starting their own.
type tokens struct {
	c *Client

	mu       sync.Mutex
	token    string
	refresh  time.Time // when to fetch the next one
	expires  time.Time // after which the token is not used
	fetching *fetch
	endpoint string // the token endpoint, once known
}

type fetch struct {
	done  chan struct{}
	token string
	err   error
	// abandoned is set when the fetch failed because the context of the
	// caller that ran it ended: the others try again with their own.
	abandoned bool
}

// get returns a valid access token: the cached one, or a new one.
func (t *tokens) get(ctx context.Context) (string, error) {
	for {
		t.mu.Lock()
		now := t.c.now()
		if t.token != "" && now.Before(t.refresh) {
			tok := t.token
			t.mu.Unlock()
			return tok, nil
		}
		if f := t.fetching; f != nil {
			t.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return "", fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
			}
			if f.abandoned && ctx.Err() == nil {
				continue
			}
			return f.token, f.err
		}
		f := &fetch{done: make(chan struct{})}
		t.fetching = f
		t.mu.Unlock()

		tok, lifetime, err := t.fetch(ctx)
		t.mu.Lock()
		if err == nil {
			got := t.c.now()
			t.token = tok
			t.expires = got.Add(lifetime)
			t.refresh = got.Add(lifetime - refreshMargin(lifetime))
		}
		f.token, f.err, f.abandoned = tok, err, err != nil && ctx.Err() != nil
		t.fetching = nil
		t.mu.Unlock()
		close(f.done)
		return tok, err
	}
}

// refreshMargin is how long before its expiry a token is replaced: a
// tenth of its lifetime, between 5 and 60 seconds, so that a token is not
// sent when it would expire on the way.
func refreshMargin(lifetime time.Duration) time.Duration {
	return min(max(lifetime/10, 5*time.Second), time.Minute, lifetime/2)
}

// invalidate drops tok if it is still the cached token, so that the next
// get fetches a new one; a token refreshed meanwhile by another call is
// kept.
func (t *tokens) invalidate(tok string) {
	t.mu.Lock()
	if t.token == tok {
		t.token = ""
	}
	t.mu.Unlock()
}

// fetch asks the token endpoint for a token with the client_credentials
// grant, authenticated with a private_key_jwt assertion.
func (t *tokens) fetch(ctx context.Context) (string, time.Duration, error) {
	endpoint, err := t.tokenEndpoint(ctx)
	if err != nil {
		return "", 0, err
	}
	assertion, err := t.assertion(endpoint)
	if err != nil {
		return "", 0, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {t.c.cfg.ClientID},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {assertion},
	}
	if len(t.c.cfg.Scopes) > 0 {
		form.Set("scope", strings.Join(t.c.cfg.Scopes, " "))
	}
	if t.c.cfg.Resource != "" {
		form.Set("resource", t.c.cfg.Resource)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", 0, fmt.Errorf("%w: token request: %w", ErrConfig, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := t.c.http.Do(req)
	if err != nil {
		return "", 0, fmt.Errorf("%w: token endpoint: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer))
	if err != nil {
		return "", 0, fmt.Errorf("%w: token endpoint: %w", ErrUnavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		te := &TokenError{Status: resp.StatusCode}
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil {
			te.Code, te.Description = clip(oe.Error), clip(oe.Description)
		}
		t.c.log.Warn("token refused", zap.String("client_id", t.c.cfg.ClientID), zap.Int("status", resp.StatusCode), zap.String("error", te.Code))
		return "", 0, te
	}
	var ans struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &ans); err != nil || ans.AccessToken == "" || !strings.EqualFold(ans.TokenType, "Bearer") {
		return "", 0, fmt.Errorf("%w: the token endpoint's answer is not a Bearer token", ErrUnavailable)
	}
	lifetime := time.Duration(ans.ExpiresIn) * time.Second
	if ans.ExpiresIn <= 0 || ans.ExpiresIn > 86400 {
		lifetime = defaultTokenLifetime
	}
	t.c.log.Debug("token obtained", zap.String("client_id", t.c.cfg.ClientID), zap.Duration("lifetime", lifetime))
	return ans.AccessToken, lifetime, nil
}

// defaultTokenLifetime is how long a token whose answer gave no (or no
// sensible) expires_in is used.
const defaultTokenLifetime = time.Minute

// assertion signs a client assertion for endpoint (RFC 7523 section 3).
func (t *tokens) assertion(endpoint string) (string, error) {
	aud := t.c.cfg.AssertionAudience
	if aud == "" {
		aud = endpoint
	}
	jti := make([]byte, 18)
	rand.Read(jti)
	now := t.c.now()
	tok, err := jwt.NewBuilder().
		Issuer(t.c.cfg.ClientID).Subject(t.c.cfg.ClientID).Audience([]string{aud}).
		IssuedAt(now).Expiration(now.Add(assertionLifetime)).
		JwtID(base64.RawURLEncoding.EncodeToString(jti)).
		Build()
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, t.c.cfg.KeyID); err != nil {
		return "", err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(t.c.alg, t.c.cfg.Key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("consumer: sign the client assertion: %w", err)
	}
	return string(signed), nil
}

// tokenEndpoint returns Config.TokenURL, or the token_endpoint of the
// issuer's discovery document, read once.
func (t *tokens) tokenEndpoint(ctx context.Context) (string, error) {
	if t.c.cfg.TokenURL != "" {
		return t.c.cfg.TokenURL, nil
	}
	t.mu.Lock()
	ep := t.endpoint
	t.mu.Unlock()
	if ep != "" {
		return ep, nil
	}
	ep, err := t.discover(ctx)
	if err != nil {
		return "", err
	}
	t.mu.Lock()
	t.endpoint = ep
	t.mu.Unlock()
	return ep, nil
}

func (t *tokens) discover(ctx context.Context) (string, error) {
	issuer := t.c.cfg.Issuer
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("%w: discovery: %w", ErrConfig, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := t.c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: discovery: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenAnswer))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || resp.StatusCode != http.StatusOK || mt != "application/json" {
		return "", fmt.Errorf("%w: discovery at %s answered %d", ErrUnavailable, issuer, resp.StatusCode)
	}
	var doc struct {
		Issuer        string `json:"issuer"`
		TokenEndpoint string `json:"token_endpoint"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("%w: discovery document of %s: %w", ErrUnavailable, issuer, err)
	}
	// OpenID Connect Discovery section 4.3: the document names the issuer
	// it was asked of, or it is not that issuer's.
	if doc.Issuer != issuer {
		return "", fmt.Errorf("%w: the discovery document of %s names the issuer %q", ErrConfig, issuer, doc.Issuer)
	}
	if err := checkURL(doc.TokenEndpoint); err != nil {
		return "", fmt.Errorf("%w: the token endpoint of %s: %w", ErrConfig, issuer, err)
	}
	return doc.TokenEndpoint, nil
}

// checkURL accepts an absolute http or https URL.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return errors.New("not an absolute http(s) URL")
	}
	return nil
}
