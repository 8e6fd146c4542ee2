package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/auth/rp"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/exchangelog"
	"github.com/egovkit/egovkit/interop/exchangelog/verify"
	"github.com/egovkit/egovkit/kek"
)

// flushEvery is how often the portal's counters reach the database: what
// a killed instance may lose of them.
const flushEvery = time.Second

// TestInstanceKilledUnderLoad runs two portal processes on one PostgreSQL
// schema behind a round-robin proxy, drives a mixed load through the
// proxy (sign-ins on an existing session with their token exchange,
// consent requests approved by the citizen and used once through the
// gateway, solemn declarations confirmed with the SMS code), kills one
// instance with SIGKILL midway and starts it again while the load goes
// on. Afterwards every declaration whose confirmation was answered is
// issued and verifies, protocol numbers have no gap, no single-use
// consent was used twice, the exchange log extends the checkpoint taken
// before the kill, and the statistics count what was done, less at most
// one flush interval of the killed instance.
func TestInstanceKilledUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the portal and runs two processes")
	}
	if os.Getenv(sqltest.EnvPostgresDSN) == "" {
		t.Skipf("set %s to run two instances on one PostgreSQL", sqltest.EnvPostgresDSN)
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the portal with")
	}
	db := sqltest.Postgres(t)
	bin := filepath.Join(t.TempDir(), "portal")
	out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "%s", out)

	px := &roundRobin{down: map[int]time.Time{}, tr: &http.Transport{MaxIdleConnsPerHost: 16}}
	front := httptest.NewServer(px)
	defer front.Close()
	base := front.URL
	key, err := kek.Generate()
	require.NoError(t, err)
	k := &killRun{t: t, bin: bin, base: base, dbURL: db.URL, dataDir: filepath.Join(t.TempDir(), "data"),
		kek: kek.Encode(key), px: px, seen: map[string]bool{}}
	// One after the other: the first creates the schema and the demo
	// data, the second finds them.
	for i := range 2 {
		k.start(i, "127.0.0.1:0")
	}
	t.Cleanup(k.stopAll)

	// The citizens sign in once (password and SMS code) through a client
	// of the declarations API; their provider sessions make each later
	// sign-in a code flow on an existing session.
	scopes := []string{"openid", "profile", "gr_identity", scopeDeclarationsRead, scopeDeclarationsWrite}
	secret := registerClient(t, base, "citizen", "killtest", scopes, []string{base + declarationsAPI})
	citizens := []*citizenLoad{
		{user: demoCitizen, password: demoCitizenPassword, mobile: demoMobile},
		{user: demoCitizen2, password: demoCitizen2Password, mobile: demoMobile2},
	}
	for _, c := range citizens {
		c.jar = newJar(t)
		c.ask = tokenAsk{realm: "citizen", client: "killtest", secret: secret, user: c.user, password: c.password,
			scope: strings.Join(scopes, " "), acr: rp.LoASubstantial, jar: c.jar}
		_, c.token, err = k.signIn(c, true)
		require.NoError(t, err)
	}
	// The first citizen is signed in to her consent pages, where she
	// approves the requests.
	browser := &http.Client{Jar: citizens[0].jar, Timeout: 10 * time.Second}
	resp, err := browser.Get(base + "/consent/?lang=en")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "/consent/", resp.Request.URL.Path, "%s", page)
	requester := clientToken(t, base, demoRequesterID, demoRequesterSecret, scopeInteropCall+" "+scopeConsentRequest)

	year := time.Now().In(mustAthens(t)).Format("2006")
	kinds := []string{auth.CountSignIn, interop.KindCall, consent.CountKind, declaration.CountDeclaration}
	time.Sleep(flushEvery + time.Second) // the setup's counts reach the database
	before := k.totals(kinds, year)

	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	for _, c := range citizens {
		wg.Go(func() { k.signInLoop(ctx, c) })
		wg.Go(func() { k.declarationLoop(ctx, c) })
	}
	wg.Go(func() { k.consentLoop(ctx, browser, requester) })

	time.Sleep(2 * time.Second)
	first := k.checkpoint()
	k.kill(1)
	time.Sleep(2 * time.Second)
	restarting := time.Now() // it answers from before start returns
	k.start(1, k.addr(1))
	time.Sleep(2 * time.Second)
	stop()
	wg.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	t.Logf("sign-ins %d, declarations %d (drafts %d), gateway calls %d (allowed %d), consents approved %d; failed: %v",
		len(k.done[auth.CountSignIn]), len(k.issued), k.drafts, len(k.done[interop.KindCall]), len(k.exchanges),
		k.approved, k.failed)
	require.NotEmpty(t, k.issued, "declarations were issued")
	require.NotEmpty(t, k.exchanges, "calls went through the gateway")
	require.NotEmpty(t, k.done[auth.CountSignIn], "citizens signed in")
	assert.Empty(t, k.broken, "what the load saw answered wrongly")
	// The load went through both instances before the kill, through the
	// survivor while the other was down, and through both again after
	// the restart.
	phases := map[string]int{}
	for _, done := range k.done {
		for _, d := range done {
			// An answer read just after the kill may have been sent
			// just before it.
			switch {
			case d.at.Before(k.killedAt):
				phases[fmt.Sprintf("instance %d before the kill", d.backend)]++
			case d.at.Before(k.killedAt.Add(answerDelay)):
			case d.at.Before(restarting):
				phases[fmt.Sprintf("instance %d while one was down", d.backend)]++
			default:
				phases[fmt.Sprintf("instance %d after the restart", d.backend)]++
			}
		}
	}
	t.Logf("answers: %v", phases)
	for _, p := range []string{"instance 0 before the kill", "instance 1 before the kill", "instance 0 while one was down",
		"instance 0 after the restart", "instance 1 after the restart"} {
		assert.Positive(t, phases[p], p)
	}
	assert.Zero(t, phases["instance 1 while one was down"], "the killed instance answered nothing")

	k.checkDeclarations(citizens)
	k.checkProtocolNumbers(db)
	k.checkConsents(db)
	k.checkExchangeLog(first)

	time.Sleep(flushEvery + time.Second)
	after := k.totals(kinds, year)
	for _, kind := range kinds {
		got := after[kind] - before[kind]
		tally := len(k.done[kind])
		lost := 0 // what the killed instance counted in its last flush interval
		for _, d := range k.done[kind] {
			if d.backend == 1 && !d.at.Before(k.killedAt.Add(-flushEvery-answerDelay)) && !d.at.After(k.killedAt.Add(answerDelay)) {
				lost++
			}
		}
		t.Logf("%s: counted %d, done %d, failed %d, done by the killed instance in its last flush interval %d", kind, got, tally, k.failed[kind], lost)
		assert.LessOrEqual(t, int64(tally-lost), got, "%s: counted %d, done %d, of which %d in the killed instance's last flush interval", kind, got, tally, lost)
		assert.LessOrEqual(t, got, int64(tally+k.failed[kind]), "%s: counted %d, done %d, failed %d", kind, got, tally, k.failed[kind])
	}
}

// answerDelay bounds how long after an instance's answer the proxy
// records it: what the proxy saw answered up to answerDelay after the
// kill may have been answered before it.
const answerDelay = 250 * time.Millisecond

// killRun is the state of TestInstanceKilledUnderLoad: the processes,
// and what the load did, as the clients saw it.
type killRun struct {
	t                          *testing.T
	bin, base, dbURL, dataDir  string
	kek                        string
	px                         *roundRobin
	procs                      [2]*exec.Cmd
	logs                       [2]string
	outboxMu                   sync.Mutex
	seen                       map[string]bool // outbox messages already read
	mu                         sync.Mutex
	killedAt                   time.Time
	done                       map[string][]served // successes by counted kind
	failed                     map[string]int      // attempts without an answer, by counted kind
	issued                     map[string]issuedDoc
	exchanges                  map[string]exchange // by exchange id
	drafts, approved, leftover int
	broken                     []string
}

type served struct {
	backend int
	at      time.Time
}

type issuedDoc struct {
	owner    *citizenLoad
	protocol string
}

type exchange struct {
	consent string
	served
}

// citizenLoad is one citizen of the load: her browser's cookies (the
// provider's session), her access token and her mobile.
type citizenLoad struct {
	user, password, mobile string
	jar                    http.CookieJar
	ask                    tokenAsk
	token                  string
}

func (k *killRun) start(i int, addr string) {
	t := k.t
	logPath := filepath.Join(t.TempDir(), fmt.Sprintf("portal-%d.log", i))
	f, err := os.Create(logPath)
	require.NoError(t, err)
	defer f.Close()
	cmd := exec.Command(k.bin, "-addr", addr, "-data", k.dataDir, "-db", k.dbURL, "-public-url", k.base, "-demo")
	cmd.Env = append(os.Environ(), "EGOVKIT_KEK="+k.kek, "EGOVKIT_ADMIN_TOKEN="+testAdminToken)
	cmd.Stdout, cmd.Stderr = f, f
	require.NoError(t, cmd.Start())
	listening := regexp.MustCompile(`http://(127\.0\.0\.1:[0-9]+)/`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		for line := range strings.Lines(string(b)) {
			if strings.Contains(line, "portal listening") {
				if m := listening.FindStringSubmatch(line); m != nil {
					k.mu.Lock()
					k.procs[i], k.logs[i] = cmd, logPath
					k.mu.Unlock()
					k.px.set(i, m[1])
					return
				}
			}
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("instance %d did not start:\n%s", i, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (k *killRun) addr(i int) string { return k.px.get(i) }

// kill ends instance i with SIGKILL: nothing of it runs after.
func (k *killRun) kill(i int) {
	k.mu.Lock()
	cmd := k.procs[i]
	k.killedAt = time.Now()
	k.mu.Unlock()
	require.NoError(k.t, cmd.Process.Kill())
	_ = cmd.Wait()
}

func (k *killRun) stopAll() {
	for i, cmd := range k.procs {
		if cmd == nil || cmd.ProcessState != nil {
			continue
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if k.t.Failed() {
			b, _ := os.ReadFile(k.logs[i])
			lines := strings.Split(string(b), "\n")
			k.t.Logf("instance %d, last lines of its log:\n%s", i, strings.Join(lines[max(0, len(lines)-40):], "\n"))
		}
	}
}

// code waits for the SMS code sent to mobile since the last clearCodes:
// the newest unread message to it in an instance's development outbox
// (each instance keeps what it sent).
func (k *killRun) code(mobile string) (string, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, text := range k.unread(mobile) {
			if c := regexp.MustCompile(`\b[0-9]{6}\b`).FindAllString(text, -1); len(c) > 0 {
				return c[len(c)-1], nil
			}
		}
		if time.Now().After(deadline) {
			return "", errors.New("no code in the outboxes")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clearCodes marks every message to mobile as read.
func (k *killRun) clearCodes(mobile string) { k.unread(mobile) }

// outboxClient reads the instances' outboxes directly.
var outboxClient = &http.Client{Timeout: 2 * time.Second}

// unread reads the messages to mobile in the outboxes of the instances
// that answer, newest first, that were not read before, and marks them
// read.
func (k *killRun) unread(mobile string) []string {
	var texts []string
	for i := range 2 {
		resp, err := outboxClient.Get("http://" + k.addr(i) + "/dev/outbox")
		if err != nil {
			continue // the instance is down
		}
		var box struct {
			Messages []struct{ ID, To, Text string }
		}
		err = json.NewDecoder(resp.Body).Decode(&box)
		resp.Body.Close()
		if err != nil {
			continue
		}
		k.outboxMu.Lock()
		for _, m := range box.Messages {
			id := strconv.Itoa(i) + "\x00" + m.ID + "\x00" + m.Text
			if m.To == mobile && !k.seen[id] {
				k.seen[id] = true
				texts = append(texts, m.Text)
			}
		}
		k.outboxMu.Unlock()
	}
	return texts
}

// signIn runs the code flow with PKCE through the proxy on the citizen's
// browser: with a password and an SMS code when full is set, on the
// existing session otherwise. It answers which instance gave the code,
// and when, and the access token.
func (k *killRun) signIn(c *citizenLoad, full bool) (served, string, error) {
	hc := &http.Client{Jar: c.jar, Timeout: 10 * time.Second, CheckRedirect: func(r *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(r.URL.String(), agencyRedirect) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	verifier := "a-verifier-of-enough-length-for-rfc-7636-pkce-checks"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {c.ask.client}, "redirect_uri": {agencyRedirect}, "scope": {c.ask.scope},
		"state": {"s1"}, "nonce": {"n1"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
		"acr_values": {c.ask.acr}}
	issuer := k.base + "/auth/citizen"
	resp, err := hc.Get(issuer + "/authorize?" + q.Encode())
	if err != nil {
		return served{}, "", err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if full {
		k.clearCodes(c.mobile)
		if resp.StatusCode == http.StatusOK {
			m := txInput.FindStringSubmatch(string(b))
			if m == nil {
				return served{}, "", fmt.Errorf("no sign-in form: %s", b)
			}
			if resp, err = hc.PostForm(issuer+"/login", url.Values{"tx": {m[1]}, "username": {c.user}, "password": {c.password}}); err != nil {
				return served{}, "", err
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		if resp.StatusCode == http.StatusOK {
			m := txInput.FindStringSubmatch(string(b))
			if m == nil {
				return served{}, "", fmt.Errorf("no code form: %s", b)
			}
			code, err := k.code(c.mobile)
			if err != nil {
				return served{}, "", err
			}
			if resp, err = hc.PostForm(issuer+"/login/code", url.Values{"tx": {m[1]}, "code": {code}}); err != nil {
				return served{}, "", err
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
	}
	if resp.StatusCode != http.StatusSeeOther {
		return served{}, "", fmt.Errorf("authorize answered %d: %.300s", resp.StatusCode, b)
	}
	signedIn := servedBy(resp)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		return served{}, "", fmt.Errorf("no code in %q", resp.Header.Get("Location"))
	}
	req, _ := http.NewRequest("POST", issuer+"/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {agencyRedirect}, "code_verifier": {verifier}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ask.client, c.ask.secret)
	resp, err = hc.Do(req)
	if err != nil {
		return signedIn, "", fmt.Errorf("%w: %w", errSignedIn, err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&tok) != nil {
		return signedIn, "", fmt.Errorf("%w: the token endpoint answered %d", errSignedIn, resp.StatusCode)
	}
	return signedIn, tok.AccessToken, nil
}

// errSignedIn: the sign-in was made (and counted), the token exchange
// after it failed.
var errSignedIn = errors.New("signed in, but no token")

func (k *killRun) succeeded(kind string, s served) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.done == nil {
		k.done = map[string][]served{}
	}
	k.done[kind] = append(k.done[kind], s)
}

func (k *killRun) fail(kind string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.failed == nil {
		k.failed = map[string]int{}
	}
	k.failed[kind]++
}

func (k *killRun) wrong(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.broken = append(k.broken, fmt.Sprintf(format, args...))
}

func (k *killRun) signInLoop(ctx context.Context, c *citizenLoad) {
	for ctx.Err() == nil {
		s, _, err := k.signIn(c, false)
		switch {
		case err == nil, errors.Is(err, errSignedIn):
			k.succeeded(auth.CountSignIn, s)
		default:
			k.fail(auth.CountSignIn)
		}
	}
}

// answer is what the proxy answered: the instance's status, body and
// exchange id (X-Road-Request-Id), and which instance it was, when.
type answer struct {
	status   int
	body     []byte
	exchange string
	retried  bool
	served
}

// call makes one JSON request through the proxy.
func (k *killRun) call(method, path, token, body string, hdr map[string]string) (answer, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, k.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for h, v := range hdr {
		req.Header.Set(h, v)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, b, resp.Header.Get("X-Road-Request-Id"), resp.Header.Get(retriedHeader) != "", servedBy(resp)}, err
}

// declarationLoop writes drafts and confirms them with the code sent to
// the citizen's mobile. A confirmation without an answer may or may not
// have issued the document: it is neither counted as issued nor lost.
func (k *killRun) declarationLoop(ctx context.Context, c *citizenLoad) {
	api := declarationsAPI + "/documents"
	for n := 0; ctx.Err() == nil; n++ {
		draft := fmt.Sprintf(`{"kind":"solemn_declaration","recipient":"Δήμος Αθηναίων","text":"Δήλωση αριθμός %d της δοκιμής.","lang":"el"}`, n)
		a, err := k.call("POST", api, c.token, draft, nil)
		if err != nil || a.status != http.StatusCreated {
			continue
		}
		var doc struct{ ID string }
		if json.Unmarshal(a.body, &doc) != nil {
			k.wrong("a draft answered %s", a.body)
			continue
		}
		k.mu.Lock()
		k.drafts++
		k.mu.Unlock()
		k.clearCodes(c.mobile)
		if a, err := k.call("POST", api+"/"+doc.ID+"/code", c.token, "", nil); err != nil || a.status != http.StatusAccepted {
			continue
		}
		code, err := k.code(c.mobile)
		if err != nil {
			continue // sent by the instance that was killed
		}
		a, err = k.call("POST", api+"/"+doc.ID+"/confirm", c.token, `{"code":"`+code+`"}`, nil)
		switch {
		case err != nil || a.status >= 500:
			k.fail(declaration.CountDeclaration)
		case a.status == http.StatusOK:
			var issued struct{ ID, State, Protocol string }
			if json.Unmarshal(a.body, &issued) != nil || issued.State != "issued" || issued.Protocol == "" {
				k.wrong("a confirmation answered %s", a.body)
				continue
			}
			k.succeeded(declaration.CountDeclaration, a.served)
			k.mu.Lock()
			if k.issued == nil {
				k.issued = map[string]issuedDoc{}
			}
			k.issued[issued.ID] = issuedDoc{c, issued.Protocol}
			k.mu.Unlock()
		default:
			k.wrong("confirming %s answered %d: %s", doc.ID, a.status, a.body)
		}
	}
}

// consentLoop has the demo requester ask the first citizen's consent for
// one use, the citizen approve it on her consent pages, and the requester
// call the registry through the gateway twice: the second call must be
// refused as used up, unless an earlier request was approved and its
// call never answered (its consent is still there to use).
func (k *killRun) consentLoop(ctx context.Context, browser *http.Client, token string) {
	body := `{"tax_number":"` + demoCitizenAFM + `","source":{"registry":"` + demoSource.Registry + `","service":"` + demoSource.Service +
		`"},"items":[{"id":"marital_status","type":"string"},{"id":"children","type":"number"}],"purpose":{"code":"` + demoPurpose.Code +
		`","text":{"el":"Επίδομα","en":"Benefit"}},"legal_basis":"GDPR art. 6(1)(a)","valid_until":"` +
		time.Now().AddDate(0, 1, 0).UTC().Format(time.RFC3339) + `","max_uses":1}`
	gateway := strings.TrimPrefix(demoProviderURL(k.base), k.base)
	for ctx.Err() == nil {
		a, err := k.call("POST", consentAPI+"/requests", token, body, nil)
		if err != nil || a.status != http.StatusCreated {
			continue
		}
		var created struct{ ID string }
		if json.Unmarshal(a.body, &created) != nil {
			k.wrong("a consent request answered %s", a.body)
			continue
		}
		req, _ := http.NewRequest("POST", k.base+"/consent/r/"+created.ID+"/approve", strings.NewReader("lang=en"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", k.base)
		resp, err := browser.Do(req)
		if err != nil {
			k.mu.Lock()
			k.leftover++ // perhaps approved
			k.mu.Unlock()
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			if resp.StatusCode < 500 {
				k.wrong("approving %s answered %d", created.ID, resp.StatusCode)
			} else {
				k.mu.Lock()
				k.leftover++
				k.mu.Unlock()
			}
			continue
		}
		k.mu.Lock()
		k.approved++
		k.leftover++
		k.mu.Unlock()
		for attempt := range 2 {
			a, err := k.call("GET", gateway, token, "", map[string]string{"X-Road-Client": demoConsumer.String(),
				"X-Road-UserId": "GR" + demoCitizenAFM, "X-Road-Issue": demoPurpose.Code, "Egovkit-Consent-Id": created.ID})
			if err != nil || a.status >= 500 {
				k.fail(interop.KindCall)
				k.fail(consent.CountKind)
				break
			}
			k.succeeded(interop.KindCall, a.served)
			switch {
			case a.status == http.StatusOK:
				k.succeeded(consent.CountKind, a.served)
				k.mu.Lock()
				if k.leftover == 0 {
					k.broken = append(k.broken, fmt.Sprintf("call %d with consent %s allowed though no approved consent was left: %s",
						attempt+1, created.ID, a.body))
				}
				k.leftover = max(0, k.leftover-1)
				if k.exchanges == nil {
					k.exchanges = map[string]exchange{}
				}
				k.exchanges[a.exchange] = exchange{created.ID, a.served}
				k.mu.Unlock()
			case a.status == http.StatusForbidden && bytes.Contains(a.body, []byte(`"consent_reason":"used_up"`)):
				k.succeeded(consent.CountKind, a.served)
				// Unless the killed instance used it for the same
				// call before the proxy sent it again.
				if attempt == 0 && !a.retried {
					k.wrong("the first call with consent %s was refused as used up", created.ID)
				}
			default:
				k.wrong("call %d with consent %s answered %d: %s", attempt+1, created.ID, a.status, a.body)
			}
		}
	}
}

// totals reads the year's total of each kind from the statistics API.
func (k *killRun) totals(kinds []string, year string) map[string]int64 {
	out := map[string]int64{}
	for _, kind := range kinds {
		resp, body := fetch(k.t, "GET", k.base+"/stats/api/totals?kind="+kind+"&period="+year, nil)
		require.Equal(k.t, http.StatusOK, resp.StatusCode, body)
		var a struct{ Total int64 }
		require.NoError(k.t, json.Unmarshal([]byte(body), &a))
		out[kind] = a.Total
	}
	return out
}

// checkpoint reads the exchange log's latest checkpoint and opens it with
// the log's verifier key.
func (k *killRun) checkpoint() verify.Checkpoint {
	_, vkey := fetch(k.t, "GET", k.base+interopLog+"/key", nil)
	resp, body := fetch(k.t, "GET", k.base+interopLog+"/checkpoint", nil)
	require.Equal(k.t, http.StatusOK, resp.StatusCode, body)
	var c exchangelog.CheckpointResponse
	require.NoError(k.t, json.Unmarshal([]byte(body), &c))
	cp, err := verify.OpenCheckpoint([]byte(c.Checkpoint), strings.TrimSpace(vkey))
	require.NoError(k.t, err)
	return cp
}

// checkDeclarations reads back every document whose confirmation was
// answered: issued, with the protocol number answered, and its signed
// token verifies offline against the published keys.
func (k *killRun) checkDeclarations(citizens []*citizenLoad) {
	t := k.t
	resp, jwks := fetch(t, "GET", k.base+declarationsAPI+"/jwks.json", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, jwks)
	v, err := declaration.NewOfflineVerifier(k.base, []byte(jwks))
	require.NoError(t, err)
	for id, want := range k.issued {
		a, err := k.call("GET", declarationsAPI+"/documents/"+id, want.owner.token, "", nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, a.status, "issued document %s: %s", id, a.body)
		var doc struct{ State, Protocol, Token string }
		require.NoError(t, json.Unmarshal(a.body, &doc))
		assert.Equal(t, "issued", doc.State, id)
		assert.Equal(t, want.protocol, doc.Protocol, id)
		claims, _, err := v.Verify(doc.Token)
		if assert.NoError(t, err, id) {
			assert.Equal(t, want.protocol, claims.Protocol, id)
		}
	}
}

// checkProtocolNumbers: per issuer and year, the numbers of issued
// documents and of the protocol book are 1 to n, each once, and n is the
// last number given.
func (k *killRun) checkProtocolNumbers(db *sqltest.DB) {
	t := k.t
	rows, err := db.QueryContext(t.Context(), `SELECT issuer, protocol_year, protocol_seq FROM declaration_documents WHERE protocol_seq > 0
		UNION ALL SELECT issuer, year, seq FROM declaration_book`)
	require.NoError(t, err)
	defer rows.Close()
	numbers := map[string][]int64{}
	for rows.Next() {
		var issuer string
		var year, seq int64
		require.NoError(t, rows.Scan(&issuer, &year, &seq))
		key := issuer + "/" + strconv.FormatInt(year, 10)
		numbers[key] = append(numbers[key], seq)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, numbers)
	for key, seqs := range numbers {
		slices.Sort(seqs)
		for i, s := range seqs {
			if !assert.Equal(t, int64(i+1), s, "%s: protocol numbers %v", key, seqs) {
				break
			}
		}
		issuer, year, _ := strings.Cut(key, "/")
		var last int64
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT last FROM declaration_protocol WHERE issuer = $1 AND year = $2`,
			issuer, year).Scan(&last))
		assert.Equal(t, int64(len(seqs)), last, "%s: the last number given", key)
	}
}

// checkConsents: no consent for one use was used more than once, and
// every allowed call is one use of the consent it was allowed under.
func (k *killRun) checkConsents(db *sqltest.DB) {
	t := k.t
	rows, err := db.QueryContext(t.Context(), `SELECT r.id, r.uses, (SELECT count(*) FROM consent_uses u WHERE u.consent_id = r.id)
		FROM consent_records r WHERE r.use_limit = 1`)
	require.NoError(t, err)
	defer rows.Close()
	single := 0
	for rows.Next() {
		var id string
		var uses, recorded int
		require.NoError(t, rows.Scan(&id, &uses, &recorded))
		single++
		assert.LessOrEqual(t, uses, 1, "consent %s", id)
		assert.LessOrEqual(t, recorded, 1, "consent %s", id)
	}
	require.NoError(t, rows.Err())
	assert.GreaterOrEqual(t, single, k.approved, "the approved consents are for one use")
	for x := range k.exchanges {
		var consentID string
		err := db.QueryRowContext(t.Context(), `SELECT consent_id FROM consent_uses WHERE exchange_id = $1`, x).Scan(&consentID)
		if assert.NoError(t, err, "the use of exchange %s", x) {
			assert.NotEmpty(t, consentID)
		}
	}
}

// checkExchangeLog: a checkpoint taken now extends the one taken before
// the kill (a consistency proof from the log, verified offline), and
// every allowed call is in it, with an inclusion proof, those the killed
// instance answered in its last moments included: the gateway releases
// an answer only once its entry is committed.
func (k *killRun) checkExchangeLog(first verify.Checkpoint) {
	t := k.t
	var second verify.Checkpoint
	deadline := time.Now().Add(10 * time.Second)
	for {
		second = k.checkpoint()
		if second.Size >= first.Size+int64(len(k.exchanges)) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	require.Greater(t, second.Size, first.Size)
	resp, body := fetch(t, "GET", fmt.Sprintf("%s%s/proof/consistency?first=%d&second=%d", k.base, interopLog, first.Size, second.Size), nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	var proof exchangelog.ConsistencyResponse
	require.NoError(t, json.Unmarshal([]byte(body), &proof))
	require.NoError(t, second.Extends(first, proof.Proof), "the log after the restart extends the log before the kill")

	admin := map[string]string{"Authorization": "Bearer " + testAdminToken}
	for x, e := range k.exchanges {
		resp, body := fetch(t, "GET", k.base+interopLog+"/entries?exchange_id="+x, admin)
		require.Equal(t, http.StatusOK, resp.StatusCode, "exchange %s, answered by instance %d %v after the kill: %s",
			x, e.backend, e.at.Sub(k.killedAt), body)
		var rec exchangelog.Record
		require.NoError(t, json.Unmarshal([]byte(body), &rec))
		if rec.Index >= second.Size {
			continue
		}
		resp, body = fetch(t, "GET", fmt.Sprintf("%s%s/proof/inclusion?index=%d&size=%d", k.base, interopLog, rec.Index, second.Size), nil)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		var incl exchangelog.InclusionResponse
		require.NoError(t, json.Unmarshal([]byte(body), &incl))
		entry, err := second.Entry(rec.Index, rec.Leaf, incl.Proof)
		if assert.NoError(t, err, x) {
			assert.Equal(t, x, entry.ExchangeID)
		}
	}
}

// The proxy's answers name the instance that answered, and when its
// answer reached the proxy (Unix nanoseconds).
const (
	backendHeader  = "X-Test-Instance"
	answeredHeader = "X-Test-Answered"
	// retriedHeader marks an answer to a request the proxy sent again
	// after an instance failed it midway.
	retriedHeader = "X-Test-Retried"
)

// servedBy reads which instance answered resp, and when.
func servedBy(resp *http.Response) served {
	backend, _ := strconv.Atoi(resp.Header.Get(backendHeader))
	at, err := strconv.ParseInt(resp.Header.Get(answeredHeader), 10, 64)
	if err != nil {
		return served{backend, time.Now()}
	}
	return served{backend, time.Unix(0, at)}
}

// roundRobin is a reverse proxy to the instances in turn. An instance it
// cannot connect to is skipped for a moment and the request goes to the
// other: a request never sent is safe to send again, whatever its
// method. A request that fails after it was sent is sent again only when
// its method is idempotent; otherwise the client is answered 502.
type roundRobin struct {
	mu       sync.Mutex
	backends [2]string
	down     map[int]time.Time
	next     atomic.Uint64
	tr       *http.Transport
}

func (p *roundRobin) set(i int, addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backends[i] = addr
	delete(p.down, i)
}

func (p *roundRobin) get(i int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backends[i]
}

func (p *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	first := int(p.next.Add(1))
	idempotent := r.Method == http.MethodGet || r.Method == http.MethodHead
	retried := false // sent again after an instance failed it midway
	for n := range 2 {
		i := (first + n) % 2
		p.mu.Lock()
		addr, downUntil := p.backends[i], p.down[i]
		p.mu.Unlock()
		if addr == "" || (n == 0 && time.Now().Before(downUntil)) {
			continue
		}
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI = "http", addr, ""
		out.Host = r.Host
		out.Body, out.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		resp, err := p.tr.RoundTrip(out)
		answered := time.Now()
		if err != nil {
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				p.mu.Lock()
				p.down[i] = time.Now().Add(200 * time.Millisecond)
				p.mu.Unlock()
				continue
			}
			if idempotent {
				retried = true
				continue
			}
			break
		}
		for h, v := range resp.Header {
			w.Header()[h] = v
		}
		w.Header().Set(backendHeader, strconv.Itoa(i))
		w.Header().Set(answeredHeader, strconv.FormatInt(answered.UnixNano(), 10))
		if retried {
			w.Header().Set(retriedHeader, "1")
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
		resp.Body.Close()
		return
	}
	http.Error(w, "no instance answered", http.StatusBadGateway)
}
