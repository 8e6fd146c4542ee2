package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/page"
)

// mountDemoSites serves, in demo mode, a small agency site per realm at
// /demo/<realm>/ that signs people in with rp.WebLogin through the
// portal's own provider, the way an agency's site would: the citizens'
// site asks for LoA substantial (password and SMS code, read at
// /dev/outbox), the servants' site for a password.
func (a *app) mountDemoSites(mux *http.ServeMux, cfg appConfig) error {
	key, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit demo site cookies v1", 32)
	if err != nil {
		return err
	}
	for _, realm := range realms {
		base := "/demo/" + realm + "/"
		acr := rp.LoASubstantial
		if realm == "servant" || a.otps == nil {
			acr = rp.LoALow
		}
		login, err := rp.NewWebLogin(rp.LoginConfig{
			Issuer: cfg.BaseURL + "/auth/" + realm, ClientID: demoClientID, ClientSecret: demoClientSecret,
			RedirectURL: cfg.BaseURL + base + "callback", PostLogoutURL: cfg.BaseURL + base,
			ACR: acr, CookieKey: key, CookieName: "egovkit_demo_" + realm, CookiePath: base,
			SessionLifetime: time.Hour, Logger: a.log.Named("demo-site"),
			OnError: func(w http.ResponseWriter, r *http.Request, err *rp.LoginError) {
				a.pages.RenderError(w, r, err.Status, a.pages.Text(page.Lang(r), "signin.failed", "reason", err.Description))
			},
		})
		if err != nil {
			return err
		}
		userinfo := cfg.BaseURL + "/auth/" + realm + "/userinfo"
		mux.Handle("GET "+base+"login", login.LoginHandler())
		mux.Handle("GET "+base+"callback", login.CallbackHandler())
		mux.Handle("POST "+base+"logout", login.LogoutHandler())
		mux.HandleFunc("GET "+base+"{$}", func(w http.ResponseWriter, r *http.Request) {
			data := map[string]any{"Realm": realm, "Base": base, "ACR": acr}
			if s, ok := login.SessionFrom(r); ok {
				data["Session"] = s
				data["Claims"] = a.fetchUserInfo(r.Context(), userinfo, s.AccessToken)
			}
			a.pages.Render(w, r, http.StatusOK, "demo.html", data)
		})
	}
	return nil
}

// fetchUserInfo asks the provider who the access token speaks for, as an
// agency's site would; nil when it cannot.
func (a *app) fetchUserInfo(ctx context.Context, endpoint, token string) map[string]any {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.log.Warn("demo site: userinfo failed", zap.Error(err))
		return nil
	}
	defer resp.Body.Close()
	var claims map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&claims) != nil {
		return nil
	}
	return claims
}
