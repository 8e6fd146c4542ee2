package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
)

// accountClientID is the portal's own client in the citizens' realm for
// the citizen's account page.
const accountClientID = "account"

// mountAccount mounts the citizen's account page at /account/, where an
// authenticator app is bound and removed. It asks for LoA substantial (a
// code by SMS, or from the app already bound), so without an SMS gateway
// nothing is mounted.
func (a *app) mountAccount(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	if a.totp == nil {
		return nil
	}
	const path = "/account"
	login, err := a.webLogin(ctx, mux, cfg, siteLogin{ClientID: accountClientID,
		Names: map[string]string{"el": "Ο λογαριασμός μου", "en": "My account"},
		Realm: "citizen", Path: path, Scopes: []string{"openid", "profile", auth.ScopeGreekIdentity}, ACR: rp.LoASubstantial,
		Lifetime: 15 * time.Minute})
	if err != nil {
		return err
	}
	pages, err := auth.AuthenticatorPages(auth.AuthenticatorPagesConfig{Store: a.totp, Prefix: path,
		SignInURL: path + "/signin", SignOutURL: path + "/signout", StaticPrefix: sharedStatic,
		Holder: fromSession(a.holderFromToken), Logger: a.log})
	if err != nil {
		return err
	}
	mux.Handle(path+"/", login.Require(freshAccess(path+"/signin", http.StripPrefix(path, pages))))
	a.account = path + "/"
	return nil
}

// holderFromToken asks the citizens' provider, in process, who an access
// token speaks for, and finds their account: the subject sign-in checks
// authenticator codes against.
func (a *app) holderFromToken(ctx context.Context, token string) (auth.AuthenticatorHolder, error) {
	claims, err := a.citizens.UserInfo(ctx, token)
	if err != nil {
		return auth.AuthenticatorHolder{}, err
	}
	afm, _ := claims["afm"].(string)
	if afm == "" {
		return auth.AuthenticatorHolder{}, errors.New("the token does not release the tax number (scope gr_identity)")
	}
	c, err := a.accounts.CitizenByAFM(ctx, afm)
	if err != nil {
		return auth.AuthenticatorHolder{}, err
	}
	return auth.AuthenticatorHolder{Subject: c.ID, Account: c.Username}, nil
}
