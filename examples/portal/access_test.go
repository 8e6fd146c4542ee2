package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/procedures"
)

// testAdminToken opens the client administration API of the portals the
// access tests start.
var testAdminToken = strings.Repeat("a", 40)

// agencyRedirect is where the test clients' sign-ins return.
const agencyRedirect = "http://127.0.0.1:8090/callback"

// registerClient registers a client for the authorization code flow in
// realm through the admin API and returns its secret.
func registerClient(t *testing.T, base, realm, id string, scopes, audience []string) string {
	t.Helper()
	body, err := json.Marshal(map[string]any{"client_id": id, "client_name": id, "token_endpoint_auth_method": "client_secret_basic",
		"grant_types": []string{"authorization_code"}, "redirect_uris": []string{agencyRedirect}, "scope": scopes, "audience": audience})
	require.NoError(t, err)
	req, _ := http.NewRequest("POST", base+"/auth/"+realm+"/admin/clients", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusCreated, resp.StatusCode, string(b))
	var created struct {
		Secret string `json:"client_secret"`
	}
	require.NoError(t, json.Unmarshal(b, &created))
	return created.Secret
}

// tokenAsk is a person's sign-in through a client, for an access token.
type tokenAsk struct {
	realm, client, secret string
	user, password        string
	scope                 string // space-separated
	acr                   string // empty: the realm's default, LoA low
	// jar keeps the provider's session between sign-ins of one person,
	// as their browser would: a second sign-in needs no new code.
	jar http.CookieJar
}

// userToken signs a person in through the client (the authorization code
// flow with PKCE; at LoA substantial with the code from the development
// outbox) and returns the access token.
func userToken(t *testing.T, base string, ask tokenAsk) string {
	t.Helper()
	jar := ask.jar
	if jar == nil {
		var err error
		jar, err = cookiejar.New(nil)
		require.NoError(t, err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), agencyRedirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	verifier := "a-verifier-of-enough-length-for-rfc-7636-pkce-checks"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {ask.client}, "redirect_uri": {agencyRedirect}, "scope": {ask.scope},
		"state": {"s1"}, "nonce": {"n1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	if ask.acr != "" {
		q.Set("acr_values", ask.acr)
	}
	issuer := base + "/auth/" + ask.realm
	resp, err := c.Get(issuer + "/authorize?" + q.Encode())
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK { // the sign-in page: no session yet
		resp, err = c.PostForm(issuer+"/login", url.Values{"tx": {txOf(t, string(b))}, "username": {ask.user}, "password": {ask.password}})
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if resp.StatusCode == http.StatusOK { // the one-time code's page
		resp, err = c.PostForm(issuer+"/login/code", url.Values{"tx": {txOf(t, string(b))}, "code": {lastCode(t, base)}})
		require.NoError(t, err)
		b, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, string(b))
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	code := loc.Query().Get("code")
	require.NotEmpty(t, code, loc.String())
	req, _ := http.NewRequest("POST", issuer+"/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {agencyRedirect}, "code_verifier": {verifier}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(ask.client, ask.secret)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	return tok.AccessToken
}

// apiAnswer is what an API call answered.
type apiAnswer struct {
	status          int
	contentType     string
	wwwAuthenticate string
	body            string
}

func callAPI(t *testing.T, method, u, token, body string) apiAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiAnswer{resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("WWW-Authenticate"), string(b)}
}

// assertRefused checks a refusal: status, problem details, and the
// RFC 6750 / RFC 9470 error in WWW-Authenticate.
func assertRefused(t *testing.T, a apiAnswer, status int, code string, msg string) {
	t.Helper()
	assert.Equal(t, status, a.status, "%s: %s", msg, a.body)
	assert.Equal(t, "application/problem+json", a.contentType, msg)
	assert.True(t, strings.HasPrefix(a.wwwAuthenticate, "Bearer "), "%s: %q", msg, a.wwwAuthenticate)
	assert.Contains(t, a.wwwAuthenticate, `error="`+code+`"`, msg)
}

// TestDeclarationsAPIChecksTokens: the declarations API takes only tokens
// issued for it, with its scopes, and writes only at LoA substantial.
func TestDeclarationsAPIChecksTokens(t *testing.T) {
	base, _ := startPortalEnv(t, map[string]string{"EGOVKIT_ADMIN_TOKEN": testAdminToken}, "-demo")
	api := base + declarationsAPI
	all := []string{"openid", "profile", "gr_identity", scopeDeclarationsRead, scopeDeclarationsWrite}
	secret := registerClient(t, base, "citizen", "tax-app", all, []string{api})
	otherSecret := registerClient(t, base, "citizen", "other-app", all, []string{"https://other.example.gr"})
	demo := tokenAsk{realm: "citizen", user: demoCitizen, password: demoCitizenPassword, jar: newJar(t)}
	draft := `{"kind":"solemn_declaration","recipient":"Δήμος Αθηναίων","text":"Διαμένω στην Αθήνα.","lang":"el"}`

	// A token of another client, for another audience, reads nothing:
	// neither one registered with every scope, nor the demo agency's.
	ask := demo
	ask.client, ask.secret, ask.scope, ask.acr = "other-app", otherSecret, strings.Join(all, " "), rp.LoASubstantial
	other := userToken(t, base, ask)
	assertRefused(t, callAPI(t, "GET", api+"/documents", other, ""), 401, "invalid_token", "another audience")
	assertRefused(t, callAPI(t, "POST", api+"/documents", other, draft), 401, "invalid_token", "another audience")
	ask.client, ask.secret, ask.scope = demoClientID, demoClientSecret, "openid profile gr_identity"
	agency := userToken(t, base, ask)
	assertRefused(t, callAPI(t, "GET", api+"/documents", agency, ""), 401, "invalid_token", "the demo agency's token")
	assertRefused(t, callAPI(t, "GET", api+"/granted", agency, ""), 401, "invalid_token", "the demo agency's token")
	a := callAPI(t, "GET", api+"/documents", "", "")
	assert.Equal(t, 401, a.status)
	assert.Equal(t, "application/problem+json", a.contentType)
	assert.True(t, strings.HasPrefix(a.wwwAuthenticate, "Bearer "), a.wwwAuthenticate)

	// For this API, but without its scopes: 403 insufficient_scope,
	// naming what is needed.
	ask = demo
	ask.client, ask.secret, ask.scope, ask.acr = "tax-app", secret, "openid profile gr_identity", rp.LoASubstantial
	noScope := userToken(t, base, ask)
	a = callAPI(t, "GET", api+"/documents", noScope, "")
	assertRefused(t, a, 403, "insufficient_scope", "no declarations:read")
	assert.Contains(t, a.wwwAuthenticate, scopeDeclarationsRead)
	assertRefused(t, callAPI(t, "POST", api+"/documents", noScope, draft), 403, "insufficient_scope", "no declarations:write")
	ask.scope = "openid profile gr_identity " + scopeDeclarationsRead
	readOnly := userToken(t, base, ask)
	assert.Equal(t, 200, callAPI(t, "GET", api+"/documents", readOnly, "").status)
	a = callAPI(t, "POST", api+"/documents", readOnly, draft)
	assertRefused(t, a, 403, "insufficient_scope", "read-only token writes")
	assert.Contains(t, a.wwwAuthenticate, scopeDeclarationsWrite)

	// Every scope, at LoA low: reads, but writes nothing.
	ask.scope, ask.acr, ask.jar = strings.Join(all, " "), "", nil
	low := userToken(t, base, ask)
	assert.Equal(t, 200, callAPI(t, "GET", api+"/documents", low, "").status)
	a = callAPI(t, "POST", api+"/documents", low, draft)
	assertRefused(t, a, 401, "insufficient_user_authentication", "LoA low writes")
	assert.Contains(t, a.wwwAuthenticate, `acr_values="`+rp.LoASubstantial+`"`)
	assert.Equal(t, `{"documents":[]}`, strings.TrimSpace(callAPI(t, "GET", api+"/documents", low, "").body), "nothing was written")

	// At LoA substantial it writes.
	ask.acr, ask.jar = rp.LoASubstantial, demo.jar
	good := userToken(t, base, ask)
	a = callAPI(t, "POST", api+"/documents", good, draft)
	require.Equal(t, 201, a.status, a.body)
	var doc struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(a.body), &doc))
	assertRefused(t, callAPI(t, "POST", api+"/documents/"+doc.ID+"/revoke", low, `{"reason":"x"}`), 401,
		"insufficient_user_authentication", "LoA low revokes")
	assertRefused(t, callAPI(t, "POST", api+"/documents/"+doc.ID+"/revoke", other, `{"reason":"x"}`), 401,
		"invalid_token", "another audience revokes")

	// The public endpoints stay public.
	assert.Equal(t, 200, callAPI(t, "GET", api+"/templates", "", "").status)
	assert.Equal(t, 200, callAPI(t, "GET", api+"/jwks.json", "", "").status)
}

// TestProceduresAPIChecksTokens: the editors' endpoints of the procedures
// API take only servants' tokens issued for it with procedures:edit, and
// write only at LoA substantial; a servant token for another audience is
// refused, whatever the servant's roles.
func TestProceduresAPIChecksTokens(t *testing.T) {
	base, _ := startPortalEnv(t, map[string]string{"EGOVKIT_ADMIN_TOKEN": testAdminToken}, "-demo")
	api := base + proceduresAPI
	secret := registerClient(t, base, "servant", "editors-tool", []string{"openid", "profile", scopeProceduresEdit}, []string{api})
	doc := strings.Replace(string(procedures.Samples()["passport.json"]), `"id": "passport"`, `"id": "api-test-passport"`, 1)
	clerk := tokenAsk{realm: "servant", client: "editors-tool", secret: secret, user: demoServant, password: demoServantPassword,
		scope: "openid " + scopeProceduresEdit, acr: rp.LoASubstantial, jar: newJar(t)}

	agency := servantToken(t, base, demoServant, demoServantPassword)
	assertRefused(t, callAPI(t, "POST", api+"/procedures", agency, doc), 401, "invalid_token", "the demo agency's token")
	assertRefused(t, callAPI(t, "GET", api+"/suggestions", agency, ""), 401, "invalid_token", "the demo agency's token")
	assertRefused(t, callAPI(t, "GET", api+"/procedures/passport/history", agency, ""), 401, "invalid_token", "the demo agency's token")

	ask := clerk
	ask.scope = "openid profile"
	noScope := userToken(t, base, ask)
	assertRefused(t, callAPI(t, "POST", api+"/procedures", noScope, doc), 403, "insufficient_scope", "no procedures:edit")
	assertRefused(t, callAPI(t, "GET", api+"/procedures/passport/history", noScope, ""), 403, "insufficient_scope", "no procedures:edit")

	ask = clerk
	ask.acr, ask.jar = "", nil
	low := userToken(t, base, ask)
	assert.Equal(t, 200, callAPI(t, "GET", api+"/procedures/passport/history", low, "").status, "reads at LoA low")
	assertRefused(t, callAPI(t, "POST", api+"/procedures", low, doc), 401, "insufficient_user_authentication", "LoA low writes")
	assertRefused(t, callAPI(t, "POST", api+"/procedures/passport/revisions", low, ""), 401, "insufficient_user_authentication", "LoA low writes")
	assert.Equal(t, 404, callAPI(t, "GET", api+"/procedures/api-test-passport", "", "").status, "nothing was written")

	editor := userToken(t, base, clerk)
	a := callAPI(t, "POST", api+"/procedures", editor, doc)
	require.Equal(t, 201, a.status, a.body)
	approver := clerk
	approver.user, approver.password, approver.jar = demoApprover, demoApproverPass, newJar(t)
	chief := userToken(t, base, approver)
	assert.Equal(t, 403, callAPI(t, "POST", api+"/procedures", chief, doc).status, "an approver does not write drafts")
	a = callAPI(t, "GET", api+"/procedures/api-test-passport/history", chief, "")
	require.Equal(t, 200, a.status, a.body)
	assert.Contains(t, a.body, demoServant, "the history names the editor")

	// The catalogue and citizens' suggestions need no token.
	assert.Equal(t, 200, callAPI(t, "GET", api+"/procedures/passport", "", "").status)
	assert.Equal(t, 201, callAPI(t, "POST", api+"/procedures/passport/suggestions", "", `{"kind":"other","text":"Ευχαριστώ."}`).status)
}

func newJar(t *testing.T) http.CookieJar {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return jar
}
