package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/consent"
)

// consentClientID is the portal's own client in the citizens' realm,
// through which citizens sign in to their consents.
const consentClientID = "consent"

// consentAPI is where the consent API is mounted; the public URL followed
// by it is the API's audience.
const consentAPI = "/consent/api"

// The demonstration requester: an agency system that asks the demo
// citizen for consent through the API (client credentials, published
// secret), created in demo mode only.
const (
	demoRequesterID     = "demo-requester"
	demoRequesterSecret = "demo-requester-secret"
)

// mountConsent mounts the citizen's consents: the pages at /consent/
// (signed in through the citizens' provider at LoA substantial, the tax
// number released by the gr_identity scope) and the JSON API at
// /consent/api/. An agency's system asks for consent with a
// client-credentials token for the API (audience <public URL>/consent/api,
// scope consent:request); the citizen is sent back only to one of that
// client's registered redirect URIs. A citizen's app reads with
// consent:read and withdraws with consent:write at LoA substantial.
// Without an SMS gateway nobody can sign in at LoA substantial, so nothing
// is mounted.
func (a *app) mountConsent(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	if a.otps == nil {
		a.log.Warn("no SMS gateway configured: consents are not offered")
		return nil
	}
	subjectKey, err := hkdf.Key(sha256.New, cfg.KEK, nil, "egovkit consent subjects v1", consent.SubjectKeySize)
	if err != nil {
		return err
	}
	signing, err := consent.NewSigningKeys(ctx, cfg.DB, cfg.KEK, consent.WithLogger(a.log))
	if err != nil {
		return err
	}
	store, err := consent.NewSQLStore(ctx, cfg.DB)
	if err != nil {
		return err
	}
	a.closers = append(a.closers, store.Close)
	svc, err := consent.New(ctx, consent.Config{Store: store, SubjectKey: subjectKey, Keys: signing,
		Issuer: cfg.BaseURL + "/consent", Withdrawal: cfg.BaseURL + "/consent/", Counter: a.metrics,
		RequestLifetime: 24 * time.Hour,
		Logger:          a.log.Named("consent")})
	if err != nil {
		return err
	}
	login, err := a.webLogin(ctx, mux, cfg, siteLogin{ClientID: consentClientID,
		Names: map[string]string{"el": "Τα δεδομένα μου", "en": "My data"},
		Realm: "citizen", Path: "/consent", Scopes: []string{"openid", "profile", auth.ScopeGreekIdentity}, ACR: rp.LoASubstantial,
		Lifetime: time.Hour})
	if err != nil {
		return err
	}
	pcfg := consent.PagesConfig{Service: svc, Prefix: "/consent", StaticPrefix: sharedStatic, SignInURL: "/consent/signin",
		SignOutURL: "/consent/signout", Citizen: a.consentCitizenFromSession, ItemNames: demoItemNames, Logger: a.log,
		Proofs: a.interop}
	if cfg.Demo {
		pcfg.Offers = demoOffers(a.demoRequester())
		if cfg.Journey != nil {
			if pcfg.Preview, err = newJourneyPreview(cfg, a.log.Named("consent-preview")); err != nil {
				return err
			}
		}
	}
	pages, err := consent.PagesHandler(pcfg)
	if err != nil {
		return err
	}
	api, err := consent.APIHandler(consent.APIConfig{Service: svc, PagesURL: cfg.BaseURL + "/consent",
		Requester: a.consentRequester, Citizen: a.consentCitizenFromBearer, ReturnURLAllowed: a.registeredReturn,
		Logger: a.log})
	if err != nil {
		return err
	}
	mux.Handle("/consent/", login.Require(freshAccess("/consent/signin", http.StripPrefix("/consent", pages))))
	res, err := a.newResource(cfg, "citizen", consentAPI,
		[]string{"openid", auth.ScopeGreekIdentity, scopeConsentRead},
		[]string{"openid", auth.ScopeGreekIdentity, scopeConsentWrite})
	if err != nil {
		return err
	}
	requesters, err := a.verifier(cfg, "citizen", consentAPI)
	if err != nil {
		return err
	}
	api = http.StripPrefix(consentAPI, api)
	// A requester's calls take its client-credentials token, a citizen's
	// their own; the keys receipts are signed with are public.
	for _, p := range []string{"/requests", "/requests/"} {
		mux.Handle(consentAPI+p, requesters.Middleware(rp.RequireScopes(scopeConsentRequest))(api))
	}
	for _, p := range []string{"/consents", "/consents/", "/usage"} {
		mux.Handle(consentAPI+p, res.guard(api))
	}
	mux.Handle(consentAPI+"/", api)
	a.every(ctx, "consent maintenance", svc.Maintain)
	a.consent = svc
	if cfg.Demo {
		if err := a.seedConsentDemo(ctx, svc, cfg); err != nil {
			return err
		}
	}
	for i := range a.services {
		if a.services[i].Key == "consent" {
			a.services[i].Href = "/consent/"
		}
	}
	return nil
}

// consentCitizenFromSession is the citizen of the consent pages: the tax
// number from the provider, for the session's access token, and the
// sign-in's level of assurance as the evidence of a decision.
func (a *app) consentCitizenFromSession(r *http.Request) (consent.Citizen, error) {
	s, ok := rp.SessionFromContext(r.Context())
	if !ok {
		return consent.Citizen{}, errors.New("not signed in")
	}
	afm, err := a.taxNumberOf(r.Context(), s.AccessToken)
	if err != nil {
		return consent.Citizen{}, err
	}
	sum := sha256.Sum256([]byte(s.IDToken))
	return consent.Citizen{TaxNumber: afm, Session: "web:" + hex.EncodeToString(sum[:12]), LoA: s.ACR,
		ClientAddress: remoteHost(r)}, nil
}

// consentCitizenFromBearer is the citizen of the consent API, once the
// resource's guard accepted the token for this request.
func (a *app) consentCitizenFromBearer(r *http.Request) (consent.Citizen, error) {
	id, ok := rp.FromContext(r.Context())
	if !ok {
		return consent.Citizen{}, errors.New("the access token was not checked for this resource")
	}
	if id.ClientID == id.Subject {
		return consent.Citizen{}, errors.New("a client's own token speaks for no citizen")
	}
	tok, err := fromBearer(func(_ context.Context, tok string) (string, error) { return tok, nil })(r)
	if err != nil {
		return consent.Citizen{}, err
	}
	afm, err := a.taxNumberOf(r.Context(), tok)
	if err != nil {
		return consent.Citizen{}, err
	}
	return consent.Citizen{TaxNumber: afm, Session: "token:" + id.Token.JwtID(), LoA: id.ACR, ClientAddress: remoteHost(r)}, nil
}

// taxNumberOf asks the citizens' provider, in process, whose tax number
// an access token carries.
func (a *app) taxNumberOf(ctx context.Context, token string) (string, error) {
	claims, err := a.citizens.UserInfo(ctx, token)
	if err != nil {
		return "", err
	}
	afm, _ := claims["afm"].(string)
	if afm == "" {
		return "", errors.New("the token does not release the tax number (scope gr_identity)")
	}
	return afm, nil
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// consentRequester is the agency system calling the consent API: the
// client of the citizens' realm its client-credentials token names, by
// its registered name.
func (a *app) consentRequester(r *http.Request) (consent.Requester, error) {
	id, ok := rp.FromContext(r.Context())
	if !ok || id.ClientID == "" || id.Subject != id.ClientID {
		return consent.Requester{}, errors.New("not a client's own token")
	}
	c, err := a.citizenClients.Get(r.Context(), id.ClientID)
	if err != nil {
		return consent.Requester{}, err
	}
	if c.Disabled {
		return consent.Requester{}, errors.New("the client is disabled")
	}
	return consent.Requester{Organisation: c.Name, Client: c.ID}, nil
}

// registeredReturn allows a return URL that is one of the requester
// client's registered redirect URIs, matched exactly.
func (a *app) registeredReturn(ctx context.Context, req consent.Requester, u string) (bool, error) {
	c, err := a.citizenClients.Get(ctx, req.Client)
	if errors.Is(err, auth.ErrClientNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !c.Disabled && slices.Contains(c.RedirectURIs, u), nil
}

// demoItemNames are the words for the data items of the demonstration.
var demoItemNames = map[string]consent.Text{
	"marital_status": {EL: "Οικογενειακή κατάσταση", EN: "Marital status"},
	"children":       {EL: "Τέκνα", EN: "Children"},
	"spouse":         {EL: "Σύζυγος", EN: "Spouse"},
	"address":        {EL: "Διεύθυνση κατοικίας", EN: "Home address"},
}

var (
	demoSource  = consent.Source{Registry: "Μητρώο Πολιτών", Service: "Οικογενειακή κατάσταση"}
	demoPurpose = consent.Purpose{Code: "child-benefit", Text: consent.Text{EL: "Χορήγηση επιδόματος παιδιού", EN: "Child benefit"}}
)

// demoRequester is the demonstration requester as the consent pages name
// it.
func (a *app) demoRequester() consent.Requester {
	return consent.Requester{Organisation: "Δοκιμαστικός φορέας", Client: demoRequesterID}
}

// demoOffers is the catalogue of standing consents in demo mode.
func demoOffers(req consent.Requester) []consent.Offer {
	return []consent.Offer{{ID: "demo-address", Requester: req,
		Source:     consent.Source{Registry: "Μητρώο Πολιτών", Service: "Διεύθυνση"},
		Items:      []consent.Item{{ID: "address", Type: "string"}},
		Purpose:    consent.Purpose{Code: "correspondence", Text: consent.Text{EL: "Αποστολή αλληλογραφίας", EN: "Sending you letters"}},
		LegalBasis: "GDPR art. 6(1)(a)", Validity: 365 * 24 * time.Hour, MaxUses: consent.Unlimited}}
}

// seedConsentDemo registers the demonstration requester (its secret is
// published; it also calls the gateway as the demonstration consumer) and, unless one waits already, asks the demo citizen for a
// consent so that the pages show a request.
func (a *app) seedConsentDemo(ctx context.Context, svc *consent.Service, cfg appConfig) error {
	req := a.demoRequester()
	c := auth.Client{ID: demoRequesterID, Name: req.Organisation,
		Names:      map[string]string{"el": req.Organisation, "en": "Demo agency"},
		AuthMethod: auth.AuthSecretBasic, GrantTypes: []string{auth.GrantClientCredentials},
		RedirectURIs: []string{cfg.BaseURL + "/"}, Scopes: []string{scopeConsentRequest, scopeInteropCall},
		Audience: []string{cfg.BaseURL + consentAPI, cfg.BaseURL + gatewayPath}}
	if err := ensureClient(ctx, a.citizenClients, c, demoRequesterSecret); err != nil {
		return fmt.Errorf("demo requester: %w", err)
	}
	demo := consent.Citizen{TaxNumber: demoCitizenAFM}
	recs, err := svc.List(ctx, demo)
	if err != nil {
		return err
	}
	now := time.Now()
	if slices.ContainsFunc(recs, func(r *consent.Record) bool { return r.StateAt(now) == consent.StateAwaitingAuthorisation }) {
		return nil
	}
	r, err := svc.Request(ctx, req, consent.Draft{TaxNumber: demoCitizenAFM, Source: demoSource,
		Items:   []consent.Item{{ID: "marital_status", Type: "string"}, {ID: "children", Type: "number"}},
		Purpose: demoPurpose, LegalBasis: "GDPR art. 6(1)(a)", ValidUntil: now.AddDate(0, 3, 0),
		ReturnURL: cfg.BaseURL + "/", ReturnState: "demo"})
	if err != nil {
		return fmt.Errorf("demo consent request: %w", err)
	}
	a.log.Info("demo consent request waiting", zap.String("url", cfg.BaseURL+"/consent/r/"+r.ID))
	return nil
}
