package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// editorsClientID is the portal's own client in the civil servants'
// realm, through which editors and approvers sign in to the procedures
// workspace.
const editorsClientID = "procedures-editors"

// proceduresAPI is where the procedures API is mounted; the public URL
// followed by it is the API's audience.
const proceduresAPI = "/procedures/api"

// proceduresService is the service a servant's authorization names to
// give them a role in the registry of procedures (editor or approver).
const proceduresService = "procedures"

// mountProcedures opens the registry of procedures, imports the sample
// procedures on first run (a procedure already there is left alone), and
// mounts the catalogue pages at /procedures/ and the JSON API at
// /procedures/api/, with a search index that follows the database.
// Civil servants sign in to the editors' workspace at /procedures/edit/
// through the servants' provider; their roles are their authorizations
// for the service "procedures". The API's editors' endpoints take a
// servant's access token issued for it (audience
// <public URL>/procedures/api) with the scope procedures:edit, at LoA
// substantial to write.
func (a *app) mountProcedures(ctx context.Context, mux *http.ServeMux, cfg appConfig) error {
	opts := []procedures.Option{procedures.WithLogger(a.log)}
	if cfg.Demo { // a demonstration may link to services on this machine
		opts = append(opts, procedures.WithLoopbackHTTP())
	}
	reg, err := procedures.NewRegistry(ctx, cfg.DB, opts...)
	if err != nil {
		return err
	}
	var docs [][]byte
	for _, d := range procedures.Samples() {
		docs = append(docs, d)
	}
	n, err := reg.ImportPublished(ctx, "egovkit sample procedures", docs)
	if err != nil {
		return err
	}
	if n > 0 {
		a.log.Info("sample procedures imported", zap.Int("procedures", n))
	}
	idx, err := search.New(ctx, reg, search.WithLogger(a.log))
	if err != nil {
		return err
	}
	idx.StartRefresh(5 * time.Second)
	a.closers = append(a.closers, idx.Close)

	// Editing the registry is a write: with an SMS gateway the workspace
	// asks for a one-time code after the password (LoA substantial), as the
	// API does of its tokens. Without one, no code can be sent.
	acr := rp.LoASubstantial
	if a.otps == nil {
		acr = rp.LoALow
	}
	login, err := a.webLogin(ctx, mux, cfg, siteLogin{ClientID: editorsClientID,
		Names: map[string]string{"el": "Μητρώο διαδικασιών: χώρος επιμελητών", "en": "Registry of procedures: editors' workspace"},
		Realm: "servant", Path: "/procedures", Scopes: []string{"openid", "profile"}, ACR: acr, Lifetime: 8 * time.Hour})
	if err != nil {
		return err
	}
	api, err := procedures.APIHandler(procedures.APIConfig{Registry: reg, Index: idx, Logger: a.log,
		Caller: fromBearer(a.editorFromToken), BaseURL: cfg.BaseURL})
	if err != nil {
		return err
	}
	res, err := a.newResource(cfg, "servant", proceduresAPI, []string{"openid", scopeProceduresEdit}, []string{"openid", scopeProceduresEdit})
	if err != nil {
		return err
	}
	api = http.StripPrefix(proceduresAPI, api)
	// The editors' and approvers' endpoints take a servant's token,
	// checked for this API; the catalogue, search, exports and citizens'
	// suggestions are public.
	for _, staff := range []string{"POST " + proceduresAPI + "/procedures", proceduresAPI + "/procedures/{id}/history",
		proceduresAPI + "/procedures/{id}/versions/", proceduresAPI + "/procedures/{id}/revisions",
		proceduresAPI + "/suggestions", proceduresAPI + "/suggestions/"} {
		mux.Handle(staff, res.guard(api))
	}
	mux.Handle(proceduresAPI+"/", api)
	pages, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures", StaticPrefix: sharedStatic, Logger: a.log,
		Caller: editorOnAnyPage(login, a.editorFromToken), SignOutURL: "/procedures/signout"})
	if err != nil {
		return err
	}
	pages = http.StripPrefix("/procedures", pages)
	mux.Handle("/procedures/", pages)
	mux.Handle("/procedures/edit/", login.Require(freshAccess("/procedures/signin", pages)))
	for i := range a.services {
		if a.services[i].Key == "procedures" {
			a.services[i].Href = "/procedures/"
		}
	}
	return nil
}

// editorOnAnyPage finds the editor of a request: from the session the
// workspace's sign-in put in the context, or, on the public pages (where
// a signed-in editor is offered to revise the procedure), from the
// session cookie the browser sends along.
func editorOnAnyPage(login *rp.WebLogin, who func(context.Context, string) (procedures.Caller, error)) func(*http.Request) (procedures.Caller, error) {
	inContext := fromSession(who)
	return func(r *http.Request) (procedures.Caller, error) {
		if _, ok := rp.SessionFromContext(r.Context()); !ok {
			if s, ok := login.SessionFrom(r); ok {
				return who(r.Context(), s.AccessToken)
			}
		}
		return inContext(r)
	}
}

// editorFromToken asks the servants' provider, in process, who an access
// token speaks for and keeps their editor's and approver's roles in the
// registry of procedures.
func (a *app) editorFromToken(ctx context.Context, token string) (procedures.Caller, error) {
	claims, err := a.servants.UserInfo(ctx, token)
	if err != nil {
		return procedures.Caller{}, err
	}
	id, _ := claims["preferred_username"].(string)
	if id == "" {
		id, _ = claims["sub"].(string)
	}
	given, _ := claims["given_name"].(string)
	family, _ := claims["family_name"].(string)
	c := procedures.Caller{ID: id, Name: strings.TrimSpace(given + " " + family)}
	details, _ := claims["authorization_details"].([]auth.AuthorizationDetail)
	for _, d := range details {
		if d.Service != proceduresService || (d.Role != procedures.RoleEditor && d.Role != procedures.RoleApprover) {
			continue
		}
		if !slices.Contains(c.Roles, d.Role) {
			c.Roles = append(c.Roles, d.Role)
		}
	}
	return c, nil
}
