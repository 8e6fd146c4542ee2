package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The portal's demonstration data the load runs on (published in its
// README: demo mode only).
const (
	demoCitizen         = "demo"
	demoCitizenPassword = "demo-password"
	demoCitizenAFM      = "123456783"
	demoCitizenMobile   = "+306912345678"
	demoGranteeAFM      = "987654324"
	demoAgency          = "demo-agency"
	demoAgencySecret    = "demo-agency-secret"
	demoRequester       = "demo-requester"
	demoRequesterSecret = "demo-requester-secret"
	demoConsumer        = "GR/GOV/DEMO-AGENCY/BENEFITS"
	demoService         = "/interop/r1/GR/GOV/DEMO-REGISTRY/CITIZENS/family-status/certificate"
	// redirectURI is where the load generator's client's sign-ins
	// return; nothing listens there, the code is read from the redirect.
	redirectURI = "http://127.0.0.1:8090/callback"
	loaSubst    = "http://eidas.europa.eu/LoA/substantial"
)

// statusError is an answer with an unexpected status.
type statusError struct {
	status int
	what   string
	body   string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s: status %d: %.300s", e.what, e.status, e.body)
}

// portal is the running portal as the load's clients see it.
type portal struct {
	base   string
	http   *http.Client // no cookies, no redirects followed
	admin  string       // the client administration token
	client string       // the load's own client in the citizens' realm
	secret string

	// citizens are the people the load runs on (-citizens): the demo
	// citizen first, then the portal's generated ones.
	citizens []*citizen

	// consumer's token, cached until a minute before it expires, as an
	// agency's system keeps it.
	mu        sync.Mutex
	consumer  string
	expiresAt time.Time
}

func newPortal(base, admin string, timeout time.Duration, conns int) (*portal, error) {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 90 * time.Second}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &portal{base: strings.TrimSuffix(base, "/"), admin: admin,
		http: &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: noRedirect}}, nil
}

// citizen is one person the load runs on, with a browser of their own.
type citizen struct {
	username, password, afm, mobile string
	// browser holds the citizen's single sign-on session, shared by
	// every sign-in of the run that picks this citizen.
	browser *http.Client
	// token is the newest access token a sign-in returned to this
	// citizen; the citizen's declarations are written with it.
	token atomic.Pointer[string]
	// picked counts the transactions that drew this citizen.
	picked atomic.Int64
}

// maxCitizens bounds -citizens: the demo citizen and the portal's
// generated ones, of which it creates at most 10,000.
const maxCitizens = 10001

// The portal's generated citizens (-demo-citizens): user name, tax number
// and mobile number follow from the index, as its demo mode makes them.
const populationPassword = "citizen-password"

func populationUsername(i int) string { return fmt.Sprintf("citizen%05d", i) }
func populationMobile(i int) string   { return fmt.Sprintf("+30697%07d", i) }

// populationAFM is the digit 2, i in seven digits and the check digit.
func populationAFM(i int) string {
	d := fmt.Sprintf("2%07d", i)
	sum := 0
	for k := range 8 {
		sum += int(d[k]-'0') << (8 - k)
	}
	return d + string(rune('0'+sum%11%10))
}

// newCitizens returns the demo citizen and n-1 generated ones, each with
// a browser (a cookie jar) of their own on the portal's connections.
func (p *portal) newCitizens(n int) ([]*citizen, error) {
	out := make([]*citizen, 0, n)
	for i := range n {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, err
		}
		c := &citizen{username: demoCitizen, password: demoCitizenPassword, afm: demoCitizenAFM, mobile: demoCitizenMobile,
			browser: &http.Client{Transport: p.http.Transport, Timeout: p.http.Timeout, Jar: jar, CheckRedirect: p.http.CheckRedirect}}
		if i > 0 {
			c.username, c.password, c.afm, c.mobile = populationUsername(i), populationPassword, populationAFM(i), populationMobile(i)
		}
		out = append(out, c)
	}
	return out, nil
}

// pick draws a citizen, each as likely as the others.
func (p *portal) pick() *citizen {
	c := p.citizens[mrand.IntN(len(p.citizens))]
	c.picked.Add(1)
	return c
}

// drawn returns how many citizens transactions drew since the last call,
// and starts counting again.
func (p *portal) drawn() int {
	n := 0
	for _, c := range p.citizens {
		if c.picked.Swap(0) > 0 {
			n++
		}
	}
	return n
}

// do sends a request and reads the whole answer; an answer other than
// want is a *statusError.
func (p *portal) do(ctx context.Context, c *http.Client, what string, req *http.Request, want int) (*http.Response, []byte, error) {
	req = req.WithContext(ctx)
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != want {
		return resp, body, &statusError{status: resp.StatusCode, what: what, body: string(body)}
	}
	return resp, body, nil
}

func (p *portal) form(method, path string, form url.Values) *http.Request {
	req, _ := http.NewRequest(method, p.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", p.base)
	return req
}

func (p *portal) json(method, path, token string, v any) *http.Request {
	var body io.Reader
	if v != nil {
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, body)
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return req
}

// register registers the load's client in the citizens' realm through
// the client administration API: the authorization code flow, for the
// declarations API.
func (p *portal) register(ctx context.Context) error {
	id := "loadgen-" + rand.Text()[:8]
	req := p.json("POST", "/auth/citizen/admin/clients", p.admin, map[string]any{
		"client_id": id, "client_name": "Load generator", "token_endpoint_auth_method": "client_secret_basic",
		"grant_types": []string{"authorization_code"}, "redirect_uris": []string{redirectURI},
		"scope":    []string{"openid", "profile", "gr_identity", "declarations:read", "declarations:write"},
		"audience": []string{p.base + "/declarations/api"}})
	_, body, err := p.do(ctx, p.http, "registering the load's client (is EGOVKIT_ADMIN_TOKEN the -admin-token?)", req, http.StatusCreated)
	if err != nil {
		return err
	}
	var created struct {
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.Secret == "" {
		return fmt.Errorf("registering the load's client: no secret in %.200s", body)
	}
	p.client, p.secret = id, created.Secret
	return nil
}

var txInput = regexp.MustCompile(`name="tx" value="([^"]+)"`)

// signIn is one sign-in on the citizen's single sign-on session: the
// authorization request with PKCE, the code from the redirect, and the
// token exchange. The first one, before the session exists, signs in with
// the password and the SMS code from the development outbox.
func (p *portal) signIn(ctx context.Context, c *citizen) error {
	verifier := rand.Text() + rand.Text()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {p.client}, "redirect_uri": {redirectURI},
		"scope": {"openid profile gr_identity declarations:read declarations:write"}, "state": {rand.Text()},
		"nonce": {rand.Text()}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "acr_values": {loaSubst}}
	req, _ := http.NewRequest("GET", p.base+"/auth/citizen/authorize?"+q.Encode(), nil)
	loc, err := p.walk(ctx, c, c.browser, req)
	if err != nil {
		return err
	}
	tr := p.form("POST", "/auth/citizen/token", url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}})
	tr.SetBasicAuth(p.client, p.secret)
	_, body, err := p.do(ctx, p.http, "token", tr, http.StatusOK)
	if err != nil {
		return err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return fmt.Errorf("token: no access token in %.200s", body)
	}
	c.token.Store(&tok.AccessToken)
	return nil
}

// walk follows the browser through the provider from req until it is
// sent to the client's redirect URI: when there is no session yet, it
// signs in with the password and the SMS code from the development
// outbox, as the citizen who. It returns the redirect.
func (p *portal) walk(ctx context.Context, who *citizen, c *http.Client, req *http.Request) (*url.URL, error) {
	for range 8 {
		resp, page, err := p.do(ctx, c, "sign-in", req, http.StatusSeeOther)
		switch {
		case resp != nil && resp.StatusCode == http.StatusUnauthorized && strings.Contains(string(page), `name="password"`):
			return nil, &noAccountError{username: who.username}
		case resp != nil && resp.StatusCode == http.StatusOK:
			m := txInput.FindStringSubmatch(string(page))
			switch {
			case m == nil:
				return nil, errors.New("sign-in: a page without a transaction")
			case strings.Contains(string(page), `name="password"`):
				req = p.form("POST", "/auth/citizen/login", url.Values{"tx": {m[1]}, "username": {who.username}, "password": {who.password}})
			case strings.Contains(string(page), `name="code"`):
				code, err := p.code(ctx, "sign-in", who.mobile)
				if err != nil {
					return nil, err
				}
				req = p.form("POST", "/auth/citizen/login/code", url.Values{"tx": {m[1]}, "code": {code}})
			default:
				return nil, fmt.Errorf("sign-in: an unexpected page: %.300s", page)
			}
			continue
		case err != nil:
			return nil, err
		}
		loc, err := req.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, fmt.Errorf("sign-in: %w", err)
		}
		if strings.HasPrefix(loc.String(), redirectURI) {
			if loc.Query().Get("code") == "" {
				return nil, fmt.Errorf("sign-in: no code in the redirect %q", loc)
			}
			return loc, nil
		}
		req, _ = http.NewRequest("GET", loc.String(), nil)
	}
	return nil, errors.New("sign-in: too many redirects")
}

// noAccountError is a sign-in the portal refused for the user name and
// password: the generated citizen does not exist there.
type noAccountError struct{ username string }

func (e *noAccountError) Error() string {
	return fmt.Sprintf("sign-in: the portal refused %s and its password", e.username)
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// errNoCode is a code the outbox did not hold: not sent, or pushed out of
// the outbox's last 100 messages by others.
var errNoCode = errors.New("outbox: no code")

// code reads the newest code sent for purpose to mobile from the
// development outbox (purpose "sign-in" matches any sign-in's): many
// citizens sign in at once, each with a code of their own. Each instance
// of the portal keeps an outbox of its own, so behind a round-robin
// balancer the code may be in another instance's: the outbox is read
// again, up to outboxReads times, before the code counts as missing.
func (p *portal) code(ctx context.Context, purpose, mobile string) (string, error) {
	var n int
	for range outboxReads {
		req, _ := http.NewRequest("GET", p.base+"/dev/outbox", nil)
		req.Header.Set("Accept", "application/json")
		_, body, err := p.do(ctx, p.http, "outbox", req, http.StatusOK)
		if err != nil {
			return "", err
		}
		var box struct {
			Messages []struct{ To, Text, Purpose string }
		}
		if err := json.Unmarshal(body, &box); err != nil {
			return "", fmt.Errorf("outbox: %w", err)
		}
		for _, msg := range box.Messages {
			if msg.To != mobile {
				continue
			}
			if msg.Purpose == purpose || strings.Contains(msg.Purpose, purpose) && purpose == "sign-in" {
				if codes := sixDigits.FindAllString(msg.Text, -1); len(codes) > 0 {
					return codes[len(codes)-1], nil
				}
			}
		}
		n = len(box.Messages)
	}
	return "", fmt.Errorf("%w for %s to %s among %d messages", errNoCode, purpose, mobile, n)
}

// outboxReads bounds the reads of the outbox for one code: enough to reach
// every instance of a small round-robin pool.
const outboxReads = 8

// consumerToken is the demo requester's client_credentials token, taken
// again a minute before it expires.
func (p *portal) consumerToken(ctx context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.consumer != "" && time.Now().Before(p.expiresAt) {
		return p.consumer, nil
	}
	req := p.form("POST", "/auth/citizen/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"interop:call consent:request"}})
	req.SetBasicAuth(demoRequester, demoRequesterSecret)
	_, body, err := p.do(ctx, p.http, "client_credentials", req, http.StatusOK)
	if err != nil {
		return "", err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("client_credentials: no access token in %.200s", body)
	}
	p.consumer, p.expiresAt = tok.AccessToken, time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second-time.Minute)
	return p.consumer, nil
}

// standingConsent asks the citizen, as the demo requester, for a consent
// to any number of calls for three months, and approves it as the citizen
// on the consent pages (their single sign-on session signs them in).
func (p *portal) standingConsent(ctx context.Context, c *citizen) error {
	token, err := p.consumerToken(ctx)
	if err != nil {
		return err
	}
	req := p.json("POST", "/consent/api/requests", token, map[string]any{
		"tax_number":  c.afm,
		"source":      map[string]string{"registry": "Μητρώο Πολιτών", "service": "Οικογενειακή κατάσταση"},
		"items":       []map[string]string{{"id": "marital_status", "type": "string"}, {"id": "children", "type": "number"}},
		"purpose":     map[string]any{"code": "child-benefit", "text": map[string]string{"el": "Χορήγηση επιδόματος παιδιού", "en": "Child benefit"}},
		"legal_basis": "GDPR art. 6(1)(a)", "valid_until": time.Now().AddDate(0, 3, 0).UTC().Format(time.RFC3339), "max_uses": -1})
	_, body, err := p.do(ctx, p.http, "consent request", req, http.StatusCreated)
	if err != nil {
		return err
	}
	var created struct{ ID string }
	if err := json.Unmarshal(body, &created); err != nil || created.ID == "" {
		return fmt.Errorf("consent request: no id in %.200s", body)
	}
	// The consent pages sign the citizen in through their own client:
	// follow the redirects with the citizen's browser.
	follow := *c.browser
	follow.CheckRedirect = nil
	get, _ := http.NewRequest("GET", p.base+"/consent/r/"+created.ID+"?lang=en", nil)
	if _, _, err := p.do(ctx, &follow, "consent page", get, http.StatusOK); err != nil {
		return err
	}
	_, _, err = p.do(ctx, &follow, "consent approval", p.form("POST", "/consent/r/"+created.ID+"/approve", url.Values{"lang": {"en"}}), http.StatusOK)
	return err
}

// call is one call through the gateway about the citizen, under their
// standing consent.
func (p *portal) call(ctx context.Context, c *citizen) error {
	token, err := p.consumerToken(ctx)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest("GET", p.base+demoService, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Road-Client", demoConsumer)
	req.Header.Set("X-Road-UserId", "GR"+c.afm)
	req.Header.Set("X-Road-Issue", "child-benefit")
	_, _, err = p.do(ctx, p.http, "gateway call", req, http.StatusOK)
	return err
}

// document writes a draft of the citizen's (a solemn declaration, or an
// authorization when authz), asks for its code, reads it from the outbox
// and confirms the draft with it.
func (p *portal) document(ctx context.Context, c *citizen, authz bool) error {
	token := *c.token.Load()
	draft := map[string]any{"kind": "solemn_declaration", "lang": "el", "recipient": "Δήμος Δοκιμής",
		"text": "Δηλώνω ότι τα στοιχεία της αίτησής μου είναι αληθή."}
	if authz {
		draft = map[string]any{"kind": "authorization", "lang": "el", "text": "Να παραλάβει για λογαριασμό μου το πιστοποιητικό.",
			"grantee":     map[string]string{"afm": demoGranteeAFM, "name": "Γιάννης Παράδειγμα"},
			"valid_until": time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339)}
	}
	_, body, err := p.do(ctx, p.http, "draft", p.json("POST", "/declarations/api/documents", token, draft), http.StatusCreated)
	if err != nil {
		return err
	}
	var doc struct{ ID string }
	if err := json.Unmarshal(body, &doc); err != nil || doc.ID == "" {
		return fmt.Errorf("draft: no id in %.200s", body)
	}
	path := "/declarations/api/documents/" + url.PathEscape(doc.ID)
	if _, _, err := p.do(ctx, p.http, "document code", p.json("POST", path+"/code", token, nil), http.StatusAccepted); err != nil {
		return err
	}
	code, err := p.code(ctx, "declaration:"+doc.ID, c.mobile)
	if err != nil {
		return err
	}
	_, _, err = p.do(ctx, p.http, "confirm", p.json("POST", path+"/confirm", token, map[string]string{"code": code}), http.StatusOK)
	return err
}

// passwordSignIn is a sign-in with the password alone (LoA low) in a
// fresh browser through the demo agency's client: it ends at the redirect
// with the code, the cost being the password's hash.
func (p *portal) passwordSignIn(ctx context.Context) error {
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Transport: p.http.Transport, Timeout: p.http.Timeout, Jar: jar, CheckRedirect: p.http.CheckRedirect}
	q := url.Values{"response_type": {"code"}, "client_id": {demoAgency}, "redirect_uri": {redirectURI},
		"scope": {"openid"}, "state": {rand.Text()}, "nonce": {rand.Text()},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(make([]byte, 32))}, "code_challenge_method": {"S256"}}
	req, _ := http.NewRequest("GET", p.base+"/auth/citizen/authorize?"+q.Encode(), nil)
	demo := &citizen{username: demoCitizen, password: demoCitizenPassword, afm: demoCitizenAFM, mobile: demoCitizenMobile}
	_, err := p.walk(ctx, demo, b, req)
	return err
}
