package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

// startPortal runs the portal as main does, on a free port, and stops it
// when the test ends, checking that it shut down cleanly.
func startPortal(t *testing.T, args ...string) (base, dataDir string) {
	t.Helper()
	return startPortalEnv(t, nil, args...)
}

// startPortalEnv is startPortal with environment variables.
func startPortalEnv(t *testing.T, environ map[string]string, args ...string) (base, dataDir string) {
	t.Helper()
	dataDir = filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	args = append([]string{"-addr", "127.0.0.1:0", "-data", dataDir}, args...)
	go func() {
		done <- run(ctx, args, func(k string) string { return environ[k] }, io.Discard, func(a string) { addrc <- a })
	}()
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("portal did not start: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("portal did not start in time")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err, "graceful shutdown")
		case <-time.After(20 * time.Second):
			t.Error("portal did not stop")
		}
	})
	return base, dataDir
}

func fetch(t *testing.T, method, url string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(b)
}

func TestPortalServesHomeHealthAndAPI(t *testing.T) {
	base, dataDir := startPortal(t)

	resp, body := fetch(t, "GET", base+"/", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, body, `<html lang="el">`)
	assert.Contains(t, body, "Ψηφιακές δημόσιες υπηρεσίες")
	assert.Contains(t, body, "Δεν είναι ακόμη διαθέσιμη", "packages not mounted yet are shown as such")
	assert.NotEmpty(t, resp.Header.Get("X-Request-ID"))

	_, body = fetch(t, "GET", base+"/?lang=en", nil)
	assert.Contains(t, body, `<html lang="en">`)
	assert.Contains(t, body, "Digital public services")
	_, body = fetch(t, "GET", base+"/", map[string]string{"Accept-Language": "en-US,en;q=0.8"})
	assert.Contains(t, body, "Digital public services")

	// The stylesheet the page links to is served.
	i := strings.Index(body, `href="/static/`)
	require.Positive(t, i)
	href := body[i+len(`href="`):]
	href = href[:strings.IndexByte(href, '"')]
	resp, css := fetch(t, "GET", base+href, nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, css, "--color-text")

	// So is the favicon it links, and /favicon.ico leads to it.
	icon := regexp.MustCompile(`<link rel="icon" href="(/static/favicon\.[0-9a-f]+\.svg)"`).FindStringSubmatch(body)
	require.NotNil(t, icon, "the page links the favicon")
	resp, svg := fetch(t, "GET", base+icon[1], nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "image/svg+xml", resp.Header.Get("Content-Type"))
	assert.Contains(t, svg, "<svg")
	resp, svg = fetch(t, "GET", base+"/favicon.ico", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "/static/favicon.svg", resp.Request.URL.Path)
	assert.Contains(t, svg, "<svg")

	resp, body = fetch(t, "GET", base+"/healthz", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok"}`, body)

	resp, body = fetch(t, "GET", base+"/readyz", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok","database":"sqlite"}`, body)

	resp, body = fetch(t, "GET", base+"/openapi.json", nil)
	assert.Equal(t, 200, resp.StatusCode)
	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &doc))
	assert.Equal(t, "3.1.0", doc["openapi"])

	resp, body = fetch(t, "GET", base+"/no/such/page", nil)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, `"status":404`)
	resp, body = fetch(t, "GET", base+"/no/such/page", map[string]string{"Accept": "text/html"})
	assert.Equal(t, 404, resp.StatusCode)
	assert.Contains(t, body, "Η σελίδα δεν βρέθηκε")

	resp, _ = fetch(t, "POST", base+"/healthz", nil)
	assert.Equal(t, 405, resp.StatusCode)

	fi, err := os.Stat(filepath.Join(dataDir, "kek"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	_, err = os.Stat(filepath.Join(dataDir, "egovkit.db"))
	assert.NoError(t, err)
}

func TestPortalOnPostgres(t *testing.T) {
	db := sqltest.Postgres(t)
	base, _ := startPortal(t, "-db", db.URL)
	resp, body := fetch(t, "GET", base+"/readyz", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"status":"ok","database":"postgres"}`, body)
}

func TestPortalRefusesBadStart(t *testing.T) {
	ctx := context.Background()
	nop := func(string) string { return "" }
	err := run(ctx, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-db", "mysql://x"}, nop, io.Discard, nil)
	assert.ErrorContains(t, err, "unknown database URL scheme")
	err = run(ctx, []string{"-bogus"}, nop, io.Discard, nil)
	assert.ErrorIs(t, err, errUsage)
	assert.NoError(t, run(ctx, []string{"-h"}, nop, io.Discard, nil), "-h prints usage and exits cleanly")
	err = run(ctx, []string{"-addr", "127.0.0.1:0", "-data", t.TempDir(), "-demo", "-sms-webhook", "https://sms.example.gr/send"}, nop, io.Discard, nil)
	assert.ErrorContains(t, err, "SMS gateway", "demo data never next to a real gateway")
}

func TestPortalRefusesWrongKEK(t *testing.T) {
	dataDir := t.TempDir()
	url := "sqlite:" + filepath.Join(dataDir, "egovkit.db")
	// A key set created under one KEK…
	db, err := sqldb.Open(context.Background(), url, nil)
	require.NoError(t, err)
	first, err := kek.Generate()
	require.NoError(t, err)
	_, err = auth.NewSigningKeys(context.Background(), db, "some-package", first, nil)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	// …stops a start with another.
	other, err := kek.Generate()
	require.NoError(t, err)
	env := map[string]string{"EGOVKIT_KEK": kek.Encode(other)}
	err = run(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", dataDir, "-db", url}, func(k string) string { return env[k] }, io.Discard, nil)
	assert.ErrorIs(t, err, kek.ErrMismatch)
}

func TestCataloguesComplete(t *testing.T) {
	db := sqltest.SQLite(t)
	key, err := kek.Generate()
	require.NoError(t, err)
	a, err := newApp(context.Background(), appConfig{DB: db.DB.DB, KEK: key, BaseURL: "http://127.0.0.1:8080"})
	require.NoError(t, err)
	assert.Empty(t, a.pages.MissingTranslations())
}

// TestCitizenRealmIssuesAgencyTokens takes a client_credentials token from
// the portal's citizen realm with the demo client and has an agency API,
// protected by auth/rp, accept it.
func TestCitizenRealmIssuesAgencyTokens(t *testing.T) {
	base, _ := startPortal(t, "-demo")
	issuer := base + "/auth/citizen"
	resp, body := fetch(t, "GET", issuer+"/.well-known/openid-configuration", nil)
	require.Equal(t, 200, resp.StatusCode)
	var meta map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &meta))
	assert.Equal(t, issuer, meta["issuer"])
	resp, _ = fetch(t, "GET", base+"/auth/servant/.well-known/openid-configuration", nil)
	assert.Equal(t, 200, resp.StatusCode, "the servant realm has its own issuer")

	req, err := http.NewRequest("POST", issuer+"/token", strings.NewReader("grant_type=client_credentials&scope=openid"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(demoClientID, demoClientSecret)
	tr, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.NewDecoder(tr.Body).Decode(&tok))
	tr.Body.Close()
	require.Equal(t, 200, tr.StatusCode)

	v, err := rp.NewVerifier(rp.Config{Issuer: issuer, Audience: "http://127.0.0.1:8090"})
	require.NoError(t, err)
	id, err := v.Verify(context.Background(), tok.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, demoClientID, id.ClientID)

	// The servant realm has its own clients, secrets and keys.
	req, _ = http.NewRequest("POST", base+"/auth/servant/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(demoClientID, "not-the-secret")
	sr, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	sr.Body.Close()
	assert.Equal(t, 401, sr.StatusCode)
	sv, err := rp.NewVerifier(rp.Config{Issuer: base + "/auth/servant", Audience: "http://127.0.0.1:8090"})
	require.NoError(t, err)
	_, err = sv.Verify(context.Background(), tok.AccessToken)
	assert.Error(t, err, "a citizen-realm token is not a servant-realm token")
}

func TestDemoData(t *testing.T) {
	base, dataDir := startPortal(t, "-demo")
	resp, body := fetch(t, "GET", base+"/dev/outbox", nil)
	assert.Equal(t, 200, resp.StatusCode)
	assert.JSONEq(t, `{"messages":[]}`, body)

	db, err := sqldb.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "egovkit.db"), nil)
	require.NoError(t, err)
	defer db.Close()
	acc, err := auth.NewAccounts(context.Background(), db)
	require.NoError(t, err)
	c, err := acc.CheckCitizenPassword(context.Background(), demoCitizen, demoCitizenPassword)
	require.NoError(t, err)
	assert.Equal(t, "123456783", c.AFM)
	s, err := acc.CheckServantPassword(context.Background(), demoServant, demoServantPassword)
	require.NoError(t, err)
	zs, err := acc.ActiveAuthorizations(context.Background(), s.ID, time.Now())
	require.NoError(t, err)
	assert.Len(t, zs, 2, "a registrar, and an editor of procedures")
	c2, err := acc.CheckCitizenPassword(context.Background(), demoCitizen2, demoCitizen2Password)
	require.NoError(t, err, "a second citizen, to be given authorizations")
	assert.Equal(t, demoCitizen2AFM, c2.AFM)
	assert.NotEqual(t, c.ID, c2.ID)

	// The home page says how to sign in as the demo people, and links the
	// outbox and the account page.
	_, body = fetch(t, "GET", base+"/?lang=en", nil)
	for _, p := range demoPeople {
		assert.Contains(t, body, "<code>"+p.Username+"</code> / <code>"+p.Password+"</code>")
	}
	assert.Contains(t, body, `href="/dev/outbox"`)
	assert.Contains(t, body, `href="/account/"`)

	// The outbox is a page for browsers, JSON for the rest; the sign-in
	// pages link it.
	c3 := signInBrowser(t)
	page, _ := browse(t, c3, "GET", base+"/demo/citizen/login?lang=en&return=/demo/citizen/", nil)
	assert.Contains(t, page, `<a href="/dev/outbox">`)
	page, _ = browse(t, c3, "POST", base+"/auth/citizen/login", url.Values{"tx": {txOf(t, page)}, "username": {demoCitizen2}, "password": {demoCitizen2Password}})
	assert.Contains(t, page, `<a href="/dev/outbox">`, "the code page links the outbox too")
	resp, body = fetch(t, "GET", base+"/dev/outbox", map[string]string{"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "en"})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	assert.Contains(t, body, "Development outbox")
	assert.Contains(t, body, "<td>&#43;"+demoMobile2[1:]+"</td>", "the code went to the second citizen's mobile")
	assert.Contains(t, body, `role="region"`)
	resp, body = fetch(t, "GET", base+"/dev/outbox", map[string]string{"Accept": "application/json"})
	assert.Contains(t, resp.Header.Get("Content-Type"), "application/json")
	assert.Contains(t, body, `"to":"`+demoMobile2+`"`)
}

func TestNoDemoClientWithoutDemoMode(t *testing.T) {
	base, _ := startPortal(t)
	resp, _ := fetch(t, "GET", base+"/dev/outbox", nil)
	assert.Equal(t, 404, resp.StatusCode, "the outbox exists only in demo mode")
	req, _ := http.NewRequest("POST", base+"/auth/citizen/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(demoClientID, demoClientSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode)
}

// TestHomePageInBrowser loads the home page in headless chromium, checks
// the document it builds and keeps screenshots of both languages (in
// $EGOVKIT_SCREENSHOT_DIR when set) for a person to look at.
func TestHomePageInBrowser(t *testing.T) {
	browsertest.Binary(t)
	base, _ := startPortal(t)
	dom := browsertest.DOM(t, base+"/?lang=en")
	assert.Contains(t, dom, `<html lang="en">`)
	assert.Contains(t, dom, "Skip to main content")
	assert.Contains(t, dom, "Digital public services")
	browsertest.Screenshot(t, base+"/?lang=el", "portal-home-el-desktop", 1280, 1000)
	browsertest.Screenshot(t, base+"/?lang=en", "portal-home-en-mobile", 390, 1400)
}

// signInBrowser is a browser that keeps cookies and follows redirects.
func signInBrowser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{Jar: jar}
}

func browse(t *testing.T, c *http.Client, method, u string, form url.Values) (string, *url.URL) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	return string(b), resp.Request.URL
}

var txInput = regexp.MustCompile(`name="tx" value="([^"]+)"`)

func txOf(t *testing.T, page string) string {
	m := txInput.FindStringSubmatch(page)
	require.NotNil(t, m, page)
	return m[1]
}

// TestDemoSiteSignIn signs the demo citizen in to the demo agency site
// through the running portal: password, then the SMS code read from the
// development outbox; the site shows what UserInfo released, and signing
// out ends both sessions.
func TestDemoSiteSignIn(t *testing.T) {
	base, _ := startPortal(t, "-demo")
	c := signInBrowser(t)
	page, at := browse(t, c, "GET", base+"/demo/citizen/login?lang=en&return=/demo/citizen/", nil)
	assert.Equal(t, "/auth/citizen/login", at.Path)
	assert.Contains(t, page, "Demo agency")
	page, _ = browse(t, c, "POST", base+"/auth/citizen/login", url.Values{"tx": {txOf(t, page)}, "username": {demoCitizen}, "password": {demoCitizenPassword}})
	assert.Contains(t, page, "******", "the number is masked")

	_, outbox := fetch(t, "GET", base+"/dev/outbox", nil)
	var box struct {
		Messages []struct{ To, Text string }
	}
	require.NoError(t, json.Unmarshal([]byte(outbox), &box))
	require.NotEmpty(t, box.Messages)
	assert.Equal(t, demoMobile, box.Messages[0].To)
	code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(box.Messages[0].Text)
	require.NotEmpty(t, code)

	page, at = browse(t, c, "POST", base+"/auth/citizen/login/code", url.Values{"tx": {txOf(t, page)}, "code": {code}})
	assert.Equal(t, "/demo/citizen/", at.Path)
	assert.Contains(t, page, "You are signed in.")
	assert.Contains(t, page, "http://eidas.europa.eu/LoA/substantial")
	assert.Contains(t, page, "Μαρία", "UserInfo released the name")
	assert.Contains(t, page, ">15/03/1985</td>", "the date of birth written as every page writes a day")
	assert.NotContains(t, page, "1985-03-15")
	assert.Regexp(t, `[0-3][0-9]/[01][0-9]/20[0-9]{2} [0-2][0-9]:[0-5][0-9]`, page, "the sign-in time as every page shows instants")
	assert.NotContains(t, page, " UTC<", "shown in Athens time, not UTC")

	// The sign-in is counted, and shows in the statistics within a flush.
	today := time.Now().In(mustAthens(t)).Format(time.DateOnly)
	require.Eventually(t, func() bool {
		_, body := fetch(t, "GET", base+"/stats/api/totals?kind=authentication&period="+today, nil)
		return strings.Contains(body, `"total":1}`)
	}, 10*time.Second, 100*time.Millisecond, "one authentication counted")
	_, exposition := fetch(t, "GET", base+"/metrics", nil)
	assert.Contains(t, exposition, `egovkit_authentication_transactions_total{acr="http://eidas.europa.eu/LoA/substantial",channel="digital",client="demo-agency",realm="citizen"} 1`)

	page, at = browse(t, c, "POST", base+"/demo/citizen/logout", url.Values{})
	assert.Equal(t, "/demo/citizen/", at.Path)
	assert.Contains(t, page, `href="/demo/citizen/login`)

	// The servants' site: work credentials, and the authorization shown.
	page, _ = browse(t, c, "GET", base+"/demo/servant/login?lang=en&return=/demo/servant/", nil)
	page, at = browse(t, c, "POST", base+"/auth/servant/login", url.Values{"tx": {txOf(t, page)}, "username": {demoServant}, "password": {demoServantPassword}})
	assert.Equal(t, "/demo/servant/", at.Path)
	assert.Contains(t, page, "registrar")
}

// TestSignInPagesInBrowser opens the sign-in page in headless chromium,
// through the demo site's redirect, and keeps screenshots of it and of
// the demo site for a person to look at.
func TestSignInPagesInBrowser(t *testing.T) {
	browsertest.Binary(t)
	base, _ := startPortal(t, "-demo")
	dom := browsertest.DOM(t, base+"/demo/citizen/login?lang=en&return=/demo/citizen/")
	assert.Contains(t, dom, `autocomplete="current-password"`)
	assert.Contains(t, dom, "Demo agency")
	browsertest.Screenshot(t, base+"/demo/citizen/login?lang=el&return=/demo/citizen/", "signin-el-desktop", 1280, 900)
	browsertest.Screenshot(t, base+"/demo/citizen/login?lang=en&return=/demo/citizen/", "signin-en-mobile", 390, 1000)
	browsertest.Screenshot(t, base+"/demo/citizen/?lang=en", "demo-site-en", 1280, 900)
	browsertest.Screenshot(t, base+"/stats?lang=el", "stats-el-desktop", 1280, 2400)
	browsertest.Screenshot(t, base+"/stats?lang=en", "stats-en-mobile", 390, 3200)
	browsertest.Screenshot(t, base+"/procedures/passport?lang=el", "procedure-el-desktop", 1280, 2600)
}

// seedCitizen creates, in the data directory a portal will start on, a
// citizen with a mobile number in the contact registry, as an operator
// would from Go.
func seedCitizen(t *testing.T, dataDir, username, password, mobile string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dataDir, 0o700))
	kek, _, err := loadOrCreateKEK(config{DataDir: dataDir})
	require.NoError(t, err)
	db, err := sqldb.Open(t.Context(), "sqlite:"+filepath.Join(dataDir, "egovkit.db"), nil)
	require.NoError(t, err)
	defer db.Close()
	a, err := newApp(t.Context(), appConfig{DB: db, KEK: kek, BaseURL: "http://127.0.0.1:8080", SMS: &sms.Outbox{}})
	require.NoError(t, err)
	defer a.Close()
	c, err := a.accounts.CreateCitizen(t.Context(), auth.Citizen{Username: username, AFM: "090000045", AMKA: "01017012343",
		GivenName: "Ελένη", FamilyName: "Πολίτου", FatherName: "Ιωάννης", MotherName: "Άννα", BirthDate: "1970-01-01"}, password)
	require.NoError(t, err)
	_, err = a.contacts.ImportMobile(t.Context(), c.ID, mobile, "test data")
	require.NoError(t, err)
}

// TestSMSGoesToTheGateway starts the portal with an SMS gateway: the
// sign-in code is posted to it, signed, and there is no development
// outbox.
func TestSMSGoesToTheGateway(t *testing.T) {
	type sms struct{ To, Text string }
	got := make(chan sms, 4)
	secret := "gateway-secret"
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(otp.HeaderTimestamp), 10, 64)
		if r.Header.Get(otp.HeaderSignature) != otp.SignWebhook([]byte(secret), ts, body) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m sms
		_ = json.Unmarshal(body, &m)
		got <- m
	}))
	defer gateway.Close()
	dataDir := filepath.Join(t.TempDir(), "gateway")
	seedCitizen(t, dataDir, "eleni", "eleni-password", "+306955555555")
	base, _ := startPortalEnv(t, map[string]string{"EGOVKIT_SMS_WEBHOOK_SECRET": secret}, "-data", dataDir, "-sms-webhook", gateway.URL)
	resp, _ := fetch(t, "GET", base+"/dev/outbox", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	c := signInBrowser(t)
	page, _ := browse(t, c, "GET", base+"/declarations/?lang=en", nil)
	page, _ = browse(t, c, "POST", base+"/auth/citizen/login", url.Values{"tx": {txOf(t, page)}, "username": {"eleni"}, "password": {"eleni-password"}})
	m := <-got
	assert.Equal(t, "+306955555555", m.To)
	code := regexp.MustCompile(`\b[0-9]{6}\b`).FindString(m.Text)
	page, at := browse(t, c, "POST", base+"/auth/citizen/login/code", url.Values{"tx": {txOf(t, page)}, "code": {code}})
	assert.Equal(t, "/declarations/", at.Path)
	assert.Contains(t, page, "Ελένη Πολίτου")
}

// TestClientAdministration registers a client through the admin API of a
// portal started with an admin token, and uses it at once.
func TestClientAdministration(t *testing.T) {
	token := strings.Repeat("t", 40)
	base, _ := startPortalEnv(t, map[string]string{"EGOVKIT_ADMIN_TOKEN": token})
	body := `{"client_id":"permits","client_name":"Permits office","token_endpoint_auth_method":"client_secret_basic",
	  "grant_types":["client_credentials"],"scope":["permits:read"],"audience":["https://permits.example.gr"]}`
	req, _ := http.NewRequest("POST", base+"/auth/servant/admin/clients", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	req, _ = http.NewRequest("POST", base+"/auth/servant/admin/clients", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	var created struct {
		Secret string `json:"client_secret"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)

	req, _ = http.NewRequest("POST", base+"/auth/servant/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("permits", created.Secret)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the new client works at once")

	resp, _ = fetch(t, "GET", base+"/auth/citizen/admin/clients", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	noAdmin, _ := startPortal(t)
	resp, _ = fetch(t, "GET", noAdmin+"/auth/citizen/admin/clients", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no token, no admin API")
}

// TestPagesAreAccessible checks the portal's pages with axe-core against
// the WCAG 2.1 A and AA rules, in both languages.
func TestPagesAreAccessible(t *testing.T) {
	browsertest.Binary(t)
	base, _ := startPortal(t, "-demo")
	for _, path := range []string{
		"/?lang=el", "/?lang=en", "/no/such/page?lang=en",
		"/demo/citizen/?lang=el", "/demo/servant/?lang=en",
		"/demo/citizen/login?lang=el&return=/demo/citizen/",
		"/demo/citizen/login?lang=en&return=/demo/citizen/",
		"/auth/citizen/logout?lang=en",
		"/stats?lang=el", "/stats?lang=en&period=2021-H1&base=2019",
		"/procedures/?lang=el", "/procedures/?lang=en&q=passport", "/procedures/passport?lang=el",
		"/verify?lang=el", "/verify?lang=en&code=2222-2222-2222-2222-2222",
	} {
		rep := browsertest.AssertAccessible(t, base+path)
		t.Logf("%s: %d rules pass", rep.URL, rep.Passes)
	}
}

func mustAthens(t *testing.T) *time.Location {
	l, err := time.LoadLocation("Europe/Athens")
	require.NoError(t, err)
	return l
}

// TestStatistics reads the published history the portal seeds, through
// the API and the page.
func TestStatistics(t *testing.T) {
	base, _ := startPortal(t)
	resp, body := fetch(t, "GET", base+"/stats/api/growth?kind=all&period=2021-H1&base=2020", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var g map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &g))
	assert.EqualValues(t, 150000000, g["total"])
	assert.EqualValues(t, 94000000, g["base_total"])
	assert.InDelta(t, 59.57, g["change_pct"], 0.001)
	resp, body = fetch(t, "GET", base+"/stats?lang=en", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Digital public services in figures")
	assert.Contains(t, body, "150,000,000")
	resp, body = fetch(t, "GET", base+"/", nil)
	assert.Contains(t, body, `href="/stats"`, "the home page links the statistics")
	resp, _ = fetch(t, "GET", base+"/stats/api/totals?kind=all&period=2020-13", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

// TestProceduresAPI finds the sample procedures through the portal.
func TestProceduresAPI(t *testing.T) {
	base, _ := startPortal(t)
	resp, body := fetch(t, "GET", base+"/procedures/api/search?q="+url.QueryEscape("ΔΗΛΩΣΗ"), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.Contains(t, body, `"id":"solemn-declaration"`)
	resp, _ = fetch(t, "GET", base+"/procedures/api/procedures/passport", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("ETag"))
	resp, body = fetch(t, "GET", base+"/procedures/passport?lang=en", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Passport issue")
	resp, _ = fetch(t, "POST", base+"/procedures/api/procedures", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "editors' endpoints need a servant's token")
}

// postForm posts a form from a page of the portal (as a browser does,
// with Origin) and returns the page it leads to.
func postForm(t *testing.T, c *http.Client, base, path string, form url.Values) (int, string, *url.URL) {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Accept-Language", "en")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Request.URL
}

// signInServant goes to the editors' workspace, is sent to the servants'
// provider and signs in there, and returns the workspace page.
func signInServant(t *testing.T, c *http.Client, base, user, password string) (string, *url.URL) {
	t.Helper()
	page, at := browse(t, c, "GET", base+"/procedures/edit/?lang=en", nil)
	require.Equal(t, "/auth/servant/login", at.Path, "the workspace asks for a sign-in")
	assert.Contains(t, page, "Registry of procedures")
	page, at = browse(t, c, "POST", base+"/auth/servant/login", url.Values{"tx": {txOf(t, page)}, "username": {user}, "password": {password}})
	// The workspace writes, so it asks for the code sent to the servant's
	// mobile after the password (LoA substantial).
	require.Contains(t, page, `name="code"`, "a code is asked for after the password")
	return browse(t, c, "POST", base+"/auth/servant/login/code", url.Values{"tx": {txOf(t, page)}, "code": {lastCode(t, base)}})
}

// TestProceduresEditorsSignIn signs civil servants in to the editors'
// workspace through the servants' provider: the demo clerk, an editor,
// creates and submits a draft; the demo approver approves and publishes
// it; a servant without a role in the registry is refused, and so is
// anyone who has not signed in.
func TestProceduresEditorsSignIn(t *testing.T) {
	base, dataDir := startPortal(t, "-demo")
	db, err := sqldb.Open(context.Background(), "sqlite:"+filepath.Join(dataDir, "egovkit.db"), nil)
	require.NoError(t, err)
	defer db.Close()
	acc, err := auth.NewAccounts(context.Background(), db)
	require.NoError(t, err)
	archivist, err := acc.CreateServant(context.Background(), auth.Servant{Username: "archivist", GivenName: "Άννα", FamilyName: "Αρχειονόμος"}, "archivist-password")
	require.NoError(t, err)
	codes, err := auth.NewOneTimeCodes(context.Background(), db, make([]byte, 32), sms.NewOutbox(0))
	require.NoError(t, err)
	contacts, err := auth.NewContactRegistry(context.Background(), db, codes, sms.NewOutbox(0))
	require.NoError(t, err)
	_, err = contacts.ImportMobile(context.Background(), archivist.ID, "+306900000003", "test")
	require.NoError(t, err)

	_, body := fetch(t, "GET", base+"/procedures/?lang=en", nil)
	assert.Contains(t, body, `href="/procedures/edit/"`, "the catalogue links to the workspace")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", base+"/procedures/edit/new", strings.NewReader("doc=%7B%7D"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	resp, err := noFollow.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "a post without a session is refused")

	clerk := signInBrowser(t)
	page, at := signInServant(t, clerk, base, demoServant, demoServantPassword)
	require.Equal(t, "/procedures/edit/", at.Path)
	assert.Contains(t, page, "Signed in as Νίκος Υπάλληλος.", "the servant is shown by name")
	page, _ = browse(t, clerk, "GET", base+"/procedures/solemn-declaration?lang=en", nil)
	assert.Contains(t, page, "Revise this procedure", "a signed-in editor may revise from the public page")

	doc := strings.Replace(string(procedures.Samples()["solemn-declaration.json"]), `"id": "solemn-declaration"`, `"id": "portal-test-declaration"`, 1)
	require.Contains(t, doc, "portal-test-declaration")
	status, page, at := postForm(t, clerk, base, "/procedures/edit/new", url.Values{"doc": {doc}})
	require.Equal(t, http.StatusOK, status, page)
	assert.Equal(t, "/procedures/edit/portal-test-declaration/1", at.Path)
	assert.NotContains(t, page, ">Approve<", "an editor does not approve")
	status, page, _ = postForm(t, clerk, base, "/procedures/edit/portal-test-declaration/1/submit", url.Values{})
	require.Equal(t, http.StatusOK, status, page)
	status, _, _ = postForm(t, clerk, base, "/procedures/edit/portal-test-declaration/1/approve", url.Values{})
	assert.Equal(t, http.StatusForbidden, status, "an editor cannot approve")

	status, page, at = postForm(t, clerk, base, "/procedures/signout", url.Values{})
	require.Equal(t, http.StatusOK, status, page)
	assert.Equal(t, "/procedures/", at.Path)
	_, at = browse(t, clerk, "GET", base+"/procedures/edit/", nil)
	assert.Equal(t, "/auth/servant/login", at.Path, "signed out of the workspace and of the provider")

	chief := signInBrowser(t)
	page, at = signInServant(t, chief, base, demoApprover, demoApproverPass)
	require.Equal(t, "/procedures/edit/", at.Path)
	assert.Contains(t, page, "portal-test-declaration")
	for _, action := range []string{"approve", "publish"} {
		status, page, _ = postForm(t, chief, base, "/procedures/edit/portal-test-declaration/1/"+action, url.Values{})
		require.Equal(t, http.StatusOK, status, page)
	}
	resp, body = fetch(t, "GET", base+"/procedures/api/procedures/portal-test-declaration", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)

	other := signInBrowser(t)
	req, _ = http.NewRequest("GET", base+"/procedures/edit/?lang=en", nil)
	resp, err = other.Do(req)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page, _ = browse(t, other, "POST", base+"/auth/servant/login", url.Values{"tx": {txOf(t, string(b))}, "username": {"archivist"}, "password": {"archivist-password"}})
	require.Contains(t, page, `name="code"`)
	req, _ = http.NewRequest("POST", base+"/auth/servant/login/code", strings.NewReader(url.Values{"tx": {txOf(t, page)}, "code": {lastCode(t, base)}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = other.Do(req)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "a servant without a role in the registry")
	assert.Contains(t, string(b), "no editor")
}

// servantToken signs a servant in through the demo agency's client (the
// authorization code flow with PKCE) and returns their access token.
func servantToken(t *testing.T, base, user, password string) string {
	t.Helper()
	return servantTokenFor(t, base, user, password, "openid profile")
}

// servantTokenFor is servantToken with the scopes asked for.
func servantTokenFor(t *testing.T, base, user, password, scope string) string {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	const redirect = "http://127.0.0.1:8090/callback"
	c := &http.Client{Jar: jar, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), redirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	verifier := "a-verifier-of-enough-length-for-rfc-7636-pkce-checks"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {demoClientID}, "redirect_uri": {redirect}, "scope": {scope},
		"state": {"s1"}, "nonce": {"n1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	page, _ := browse(t, c, "GET", base+"/auth/servant/authorize?"+q.Encode(), nil)
	resp, err := c.PostForm(base+"/auth/servant/login", url.Values{"tx": {txOf(t, page)}, "username": {user}, "password": {password}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	loc, err := url.Parse(resp.Header.Get("Location"))
	require.NoError(t, err)
	code := loc.Query().Get("code")
	require.NotEmpty(t, code, loc.String())
	req, _ := http.NewRequest("POST", base+"/auth/servant/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
		"code": {code}, "redirect_uri": {redirect}, "code_verifier": {verifier}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(demoClientID, demoClientSecret)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	return tok.AccessToken
}

// lastCode reads the newest code in the development outbox.
func lastCode(t *testing.T, base string) string {
	t.Helper()
	_, outbox := fetch(t, "GET", base+"/dev/outbox", nil)
	var box struct {
		Messages []struct{ To, Text, Purpose string }
	}
	require.NoError(t, json.Unmarshal([]byte(outbox), &box))
	require.NotEmpty(t, box.Messages)
	// The code is the last six digits: a revocation's message names the
	// protocol number (2026/000123) before it.
	codes := regexp.MustCompile(`\b[0-9]{6}\b`).FindAllString(box.Messages[0].Text, -1)
	require.NotEmpty(t, codes, box.Messages[0].Text)
	return codes[len(codes)-1]
}

// TestDeclarations signs the demo citizen in to the declarations pages
// (password and SMS code), writes a solemn declaration, confirms it with
// the code sent to her mobile, downloads the PDF, and checks it on the
// public verification page and through the API.
func TestDeclarations(t *testing.T) {
	base, _ := startPortal(t, "-demo")
	c := signInBrowser(t)
	page, at := browse(t, c, "GET", base+"/declarations/?lang=en", nil)
	require.Equal(t, "/auth/citizen/login", at.Path)
	assert.Contains(t, page, "Solemn declarations and authorizations")
	page, _ = browse(t, c, "POST", base+"/auth/citizen/login", url.Values{"tx": {txOf(t, page)}, "username": {demoCitizen}, "password": {demoCitizenPassword}})
	page, at = browse(t, c, "POST", base+"/auth/citizen/login/code", url.Values{"tx": {txOf(t, page)}, "code": {lastCode(t, base)}})
	require.Equal(t, "/declarations/", at.Path)
	assert.Contains(t, page, "Μαρία Δοκιμαστική")

	status, page, at := postForm(t, c, base, "/declarations/new/solemn_declaration", url.Values{
		"recipient": {"Δήμος Αθηναίων"}, "text": {"Διαμένω μόνιμα στην Αθήνα."}, "lang": {"el"}})
	require.Equal(t, http.StatusOK, status, page)
	require.True(t, strings.HasPrefix(at.Path, "/declarations/d/"), at.Path)
	doc := at.Path
	assert.Contains(t, page, "3069******78", "the code goes to the registered mobile, masked as on the sign-in pages")
	assert.Contains(t, page, "Your draft has been saved.")
	status, page, _ = postForm(t, c, base, doc+"/code", url.Values{})
	require.Equal(t, http.StatusOK, status, page)
	status, page, _ = postForm(t, c, base, doc+"/confirm", url.Values{"code": {lastCode(t, base)}})
	require.Equal(t, http.StatusOK, status, page)
	assert.Contains(t, page, "The document is issued.")
	code := regexp.MustCompile(`[2-9A-Z]{4}(-[2-9A-Z]{4}){4}`).FindString(page)
	require.NotEmpty(t, code)

	resp, err := c.Get(base + doc + "/pdf")
	require.NoError(t, err)
	pdf, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(string(pdf), "%PDF-"))
	assert.Contains(t, string(pdf), "/SubFilter /ETSI.CAdES.detached", "signed with the demo seal")

	resp, body := fetch(t, "GET", base+"/verify?lang=en&code="+code, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, "Valid")
	assert.Contains(t, body, "Διαμένω μόνιμα στην Αθήνα.")
	resp, body = fetch(t, "GET", base+"/declarations/api/verify?code="+code, nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"status":"valid"`)
	resp, body = fetch(t, "GET", base+"/declarations/api/jwks.json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, body, `"keys"`)
	resp, _ = fetch(t, "GET", base+"/declarations/api/documents", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	// The issue is counted as a declaration.
	today := time.Now().In(mustAthens(t)).Format(time.DateOnly)
	require.Eventually(t, func() bool {
		_, body := fetch(t, "GET", base+"/stats/api/totals?kind=declaration&period="+today, nil)
		return strings.Contains(body, `"total":1}`)
	}, 10*time.Second, 100*time.Millisecond, "one declaration counted")
}
