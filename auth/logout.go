package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/keys"
)

// par is the pushed authorization request endpoint (RFC 9126): a client
// sends its authorization request straight to the provider, authenticated,
// and gets a request_uri to send the browser with instead.
func (p *Provider) par(w http.ResponseWriter, r *http.Request) {
	if err := p.readForm(w, r); err != nil {
		p.writeOAuthError(w, err)
		return
	}
	ctx := r.Context()
	client, err := p.cfg.Clients.Authenticate(ctx, r, []string{p.cfg.Issuer, p.tokenURL, p.cfg.Issuer + PathPAR})
	if err != nil {
		p.writeOAuthError(w, err)
		return
	}
	if r.PostForm.Has("request_uri") {
		p.writeOAuthError(w, invalidRequest("request_uri cannot be pushed"))
		return
	}
	params := url.Values{}
	for k, v := range r.PostForm {
		switch k {
		case "client_assertion", "client_assertion_type":
		default:
			params[k] = v
		}
	}
	params.Set("client_id", client.ID)
	if _, err := ParseAuthorizeRequest(ctx, params, p.cfg.Clients.Get, false); err != nil {
		var ae *AuthorizeError
		if errors.As(err, &ae) {
			err = &OAuthError{Code: ae.Code, Description: ae.Description, Status: http.StatusBadRequest}
		}
		p.writeOAuthError(w, err)
		return
	}
	uri, err := p.store.pushRequest(ctx, client.ID, params.Encode(), PushedRequestLifetime)
	if err != nil {
		p.writeOAuthError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{"request_uri": uri, "expires_in": int(PushedRequestLifetime / time.Second)})
}

// logout is RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0).
// With an ID token of this provider as id_token_hint the session ends at
// once; without one the person is asked to confirm, so that another site
// cannot sign them out behind their back. The refresh tokens issued in the
// session end with it, and every client the session signed in to is told
// through back-channel logout.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxTokenRequest)
	if err := r.ParseForm(); err != nil {
		p.pages.RenderError(w, r, http.StatusBadRequest, "")
		return
	}
	f := r.Form
	var hint jwt.Token
	if raw := f.Get("id_token_hint"); raw != "" {
		t, err := p.cfg.Keys.ParseJWT(ctx, []byte(raw), jwt.WithValidate(false))
		if err != nil || t.Issuer() != p.cfg.Issuer || len(t.Audience()) == 0 {
			p.pages.Render(w, r, http.StatusBadRequest, "signin_error.html", map[string]any{"Description": p.text(r, "auth.error.logout_hint")})
			return
		}
		hint = t
	}
	clientID := f.Get("client_id")
	if hint != nil {
		if clientID != "" && !slices.Contains(hint.Audience(), clientID) {
			p.pages.Render(w, r, http.StatusBadRequest, "signin_error.html", map[string]any{"Description": p.text(r, "auth.error.logout_hint")})
			return
		}
		clientID = hint.Audience()[0]
	}
	after := f.Get("post_logout_redirect_uri")
	if after != "" {
		c, err := p.cfg.Clients.Get(ctx, clientID)
		if err != nil || c.Disabled || !slices.Contains(c.PostLogoutRedirectURIs, after) {
			p.pages.Render(w, r, http.StatusBadRequest, "signin_error.html", map[string]any{"Description": p.text(r, "auth.error.logout_redirect")})
			return
		}
	}
	sess, ok, err := p.currentSession(r)
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	confirmed := r.Method == http.MethodPost && f.Get("confirm") != "" && p.logoutTokenOK(r, f.Get("csrf"))
	if ok && !confirmed {
		sid, _ := hintClaim(hint, "sid")
		matches := hint != nil && (sid == sess.SID || (sid == "" && hint.Subject() == sess.Subject))
		if !matches {
			bind, err := p.browserBinding(w, r)
			if err != nil {
				p.internalError(w, r, err)
				return
			}
			p.pages.Render(w, r, http.StatusOK, "logout.html", map[string]any{
				"Action": p.base + PathLogout, "CSRF": hashID("logout:" + bind),
				"After": after, "State": f.Get("state"), "ClientID": clientID,
			})
			return
		}
	}
	if ok {
		// The tokens first: should ending the session fail after, the
		// person is still signed in and can try again.
		if err := p.endSessionTokens(ctx, sess.SID); err != nil {
			p.internalError(w, r, err)
			return
		}
		clients, err := p.store.endSession(ctx, sess.SID)
		if err != nil {
			p.internalError(w, r, err)
			return
		}
		p.backchannelLogout(ctx, sess, clients)
		p.log.Info("signed out", zap.String("realm", p.cfg.Realm), zap.String("sub", sess.Subject),
			zap.String("client_id", clientID), zap.Int("clients_told", len(clients)))
	}
	p.setCookie(w, p.sessionCookie(), "", -1)
	if after != "" {
		u, err := url.Parse(after)
		if err != nil {
			p.internalError(w, r, err)
			return
		}
		if st := f.Get("state"); st != "" {
			q := u.Query()
			q.Set("state", st)
			u.RawQuery = q.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	p.pages.Render(w, r, http.StatusOK, "logged_out.html", nil)
}

// endSessionTokens ends the refresh token families issued in the single
// sign-on session sid, with the access tokens issued in them.
func (p *Provider) endSessionTokens(ctx context.Context, sid string) error {
	ended, err := p.cfg.Codes.Refresh().revokeSession(ctx, sid)
	if err != nil {
		return err
	}
	if len(ended) > 0 {
		p.log.Info("session's refresh tokens ended", zap.String("realm", p.cfg.Realm), zap.Int("families", len(ended)))
	}
	return p.revokeEnded(ctx, ended...)
}

func (p *Provider) logoutTokenOK(r *http.Request, token string) bool {
	bind := cookieValue(r, p.bindCookie())
	return bind != "" && subtle.ConstantTimeCompare([]byte(token), []byte(hashID("logout:"+bind))) == 1
}

func hintClaim(t jwt.Token, name string) (string, bool) {
	if t == nil {
		return "", false
	}
	v, ok := t.PrivateClaims()[name].(string)
	return v, ok
}

// BackchannelLogoutEvent is the event a logout token carries.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// backchannelLogout posts a signed logout token to each client of the
// ended session that registered a back-channel logout URI, all at once and
// each bounded by the HTTP client's timeout. Failures are logged: the
// session has ended here whatever the clients answer.
func (p *Provider) backchannelLogout(ctx context.Context, sess session, clients []sessionClient) {
	ctx = context.WithoutCancel(ctx) // the browser leaving must not cut the notices short
	var wg sync.WaitGroup
	for _, sc := range clients {
		c, err := p.cfg.Clients.Get(ctx, sc.ClientID)
		if err != nil || c.BackchannelLogoutURI == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.sendLogoutToken(ctx, c, sc.Subject, sess.SID); err != nil {
				p.log.Warn("back-channel logout failed", zap.String("realm", p.cfg.Realm), zap.String("client_id", c.ID), zap.Error(err))
			}
		}()
	}
	wg.Wait()
}

func (p *Provider) sendLogoutToken(ctx context.Context, c Client, subject, sid string) error {
	now := p.cfg.Now().Truncate(time.Second)
	tok, err := jwt.NewBuilder().Issuer(p.cfg.Issuer).Audience([]string{c.ID}).Subject(subject).
		IssuedAt(now).Expiration(now.Add(2*time.Minute)).JwtID(newTokenID()).
		Claim("sid", sid).Claim("events", map[string]any{BackchannelLogoutEvent: map[string]any{}}).Build()
	if err != nil {
		return err
	}
	signed, err := p.cfg.Keys.SignJWT(ctx, tok, keys.WithType("logout+jwt"))
	if err != nil {
		return err
	}
	body := url.Values{"logout_token": {string(signed)}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BackchannelLogoutURI, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return errors.New("auth: back-channel logout answered " + resp.Status)
	}
	return nil
}
