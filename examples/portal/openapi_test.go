package main

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/sqldb"
)

// apiDoc is what the tests read of openapi.json.
type apiDoc struct {
	ops     map[string]apiOp // by "METHOD template"
	schemes map[string][]string
}

type apiOp struct {
	Security  []map[string][]string `json:"security"`
	Responses map[string]struct {
		Content map[string]json.RawMessage `json:"content"`
	} `json:"responses"`
}

func loadAPIDoc(t *testing.T) apiDoc {
	t.Helper()
	var raw struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct {
				Flows map[string]struct {
					Scopes map[string]string `json:"scopes"`
				} `json:"flows"`
			} `json:"securitySchemes"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(openAPIDoc, &raw))
	doc := apiDoc{ops: map[string]apiOp{}, schemes: map[string][]string{}}
	for path, item := range raw.Paths {
		for method, b := range item {
			if method == "parameters" {
				continue
			}
			var op apiOp
			require.NoError(t, json.Unmarshal(b, &op), "%s %s", method, path)
			doc.ops[strings.ToUpper(method)+" "+path] = op
		}
	}
	for name, s := range raw.Components.SecuritySchemes {
		for _, f := range s.Flows {
			for scope := range f.Scopes {
				if !slices.Contains(doc.schemes[name], scope) {
					doc.schemes[name] = append(doc.schemes[name], scope)
				}
			}
		}
	}
	return doc
}

// requiredScopes is the union of the scopes the document's operations ask
// of scheme.
func (d apiDoc) requiredScopes(scheme string) []string {
	var out []string
	for _, op := range d.ops {
		for _, req := range op.Security {
			for _, s := range req[scheme] {
				if !slices.Contains(out, s) {
					out = append(out, s)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// walker sends requests to a running portal and checks each answer
// against the operation the document describes.
type walker struct {
	t    *testing.T
	doc  apiDoc
	base string
	seen map[string]bool
}

type call struct {
	method, op, path string // op is the document's path template
	token            string // bearer
	basic            [2]string
	json, form       string
	header           map[string]string
}

func (w *walker) do(c call, want int) apiAnswer {
	w.t.Helper()
	var body io.Reader
	switch {
	case c.json != "":
		body = strings.NewReader(c.json)
	case c.form != "":
		body = strings.NewReader(c.form)
	}
	req, err := http.NewRequest(c.method, w.base+c.path, body)
	require.NoError(w.t, err)
	switch {
	case c.json != "":
		req.Header.Set("Content-Type", "application/json")
	case c.form != "":
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.basic[0] != "" {
		req.SetBasicAuth(c.basic[0], c.basic[1])
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(w.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := apiAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("WWW-Authenticate"), string(b)}

	key := c.method + " " + c.op
	w.seen[key] = true
	op, ok := w.doc.ops[key]
	if !assert.True(w.t, ok, "%s is answered but not documented", key) {
		return a
	}
	assert.Equal(w.t, want, a.status, "%s %s: %s", c.method, c.path, a.body)
	r, ok := op.Responses[strconv.Itoa(a.status)]
	if !assert.True(w.t, ok, "%s answered %d, which the document does not list", key, a.status) {
		return a
	}
	if len(r.Content) == 0 {
		assert.Empty(w.t, a.body, "%s %d: the document describes no body", key, a.status)
		return a
	}
	mt, _, err := mime.ParseMediaType(a.contentType)
	assert.NoError(w.t, err, "%s %d: Content-Type %q", key, a.status, a.contentType)
	_, ok = r.Content[mt]
	assert.True(w.t, ok, "%s %d answered %s; the document says %v", key, a.status, mt, keysOf(r.Content))
	return a
}

func keysOf(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIMatchesLiveAnswers walks every operation openapi.json
// documents against a running portal, with tokens that carry exactly the
// scopes the document names, and checks each answer's status and media
// type against the document; an answered operation the document lacks,
// or a documented one left out of the walk, fails it.
func TestOpenAPIMatchesLiveAnswers(t *testing.T) {
	doc := loadAPIDoc(t)
	base, dataDir := startPortalEnv(t, map[string]string{"EGOVKIT_ADMIN_TOKEN": testAdminToken}, "-demo")
	w := &walker{t: t, doc: doc, base: base, seen: map[string]bool{}}
	admin := map[string]string{"Authorization": "Bearer " + testAdminToken}

	// The scopes the document asks for are the scopes the schemes list,
	// and a token with exactly them is what every operation below uses.
	citizenScopes, servantScopes := doc.requiredScopes("citizenToken"), doc.requiredScopes("servantToken")
	requesterScopes := doc.requiredScopes("requesterToken")
	for name, got := range map[string][]string{"citizenToken": citizenScopes, "servantToken": servantScopes, "requesterToken": requesterScopes} {
		want := slices.Clone(doc.schemes[name])
		sort.Strings(want)
		assert.Equal(t, want, got, "%s: the scopes the scheme lists are those operations ask for", name)
	}
	citizenApp := registerClient(t, base, "citizen", "walker-citizen", citizenScopes, []string{base + declarationsAPI, base + consentAPI})
	servantApp := registerClient(t, base, "servant", "walker-servant", servantScopes, []string{base + proceduresAPI})
	citizen := userToken(t, base, tokenAsk{realm: "citizen", client: "walker-citizen", secret: citizenApp,
		user: demoCitizen, password: demoCitizenPassword, scope: strings.Join(citizenScopes, " "), acr: rp.LoASubstantial})
	servant := userToken(t, base, tokenAsk{realm: "servant", client: "walker-servant", secret: servantApp,
		user: demoServant, password: demoServantPassword, scope: strings.Join(servantScopes, " "), acr: rp.LoASubstantial})

	// The portal itself.
	w.do(call{method: "GET", op: "/healthz", path: "/healthz"}, 200)
	w.do(call{method: "GET", op: "/readyz", path: "/readyz"}, 200)
	w.do(call{method: "GET", op: "/openapi.json", path: "/openapi.json"}, 200)
	w.do(call{method: "GET", op: "/dev/outbox", path: "/dev/outbox"}, 200)
	w.do(call{method: "GET", op: "/metrics", path: "/metrics"}, 200)

	// The identity realms.
	w.do(call{method: "GET", op: "/auth/{realm}/.well-known/openid-configuration", path: "/auth/citizen/.well-known/openid-configuration"}, 200)
	w.do(call{method: "GET", op: "/auth/{realm}/.well-known/oauth-authorization-server", path: "/auth/servant/.well-known/oauth-authorization-server"}, 200)
	w.do(call{method: "GET", op: "/auth/{realm}/jwks", path: "/auth/citizen/jwks"}, 200)
	etag := headOf(t, base+"/auth/citizen/jwks", "ETag")
	w.do(call{method: "GET", op: "/auth/{realm}/jwks", path: "/auth/citizen/jwks", header: map[string]string{"If-None-Match": etag}}, 304)
	demoBasic := [2]string{demoClientID, demoClientSecret}
	tok := w.do(call{method: "POST", op: "/auth/{realm}/token", path: "/auth/citizen/token", basic: demoBasic, form: "grant_type=client_credentials"}, 200)
	w.do(call{method: "POST", op: "/auth/{realm}/token", path: "/auth/citizen/token", basic: [2]string{demoClientID, "wrong"}, form: "grant_type=client_credentials"}, 401)
	w.do(call{method: "POST", op: "/auth/{realm}/token", path: "/auth/citizen/token", basic: demoBasic, form: "grant_type=password"}, 400)
	var cc struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal([]byte(tok.body), &cc))
	w.do(call{method: "POST", op: "/auth/{realm}/introspect", path: "/auth/citizen/introspect", basic: demoBasic, form: "token=" + cc.AccessToken}, 200)
	w.do(call{method: "POST", op: "/auth/{realm}/introspect", path: "/auth/citizen/introspect", form: "token=" + cc.AccessToken}, 401)
	w.do(call{method: "POST", op: "/auth/{realm}/revoke", path: "/auth/citizen/revoke", basic: demoBasic, form: "token=" + cc.AccessToken}, 200)
	w.do(call{method: "POST", op: "/auth/{realm}/revoke", path: "/auth/citizen/revoke", basic: demoBasic}, 400)
	w.do(call{method: "GET", op: "/auth/{realm}/userinfo", path: "/auth/citizen/userinfo", token: citizen}, 200)
	w.do(call{method: "POST", op: "/auth/{realm}/userinfo", path: "/auth/servant/userinfo", token: servant}, 200)
	w.do(call{method: "GET", op: "/auth/{realm}/userinfo", path: "/auth/citizen/userinfo", token: "not-a-token"}, 401)
	par := url.Values{"response_type": {"code"}, "client_id": {demoClientID}, "redirect_uri": {agencyRedirect}, "scope": {"openid"},
		"state": {"s"}, "nonce": {"n"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	w.do(call{method: "POST", op: "/auth/{realm}/par", path: "/auth/citizen/par", basic: demoBasic, form: par.Encode()}, 201)
	par.Set("redirect_uri", "https://elsewhere.example.gr/callback")
	w.do(call{method: "POST", op: "/auth/{realm}/par", path: "/auth/citizen/par", basic: demoBasic, form: par.Encode()}, 400)

	// Client administration.
	w.do(call{method: "GET", op: "/auth/{realm}/admin/clients", path: "/auth/servant/admin/clients", header: admin}, 200)
	w.do(call{method: "GET", op: "/auth/{realm}/admin/clients", path: "/auth/servant/admin/clients"}, 401)
	client := `{"client_id":"walk-tmp","client_name":"Walk","token_endpoint_auth_method":"client_secret_basic",
	  "grant_types":["client_credentials"],"scope":["reports:read"],"audience":["https://reports.example.gr"]}`
	w.do(call{method: "POST", op: "/auth/{realm}/admin/clients", path: "/auth/servant/admin/clients", header: admin, json: client}, 201)
	w.do(call{method: "POST", op: "/auth/{realm}/admin/clients", path: "/auth/servant/admin/clients", header: admin, json: client}, 409)
	w.do(call{method: "POST", op: "/auth/{realm}/admin/clients", path: "/auth/servant/admin/clients", header: admin, json: `{"client_id":`}, 400)
	w.do(call{method: "POST", op: "/auth/{realm}/admin/clients", path: "/auth/servant/admin/clients", header: admin, json: `{"client_id":"x"}`}, 422)
	w.do(call{method: "GET", op: "/auth/{realm}/admin/clients/{id}", path: "/auth/servant/admin/clients/walk-tmp", header: admin}, 200)
	w.do(call{method: "GET", op: "/auth/{realm}/admin/clients/{id}", path: "/auth/servant/admin/clients/nobody", header: admin}, 404)
	w.do(call{method: "PUT", op: "/auth/{realm}/admin/clients/{id}", path: "/auth/servant/admin/clients/walk-tmp", header: admin,
		json: strings.Replace(client, `"Walk"`, `"Walk again"`, 1)}, 200)
	w.do(call{method: "POST", op: "/auth/{realm}/admin/clients/{id}/secret", path: "/auth/servant/admin/clients/walk-tmp/secret", header: admin}, 200)
	w.do(call{method: "POST", op: "/auth/{realm}/admin/clients/{id}/disable", path: "/auth/servant/admin/clients/walk-tmp/disable", header: admin}, 200)
	w.do(call{method: "POST", op: "/auth/{realm}/admin/clients/{id}/enable", path: "/auth/servant/admin/clients/walk-tmp/enable", header: admin}, 200)

	// Statistics.
	w.do(call{method: "GET", op: "/stats/api/kinds", path: "/stats/api/kinds"}, 200)
	w.do(call{method: "GET", op: "/stats/api/totals", path: "/stats/api/totals?kind=all&period=2020"}, 200)
	w.do(call{method: "GET", op: "/stats/api/totals", path: "/stats/api/totals?kind=all&period=2020-13"}, 400)
	w.do(call{method: "GET", op: "/stats/api/series", path: "/stats/api/series?kind=all&period=2020"}, 200)
	w.do(call{method: "GET", op: "/stats/api/series", path: "/stats/api/series?kind=all&period=2020&format=csv"}, 200)
	w.do(call{method: "GET", op: "/stats/api/top", path: "/stats/api/top?kind=authentication&label=client&period=2020"}, 200)
	w.do(call{method: "GET", op: "/stats/api/growth", path: "/stats/api/growth?kind=all&period=2021-H1&base=2020"}, 200)
	w.do(call{method: "GET", op: "/stats/api/visits-avoided", path: "/stats/api/visits-avoided?period=2020"}, 200)

	// Procedures: the public catalogue.
	p := "/procedures/api"
	w.do(call{method: "GET", op: p + "/procedures", path: p + "/procedures"}, 200)
	w.do(call{method: "GET", op: p + "/procedures/{id}", path: p + "/procedures/passport"}, 200)
	w.do(call{method: "GET", op: p + "/procedures/{id}", path: p + "/procedures/passport",
		header: map[string]string{"If-None-Match": headOf(t, base+p+"/procedures/passport", "ETag")}}, 304)
	w.do(call{method: "GET", op: p + "/procedures/{id}", path: p + "/procedures/nothing-here"}, 404)
	w.do(call{method: "GET", op: p + "/search", path: p + "/search?q=passport"}, 200)
	w.do(call{method: "GET", op: p + "/burden", path: p + "/burden?n=5"}, 200)
	w.do(call{method: "GET", op: p + "/burden", path: p + "/burden?n=0"}, 422)
	w.do(call{method: "GET", op: p + "/counts", path: p + "/counts"}, 200)
	w.do(call{method: "GET", op: p + "/schema", path: p + "/schema"}, 200)
	w.do(call{method: "GET", op: p + "/procedures/{id}/cpsv-ap", path: p + "/procedures/passport/cpsv-ap"}, 200)
	w.do(call{method: "GET", op: p + "/export/cpsv-ap", path: p + "/export/cpsv-ap"}, 200)
	w.do(call{method: "POST", op: p + "/procedures/{id}/suggestions", path: p + "/procedures/passport/suggestions",
		json: `{"kind":"simplification","text":"Να γίνεται και ηλεκτρονικά."}`}, 201)

	// Procedures: the editors' endpoints, with the documented scopes.
	draft := strings.Replace(string(procedures.Samples()["passport.json"]), `"id": "passport"`, `"id": "walk-passport"`, 1)
	w.do(call{method: "POST", op: p + "/procedures", path: p + "/procedures", json: draft}, 401)
	w.do(call{method: "POST", op: p + "/procedures", path: p + "/procedures", token: servant, json: draft}, 201)
	w.do(call{method: "GET", op: p + "/procedures/{id}/history", path: p + "/procedures/walk-passport/history", token: servant}, 200)
	v := w.do(call{method: "GET", op: p + "/procedures/{id}/versions/{v}", path: p + "/procedures/walk-passport/versions/1", token: servant}, 200)
	w.do(call{method: "GET", op: p + "/procedures/{id}/versions/{v}", path: p + "/procedures/walk-passport/versions/9", token: servant}, 404)
	w.do(call{method: "PUT", op: p + "/procedures/{id}/versions/{v}", path: p + "/procedures/walk-passport/versions/1", token: servant, json: v.body}, 200)
	w.do(call{method: "POST", op: p + "/procedures/{id}/versions/{v}/{action}", path: p + "/procedures/walk-passport/versions/1/submit", token: servant, json: `{}`}, 200)
	w.do(call{method: "POST", op: p + "/procedures/{id}/revisions", path: p + "/procedures/passport/revisions", token: servant}, 201)
	list := w.do(call{method: "GET", op: p + "/suggestions", path: p + "/suggestions", token: servant}, 200)
	sid := regexp.MustCompile(`"id":\s*"([^"]+)"`).FindStringSubmatch(list.body)
	require.NotNil(t, sid, list.body)
	w.do(call{method: "POST", op: p + "/suggestions/{sid}/close", path: p + "/suggestions/" + sid[1] + "/close", token: servant,
		json: `{"resolution":"Προγραμματίζεται."}`}, 204)
	w.do(call{method: "GET", op: p + "/suggestions", path: p + "/suggestions", token: citizen}, 401)

	// Declarations, with the documented scopes: an authorization for a
	// second citizen, who reads it as its grantee.
	grantee := tokenAsk{realm: "citizen", client: "walker-citizen", secret: citizenApp, user: "grantee", password: "grantee-password"}
	createCitizen(t, dataDir, grantee.user, grantee.password, "090000045")
	d := "/declarations/api"
	w.do(call{method: "GET", op: d + "/templates", path: d + "/templates"}, 200)
	w.do(call{method: "GET", op: d + "/jwks.json", path: d + "/jwks.json"}, 200)
	w.do(call{method: "GET", op: d + "/statuslist", path: d + "/statuslist"}, 200)
	w.do(call{method: "GET", op: d + "/documents", path: d + "/documents"}, 401)
	w.do(call{method: "GET", op: d + "/documents", path: d + "/documents", token: servant}, 401)
	w.do(call{method: "POST", op: d + "/documents", path: d + "/documents", token: citizen, json: `{"kind":`}, 400)
	w.do(call{method: "POST", op: d + "/documents", path: d + "/documents", token: citizen, json: `{"kind":"solemn_declaration"}`}, 422)
	until := time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)
	created := w.do(call{method: "POST", op: d + "/documents", path: d + "/documents", token: citizen,
		json: `{"kind":"authorization","lang":"el","text":"Να παραλάβει το διαβατήριό μου.","grantee":{"afm":"090000045","name":"Ελένη Πολίτου"},"valid_until":"` + until + `"}`}, 201)
	var document struct {
		ID   string `json:"id"`
		Code string `json:"code"`
	}
	require.NoError(t, json.Unmarshal([]byte(created.body), &document))
	id := document.ID
	w.do(call{method: "GET", op: d + "/documents", path: d + "/documents", token: citizen}, 200)
	w.do(call{method: "GET", op: d + "/documents/{id}", path: d + "/documents/" + id, token: citizen}, 200)
	w.do(call{method: "GET", op: d + "/documents/{id}", path: d + "/documents/nothing-here", token: citizen}, 404)
	w.do(call{method: "GET", op: d + "/documents/{id}/pdf", path: d + "/documents/" + id + "/pdf", token: citizen}, 409)
	w.do(call{method: "POST", op: d + "/documents/{id}/confirm", path: d + "/documents/" + id + "/confirm", token: citizen, json: `{"code":"000000"}`}, 422)
	w.do(call{method: "POST", op: d + "/documents/{id}/code", path: d + "/documents/" + id + "/code", token: citizen}, 202)
	issued := w.do(call{method: "POST", op: d + "/documents/{id}/confirm", path: d + "/documents/" + id + "/confirm", token: citizen,
		json: `{"code":"` + lastCode(t, base) + `"}`}, 200)
	require.NoError(t, json.Unmarshal([]byte(issued.body), &document))
	require.NotEmpty(t, document.Code, issued.body)
	w.do(call{method: "GET", op: d + "/documents/{id}/pdf", path: d + "/documents/" + id + "/pdf", token: citizen}, 200)
	w.do(call{method: "GET", op: d + "/verify", path: d + "/verify?code=" + url.QueryEscape(document.Code)}, 200)
	w.do(call{method: "GET", op: d + "/verify", path: d + "/verify"}, 422)
	w.do(call{method: "GET", op: d + "/granted", path: d + "/granted", token: citizen}, 200)
	readScopes := doc.ops["GET "+d+"/granted"].Security[0]["citizenToken"]
	grantee.scope = strings.Join(readScopes, " ")
	reader := userToken(t, base, grantee)
	g := w.do(call{method: "GET", op: d + "/granted", path: d + "/granted", token: reader}, 200)
	assert.Contains(t, g.body, id, "the grantee sees the authorization, with a token of the read scopes alone")
	w.do(call{method: "GET", op: d + "/granted/{id}/pdf", path: d + "/granted/" + id + "/pdf", token: reader}, 200)
	w.do(call{method: "GET", op: d + "/granted/{id}/pdf", path: d + "/granted/nothing-here/pdf", token: reader}, 404)
	w.do(call{method: "POST", op: d + "/documents/{id}/revoke", path: d + "/documents/" + id + "/revoke", token: reader, json: `{}`}, 403)
	w.do(call{method: "POST", op: d + "/documents/{id}/revoke/code", path: d + "/documents/" + id + "/revoke/code", token: reader}, 403)
	w.do(call{method: "POST", op: d + "/documents/{id}/revoke", path: d + "/documents/" + id + "/revoke", token: citizen,
		json: `{"reason":"Δεν χρειάζεται πια."}`}, 422)
	w.do(call{method: "POST", op: d + "/documents/{id}/revoke/code", path: d + "/documents/" + id + "/revoke/code", token: citizen}, 202)
	w.do(call{method: "POST", op: d + "/documents/{id}/revoke", path: d + "/documents/" + id + "/revoke", token: citizen,
		json: `{"reason":"Δεν χρειάζεται πια.","code":"` + lastCode(t, base) + `"}`}, 200)

	// Consents: an agency's system asks with its own token (client
	// credentials), the citizen reads and withdraws with theirs.
	c := "/consent/api"
	rtok := w.do(call{method: "POST", op: "/auth/{realm}/token", path: "/auth/citizen/token", basic: [2]string{demoRequesterID, demoRequesterSecret},
		form: "grant_type=client_credentials&scope=" + url.QueryEscape(strings.Join(requesterScopes, " "))}, 200)
	require.NoError(t, json.Unmarshal([]byte(rtok.body), &cc))
	requester := cc.AccessToken
	ask := `{"tax_number":"` + demoCitizenAFM + `","source":{"registry":"Μητρώο Πολιτών","service":"Οικογενειακή κατάσταση"},
	  "items":[{"id":"marital_status"}],"purpose":{"code":"child-benefit","text":{"el":"Επίδομα παιδιού","en":"Child benefit"}},
	  "legal_basis":"GDPR art. 6(1)(a)","valid_until":"` + until + `","return_url":"` + base + `/","state":"walk"}`
	w.do(call{method: "POST", op: c + "/requests", path: c + "/requests", json: ask}, 401)
	w.do(call{method: "POST", op: c + "/requests", path: c + "/requests", token: citizen, json: ask}, 403)
	w.do(call{method: "POST", op: c + "/requests", path: c + "/requests", token: requester, json: `{"tax_number":`}, 400)
	w.do(call{method: "POST", op: c + "/requests", path: c + "/requests", token: requester,
		json: strings.Replace(ask, base+"/", "https://elsewhere.example.gr/", 1)}, 422)
	asked := w.do(call{method: "POST", op: c + "/requests", path: c + "/requests", token: requester, json: ask}, 201)
	var request struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	require.NoError(t, json.Unmarshal([]byte(asked.body), &request))
	assert.Equal(t, base+"/consent/r/"+request.ID, request.URL)
	w.do(call{method: "GET", op: c + "/requests/{id}", path: c + "/requests/" + request.ID, token: requester}, 200)
	w.do(call{method: "GET", op: c + "/requests/{id}", path: c + "/requests/nothing-here", token: requester}, 404)
	w.do(call{method: "GET", op: c + "/requests/{id}", path: c + "/requests/" + request.ID}, 401)
	w.do(call{method: "GET", op: c + "/requests/{id}", path: c + "/requests/" + request.ID, token: citizen}, 403)
	w.do(call{method: "GET", op: c + "/consents", path: c + "/consents", token: citizen}, 200)
	w.do(call{method: "GET", op: c + "/consents", path: c + "/consents", token: servant}, 401)
	w.do(call{method: "GET", op: c + "/consents", path: c + "/consents", token: reader}, 403)
	w.do(call{method: "GET", op: c + "/consents/{id}", path: c + "/consents/" + request.ID, token: citizen}, 200)
	w.do(call{method: "GET", op: c + "/consents/{id}", path: c + "/consents/nothing-here", token: citizen}, 404)
	w.do(call{method: "GET", op: c + "/consents/{id}", path: c + "/consents/" + request.ID}, 401)
	w.do(call{method: "GET", op: c + "/consents/{id}", path: c + "/consents/" + request.ID, token: reader}, 403)
	w.do(call{method: "POST", op: c + "/consents/{id}/withdraw", path: c + "/consents/" + request.ID + "/withdraw", token: citizen}, 409)
	w.do(call{method: "POST", op: c + "/consents/{id}/withdraw", path: c + "/consents/nothing-here/withdraw", token: citizen}, 404)
	w.do(call{method: "POST", op: c + "/consents/{id}/withdraw", path: c + "/consents/" + request.ID + "/withdraw"}, 401)
	w.do(call{method: "POST", op: c + "/consents/{id}/withdraw", path: c + "/consents/" + request.ID + "/withdraw", token: reader}, 403)
	w.do(call{method: "GET", op: c + "/usage", path: c + "/usage?offset=0&limit=20", token: citizen}, 200)
	w.do(call{method: "GET", op: c + "/usage", path: c + "/usage?limit=0", token: citizen}, 422)
	w.do(call{method: "GET", op: c + "/usage", path: c + "/usage"}, 401)
	w.do(call{method: "GET", op: c + "/usage", path: c + "/usage", token: reader}, 403)
	w.do(call{method: "GET", op: c + "/jwks.json", path: c + "/jwks.json"}, 200)

	walkInterop(t, w, base, requester)

	var missed []string
	for key := range doc.ops {
		if !w.seen[key] {
			missed = append(missed, key)
		}
	}
	sort.Strings(missed)
	assert.Empty(t, missed, "documented operations the walk did not reach")
}

// headOf is one header of a GET's answer.
func headOf(t *testing.T, u, name string) string {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.NotEmpty(t, resp.Header.Get(name), "%s of %s", name, u)
	return resp.Header.Get(name)
}

// createCitizen adds a citizen, without a mobile number, to the running
// portal's database.
func createCitizen(t *testing.T, dataDir, username, password, afm string) {
	t.Helper()
	db, err := sqldb.Open(t.Context(), "sqlite:"+filepath.Join(dataDir, "egovkit.db"), nil)
	require.NoError(t, err)
	defer db.Close()
	acc, err := auth.NewAccounts(t.Context(), db)
	require.NoError(t, err)
	_, err = acc.CreateCitizen(t.Context(), auth.Citizen{Username: username, AFM: afm, AMKA: "01017012343",
		GivenName: "Ελένη", FamilyName: "Πολίτου", FatherName: "Ιωάννης", MotherName: "Άννα", BirthDate: "1970-01-01"}, password)
	require.NoError(t, err)
}

// walkInterop walks the exchange layer: the gateway (the demo requester
// calls before the citizen consented), the operators' API with the
// administration token, and the exchange log.
func walkInterop(t *testing.T, w *walker, base, requester string) {
	t.Helper()
	admin := map[string]string{"Authorization": "Bearer " + testAdminToken}
	gw := "/interop/r1/{instance}/{class}/{member}/{subsystem}/{service}/{path}"
	xr := map[string]string{"X-Road-Client": demoConsumer.String(), "X-Road-UserId": "GR" + demoCitizenAFM, "X-Road-Issue": demoPurpose.Code}
	call0 := demoProviderURL("")
	w.do(call{method: "GET", op: gw, path: call0, header: xr}, 401)
	w.do(call{method: "GET", op: gw, path: call0, token: requester, header: xr}, 403)
	w.do(call{method: "POST", op: gw, path: call0, token: requester, header: xr, json: `{}`}, 403)
	w.do(call{method: "GET", op: gw, path: gatewayPath + "/GR/GOV/NOBODY/NONE/nothing/x", token: requester, header: xr}, 404)
	w.do(call{method: "GET", op: "/interop/keys", path: "/interop/keys"}, 200)

	a := interopAPI
	svc := `{"id":"GR/GOV/WALK/REG/walk-svc","title":{"el":"Δοκιμή","en":"Walk"},"upstream":"http://127.0.0.1:1/walk",
	  "legal_basis":"Ν. 4727/2020","items":[{"code":"x","type":"text","label":{"el":"Χ","en":"X"}}]}`
	w.do(call{method: "GET", op: a + "/services", path: a + "/services"}, 401)
	w.do(call{method: "GET", op: a + "/services", path: a + "/services", token: requester}, 401)
	w.do(call{method: "GET", op: a + "/services", path: a + "/services", header: admin}, 200)
	w.do(call{method: "POST", op: a + "/services", path: a + "/services", header: admin, json: svc}, 201)
	w.do(call{method: "POST", op: a + "/services", path: a + "/services", header: admin, json: svc}, 409)
	w.do(call{method: "POST", op: a + "/services", path: a + "/services", header: admin, json: `{"id":`}, 400)
	w.do(call{method: "POST", op: a + "/services", path: a + "/services", header: admin, json: `{"id":"GR/GOV/WALK/REG/other"}`}, 422)
	sp, op := a+"/services/GR/GOV/WALK/REG/walk-svc", a+"/services/{instance}/{class}/{member}/{subsystem}/{service}"
	got := w.do(call{method: "GET", op: op, path: sp, header: admin}, 200)
	w.do(call{method: "GET", op: op, path: a + "/services/GR/GOV/WALK/REG/none", header: admin}, 404)
	w.do(call{method: "PUT", op: op, path: sp, header: admin, json: got.body}, 200)
	w.do(call{method: "PUT", op: op, path: sp, header: admin, json: got.body}, 409)
	w.do(call{method: "POST", op: op + "/disable", path: sp + "/disable", header: admin}, 200)
	w.do(call{method: "POST", op: op + "/enable", path: sp + "/enable", header: admin}, 200)
	w.do(call{method: "GET", op: op + "/openapi", path: sp + "/openapi", header: admin}, 404)
	right := `{"consumer":"` + demoConsumer.String() + `","service":"GR/GOV/WALK/REG/walk-svc","method":"GET","path":"/x/*"}`
	granted := w.do(call{method: "POST", op: a + "/rights", path: a + "/rights", header: admin, json: right}, 201)
	w.do(call{method: "POST", op: a + "/rights", path: a + "/rights", header: admin, json: right}, 409)
	w.do(call{method: "GET", op: a + "/rights", path: a + "/rights?service=GR/GOV/WALK/REG/walk-svc", header: admin}, 200)
	w.do(call{method: "GET", op: a + "/rights", path: a + "/rights?service=not-an-id", header: admin}, 422)
	var r struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(granted.body), &r))
	w.do(call{method: "DELETE", op: a + "/rights/{id}", path: a + "/rights/" + r.ID}, 401)
	w.do(call{method: "DELETE", op: a + "/rights/{id}", path: a + "/rights/" + r.ID, header: admin}, 204)
	w.do(call{method: "DELETE", op: a + "/rights/{id}", path: a + "/rights/" + r.ID, header: admin}, 404)

	// The log: the calls above are in it once a checkpoint covers them.
	l := interopLog
	deadline := time.Now().Add(10 * time.Second)
	for {
		var cp struct{ Size int64 }
		resp, body := fetch(t, "GET", base+l+"/checkpoint", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.NoError(t, json.Unmarshal([]byte(body), &cp))
		if cp.Size > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	w.do(call{method: "GET", op: l + "/checkpoint", path: l + "/checkpoint"}, 200)
	w.do(call{method: "GET", op: l + "/key", path: l + "/key"}, 200)
	w.do(call{method: "GET", op: l + "/proof/inclusion", path: l + "/proof/inclusion?index=0"}, 200)
	w.do(call{method: "GET", op: l + "/proof/inclusion", path: l + "/proof/inclusion?index=-1"}, 400)
	w.do(call{method: "GET", op: l + "/proof/consistency", path: l + "/proof/consistency?first=1&second=1"}, 200)
	w.do(call{method: "GET", op: l + "/proof/consistency", path: l + "/proof/consistency?first=2&second=1"}, 400)
	w.do(call{method: "GET", op: l + "/entries/{index}", path: l + "/entries/0", header: admin}, 200)
	w.do(call{method: "GET", op: l + "/entries/{index}", path: l + "/entries/0"}, 401)
	w.do(call{method: "GET", op: l + "/entries/{index}", path: l + "/entries/x", header: admin}, 400)
	w.do(call{method: "GET", op: l + "/entries/{index}", path: l + "/entries/1000000", header: admin}, 404)
	w.do(call{method: "GET", op: l + "/entries", path: l + "/entries?exchange_id=nothing", header: admin}, 404)
	w.do(call{method: "GET", op: l + "/entries", path: l + "/entries", header: admin}, 400)
	w.do(call{method: "GET", op: l + "/entries", path: l + "/entries?exchange_id=nothing", token: requester}, 401)
}
