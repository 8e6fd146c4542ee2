package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/page"
)

// siteLogin describes how one part of the portal signs people in: its
// own client in a realm, and its own session cookie below its path.
type siteLogin struct {
	ClientID string
	Names    map[string]string // the site's name in Greek ("el") and English ("en")
	Realm    string            // "citizen" or "servant"
	Path     string            // such as "/procedures"; sign-in lives below it
	Scopes   []string
	ACR      string
	Lifetime time.Duration
}

// webLogin registers (or brings up to date) the site's client in its
// realm and returns the sign-in for it, mounted at Path/signin,
// Path/signin/callback and Path/signout. The client secret and the cookie
// key are derived from the key-encryption key, so every instance agrees
// on them and the data directory holds one secret.
func (a *app) webLogin(ctx context.Context, mux *http.ServeMux, cfg appConfig, s siteLogin) (*rp.WebLogin, error) {
	secret, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit portal client "+s.ClientID+" v1", 32)
	if err != nil {
		return nil, err
	}
	cookieKey, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit portal cookies "+s.ClientID+" v1", 32)
	if err != nil {
		return nil, err
	}
	c := auth.Client{
		ID: s.ClientID, Name: s.Names["el"], Names: s.Names, AuthMethod: auth.AuthSecretBasic,
		GrantTypes:             []string{auth.GrantAuthorizationCode},
		RedirectURIs:           []string{cfg.BaseURL + s.Path + "/signin/callback"},
		PostLogoutRedirectURIs: []string{cfg.BaseURL + s.Path + "/"},
		Scopes:                 s.Scopes,
	}
	clients := a.citizenClients
	if s.Realm == "servant" {
		clients = a.servantClients
	}
	if err := ensureClient(ctx, clients, c, base64.RawURLEncoding.EncodeToString(secret)); err != nil {
		return nil, fmt.Errorf("client %s: %w", s.ClientID, err)
	}
	login, err := rp.NewWebLogin(rp.LoginConfig{
		Issuer: cfg.BaseURL + "/auth/" + s.Realm, ClientID: c.ID, ClientSecret: base64.RawURLEncoding.EncodeToString(secret),
		RedirectURL: c.RedirectURIs[0], PostLogoutURL: c.PostLogoutRedirectURIs[0], Scopes: s.Scopes,
		ACR: s.ACR, CookieKey: cookieKey, CookieName: "egovkit_" + s.ClientID, CookiePath: s.Path + "/",
		SessionLifetime: s.Lifetime, Logger: a.log.Named(s.ClientID),
		OnError: func(w http.ResponseWriter, r *http.Request, err *rp.LoginError) {
			a.pages.RenderError(w, r, err.Status, a.pages.Text(page.Lang(r), "signin.failed", "reason", err.Description))
		},
	})
	if err != nil {
		return nil, err
	}
	mux.Handle("GET "+s.Path+"/signin", login.LoginHandler())
	mux.Handle("GET "+s.Path+"/signin/callback", login.CallbackHandler())
	mux.Handle("POST "+s.Path+"/signout", login.LogoutHandler())
	return login, nil
}

// freshAccess sends a signed-in person whose access token has expired
// back through the provider by way of signin (the provider's own session
// usually makes that invisible) before the page asks who they are. A form
// posted with an expired token cannot be replayed, so it gets a page
// saying so.
func freshAccess(signin string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := rp.SessionFromContext(r.Context())
		if ok && !s.AccessExpiry.IsZero() && !time.Now().Before(s.AccessExpiry) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				http.Redirect(w, r, signin+"?return="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// fromSession makes the caller of a site's pages from the access token of
// the session WebLogin.Require put in the request.
func fromSession[T any](who func(context.Context, string) (T, error)) func(*http.Request) (T, error) {
	return func(r *http.Request) (T, error) {
		s, ok := rp.SessionFromContext(r.Context())
		if !ok {
			var zero T
			return zero, errors.New("not signed in")
		}
		return who(r.Context(), s.AccessToken)
	}
}

// fromBearer makes the caller of an API from the access token the request
// bears (RFC 6750), once a resource's guard has accepted it for this
// request (audience, scopes, level of assurance). A route the guard does
// not cover has no caller: the package answers 401.
func fromBearer[T any](who func(context.Context, string) (T, error)) func(*http.Request) (T, error) {
	return func(r *http.Request) (T, error) {
		var zero T
		if _, ok := rp.FromContext(r.Context()); !ok {
			return zero, errors.New("the access token was not checked for this resource")
		}
		h := r.Header.Get("Authorization")
		if len(h) < 8 || !strings.EqualFold(h[:7], "Bearer ") {
			return zero, errors.New("no bearer token")
		}
		return who(r.Context(), strings.TrimSpace(h[7:]))
	}
}
