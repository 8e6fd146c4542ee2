package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
)

// clientToken gets a client-credentials token of the citizens' realm.
func clientToken(t *testing.T, base, id, secret, scope string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}
	req, _ := http.NewRequest("POST", base+"/auth/citizen/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	return tok.AccessToken
}

// callDemoService calls the demonstration registry through the gateway
// as the demo consumer, about the demo citizen.
func callDemoService(t *testing.T, base, token string) (*http.Response, string) {
	t.Helper()
	return fetch(t, "GET", demoProviderURL(base), map[string]string{"Authorization": "Bearer " + token,
		"X-Road-Client": demoConsumer.String(), "X-Road-UserId": "GR" + demoCitizenAFM, "X-Road-Issue": demoPurpose.Code})
}

// TestInteropGateway calls the demonstration registry through the
// gateway: refused before the citizen approves, allowed once after (the
// use is in her access log with the exchange id, and its inclusion proof
// verifies), refused again because the consent was for one use; a
// consent for several uses allows calls until it is withdrawn. The log's
// entries and the operators' API refuse callers without the right token.
func TestInteropGateway(t *testing.T) {
	const admin = "an-administration-token-of-enough-length-0123456789"
	base, _ := startPortalEnv(t, map[string]string{"EGOVKIT_ADMIN_TOKEN": admin}, "-demo")
	_, home := fetch(t, "GET", base+"/?lang=en", nil)
	assert.Contains(t, home, `href="/interop/registry/"`, "the home page's card is live")

	token := clientToken(t, base, demoRequesterID, demoRequesterSecret, scopeInteropCall+" "+scopeConsentRequest)
	resp, body := callDemoService(t, base, token)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	assert.Contains(t, body, `"consent_reason":"missing"`, "the request waits for the citizen")
	resp, body = fetch(t, "GET", demoProviderURL(base), map[string]string{"X-Road-Client": demoConsumer.String()})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, body)
	resp, _ = fetch(t, "GET", base+demoProviderPath+"/certificate", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the provider takes only calls the gateway signed")

	// The citizen approves the demo request.
	c := signInBrowser(t)
	page, _ := browse(t, c, "GET", base+"/consent/?lang=en", nil)
	page, _ = browse(t, c, "POST", base+"/auth/citizen/login", url.Values{"tx": {txOf(t, page)}, "username": {demoCitizen}, "password": {demoCitizenPassword}})
	page, _ = browse(t, c, "POST", base+"/auth/citizen/login/code", url.Values{"tx": {txOf(t, page)}, "code": {lastCode(t, base)}})
	m := regexp.MustCompile(`href="/consent/r/([A-Z0-9]+)"`).FindStringSubmatch(page)
	require.NotNil(t, m, page)
	status, page, _ := postForm(t, c, base, "/consent/r/"+m[1]+"/approve", url.Values{"lang": {"en"}})
	require.Equal(t, http.StatusOK, status, page)

	resp, body = callDemoService(t, base, token)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"marital_status":"married"`)
	exchange := resp.Header.Get("X-Road-Request-Id")
	require.NotEmpty(t, exchange)
	resp, body = callDemoService(t, base, token)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	assert.Contains(t, body, `"consent_reason":"used_up"`, "the consent was for one use")
	resp, body = fetch(t, "GET", demoProviderURL(base), map[string]string{"Authorization": "Bearer " + token,
		"X-Road-Client": demoConsumer.String(), "X-Road-UserId": "GR" + demoCitizenAFM, "X-Road-Issue": demoPurpose.Code,
		"Egovkit-Consent-Id": "NOSUCHCONSENT"})
	require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	assert.Contains(t, body, `"consent_reason":"unknown"`, "a presented consent must be the requester's")

	// The use is in her access log, with its proof verified once a
	// checkpoint covers it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		page, _ = browse(t, c, "GET", base+"/consent/log?lang=en", nil)
		if strings.Contains(page, "proof verified") || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.Contains(t, page, exchange)
	assert.Contains(t, page, "In the exchange log: proof verified")

	// Anyone verifies the proof offline against the signed checkpoint;
	// the entry itself is for auditors.
	resp, body = fetch(t, "GET", base+interopLog+"/entries?exchange_id="+exchange, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, body)
	resp, body = fetch(t, "GET", base+interopLog+"/entries?exchange_id="+exchange, map[string]string{"Authorization": "Bearer " + token})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a consumer's token is no auditor's")
	resp, body = fetch(t, "GET", base+interopLog+"/entries?exchange_id="+exchange, map[string]string{"Authorization": "Bearer " + admin})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var rec exchangelog.Record
	require.NoError(t, json.Unmarshal([]byte(body), &rec))
	assert.Equal(t, exchange, rec.Entry.ExchangeID)
	assert.NotContains(t, body, demoCitizenAFM, "the log keeps a pseudonym")
	_, vkey := fetch(t, "GET", base+interopLog+"/key", nil)
	resp, body = fetch(t, "GET", base+interopLog+"/proof/inclusion?index="+strconv.FormatInt(rec.Index, 10), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var incl exchangelog.InclusionResponse
	require.NoError(t, json.Unmarshal([]byte(body), &incl))
	cp, err := verify.OpenCheckpoint([]byte(incl.Checkpoint), strings.TrimSpace(vkey))
	require.NoError(t, err)
	e, err := cp.Entry(rec.Index, rec.Leaf, incl.Proof)
	require.NoError(t, err)
	assert.Equal(t, exchange, e.ExchangeID)

	// A consent for several uses allows calls until it is withdrawn.
	reqBody := `{"tax_number":"` + demoCitizenAFM + `","source":{"registry":"` + demoSource.Registry + `","service":"` + demoSource.Service +
		`"},"items":[{"id":"marital_status","type":"string"},{"id":"children","type":"number"}],"purpose":{"code":"` + demoPurpose.Code +
		`","text":{"el":"Επίδομα","en":"Benefit"}},"legal_basis":"GDPR art. 6(1)(a)","valid_until":"` +
		time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339) + `","max_uses":5}`
	req, _ := http.NewRequest("POST", base+consentAPI+"/requests", strings.NewReader(reqBody))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	cresp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	cbody, _ := io.ReadAll(cresp.Body)
	cresp.Body.Close()
	require.Equal(t, http.StatusCreated, cresp.StatusCode, string(cbody))
	var created struct{ ID string }
	require.NoError(t, json.Unmarshal(cbody, &created))
	status, page, _ = postForm(t, c, base, "/consent/r/"+created.ID+"/approve", url.Values{"lang": {"en"}})
	require.Equal(t, http.StatusOK, status, page)
	resp, body = callDemoService(t, base, token)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	status, page, _ = postForm(t, c, base, "/consent/c/"+created.ID+"/withdraw", url.Values{})
	require.Equal(t, http.StatusOK, status, page)
	resp, body = callDemoService(t, base, token)
	require.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	assert.Contains(t, body, `"consent_reason":"withdrawn"`)

	// The operators' API.
	resp, body = fetch(t, "GET", base+interopAPI+"/services", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, body)
	resp, body = fetch(t, "GET", base+interopAPI+"/services", map[string]string{"Authorization": "Bearer " + token})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a consumer's token opens no operators' API: %s", body)
	resp, body = fetch(t, "GET", base+interopAPI+"/services", map[string]string{"Authorization": "Bearer " + admin})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "family-status")
	// Counted by consumer, service and outcome, with the latency.
	deadline = time.Now().Add(10 * time.Second)
	for {
		_, body = fetch(t, "GET", base+"/metrics", nil)
		if strings.Contains(body, `outcome="consent_refused"`) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.Regexp(t, `interop_call[a-z_]*\{consumer="GR/GOV/DEMO-AGENCY/BENEFITS",outcome="ok",service="GR/GOV/DEMO-REGISTRY/CITIZENS/family-status"\} 2`, body)
	assert.Contains(t, body, `egovkit_interop_call_seconds_bucket{consumer="GR/GOV/DEMO-AGENCY/BENEFITS",outcome="consent_refused"`)

	resp, body = fetch(t, "GET", base+interopPrefix+"/keys", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"OKP"`)
}

// TestInteropOperators opens the operators' API with civil servants'
// tokens: the demo approver, an operator of the exchange layer, reads the
// registry, but changes it only after a sign-in at LoA substantial; the
// demo clerk, with no role there, is refused; a token without the scope
// interop:operate is refused.
func TestInteropOperators(t *testing.T) {
	base, _ := startPortal(t, "-demo")
	chief := servantTokenFor(t, base, demoApprover, demoApproverPass, "openid "+scopeInteropOperate)
	resp, body := fetch(t, "GET", base+interopAPI+"/services", map[string]string{"Authorization": "Bearer " + chief})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, "family-status")
	resp, body = fetch(t, "POST", base+interopAPI+"/services/"+demoRegistry.String()+"/disable", map[string]string{"Authorization": "Bearer " + chief})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a change at LoA low: %s", body)
	resp, body = fetch(t, "GET", base+interopLog+"/entries/0", map[string]string{"Authorization": "Bearer " + chief})
	assert.NotEqual(t, http.StatusUnauthorized, resp.StatusCode, body)
	assert.NotEqual(t, http.StatusForbidden, resp.StatusCode, body)

	clerk := servantTokenFor(t, base, demoServant, demoServantPassword, "openid "+scopeInteropOperate)
	resp, body = fetch(t, "GET", base+interopAPI+"/services", map[string]string{"Authorization": "Bearer " + clerk})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	resp, body = fetch(t, "GET", base+interopLog+"/entries/0", map[string]string{"Authorization": "Bearer " + clerk})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, body)
	plain := servantToken(t, base, demoApprover, demoApproverPass)
	resp, body = fetch(t, "GET", base+interopAPI+"/services", map[string]string{"Authorization": "Bearer " + plain})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, body)
}

// TestInteropOperatorsPages signs the demo operator in to the registry's
// pages through the servants' realm (password and the SMS code), where
// the demo service is listed, and refuses the pages to anyone not signed
// in and to a civil servant without a role in the registry.
func TestInteropOperatorsPages(t *testing.T) {
	base, _ := startPortal(t, "-demo")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(base + interopPages + "/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode, "someone not signed in is sent to sign in")

	// sign walks the sign-in and answers the pages' status and text.
	sign := func(user, password string) (int, string, *url.URL) {
		c := signInBrowser(t)
		page, at := browse(t, c, "GET", base+interopPages+"/?lang=en", nil)
		require.Equal(t, "/auth/servant/login", at.Path, "the pages ask for a sign-in")
		assert.Contains(t, page, "Interoperability centre")
		form := url.Values{"tx": {txOf(t, page)}, "username": {user}, "password": {password}}
		resp, err := c.PostForm(base+"/auth/servant/login", form)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), `name="code"`) {
			resp, err = c.PostForm(base+"/auth/servant/login/code", url.Values{"tx": {txOf(t, string(b))}, "code": {lastCode(t, base)}})
			require.NoError(t, err)
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		return resp.StatusCode, string(b), resp.Request.URL
	}
	status, page, at := sign(demoApprover, demoApproverPass)
	require.Equal(t, http.StatusOK, status, page)
	assert.Equal(t, interopPages+"/", at.Path)
	assert.Contains(t, page, "family-status", "the operator sees the demo service")

	status, page, _ = sign(demoServant, demoServantPassword)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Contains(t, page, "no role in the interoperability registry")
	assert.NotContains(t, page, "family-status", "a servant without a role in the registry sees no service")
}
