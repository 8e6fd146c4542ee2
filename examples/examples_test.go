package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/internal/modtest"
	"github.com/egovkit/egovkit/kek"
	"github.com/egovkit/egovkit/problem"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

// singles are the examples that each show one building block, with the
// packages whose documentation points to them.
var singles = map[string][]string{
	"metrics-only":     {"metrics"},
	"procedures-only":  {"procedures"},
	"declaration-only": {"declaration", "auth/rp"},
	"rp-api":           {"auth/rp"},
	"auth-provider":    {"auth"},
}

// TestSinglePackageExamples builds every single-package example the way an
// agency's own module would (a module of its own that requires egovkit,
// offline), runs each binary on a free loopback port with a fresh data
// directory, checks what it serves, and stops it with SIGINT, which it
// must survive gracefully.
func TestSinglePackageExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the examples")
	}
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	files := map[string][]byte{}
	for name := range singles {
		// Every file an agency would copy: the program and what it embeds.
		srcs, err := filepath.Glob(filepath.Join(name, "*"))
		require.NoError(t, err)
		for _, src := range srcs {
			if fi, err := os.Stat(src); err != nil || !fi.Mode().IsRegular() || strings.HasSuffix(src, "_test.go") {
				continue
			}
			b, err := os.ReadFile(src)
			require.NoError(t, err)
			assert.NotContains(t, string(b), `"github.com/egovkit/egovkit/internal/`, "%s imports only public packages", src)
			files[filepath.ToSlash(src)] = b
		}
	}
	bin := modtest.Build(t, root, files)
	example := func(name string) string { return filepath.Join(bin, name) }

	t.Run("metrics-only", func(t *testing.T) {
		t.Parallel()
		base := start(t, example("metrics-only"), "-addr", "127.0.0.1:0", "-data", t.TempDir())

		status, body := post(t, base+"/api/certificates", "application/json", `{"channel":"digital"}`)
		require.Equal(t, http.StatusCreated, status, body)
		assertProblem(t, "POST", base+"/api/certificates", `{"channel":"by pigeon"}`, http.StatusUnprocessableEntity, problem.TypeValidation)

		browsertest.AssertStyled(t, nil, base, "/stats/", "/stats/static/")
		year := time.Now().Format("2006")
		var total struct {
			Total int64 `json:"total"`
		}
		// The count reaches the database within a flush interval.
		require.Eventually(t, func() bool {
			getJSON(t, base+"/stats/api/totals?kind=certificate&period="+year, &total)
			return total.Total == 1
		}, 10*time.Second, 100*time.Millisecond)
		assertProblem(t, "GET", base+"/stats/api/totals?kind=certificate&period="+year+"-H3", "", http.StatusBadRequest, "https://egovkit.dev/problems/bad-period")
		status, body = get(t, base+"/metrics")
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, body, `egovkit_certificate_transactions_total{agency="dimos-athinaion",channel="digital"} 1`)

		t.Run("accessible", func(t *testing.T) { browsertest.AssertAccessible(t, base+"/stats/") })
	})

	t.Run("procedures-only", func(t *testing.T) {
		t.Parallel()
		base := start(t, example("procedures-only"), "-addr", "127.0.0.1:0", "-data", t.TempDir())
		plain := start(t, example("procedures-only"), "-addr", "127.0.0.1:0", "-data", t.TempDir(), "-search=false")

		for _, b := range []string{base, plain} {
			page := browsertest.AssertStyled(t, nil, b, "/procedures/", "/procedures/static/")
			assert.Contains(t, page, `href="/procedures/solemn-declaration"`, "the samples are published")
			browsertest.AssertStyled(t, nil, b, "/procedures/solemn-declaration", "/procedures/static/")
			var list struct {
				Procedures []struct {
					ID string `json:"id"`
				} `json:"procedures"`
			}
			getJSON(t, b+"/procedures/api/procedures", &list)
			assert.Len(t, list.Procedures, 20)
			assertProblem(t, "GET", b+"/procedures/api/procedures/no-such-procedure", "", http.StatusNotFound, problem.TypeNotFound)
		}
		assert.Contains(t, pageOf(t, base+"/procedures/"), `type="search"`, "with the index, a search box")
		assert.NotContains(t, pageOf(t, plain+"/procedures/"), `type="search"`, "without it, none")
		var hits struct {
			Total int `json:"total"`
		}
		getJSON(t, base+"/procedures/api/search?q="+url.QueryEscape("δηλωση"), &hits)
		assert.Positive(t, hits.Total)
		status, _ := get(t, plain+"/procedures/api/search?q=x")
		assert.Equal(t, http.StatusNotFound, status, "without the index, no search")

		t.Run("accessible", func(t *testing.T) {
			browsertest.AssertAccessible(t, base+"/procedures/")
			browsertest.AssertAccessible(t, plain+"/procedures/solemn-declaration")
		})
	})

	t.Run("rp-api", func(t *testing.T) {
		t.Parallel()
		op := newProvider(t)
		const audience = "https://permits.example.gr/api"
		base := start(t, example("rp-api"), "-addr", "127.0.0.1:0", "-data", t.TempDir(),
			"-issuer", op.issuer, "-audience", audience)
		op.register(t, auth.Client{ID: "permits-app", GrantTypes: []string{auth.GrantClientCredentials},
			Scopes: []string{"permits:read", "permits:write"}, Audience: []string{audience}})
		op.register(t, auth.Client{ID: "other-app", GrantTypes: []string{auth.GrantClientCredentials},
			Scopes: []string{"permits:read"}, Audience: []string{"https://other.example.gr/api"}})

		var doc struct {
			OpenAPI string                    `json:"openapi"`
			Paths   map[string]map[string]any `json:"paths"`
		}
		getJSON(t, base+"/openapi.json", &doc)
		assert.Equal(t, "3.1.0", doc.OpenAPI)
		assert.Contains(t, doc.Paths["/api/applications"], "post")

		assertProblem(t, "GET", base+"/api/applications", "", http.StatusUnauthorized, "")
		read := op.token(t, "permits-app", "permits:read")
		var list struct {
			Subject      string            `json:"subject"`
			Applications []json.RawMessage `json:"applications"`
		}
		getJSON(t, base+"/api/applications", &list, "Bearer "+read)
		assert.Equal(t, "permits-app", list.Subject)
		assert.Empty(t, list.Applications)

		p := assertProblem(t, "GET", base+"/api/applications", "", http.StatusUnauthorized, "", "Bearer "+op.token(t, "other-app", "permits:read"))
		assert.Contains(t, p.header.Get("WWW-Authenticate"), `error="invalid_token"`, "a token for another service")
		p = assertProblem(t, "POST", base+"/api/applications", `{"kind":"parking"}`, http.StatusForbidden, "", "Bearer "+read)
		assert.Contains(t, p.header.Get("WWW-Authenticate"), `error="insufficient_scope"`)
		// A client's own token carries no person's sign-in: a write, which
		// asks for LoA substantial, is sent to step up.
		p = assertProblem(t, "POST", base+"/api/applications", `{"kind":"parking"}`, http.StatusUnauthorized, "",
			"Bearer "+op.token(t, "permits-app", "permits:write"))
		assert.Contains(t, p.header.Get("WWW-Authenticate"), `error="insufficient_user_authentication"`)
		assert.Contains(t, p.header.Get("WWW-Authenticate"), `acr_values="`+auth.LoASubstantial+`"`)
	})

	t.Run("auth-provider", func(t *testing.T) {
		t.Parallel()
		data := t.TempDir()
		private := func(name, content string) string {
			path := filepath.Join(t.TempDir(), name)
			require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
			return path
		}
		clients := private("clients.json", `[{"client_id": "registry-sync", "client_name": "Registry sync",
			"grant_types": ["client_credentials"], "scope": ["registry:read"], "audience": ["https://registry.example.gr"],
			"client_secret": "`+clientSecret+`"}]`)
		accounts := private("accounts.json", `[{"username": "maria.p", "password": "`+citizenPassword+`",
			"afm": "123456783", "amka": "15038501233", "given_name": "Μαρία", "family_name": "Παπαδοπούλου",
			"father_name": "Γεώργιος", "mother_name": "Ελένη", "birthdate": "1985-03-15", "mobile": "`+citizenMobile+`"}]`)
		const redirect = "https://permits.example.gr/callback"
		base := start(t, example("auth-provider"), "-addr", "127.0.0.1:0", "-data", data,
			"-clients", clients, "-accounts", accounts, "-client-id", "permits",
			"-client-secret-file", private("secret", clientSecret+"\n"), "-client-redirect-uris", redirect,
			"-client-scopes", "openid profile phone")
		key, err := os.Stat(filepath.Join(data, "kek"))
		require.NoError(t, err, "a key-encryption key is generated on first run")
		assert.Equal(t, os.FileMode(0o600), key.Mode().Perm())
		issuer := base + "/auth/citizen"

		var doc struct {
			Issuer   string   `json:"issuer"`
			JWKS     string   `json:"jwks_uri"`
			Token    string   `json:"token_endpoint"`
			UserInfo string   `json:"userinfo_endpoint"`
			Scopes   []string `json:"scopes_supported"`
		}
		getJSON(t, issuer+"/.well-known/openid-configuration", &doc)
		assert.Equal(t, issuer, doc.Issuer)
		assert.Contains(t, doc.Scopes, auth.ScopePhone, "with the development outbox, codes and the mobile number")
		resp, err := http.Get(doc.JWKS)
		require.NoError(t, err)
		var jwks struct {
			Keys []map[string]any `json:"keys"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&jwks))
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/jwk-set+json", resp.Header.Get("Content-Type"))
		require.Len(t, jwks.Keys, 1)
		assert.Equal(t, "ES256", jwks.Keys[0]["alg"])
		assert.NotContains(t, jwks.Keys[0], "d", "only the public half")

		// A confidential client takes an agency-to-agency token; a bad
		// request gets an OAuth error, an unknown path a problem.
		tok := clientToken(t, doc.Token, "registry-sync", clientSecret, "registry:read")
		assert.NotEmpty(t, tok)
		for _, c := range []struct {
			contentType, body, basicAuth string
			status                       int
			error                        string
		}{
			{"application/x-www-form-urlencoded", "grant_type=password&username=x&password=y", "registry-sync", http.StatusBadRequest, "unsupported_grant_type"},
			{"application/x-www-form-urlencoded", "grant_type=client_credentials&scope=admin", "registry-sync", http.StatusBadRequest, "invalid_scope"},
			{"application/x-www-form-urlencoded", "grant_type=client_credentials", "", http.StatusUnauthorized, "invalid_client"},
			{"application/json", `{"grant_type": "client_credentials"}`, "registry-sync", http.StatusBadRequest, "invalid_request"},
		} {
			req, err := http.NewRequest("POST", doc.Token, strings.NewReader(c.body))
			require.NoError(t, err)
			req.Header.Set("Content-Type", c.contentType)
			if c.basicAuth != "" {
				req.SetBasicAuth(c.basicAuth, clientSecret)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var oauthErr struct {
				Error string `json:"error"`
			}
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&oauthErr))
			resp.Body.Close()
			assert.Equal(t, c.status, resp.StatusCode, c.body)
			assert.Equal(t, c.error, oauthErr.Error, c.body)
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), c.body)
		}
		assertProblem(t, "GET", base+"/no/such/page", "", http.StatusNotFound, problem.TypeNotFound)
		status, _ := get(t, base+"/readyz")
		assert.Equal(t, http.StatusOK, status, "the database takes writes")

		// The sign-in page, styled, for the client registered by flags;
		// the person created from the file signs in, and UserInfo
		// releases her verified mobile to the client allowed the phone
		// scope.
		verifier := strings.Repeat("v", 43)
		sum := sha256.Sum256([]byte(verifier))
		authorize := "/auth/citizen/authorize?" + url.Values{"client_id": {"permits"}, "response_type": {"code"},
			"redirect_uri": {redirect}, "scope": {"openid phone"}, "state": {"s1"}, "nonce": {"n1"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		person := &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host != strings.TrimPrefix(base, "http://") {
				return http.ErrUseLastResponse // the client's callback
			}
			return nil
		}}
		page := browsertest.AssertStyled(t, person, base, authorize, "/auth/citizen/static/")
		tx := regexp.MustCompile(`name="tx" value="([^"]+)"`).FindStringSubmatch(page)
		require.NotNil(t, tx, page)
		assert.Contains(t, page, `<a href="/dev/outbox">`, "on a development machine the sign-in page says where the codes are")
		resp, err = person.PostForm(issuer+"/login", url.Values{"tx": {tx[1]}, "username": {"maria.p"}, "password": {citizenPassword}})
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		cb, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, redirect, cb.Scheme+"://"+cb.Host+cb.Path)
		req, err := http.NewRequest("POST", doc.Token, strings.NewReader(url.Values{"grant_type": {"authorization_code"},
			"code": {cb.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {verifier}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("permits", clientSecret)
		resp, err = http.DefaultClient.Do(req)
		require.NoError(t, err)
		var tr auth.TokenResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&tr))
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var info map[string]any
		getJSON(t, doc.UserInfo, &info, "Bearer "+tr.AccessToken)
		assert.Equal(t, citizenMobile, info["phone_number"])
		assert.Equal(t, true, info["phone_number_verified"])

		t.Run("accessible", func(t *testing.T) {
			browsertest.AssertAccessible(t, base+authorize)
			browsertest.AssertAccessible(t, base+authorize+"&ui_locales=en")
		})
	})

	t.Run("declaration-only", func(t *testing.T) {
		t.Parallel()
		op := newProvider(t)
		data := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(data, "client-secret"), []byte(clientSecret+"\n"), 0o600))
		base := start(t, example("declaration-only"), "-addr", "127.0.0.1:0", "-data", data,
			"-issuer", op.issuer, "-acr", auth.LoALow)
		kek, err := os.Stat(filepath.Join(data, "kek"))
		require.NoError(t, err, "a key is generated on first run")
		assert.Equal(t, os.FileMode(0o600), kek.Mode().Perm())

		// What runs without the provider: verification, page and JSON.
		page := browsertest.AssertStyled(t, nil, base, "/verify", "/verify/static/")
		assert.Contains(t, page, `name="code"`)
		browsertest.AssertStyled(t, nil, base, "/verify?code="+url.QueryEscape("AAAA-BBBB-CCCC-DDDD-EEEE"), "/verify/static/")
		var v struct {
			Status string `json:"status"`
		}
		getJSON(t, base+"/declarations/api/verify?code=AAAA-BBBB-CCCC-DDDD-EEEE", &v)
		assert.Equal(t, "unknown", v.Status)
		var jwks struct {
			Keys []map[string]any `json:"keys"`
		}
		getJSON(t, base+"/declarations/api/jwks.json", &jwks)
		assert.Len(t, jwks.Keys, 1)
		assertProblem(t, "GET", base+"/declarations/api/documents", "", http.StatusUnauthorized, "")

		// Signing in: the citizen's pages send the person to the provider.
		op.register(t, auth.Client{ID: "declarations", GrantTypes: []string{auth.GrantAuthorizationCode},
			RedirectURIs:           []string{base + "/declarations/signin/callback"},
			PostLogoutRedirectURIs: []string{base + "/declarations/"},
			Scopes:                 []string{"openid", "profile", auth.ScopeGreekIdentity, auth.ScopePhone}})
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(base + "/declarations/")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		authz, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		assert.Equal(t, op.issuer+"/authorize", authz.Scheme+"://"+authz.Host+authz.Path)
		assert.Equal(t, "declarations", authz.Query().Get("client_id"))
		assert.Equal(t, "S256", authz.Query().Get("code_challenge_method"))

		// With the provider, a citizen signs in and reaches their pages.
		jar, err := cookiejar.New(nil)
		require.NoError(t, err)
		person := &http.Client{Jar: jar}
		status, body := visit(t, person, "GET", base+"/declarations/", nil)
		require.Equal(t, http.StatusOK, status)
		tx := regexp.MustCompile(`name="tx" value="([^"]+)"`).FindStringSubmatch(body)
		require.NotNil(t, tx, "the provider's sign-in page: %s", body)
		status, body = visit(t, person, "POST", op.issuer+"/login", url.Values{"tx": {tx[1]}, "username": {"maria.p"}, "password": {citizenPassword}})
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, "Παπαδοπούλου", "the citizen's pages know who signed in")
		browsertest.AssertStyled(t, person, base, "/declarations/", "/declarations/static/")

		// She issues a solemn declaration: the provider released her
		// verified mobile (scope phone), so the code that confirms it goes
		// there, through the example's development outbox.
		status, body, at := postForm(t, person, base, "/declarations/new/solemn_declaration", url.Values{
			"recipient": {"Δήμος Αθηναίων"}, "text": {"Διαμένω μόνιμα στην Αθήνα."}, "lang": {"el"}})
		require.Equal(t, http.StatusOK, status, body)
		require.True(t, strings.HasPrefix(at.Path, "/declarations/d/"), at.Path)
		doc := at.Path
		assert.Contains(t, body, "3069******78", "the code goes to the mobile from UserInfo, masked as the sign-in pages mask it")
		status, body, _ = postForm(t, person, base, doc+"/code", url.Values{})
		require.Equal(t, http.StatusOK, status, body)
		to, code := lastSMS(t, base+"/dev/outbox")
		assert.Equal(t, citizenMobile, to)
		status, body, _ = postForm(t, person, base, doc+"/confirm", url.Values{"code": {code}})
		require.Equal(t, http.StatusOK, status, body)
		assert.Contains(t, body, "The document is issued.")
		verification := regexp.MustCompile(`[2-9A-Z]{4}(-[2-9A-Z]{4}){4}`).FindString(body)
		require.NotEmpty(t, verification, body)
		page = browsertest.AssertStyled(t, nil, base, "/verify?lang=en&code="+url.QueryEscape(verification), "/verify/static/")
		assert.Contains(t, page, "Valid")
		assert.Contains(t, page, "Διαμένω μόνιμα στην Αθήνα.")
		getJSON(t, base+"/declarations/api/verify?code="+url.QueryEscape(verification), &v)
		assert.Equal(t, "valid", v.Status)

		t.Run("accessible", func(t *testing.T) {
			browsertest.AssertAccessible(t, base+"/verify")
			browsertest.AssertAccessible(t, base+"/verify?code=AAAA-BBBB-CCCC-DDDD-EEEE")
		})
	})
}

// TestPackageDocsPointToTheirExamples: a reader of a building block's
// documentation finds the program that uses it alone.
func TestPackageDocsPointToTheirExamples(t *testing.T) {
	for name, pkgs := range singles {
		for _, pkg := range pkgs {
			srcs, err := filepath.Glob(filepath.Join("..", pkg, "*.go"))
			require.NoError(t, err)
			var doc strings.Builder
			for _, src := range srcs {
				if strings.HasSuffix(src, "_test.go") {
					continue
				}
				f, err := parser.ParseFile(token.NewFileSet(), src, nil, parser.PackageClauseOnly|parser.ParseComments)
				require.NoError(t, err)
				if f.Doc != nil {
					doc.WriteString(f.Doc.Text())
				}
			}
			assert.True(t, strings.Contains(doc.String(), "examples/"+name), "the documentation of %s names examples/%s", pkg, name)
		}
		main, err := os.ReadFile(filepath.Join(name, "main.go"))
		require.NoError(t, err)
		assert.Contains(t, string(main), "go run ./examples/"+name, "%s says how to run it", name)
	}
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	require.NoError(t, err)
	for name := range singles {
		assert.True(t, strings.Contains(string(readme), "examples/"+name), "the README lists examples/%s", name)
	}
}

var listening = regexp.MustCompile(`"msg":"listening","url":"(http://[^"]+)/"`)

// start runs an example and returns its URL once it listens. When the test
// ends it sends SIGINT and expects a graceful exit.
func start(t *testing.T, bin string, args ...string) string {
	t.Helper()
	u, _ := startStoppable(t, bin, args...)
	return u
}

// startStoppable is start, and returns too a function that stops the
// example earlier, as the end of the test would.
func startStoppable(t *testing.T, bin string, args ...string) (string, func()) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var mu sync.Mutex
	var logs bytes.Buffer
	found := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			mu.Lock()
			logs.Write(sc.Bytes())
			logs.WriteByte('\n')
			mu.Unlock()
			if m := listening.FindSubmatch(sc.Bytes()); m != nil {
				select {
				case found <- string(m[1]):
				default:
				}
			}
		}
	}()
	output := func() string { mu.Lock(); defer mu.Unlock(); return logs.String() }
	stop := sync.OnceFunc(func() {
		require.NoError(t, cmd.Process.Signal(os.Interrupt))
		exited := make(chan error, 1)
		go func() { <-scanned; exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			assert.NoError(t, err, "a graceful stop on SIGINT\n%s", output())
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("%s did not stop within 15 s of SIGINT\n%s", filepath.Base(bin), output())
		}
		if t.Failed() {
			t.Logf("%s logged:\n%s", filepath.Base(bin), output())
		}
	})
	t.Cleanup(stop)
	select {
	case u := <-found:
		return u, stop
	case <-scanned:
		t.Fatalf("%s exited before listening:\n%s", filepath.Base(bin), output())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not listen within a minute:\n%s", filepath.Base(bin), output())
	}
	return "", stop
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func pageOf(t *testing.T, u string) string {
	t.Helper()
	status, body := get(t, u)
	require.Equal(t, http.StatusOK, status, u)
	return body
}

func post(t *testing.T, u, contentType, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(u, contentType, strings.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// getJSON reads u as JSON into v; authorization, when given, is sent as
// the Authorization header.
func getJSON(t *testing.T, u string, v any, authorization ...string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	require.NoError(t, err)
	if len(authorization) > 0 {
		req.Header.Set("Authorization", authorization[0])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", u, b)
	ct := strings.SplitN(resp.Header.Get("Content-Type"), ";", 2)[0]
	require.True(t, ct == "application/json" || strings.HasSuffix(ct, "+json"), "%s is JSON, not %s", u, ct)
	require.NoError(t, json.Unmarshal(b, v), u)
}

type refusal struct {
	problem.Problem
	header http.Header
}

// assertProblem sends a request and checks that it is refused with status
// as an RFC 9457 problem (of type typ, unless empty).
func assertProblem(t *testing.T, method, u, body string, status int, typ string, authorization ...string) refusal {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if len(authorization) > 0 {
		req.Header.Set("Authorization", authorization[0])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, status, resp.StatusCode, "%s %s: %s", method, u, b)
	assert.Equal(t, problem.ContentType, resp.Header.Get("Content-Type"), "%s %s", method, u)
	var p refusal
	require.NoError(t, json.Unmarshal(b, &p.Problem), "%s %s: %s", method, u, b)
	assert.Equal(t, status, p.Status)
	if typ != "" {
		assert.Equal(t, typ, p.Type, "%s %s", method, u)
	}
	p.header = resp.Header
	return p
}

// postForm posts a form from a page of base, as a browser does (with
// its Origin), and returns the status, the page and where it ended.
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
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Request.URL
}

// lastSMS reads the newest message of an example's development outbox
// (one "number<TAB>text" line per message, newest first) and returns its
// number and the six-digit code it carries.
func lastSMS(t *testing.T, outbox string) (to, code string) {
	t.Helper()
	first, _, _ := strings.Cut(pageOf(t, outbox), "\n")
	to, text, ok := strings.Cut(first, "\t")
	require.True(t, ok, "a message in the outbox: %q", first)
	codes := regexp.MustCompile(`\b[0-9]{6}\b`).FindAllString(text, -1)
	require.NotEmpty(t, codes, text)
	return to, codes[len(codes)-1]
}

func visit(t *testing.T, c *http.Client, method, u string, form url.Values) (int, string) {
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
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// The provider's test citizen and the secret of every client registered
// with it.
const (
	citizenPassword = "correct horse battery"
	citizenMobile   = "+306912345678"
	clientSecret    = "agency-client-secret-0123456789abcdef"
)

// provider is a citizens' OpenID provider built from package auth, as
// the portal runs one, which the examples reach over HTTP.
type provider struct {
	issuer  string
	clients *auth.ClientRegistry
	// outbox holds the one-time codes sent to the citizen's mobile.
	outbox *sms.Outbox
}

func newProvider(t *testing.T) *provider {
	t.Helper()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return mountProvider(t, mux, srv.URL)
}

// mountProvider mounts the provider at base + "/auth/citizen" on mux.
func mountProvider(t *testing.T, mux *http.ServeMux, base string) *provider {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "op.db"), nil)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	key, err := kek.Generate()
	require.NoError(t, err)
	signing, err := auth.NewSigningKeys(ctx, db, "auth/citizen", key)
	require.NoError(t, err)
	clients, err := auth.NewClientRegistry(ctx, db, "citizen")
	require.NoError(t, err)
	accounts, err := auth.NewAccounts(ctx, db)
	require.NoError(t, err)
	codes, err := auth.NewCodeStore(ctx, db, "citizen")
	require.NoError(t, err)
	gateway := sms.NewOutbox(10)
	otps, err := auth.NewOneTimeCodes(ctx, db, bytes.Repeat([]byte{7}, 32), gateway)
	require.NoError(t, err)
	contacts, err := auth.NewContactRegistry(ctx, db, otps, gateway)
	require.NoError(t, err)
	maria, err := accounts.CreateCitizen(ctx, auth.Citizen{Username: "maria.p", AFM: "123456783", AMKA: "15038501233",
		GivenName: "Μαρία", FamilyName: "Παπαδοπούλου", FatherName: "Γιώργος", MotherName: "Ελένη", BirthDate: "1985-03-15"},
		citizenPassword)
	require.NoError(t, err)
	_, err = contacts.ImportMobile(ctx, maria.ID, citizenMobile, "test")
	require.NoError(t, err)

	op := &provider{issuer: base + "/auth/citizen", clients: clients, outbox: gateway}
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: op.issuer, Realm: "citizen", Keys: signing,
		Clients: clients, Codes: codes, Accounts: accounts, OneTimeCodes: otps, Contacts: contacts})
	require.NoError(t, err)
	mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", p.Handler()))
	return op
}

// register adds a confidential client with clientSecret.
func (op *provider) register(t *testing.T, c auth.Client) {
	t.Helper()
	c.Name, c.AuthMethod = c.ID, auth.AuthSecretBasic
	_, err := op.clients.Import(t.Context(), c, clientSecret)
	require.NoError(t, err)
}

// token takes an access token with the client_credentials grant.
func (op *provider) token(t *testing.T, clientID, scope string) string {
	t.Helper()
	return clientToken(t, op.issuer+"/token", clientID, clientSecret, scope)
}

// clientToken takes an access token from the token endpoint with the
// client_credentials grant, authenticating with client_secret_basic.
func clientToken(t *testing.T, endpoint, clientID, secret, scope string) string {
	t.Helper()
	req, err := http.NewRequest("POST", endpoint, strings.NewReader(url.Values{
		"grant_type": {auth.GrantClientCredentials}, "scope": {scope}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", b)
	require.NoError(t, json.Unmarshal(b, &tok))
	return tok.AccessToken
}
