package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/declaration"
)

// declarationsClientID is the portal's own client in the citizens' realm,
// through which citizens sign in to write their declarations.
const declarationsClientID = "declarations"

// declarationsAPI is where the declarations API is mounted; the public URL
// followed by it is the API's audience.
const declarationsAPI = "/declarations/api"

// mountDeclarations mounts solemn declarations and authorizations: the
// citizen's pages at /declarations/ (signed in through the citizens'
// provider, with the tax number released by the gr_identity scope), the
// JSON API at /declarations/api/ (a citizen's access token), and the
// public verification page at /verify, where QR codes lead. The API's
// private endpoints take tokens issued for it (audience
// <public URL>/declarations/api) with the scopes declarations:read to
// read and declarations:write, at LoA substantial, to write. Without an
// SMS gateway no code can confirm a document, so nothing is mounted.
func (a *app) mountDeclarations(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	if cfg.SMS == nil {
		a.log.Warn("no SMS gateway configured: declarations are not offered")
		return nil
	}
	athens, err := time.LoadLocation("Europe/Athens")
	if err != nil {
		return err
	}
	signing, err := declaration.NewSigningKeys(ctx, cfg.DB, cfg.KEK, declaration.ES256, declaration.WithLogger(a.log))
	if err != nil {
		return err
	}
	secret, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit declaration codes v1", 32)
	if err != nil {
		return err
	}
	svc, err := declaration.New(ctx, declaration.Config{DB: cfg.DB, Issuer: "egovkit", BaseURL: cfg.BaseURL,
		StatusListURL: cfg.BaseURL + "/declarations/api/statuslist", PDFSigner: cfg.PDFSigner,
		Keys: signing, CodeSecret: secret, SMS: cfg.SMS, Location: athens, Counter: a.metrics,
		Logger: a.log.Named("declaration")})
	if err != nil {
		return err
	}
	acr := rp.LoASubstantial
	if a.otps == nil {
		acr = rp.LoALow
	}
	login, err := a.webLogin(ctx, mux, cfg, siteLogin{ClientID: declarationsClientID,
		Names: map[string]string{"el": "Υπεύθυνες δηλώσεις και εξουσιοδοτήσεις", "en": "Solemn declarations and authorizations"},
		Realm: "citizen", Path: "/declarations", Scopes: []string{"openid", "profile", auth.ScopeGreekIdentity}, ACR: acr, Lifetime: time.Hour})
	if err != nil {
		return err
	}
	pcfg := declaration.PagesConfig{Service: svc, Prefix: "/declarations", StaticPrefix: sharedStatic, SignInURL: "/declarations/signin",
		SignOutURL: "/declarations/signout", Declarant: fromSession(a.declarantFromToken), Logger: a.log}
	pages, err := declaration.PagesHandler(pcfg)
	if err != nil {
		return err
	}
	verify, err := declaration.VerifyHandler(pcfg)
	if err != nil {
		return err
	}
	api, err := declaration.APIHandler(declaration.APIConfig{Service: svc, Declarant: fromBearer(a.declarantFromToken), Logger: a.log})
	if err != nil {
		return err
	}
	mux.Handle("/declarations/", login.Require(freshAccess("/declarations/signin", http.StripPrefix("/declarations", pages))))
	res, err := a.newResource(cfg, "citizen", declarationsAPI,
		[]string{"openid", auth.ScopeGreekIdentity, scopeDeclarationsRead},
		[]string{"openid", "profile", auth.ScopeGreekIdentity, scopeDeclarationsWrite})
	if err != nil {
		return err
	}
	api = http.StripPrefix(declarationsAPI, api)
	// Everything about a person's documents takes their token, checked
	// for this API; verification, keys, templates and the status list are
	// public.
	for _, private := range []string{"/documents", "/documents/", "/granted", "/granted/"} {
		mux.Handle(declarationsAPI+private, res.guard(api))
	}
	mux.Handle(declarationsAPI+"/", api)
	mux.Handle("/verify", verify)
	a.every(ctx, "declaration maintenance", svc.Maintain)
	for i := range a.services {
		if a.services[i].Key == "declaration" {
			a.services[i].Href = "/declarations/"
		}
	}
	return nil
}

// declarantFromToken asks the citizens' provider, in process, who an
// access token speaks for, and the contact registry for their mobile.
func (a *app) declarantFromToken(ctx context.Context, token string) (declaration.Person, error) {
	claims, err := a.citizens.UserInfo(ctx, token)
	if err != nil {
		return declaration.Person{}, err
	}
	str := func(k string) string { v, _ := claims[k].(string); return v }
	p := declaration.Person{AFM: str("afm"), GivenName: str("given_name"), FamilyName: str("family_name"),
		FatherName: str("father_name"), MotherName: str("mother_name"), BirthDate: str("birthdate")}
	if p.AFM == "" {
		return declaration.Person{}, errors.New("the token does not release the tax number (scope gr_identity)")
	}
	if a.contacts != nil {
		if c, err := a.accounts.CitizenByAFM(ctx, p.AFM); err == nil {
			if contact, err := a.contacts.Get(ctx, c.ID); err == nil {
				p.Mobile = contact.Mobile
			}
		}
	}
	return p, nil
}
