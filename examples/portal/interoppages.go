package main

import (
	"context"
	"net/http"
	"time"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/interop"
)

// interopPages is where the operators' pages of the registry of services
// are mounted; operators and auditors sign in below it through the
// servants' realm.
const interopPages = interopPrefix + "/registry"

// operatorsClientID is the portal's own client of the servants' realm
// through which the centre's operators and auditors sign in to the pages.
const operatorsClientID = "interop-operators"

// mountInteropPages serves the registry's pages to civil servants whose
// authorizations for the service "interop" make them operators or
// auditors. Changing the registry is a write: with an SMS gateway the
// sign-in asks for the one-time code too (LoA substantial), as the
// operators' API does of its tokens.
func (a *app) mountInteropPages(ctx context.Context, mux *http.ServeMux, cfg appConfig, store interop.Store) error {
	acr := rp.LoASubstantial
	if a.otps == nil {
		acr = rp.LoALow
	}
	login, err := a.webLogin(ctx, mux, cfg, siteLogin{ClientID: operatorsClientID,
		Names: map[string]string{"el": "Κέντρο διαλειτουργικότητας: μητρώο υπηρεσιών", "en": "Interoperability centre: registry of services"},
		Realm: "servant", Path: interopPages, Scopes: []string{"openid", "profile"}, ACR: acr, Lifetime: 8 * time.Hour})
	if err != nil {
		return err
	}
	pages, err := interop.PagesHandler(interop.PagesConfig{Store: store, Caller: fromSession(a.interopCallerFromToken),
		Prefix: interopPages, StaticPrefix: sharedStatic, SignOutURL: interopPages + "/signout", Logger: a.log})
	if err != nil {
		return err
	}
	mux.Handle(interopPages+"/", login.Require(freshAccess(interopPages+"/signin", http.StripPrefix(interopPages, pages))))
	return nil
}
