package main

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/egovkit/egovkit/auth/rp"
)

// Scopes of the portal's own APIs. A client that calls them is registered
// in the realm with the API's audience (its URL, such as
// <public URL>/declarations/api) and these scopes.
const (
	// scopeDeclarationsRead reads the citizen's documents and the
	// authorizations that name them.
	scopeDeclarationsRead = "declarations:read"
	// scopeDeclarationsWrite writes, confirms and revokes the citizen's
	// documents.
	scopeDeclarationsWrite = "declarations:write"
	// scopeConsentRequest lets an agency's system (a client-credentials
	// token) ask citizens for their consent and read its requests.
	scopeConsentRequest = "consent:request"
	// scopeConsentRead reads the citizen's consents and access log.
	scopeConsentRead = "consent:read"
	// scopeConsentWrite withdraws the citizen's consents.
	scopeConsentWrite = "consent:write"
	// scopeProceduresEdit opens the editors' and approvers' endpoints of
	// the registry of procedures.
	scopeProceduresEdit = "procedures:edit"
)

// writeACR is the level of assurance every write through the APIs needs:
// a password and a one-time code.
const writeACR = rp.LoASubstantial

// resource is one of the portal's APIs as an OAuth resource server: the
// audience it is, in the realm whose tokens it takes, and what its reads
// and writes ask of a token.
type resource struct {
	audience    string
	read, write func(http.Handler) http.Handler
}

// newResource checks the tokens of realm for the API at path (below the
// public URL): "aud" must name the API's URL, reads (GET, HEAD) need
// readScopes, and every other method writeScopes and writeACR. The
// realm's keys are read in process, not fetched over HTTP.
func (a *app) newResource(cfg appConfig, realm, path string, readScopes, writeScopes []string) (*resource, error) {
	v, err := a.verifier(cfg, realm, path)
	if err != nil {
		return nil, err
	}
	return &resource{
		audience: cfg.BaseURL + path,
		read:     v.Middleware(rp.RequireScopes(readScopes...)),
		write:    v.Middleware(rp.RequireScopes(writeScopes...), rp.RequireACR(writeACR)),
	}, nil
}

// verifier checks the access tokens of realm issued for the API at path
// (below the public URL), with the realm's keys read in process.
func (a *app) verifier(cfg appConfig, realm, path string) (*rp.Verifier, error) {
	signing := a.signingKeys[realm]
	audience := cfg.BaseURL + path
	return rp.NewVerifier(rp.Config{
		Issuer: cfg.BaseURL + "/auth/" + realm, Audience: audience, Logger: a.log.Named("api"),
		KeySource: func(ctx context.Context) ([]byte, error) {
			set, err := signing.PublicSet(ctx)
			if err != nil {
				return nil, err
			}
			return json.Marshal(set)
		},
	})
}

// guard lets through to next only requests whose bearer token the
// resource accepts for the method; the rest are refused with 401 or 403,
// WWW-Authenticate (RFC 6750, RFC 9470) and problem details.
func (res *resource) guard(next http.Handler) http.Handler {
	read, write := res.read(next), res.write(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			read.ServeHTTP(w, r)
			return
		}
		write.ServeHTTP(w, r)
	})
}
