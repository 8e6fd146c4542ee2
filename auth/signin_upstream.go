package auth

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"go.uber.org/zap"
)

func (p *Provider) upstream(id string) (Upstream, bool) {
	for _, u := range p.cfg.Upstreams {
		if u.ID() == id {
			return u, true
		}
	}
	return nil, false
}

func (p *Provider) upstreamRedirectURI() string {
	return p.cfg.Issuer + PathLogin + "/upstream/callback"
}

// loginUpstream sends the person to the identity provider they chose.
func (p *Provider) loginUpstream(w http.ResponseWriter, r *http.Request) {
	id, st, req, ok := p.postedSignin(w, r, stepPassword)
	if !ok {
		return
	}
	u, found := p.upstream(r.PostForm.Get("upstream"))
	if !found {
		http.Redirect(w, r, p.base+PathLogin+"?tx="+url.QueryEscape(id), http.StatusSeeOther)
		return
	}
	st.Upstream, st.UpState, st.UpNonce, st.UpVerifier = u.ID(), newTokenID(), newTokenID(), newTokenID()+newTokenID()+newTokenID()
	target, err := u.AuthURL(r.Context(), p.upstreamRedirectURI(), id+"~"+st.UpState, st.UpNonce, st.UpVerifier)
	if err == nil {
		err = p.store.updateSignin(r.Context(), id, st)
	}
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	p.log.Info("sign-in sent upstream", zap.String("realm", p.cfg.Realm), zap.String("client_id", req.Client.ID), zap.String("upstream", u.ID()))
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// upstreamCallback takes the upstream's answer, links the person to their
// citizen account by tax number, and carries on: straight back to the
// client when the upstream's level is enough, or to the SMS code.
func (p *Provider) upstreamCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	id, upState, _ := strings.Cut(q.Get("state"), "~")
	st, req, ok := p.loadSignin(w, r, id)
	if !ok {
		return
	}
	u, found := p.upstream(st.Upstream)
	if !found || st.UpState == "" || subtle.ConstantTimeCompare([]byte(upState), []byte(st.UpState)) != 1 {
		p.pages.Render(w, r, http.StatusBadRequest, "signin_error.html", map[string]any{"Expired": true})
		return
	}
	// The answer is used once.
	st.Upstream, st.UpState = "", ""
	if err := p.store.updateSignin(ctx, id, st); err != nil {
		p.internalError(w, r, err)
		return
	}
	if code := q.Get("error"); code != "" || q.Get("code") == "" {
		p.record(r, req.Client.ID, "", "", "upstream_refused")
		p.renderSignin(w, r, http.StatusUnauthorized, id, st, req, signinData{Error: "auth.error.upstream", ErrorArgs: []any{"provider", u.Name()}, Field: "username"})
		return
	}
	ident, err := u.Exchange(ctx, p.upstreamRedirectURI(), q.Get("code"), st.UpNonce, st.UpVerifier)
	if err != nil {
		p.log.Warn("upstream sign-in failed", zap.String("realm", p.cfg.Realm), zap.String("upstream", u.ID()), zap.Error(err))
		p.record(r, req.Client.ID, "", "", "upstream_failed")
		p.renderSignin(w, r, http.StatusBadGateway, id, st, req, signinData{Error: "auth.error.upstream", ErrorArgs: []any{"provider", u.Name()}, Field: "username"})
		return
	}
	citizen, err := p.cfg.Accounts.CitizenByAFM(ctx, ident.AFM)
	if errors.Is(err, ErrNoSuchAccount) || errors.Is(err, ErrAccountInvalid) || (err == nil && citizen.Disabled) {
		p.record(r, req.Client.ID, "", ident.ACR, "upstream_unlinked")
		p.pages.Render(w, r, http.StatusForbidden, "signin_error.html", map[string]any{"NoAccount": true, "Provider": u.Name()})
		return
	}
	if err != nil {
		p.internalError(w, r, err)
		return
	}
	amr := ident.AMR
	st.Subject, st.AMR, st.AuthTime, st.SessionID = citizen.ID, amr, p.cfg.Now(), ""
	p.log.Info("upstream sign-in linked", zap.String("realm", p.cfg.Realm), zap.String("upstream", u.ID()),
		zap.String("sub", citizen.ID), zap.String("acr", ident.ACR))
	if loaRank[ident.ACR] >= loaRank[st.Required] {
		p.complete(w, r, id, st, req, ident.ACR)
		return
	}
	if !p.startCode(w, r, id, &st, req, false) {
		return
	}
	http.Redirect(w, r, p.base+PathLogin+"?tx="+url.QueryEscape(id), http.StatusSeeOther)
}
