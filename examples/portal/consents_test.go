package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/browsertest"
)

// TestConsent signs the demo citizen in to «Τα δεδομένα μου» (password
// and SMS code), finds the demo requester's request waiting, approves it
// and is sent back to the requester's registered return URL with the
// consent id and state; the requester reads the consent authorised with
// its client-credentials token, and the citizen withdraws it.
func TestConsent(t *testing.T) {
	base, _ := startPortal(t, "-demo")
	_, home := fetch(t, "GET", base+"/?lang=en", nil)
	assert.Contains(t, home, `href="/consent/"`, "the home page's card is live")

	c := signInBrowser(t)
	page, at := browse(t, c, "GET", base+"/consent/?lang=en", nil)
	require.Equal(t, "/auth/citizen/login", at.Path)
	assert.Contains(t, page, "My data", "the provider names the site")
	page, _ = browse(t, c, "POST", base+"/auth/citizen/login", url.Values{"tx": {txOf(t, page)}, "username": {demoCitizen}, "password": {demoCitizenPassword}})
	page, at = browse(t, c, "POST", base+"/auth/citizen/login/code", url.Values{"tx": {txOf(t, page)}, "code": {lastCode(t, base)}})
	require.Equal(t, "/consent/", at.Path)
	assert.Contains(t, page, "Waiting for your answer")
	m := regexp.MustCompile(`href="/consent/r/([A-Z0-9]+)"`).FindStringSubmatch(page)
	require.NotNil(t, m, page)
	id := m[1]
	browsertest.AssertStyled(t, c, base, "/consent/r/"+id, "/static/")
	page, _ = browse(t, c, "GET", base+"/consent/r/"+id+"?lang=en", nil)
	assert.Contains(t, page, "Δοκιμαστικός φορέας asks to receive from Μητρώο Πολιτών")

	noFollow := *c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequest("POST", base+"/consent/r/"+id+"/approve", strings.NewReader("lang=en"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := noFollow.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, base+"/?consent_id="+id+"&state=demo", resp.Header.Get("Location"))

	// The requester reads its request authorised.
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {scopeConsentRequest}}
	treq, _ := http.NewRequest("POST", base+"/auth/citizen/token", strings.NewReader(form.Encode()))
	treq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	treq.SetBasicAuth(demoRequesterID, demoRequesterSecret)
	resp, err = http.DefaultClient.Do(treq)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	resp, body := fetch(t, "GET", base+consentAPI+"/requests/"+id, map[string]string{"Authorization": "Bearer " + tok.AccessToken})
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"state":"Authorised"`)

	// The citizen sees the receipt and withdraws after one confirmation.
	page, _ = browse(t, c, "GET", base+"/consent/c/"+id+"?lang=en", nil)
	assert.Contains(t, page, "Receipt number")
	assert.Contains(t, page, base+"/consent", "the receipt's issuer")
	page, _ = browse(t, c, "GET", base+"/consent/c/"+id+"/withdraw?lang=en", nil)
	assert.Contains(t, page, "Withdraw your consent to Δοκιμαστικός φορέας?")
	status, page, at := postForm(t, c, base, "/consent/c/"+id+"/withdraw", url.Values{})
	require.Equal(t, http.StatusOK, status, page)
	assert.Equal(t, "/consent/c/"+id, at.Path)
	assert.Contains(t, page, "You withdrew your consent")
	resp, body = fetch(t, "GET", base+consentAPI+"/requests/"+id, map[string]string{"Authorization": "Bearer " + tok.AccessToken})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"state":"Revoked"`)

	page, _ = browse(t, c, "GET", base+"/consent/log?lang=en", nil)
	assert.Contains(t, page, "No agency has used data about you yet.")
	page, _ = browse(t, c, "GET", base+"/consent/give?lang=en", nil)
	assert.Contains(t, page, "Sending you letters", "the demo catalogue of standing consents")
}
