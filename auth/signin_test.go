package auth_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
	"github.com/egovkit/egovkit/sms"
)

// signinFixture is a citizen realm with the sign-in pages, a demo citizen
// with a mobile number, a client needing LoASubstantial ("demo-agency"), a
// client content with a password ("low-agency") and one that must push its
// requests ("par-agency").
type signinFixture struct {
	srv      *httptest.Server
	issuer   string
	reg      *auth.ClientRegistry
	accounts *auth.Accounts
	contacts *auth.ContactRegistry
	outbox   *sms.Outbox
	counter  *counter
	keys     *keys.Manager
	secrets  map[string]string
	citizen  auth.Citizen
	now      func() time.Time
	provider *auth.Provider
	kek      []byte
	cfg      auth.ProviderConfig
}

const (
	citizenMobile = "+306912345678"
	rpCallback    = "https://agency.example.gr/callback"
)

type signinOption func(*auth.ProviderConfig)

func newSigninFixture(t *testing.T, db *sqltest.DB, opts ...signinOption) *signinFixture {
	t.Helper()
	ctx := t.Context()
	f := &signinFixture{counter: &counter{}, outbox: &sms.Outbox{}, secrets: map[string]string{}, now: time.Now}
	var err error
	f.reg, err = auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(t, err)
	f.accounts, err = auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
	require.NoError(t, err)
	codes, err := auth.NewCodeStore(ctx, db.DB.DB, "citizen")
	require.NoError(t, err)
	f.kek, err = keys.GenerateKEK()
	require.NoError(t, err)
	f.keys, err = keys.New(ctx, db.DB.DB, "auth/citizen", f.kek)
	require.NoError(t, err)

	mux := http.NewServeMux()
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL + "/auth/citizen"
	cfg := auth.ProviderConfig{Issuer: f.issuer, Realm: "citizen", Keys: f.keys, Clients: f.reg, Codes: codes,
		Accounts: f.accounts, Counter: f.counter}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.Now != nil {
		f.now = cfg.Now
	}
	// The codes keep the provider's clock, so that a test moving time
	// moves both.
	var otpOpts []otp.Option
	if cfg.Now != nil {
		otpOpts = append(otpOpts, otp.WithClock(cfg.Now))
	}
	otps, err := otp.New(ctx, db.DB.DB, []byte(strings.Repeat("k", 32)), f.outbox, otpOpts...)
	require.NoError(t, err)
	f.contacts, err = auth.NewContactRegistry(ctx, db.DB.DB, auth.OneTimeCodesOf(otps), f.outbox)
	require.NoError(t, err)
	cfg.OneTimeCodes, cfg.Contacts = auth.OneTimeCodesOf(otps), f.contacts

	f.citizen, err = f.accounts.CreateCitizen(ctx, maria(), "correct horse battery")
	require.NoError(t, err)
	_, err = f.contacts.ImportMobile(ctx, f.citizen.ID, citizenMobile, "test")
	require.NoError(t, err)
	f.cfg = cfg
	p, err := auth.NewProvider(ctx, cfg)
	require.NoError(t, err)
	f.provider = p
	mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", p.Handler()))

	for _, c := range []auth.Client{webClient(), lowClient("low-agency"), parClient()} {
		_, secret, err := f.reg.Create(ctx, c)
		require.NoError(t, err)
		f.secrets[c.ID] = secret
	}
	return f
}

func lowClient(id string) auth.Client {
	c := webClient()
	c.ID, c.Name, c.MinACR = id, "Low agency", ""
	c.PostLogoutRedirectURIs = []string{"https://agency.example.gr/bye"}
	return c
}

func parClient() auth.Client {
	c := lowClient("par-agency")
	c.Name, c.RequirePAR = "PAR agency", true
	return c
}

// authorizeParams is a good authorization request for client.
func authorizeParams(client string) url.Values {
	return url.Values{
		"client_id": {client}, "response_type": {"code"}, "redirect_uri": {rpCallback},
		"scope": {"openid profile"}, "state": {"st-" + client}, "nonce": {"n-" + client},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

// browser is a person's browser: it keeps cookies and follows redirects
// within the provider, stopping at the client's redirect URI.
type browser struct {
	t *testing.T
	c *http.Client
	f *signinFixture
}

func (f *signinFixture) browser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	host := strings.TrimPrefix(f.srv.URL, "http://")
	return &browser{t: t, f: f, c: &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if req.URL.Host != host {
			return http.ErrUseLastResponse
		}
		return nil
	}}}
}

// page is a response as the browser saw it.
type page struct {
	Status   int
	Body     string
	Location string // set when the provider sent the browser elsewhere
	Header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return page{Status: resp.StatusCode, Body: string(body), Location: resp.Header.Get("Location"), Header: resp.Header}
}

func (b *browser) get(u string) page {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.t, err)
	req.Header.Set("Accept-Language", "en")
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	req, err := http.NewRequest(http.MethodPost, b.f.issuer+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", "en")
	return b.do(req)
}

func (b *browser) authorize(q url.Values) page { return b.get(b.f.issuer + "/authorize?" + q.Encode()) }

var txField = regexp.MustCompile(`name="tx" value="([^"]+)"`)

// tx reads the sign-in id from a sign-in page.
func tx(t *testing.T, p page) string {
	t.Helper()
	m := txField.FindStringSubmatch(p.Body)
	require.NotNil(t, m, "no sign-in form on the page (status %d): %s", p.Status, p.Body)
	return m[1]
}

// lastCode is the code last sent to the citizen's phone.
func (f *signinFixture) lastCode(t *testing.T) string {
	t.Helper()
	m, ok := f.outbox.Last(citizenMobile)
	require.True(t, ok, "no SMS sent")
	code := sixDigits.FindString(m.Text)
	require.NotEmpty(t, code, m.Text)
	return code
}

// callback checks that the browser went back to the client and returns
// the query it carried.
func callback(t *testing.T, p page) url.Values {
	t.Helper()
	require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
	require.True(t, strings.HasPrefix(p.Location, rpCallback+"?"), p.Location)
	u, err := url.Parse(p.Location)
	require.NoError(t, err)
	return u.Query()
}

func (f *signinFixture) exchange(t *testing.T, client, code string) auth.TokenResponse {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {rpCallback}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, f.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, f.secrets[client])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var tr auth.TokenResponse
	require.NoError(t, json.Unmarshal(body, &tr))
	return tr
}

func (f *signinFixture) idToken(t *testing.T, raw string) jwt.Token {
	t.Helper()
	set, err := f.keys.PublicSet(t.Context())
	require.NoError(t, err)
	tok, err := jwt.Parse([]byte(raw), jwt.WithKeySet(set), jwt.WithValidate(true), jwt.WithClock(jwt.ClockFunc(f.now)))
	require.NoError(t, err)
	return tok
}

// signIn drives the pages from an authorization request to the code.
func (b *browser) signIn(q url.Values, password bool, code bool) url.Values {
	t := b.t
	t.Helper()
	p := b.authorize(q)
	if password {
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		p = b.post("/login", url.Values{"tx": {tx(t, p)}, "username": {"maria.p"}, "password": {"correct horse battery"}})
	}
	if code {
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		p = b.post("/login/code", url.Values{"tx": {tx(t, p)}, "code": {b.f.lastCode(t)}})
	}
	return callback(t, p)
}

func TestSignInWithPasswordAndSMSCode(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		b := f.browser(t)
		q := authorizeParams("demo-agency")
		q.Set("ui_locales", "en-GB el")
		p := b.authorize(q)
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, `lang="en"`, "ui_locales chose English")
		assert.Contains(t, p.Body, `autocomplete="current-password"`)
		assert.Contains(t, p.Body, "Demo agency")
		id := tx(t, p)

		// A wrong password and an unknown user get the same answer.
		wrong := b.post("/login", url.Values{"tx": {id}, "username": {"maria.p"}, "password": {"wrong password here"}})
		unknown := b.post("/login", url.Values{"tx": {id}, "username": {"nobody"}, "password": {"wrong password here"}})
		assert.Equal(t, http.StatusUnauthorized, wrong.Status)
		assert.Equal(t, http.StatusUnauthorized, unknown.Status)
		assert.Contains(t, wrong.Body, "The user name or the password is wrong.")
		assert.Equal(t, strings.ReplaceAll(wrong.Body, "maria.p", "nobody"), unknown.Body)
		assert.Contains(t, wrong.Body, `aria-invalid="true"`)
		assert.Contains(t, wrong.Body, `href="/auth/citizen/login?lang=el&amp;tx=`+id+`"`, "the language link keeps the sign-in")

		p = b.post("/login", url.Values{"tx": {id}, "username": {"Maria.P "}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		assert.Contains(t, p.Body, "3069******78", "the number is shown masked")
		assert.NotContains(t, p.Body, citizenMobile)
		sms, _ := f.outbox.Last(citizenMobile)
		assert.Contains(t, sms.Text, "Demo agency")

		p = b.post("/login/code", url.Values{"tx": {id}, "code": {wrongCode(f.lastCode(t))}})
		assert.Equal(t, http.StatusUnauthorized, p.Status)
		assert.Contains(t, p.Body, "The code is wrong.")
		p = b.post("/login/code", url.Values{"tx": {id}, "code": {"12ab"}})
		assert.Equal(t, http.StatusUnprocessableEntity, p.Status)

		cb := callback(t, b.post("/login/code", url.Values{"tx": {id}, "code": {f.lastCode(t)}}))
		assert.Equal(t, "st-demo-agency", cb.Get("state"))
		assert.Equal(t, f.issuer, cb.Get("iss"), "RFC 9207")

		// The sign-in is over: its form cannot be posted again.
		again := b.post("/login/code", url.Values{"tx": {id}, "code": {f.lastCode(t)}})
		assert.Equal(t, http.StatusBadRequest, again.Status)

		tr := f.exchange(t, "demo-agency", cb.Get("code"))
		it := f.idToken(t, tr.IDToken)
		assert.Equal(t, f.citizen.ID, it.Subject())
		claims := it.PrivateClaims()
		assert.Equal(t, auth.LoASubstantial, claims["acr"])
		assert.ElementsMatch(t, []any{"pwd", "sms", "mfa"}, claims["amr"])
		assert.Equal(t, "n-demo-agency", claims["nonce"])
		assert.NotEmpty(t, claims["sid"])
		// One sign-in counted; the refusals and the tokens are not.
		f.counter.mu.Lock()
		assert.Equal(t, map[string]int{auth.CountSignIn + ":citizen,demo-agency," + auth.LoASubstantial + "," + auth.ChannelDigital: 1},
			f.counter.counts)
		f.counter.mu.Unlock()
	})
}

func TestSingleSignOnAndStepUp(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		b := f.browser(t)

		// Prompt none without a session: back to the client at once.
		q := authorizeParams("low-agency")
		q.Set("prompt", "none")
		assert.Equal(t, "login_required", callback(t, b.authorize(q)).Get("error"))

		// A password is enough for this client.
		cb := b.signIn(authorizeParams("low-agency"), true, false)
		first := f.idToken(t, f.exchange(t, "low-agency", cb.Get("code")).IDToken)
		assert.Equal(t, auth.LoALow, first.PrivateClaims()["acr"])
		assert.Empty(t, f.outbox.All(), "no code was needed")

		// Single sign-on: the next request is answered without a page.
		cb = callback(t, b.authorize(authorizeParams("low-agency")))
		sso := f.idToken(t, f.exchange(t, "low-agency", cb.Get("code")).IDToken)
		assert.Equal(t, first.PrivateClaims()["sid"], sso.PrivateClaims()["sid"])
		assert.Equal(t, first.PrivateClaims()["auth_time"], sso.PrivateClaims()["auth_time"])
		q.Set("prompt", "none")
		assert.NotEmpty(t, callback(t, b.authorize(q)).Get("code"))

		// A client needing more: step-up asks only for the code.
		p := b.authorize(authorizeParams("demo-agency"))
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, `name="code"`)
		assert.NotContains(t, p.Body, `name="password"`)
		cb = callback(t, b.post("/login/code", url.Values{"tx": {tx(t, p)}, "code": {f.lastCode(t)}}))
		up := f.idToken(t, f.exchange(t, "demo-agency", cb.Get("code")).IDToken)
		assert.Equal(t, auth.LoASubstantial, up.PrivateClaims()["acr"])
		assert.Equal(t, f.citizen.ID, up.Subject())

		// acr_values asking for substantial is now met by the session.
		q = authorizeParams("low-agency")
		q.Set("acr_values", auth.LoASubstantial)
		assert.NotEmpty(t, callback(t, b.authorize(q)).Get("code"))

		// prompt=login and max_age=0 ask for the password again.
		for _, k := range []string{"prompt=login", "max_age=0"} {
			q := authorizeParams("low-agency")
			kv := strings.SplitN(k, "=", 2)
			q.Set(kv[0], kv[1])
			if kv[0] == "max_age" {
				time.Sleep(1100 * time.Millisecond) // auth_time has whole seconds
			}
			p := b.authorize(q)
			require.Equal(t, http.StatusOK, p.Status, k)
			assert.Contains(t, p.Body, `name="password"`, k)
		}

		// A level this provider cannot reach.
		q = authorizeParams("low-agency")
		q.Set("acr_values", auth.LoAHigh)
		assert.Equal(t, "unmet_authentication_requirements", callback(t, b.authorize(q)).Get("error"))

		// Counted: every sign-in that reached a client, by a page or by
		// the session, at the level it reached; nothing else.
		sign := func(client, loa string) string {
			return auth.CountSignIn + ":" + strings.Join([]string{"citizen", client, loa, auth.ChannelDigital}, ",")
		}
		f.counter.mu.Lock()
		assert.Equal(t, map[string]int{sign("low-agency", auth.LoALow): 3, sign("demo-agency", auth.LoASubstantial): 1,
			sign("low-agency", auth.LoASubstantial): 1}, f.counter.counts)
		f.counter.mu.Unlock()
		assert.Equal(t, []string{auth.CountLabelRealm, auth.CountLabelClient, auth.CountLabelLoA, auth.CountLabelChannel}, auth.CountLabels())
	})
}

func TestSignInRefusals(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		b := f.browser(t)

		// A redirect URI not registered: an error page, never a redirect.
		q := authorizeParams("low-agency")
		q.Set("redirect_uri", "https://evil.example/callback")
		p := b.authorize(q)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Empty(t, p.Location)
		assert.Contains(t, p.Body, "redirect_uri")

		// Trusted client and URI: errors go back with state and iss.
		for name, edit := range map[string]func(url.Values){
			"no PKCE":     func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") },
			"plain PKCE":  func(q url.Values) { q.Set("code_challenge_method", "plain") },
			"no openid":   func(q url.Values) { q.Set("scope", "profile") },
			"token flow":  func(q url.Values) { q.Set("response_type", "token") },
			"bad max_age": func(q url.Values) { q.Set("max_age", "-1") },
		} {
			q := authorizeParams("low-agency")
			edit(q)
			cb := callback(t, b.authorize(q))
			assert.NotEmpty(t, cb.Get("error"), name)
			assert.Equal(t, "st-low-agency", cb.Get("state"), name)
			assert.Equal(t, f.issuer, cb.Get("iss"), name)
		}

		// The sign-in id alone, in another browser, is useless.
		id := tx(t, b.authorize(authorizeParams("low-agency")))
		other := f.browser(t)
		p = other.get(f.issuer + "/login?tx=" + id)
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Contains(t, p.Body, "another browser")
		p = other.post("/login", url.Values{"tx": {id}, "username": {"maria.p"}, "password": {"correct horse battery"}})
		assert.Equal(t, http.StatusBadRequest, p.Status)

		// Cancelling returns access_denied.
		cb := callback(t, b.post("/login/cancel", url.Values{"tx": {id}}))
		assert.Equal(t, "access_denied", cb.Get("error"))

		// A disabled client's sign-in under way stops.
		id = tx(t, b.authorize(authorizeParams("low-agency")))
		require.NoError(t, f.reg.SetDisabled(t.Context(), "low-agency", true))
		p = b.post("/login", url.Values{"tx": {id}, "username": {"maria.p"}, "password": {"correct horse battery"}})
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.Empty(t, p.Location)

		// A citizen without a mobile cannot reach substantial.
		afm, _ := ident.GenerateAFM(rand.Reader)
		amka, _ := ident.GenerateAMKA(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), rand.Reader)
		_, err := f.accounts.CreateCitizen(t.Context(), auth.Citizen{Username: "nomobile", AFM: afm, AMKA: amka,
			GivenName: "Γιώργος", FamilyName: "Χωρίς", FatherName: "Α", MotherName: "Β", BirthDate: "1970-01-01"}, "correct horse battery")
		if err == nil {
			id = tx(t, b.authorize(authorizeParams("demo-agency")))
			p = b.post("/login", url.Values{"tx": {id}, "username": {"nomobile"}, "password": {"correct horse battery"}})
			assert.Equal(t, http.StatusConflict, p.Status)
			assert.Contains(t, p.Body, "contact registry")
		} else {
			t.Errorf("second citizen: %v", err)
		}
	})
}

func TestSignInThrottling(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		clock := testclock.New()
		f := newSigninFixture(t, db, func(c *auth.ProviderConfig) { c.Now = clock.Now })
		b := f.browser(t)
		id := tx(t, b.authorize(authorizeParams("low-agency")))
		try := func(user, password string) page {
			return b.post("/login", url.Values{"tx": {id}, "username": {user}, "password": {password}})
		}
		for range 5 {
			assert.Equal(t, http.StatusUnauthorized, try("maria.p", "not the password").Status)
			assert.Equal(t, http.StatusUnauthorized, try("ghost", "not the password").Status)
		}
		// Locked: the right password is refused too, and the unknown
		// account is locked the same way.
		p := try("maria.p", "correct horse battery")
		assert.Equal(t, http.StatusTooManyRequests, p.Status)
		assert.Equal(t, "60", p.Header.Get("Retry-After"))
		assert.Contains(t, p.Body, "Try again in 1 minute.")
		assert.Contains(t, p.Body, "Too many failed attempts")
		assert.Equal(t, http.StatusTooManyRequests, try("ghost", "whatever it is").Status)

		clock.Advance(61 * time.Second)
		assert.Equal(t, http.StatusUnauthorized, try("ghost", "still wrong").Status)
		assert.Equal(t, http.StatusTooManyRequests, try("ghost", "still wrong").Status, "the next lock is longer")
		cb := callback(t, try("maria.p", "correct horse battery"))
		assert.NotEmpty(t, cb.Get("code"))
	})
}

func TestSignInCodeBruteForceAndExpiry(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		b := f.browser(t)
		p := b.authorize(authorizeParams("demo-agency"))
		id := tx(t, p)
		p = b.post("/login", url.Values{"tx": {id}, "username": {"maria.p"}, "password": {"correct horse battery"}})
		require.Equal(t, http.StatusOK, p.Status)
		code := f.lastCode(t)
		for range 3 {
			assert.Equal(t, http.StatusUnauthorized, b.post("/login/code", url.Values{"tx": {id}, "code": {wrongCode(code)}}).Status)
		}
		p = b.post("/login/code", url.Values{"tx": {id}, "code": {code}})
		assert.Equal(t, http.StatusUnauthorized, p.Status, "three wrong tries kill the code")
		assert.Contains(t, p.Body, "Ask for a new code")
		// A new code right away is refused by the cool-down, with the wait.
		p = b.post("/login/resend", url.Values{"tx": {id}})
		assert.Equal(t, http.StatusTooManyRequests, p.Status)
		assert.NotEmpty(t, p.Header.Get("Retry-After"))
	})
}

func TestPushedAuthorizationRequests(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		b := f.browser(t)
		cb := callback(t, b.authorize(authorizeParams("par-agency")))
		assert.Equal(t, "invalid_request", cb.Get("error"), "this client must push")

		push := func(client string, form url.Values) (int, map[string]any) {
			req, _ := http.NewRequest(http.MethodPost, f.issuer+"/par", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(client, f.secrets[client])
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			var out map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
			return resp.StatusCode, out
		}
		form := authorizeParams("par-agency")
		form.Del("client_id")
		status, out := push("par-agency", form)
		require.Equal(t, http.StatusCreated, status, out)
		uri := out["request_uri"].(string)
		assert.True(t, strings.HasPrefix(uri, auth.RequestURIPrefix))
		assert.EqualValues(t, 60, out["expires_in"])

		bad := authorizeParams("par-agency")
		bad.Set("code_challenge_method", "plain")
		status, out = push("par-agency", bad)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "invalid_request", out["error"])
		status, _ = push("par-agency", url.Values{"request_uri": {uri}})
		assert.Equal(t, http.StatusBadRequest, status)

		// Another client cannot use the request_uri, and it is then gone.
		p := b.authorize(url.Values{"client_id": {"low-agency"}, "request_uri": {uri}})
		assert.Equal(t, http.StatusBadRequest, p.Status)

		status, out = push("par-agency", form)
		require.Equal(t, http.StatusCreated, status)
		uri = out["request_uri"].(string)
		p = b.authorize(url.Values{"client_id": {"par-agency"}, "request_uri": {uri}, "state": {"ignored"}})
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		cb = callback(t, b.post("/login", url.Values{"tx": {tx(t, p)}, "username": {"maria.p"}, "password": {"correct horse battery"}}))
		assert.Equal(t, "st-par-agency", cb.Get("state"), "the pushed parameters count, not the query")
		f.exchange(t, "par-agency", cb.Get("code"))

		p = f.browser(t).authorize(url.Values{"client_id": {"par-agency"}, "request_uri": {uri}})
		assert.Equal(t, http.StatusBadRequest, p.Status, "a request_uri is used once")
	})
}

// logoutReceiver is a client's back-channel logout endpoint.
type logoutReceiver struct {
	mu     sync.Mutex
	tokens []string
}

func (l *logoutReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = r.ParseForm()
	l.tokens = append(l.tokens, r.PostForm.Get("logout_token"))
	w.WriteHeader(http.StatusOK)
}

func TestLogout(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		rcv := &logoutReceiver{}
		rpSrv := httptest.NewServer(rcv)
		defer rpSrv.Close()
		c, err := f.reg.Get(t.Context(), "low-agency")
		require.NoError(t, err)
		c.BackchannelLogoutURI = rpSrv.URL + "/backchannel"
		_, err = f.reg.Update(t.Context(), c)
		require.NoError(t, err)

		b := f.browser(t)
		cb := b.signIn(authorizeParams("low-agency"), true, false)
		tr := f.exchange(t, "low-agency", cb.Get("code"))
		sid := f.idToken(t, tr.IDToken).PrivateClaims()["sid"]

		// A post-logout URI not registered is refused before anything ends.
		p := b.get(f.issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken},
			"post_logout_redirect_uri": {"https://evil.example/bye"}}.Encode())
		assert.Equal(t, http.StatusBadRequest, p.Status)
		assert.NotEmpty(t, callback(t, b.authorize(authorizeParams("low-agency"))).Get("code"), "still signed in")

		p = b.get(f.issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken},
			"post_logout_redirect_uri": {"https://agency.example.gr/bye"}, "state": {"s1"}}.Encode())
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		assert.Equal(t, "https://agency.example.gr/bye?state=s1", p.Location)

		// The client heard of it through the back channel.
		rcv.mu.Lock()
		require.Len(t, rcv.tokens, 1)
		raw := rcv.tokens[0]
		rcv.mu.Unlock()
		set, err := f.keys.PublicSet(t.Context())
		require.NoError(t, err)
		msg, err := jws.Parse([]byte(raw))
		require.NoError(t, err)
		assert.Equal(t, "logout+jwt", msg.Signatures()[0].ProtectedHeaders().Type())
		lt, err := jwt.Parse([]byte(raw), jwt.WithKeySet(set), jwt.WithValidate(true), jwt.WithAudience("low-agency"), jwt.WithIssuer(f.issuer))
		require.NoError(t, err)
		assert.Equal(t, sid, lt.PrivateClaims()["sid"])
		assert.Equal(t, f.citizen.ID, lt.Subject())
		assert.Contains(t, lt.PrivateClaims()["events"], auth.BackchannelLogoutEvent)
		assert.NotContains(t, lt.PrivateClaims(), "nonce")

		// The session is gone.
		p = b.authorize(authorizeParams("low-agency"))
		assert.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, `name="password"`)

		// Without a hint the person confirms, and a forged form does not
		// sign them out.
		b.signIn(authorizeParams("low-agency"), true, false)
		p = b.get(f.issuer + "/logout")
		require.Equal(t, http.StatusOK, p.Status)
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(p.Body)
		require.NotNil(t, m)
		p = b.post("/logout", url.Values{"confirm": {"yes"}, "csrf": {"forged"}})
		assert.Contains(t, p.Body, `name="csrf"`, "asked again")
		p = b.post("/logout", url.Values{"confirm": {"yes"}, "csrf": {m[1]}})
		assert.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, "You have signed out")
		assert.Contains(t, b.authorize(authorizeParams("low-agency")).Body, `name="password"`)
		rcv.mu.Lock()
		assert.Len(t, rcv.tokens, 2)
		rcv.mu.Unlock()
	})
}

func TestDiscoveryAnnouncesSignin(t *testing.T) {
	f := newSigninFixture(t, sqltest.SQLite(t))
	resp, err := http.Get(f.issuer + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	var doc map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	assert.Equal(t, f.issuer+"/authorize", doc["authorization_endpoint"])
	assert.Equal(t, f.issuer+"/par", doc["pushed_authorization_request_endpoint"])
	assert.Equal(t, f.issuer+"/logout", doc["end_session_endpoint"])
	assert.Equal(t, []any{"S256"}, doc["code_challenge_methods_supported"])
	assert.Equal(t, []any{"ES256"}, doc["id_token_signing_alg_values_supported"])
	assert.Equal(t, []any{auth.LoALow, auth.LoASubstantial}, doc["acr_values_supported"])
	assert.Equal(t, true, doc["authorization_response_iss_parameter_supported"])
	assert.Contains(t, doc["grant_types_supported"], "authorization_code")
}

// TestServantSignInCarriesAuthorizations signs a civil servant in to the
// servants' realm: the access token lists what their agencies authorize
// now, and a revoked authorization is absent from the next token and from
// introspection at once.
func TestServantSignInCarriesAuthorizations(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := &signinFixture{counter: &counter{}, secrets: map[string]string{}, now: time.Now}
		var err error
		f.reg, err = auth.NewClientRegistry(ctx, db.DB.DB, "servant")
		require.NoError(t, err)
		f.accounts, err = auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
		require.NoError(t, err)
		codes, err := auth.NewCodeStore(ctx, db.DB.DB, "servant")
		require.NoError(t, err)
		kek, _ := keys.GenerateKEK()
		f.keys, err = keys.New(ctx, db.DB.DB, "auth/servant", kek)
		require.NoError(t, err)
		mux := http.NewServeMux()
		f.srv = httptest.NewServer(mux)
		defer f.srv.Close()
		f.issuer = f.srv.URL + "/auth/servant"
		p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: f.issuer, Realm: "servant", Servants: true, Keys: f.keys,
			Clients: f.reg, Codes: codes, Accounts: f.accounts})
		require.NoError(t, err)
		mux.Handle("/auth/servant/", http.StripPrefix("/auth/servant", p.Handler()))
		c := lowClient("protocol-app")
		c.ResourceServer = "https://agency.example.gr/api"
		_, f.secrets[c.ID], err = f.reg.Create(ctx, c)
		require.NoError(t, err)

		s, err := f.accounts.CreateServant(ctx, auth.Servant{Username: "clerk", GivenName: "Νίκος", FamilyName: "Υπάλληλος"}, "clerk-password")
		require.NoError(t, err)
		registrar, err := f.accounts.Grant(ctx, auth.Authorization{ServantID: s.ID, Agency: "Δήμος Δοκιμής", Service: "protocol", Role: "registrar", GrantedBy: "head of unit"})
		require.NoError(t, err)
		_, err = f.accounts.Grant(ctx, auth.Authorization{ServantID: s.ID, Agency: "Δήμος Δοκιμής", Service: "permits", Role: "reviewer", GrantedBy: "head of unit"})
		require.NoError(t, err)

		b := f.browser(t)
		p0 := b.authorize(authorizeParams("protocol-app"))
		require.Equal(t, http.StatusOK, p0.Status, p0.Body)
		assert.Contains(t, p0.Body, "work credentials")
		cb := callback(t, b.post("/login", url.Values{"tx": {tx(t, p0)}, "username": {"clerk"}, "password": {"clerk-password"}}))
		tr := f.exchange(t, "protocol-app", cb.Get("code"))

		roles := func(raw string) []string {
			parts := strings.Split(raw, ".")
			require.Len(t, parts, 3)
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			require.NoError(t, err)
			var claims struct {
				Details []auth.AuthorizationDetail `json:"authorization_details"`
			}
			require.NoError(t, json.Unmarshal(payload, &claims))
			var out []string
			for _, d := range claims.Details {
				assert.Equal(t, auth.AuthorizationDetailType, d.Type)
				out = append(out, d.Service+"/"+d.Role)
			}
			return out
		}
		assert.ElementsMatch(t, []string{"protocol/registrar", "permits/reviewer"}, roles(tr.AccessToken))

		require.NoError(t, f.accounts.RevokeAuthorization(ctx, registrar.ID))
		in := clientPostAs(t, f, "protocol-app", "/introspect", url.Values{"token": {tr.AccessToken}})
		assert.Equal(t, true, in["active"])
		details, _ := in["authorization_details"].([]any)
		require.Len(t, details, 1, "introspection shows the authorizations valid now")
		assert.Equal(t, "permits", details[0].(map[string]any)["service"])

		refreshed := clientPostAs(t, f, "protocol-app", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}})
		assert.Equal(t, []string{"permits/reviewer"}, roles(refreshed["access_token"].(string)))
	})
}

// clientPostAs calls an endpoint as client and decodes a JSON answer.
func clientPostAs(t *testing.T, f *signinFixture, client, path string, form url.Values) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(client, f.secrets[client])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	out := map[string]any{}
	require.NoError(t, json.Unmarshal(body, &out))
	return out
}

// TestMaintainPurgesWhatExpired runs the provider's maintenance: what can
// still be used survives it, and once everything has expired the tables
// are empty.
func TestMaintainPurgesWhatExpired(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		clock := testclock.New()
		f := newSigninFixture(t, db, func(c *auth.ProviderConfig) {
			c.Now = clock.Now
			// The codes and refresh tokens expire by the same clock.
			codes, err := auth.NewCodeStore(t.Context(), db.DB.DB, "citizen", auth.WithClock(clock.Now))
			require.NoError(t, err)
			c.Codes = codes
		})
		b := f.browser(t)
		cb := b.signIn(authorizeParams("demo-agency"), true, true)
		tr := f.exchange(t, "demo-agency", cb.Get("code"))
		b.authorize(authorizeParams("low-agency")) // a sign-in left unfinished
		_ = f.browser(t).post("/login", url.Values{"tx": {"x"}, "username": {"ghost"}, "password": {"wrong"}})

		require.NoError(t, f.provider.Maintain(t.Context()))
		assert.NotEmpty(t, callback(t, b.authorize(authorizeParams("low-agency"))).Get("code"), "the session survives")
		assert.NotEmpty(t, db.Dump(t, "SELECT * FROM auth_refresh_tokens"), "the refresh token survives")
		assert.NotEmpty(t, tr.RefreshToken)

		clock.Advance(40 * 24 * time.Hour)
		require.NoError(t, f.provider.Maintain(t.Context()))
		for _, table := range []string{"auth_signins", "auth_sessions", "auth_session_clients", "auth_codes",
			"auth_refresh_tokens", "auth_refresh_families", "auth_pushed_requests", "auth_throttle", "otp_challenges"} {
			assert.Empty(t, db.Dump(t, "SELECT * FROM "+table), table)
		}
	})
}

// TestPairwiseSubjects registers clients that must not be able to link
// people: each sector sees its own identifier, clients of one sector see
// the same, and UserInfo still finds the person.
func TestPairwiseSubjects(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db, func(c *auth.ProviderConfig) { c.PairwiseSecret = []byte(strings.Repeat("p", 32)) })
		for id, sec := range map[string]string{"pw-a": "a.example.gr", "pw-b": "b.example.gr", "pw-a2": "a.example.gr"} {
			c := lowClient(id)
			c.SubjectType, c.SectorIdentifier = auth.SubjectPairwise, sec
			_, secret, err := f.reg.Create(t.Context(), c)
			require.NoError(t, err)
			f.secrets[id] = secret
		}
		bad := lowClient("pw-bad")
		bad.SubjectType = "secret"
		_, _, err := f.reg.Create(t.Context(), bad)
		assert.ErrorIs(t, err, auth.ErrInvalidClientMetadata)

		b := f.browser(t)
		subs := map[string]string{}
		var tokenA auth.TokenResponse
		for i, id := range []string{"pw-a", "pw-b", "pw-a2", "low-agency"} {
			var cb url.Values
			if i == 0 {
				cb = b.signIn(authorizeParams(id), true, false)
			} else {
				cb = callback(t, b.authorize(authorizeParams(id)))
			}
			tr := f.exchange(t, id, cb.Get("code"))
			subs[id] = f.idToken(t, tr.IDToken).Subject()
			if id == "pw-a" {
				tokenA = tr
			}
		}
		assert.Equal(t, f.citizen.ID, subs["low-agency"], "public clients see the account id")
		assert.NotEqual(t, subs["pw-a"], subs["pw-b"], "two sectors cannot link the person")
		assert.NotEqual(t, f.citizen.ID, subs["pw-a"])
		assert.Equal(t, subs["pw-a"], subs["pw-a2"], "one sector sees one identifier")

		access, err := jwt.Parse([]byte(tokenA.AccessToken), jwt.WithVerify(false))
		require.NoError(t, err)
		assert.Equal(t, subs["pw-a"], access.Subject(), "the access token too")
		info := clientGetUserInfo(t, f, tokenA.AccessToken)
		assert.Equal(t, subs["pw-a"], info["sub"])
		assert.Equal(t, "Μαρία", info["given_name"], "UserInfo finds the person behind the pairwise identifier")
	})
}

func clientGetUserInfo(t *testing.T, f *signinFixture, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := map[string]any{}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}
