package auth_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// faultFixture is a citizen provider on a database the test can break,
// with a registered client, a citizen and a valid access token issued
// while the database still answered.
type faultFixture struct {
	h      http.Handler
	codes  *auth.CodeStore
	client auth.Client
	secret string
	token  string
	rt     string // a refresh token
	fault  *sqltest.Fault
}

const faultDeadline = 500 * time.Millisecond

func newFaultFixture(t *testing.T, db *sqltest.DB) *faultFixture {
	ctx := t.Context()
	f := &faultFixture{fault: sqltest.Faulty(t, db, 200*time.Millisecond)}
	pool := f.fault.DB
	reg, err := auth.NewClientRegistry(ctx, pool, "citizen", auth.WithDBTimeout(faultDeadline))
	require.NoError(t, err)
	acc, err := auth.NewAccounts(ctx, pool, auth.WithPasswordParams(fastParams), auth.WithDBTimeout(faultDeadline))
	require.NoError(t, err)
	citizen, err := acc.CreateCitizen(ctx, maria(), "σωστός κωδικός")
	require.NoError(t, err)
	c := webClient()
	c.GrantTypes = append(c.GrantTypes, auth.GrantClientCredentials)
	c.Scopes = []string{"openid", "profile", auth.ScopeGreekIdentity}
	f.client, f.secret, err = reg.Create(ctx, c)
	require.NoError(t, err)
	f.codes, err = auth.NewCodeStore(ctx, pool, "citizen", auth.WithDBTimeout(faultDeadline))
	require.NoError(t, err)
	ks, err := keys.NewStatic(mustKey(t))
	require.NoError(t, err)
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: "https://id.example.gr/auth/citizen", Keys: ks, Clients: reg,
		Codes: f.codes, Accounts: acc})
	require.NoError(t, err)
	f.h = p.Handler()
	code := f.code(t, citizen.ID)
	status, body, _ := f.do(t, "POST", "/token", f.exchangeForm(code), "")
	require.Equal(t, 200, status, body)
	var tr auth.TokenResponse
	require.NoError(t, json.Unmarshal([]byte(body), &tr))
	f.token, f.rt = tr.AccessToken, tr.RefreshToken
	require.NotEmpty(t, f.rt)
	return f
}

func (f *faultFixture) code(t *testing.T, subject string) string {
	g := grant()
	g.Subject, g.Scopes = subject, []string{"openid", "profile"}
	code, err := f.codes.Create(t.Context(), g)
	require.NoError(t, err)
	return code
}

func (f *faultFixture) exchangeForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"https://agency.example.gr/callback"}, "code_verifier": {verifier}}
}

// do sends a request (a form when form is not nil; bearer when set,
// client Basic otherwise) and returns status, body and headers.
func (f *faultFixture) do(t *testing.T, method, path string, form url.Values, bearer string) (int, string, http.Header) {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	} else {
		r.SetBasicAuth(f.client.ID, f.secret)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w.Code, w.Body.String(), w.Header()
}

// assertUnavailable checks the answer every endpoint gives when the
// database does not answer: 503 problem+json with Retry-After, never a
// credential error.

// With the database down, a valid client and a valid token are answered
// 503, not invalid_client, invalid_grant or invalid_token, on every OAuth
// endpoint.
func TestDatabaseDownIsUnavailableNotACredentialError(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFaultFixture(t, db)
		code := f.code(t, "someone")
		f.fault.Down()

		for name, req := range map[string]struct {
			method, path string
			form         url.Values
			bearer       string
		}{
			"client credentials": {"POST", "/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, ""},
			"code exchange":      {"POST", "/token", f.exchangeForm(code), ""},
			"refresh":            {"POST", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.rt}}, ""},
			"public client":      {"POST", "/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"someone"}}, "-"},
			"introspection":      {"POST", "/introspect", url.Values{"token": {f.token}}, ""},
			"revocation":         {"POST", "/revoke", url.Values{"token": {f.token}}, ""},
			"userinfo":           {"GET", "/userinfo", nil, f.token},
		} {
			bearer := req.bearer
			if bearer == "-" { // no Basic either: a public client by client_id
				r := httptest.NewRequest(req.method, req.path, strings.NewReader(req.form.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, r)
				sqltest.AssertUnavailable(t, name, w.Code, w.Header(), w.Body.String())
				continue
			}
			status, body, h := f.do(t, req.method, req.path, req.form, bearer)
			sqltest.AssertUnavailable(t, name, status, h, body)
			if req.path == "/token" {
				assert.Contains(t, body, `"error":"temporarily_unavailable"`, "%s: OAuth clients read the error member", name)
			}
		}
	})
}

// A frozen database fails requests within the deadline with 503: SQLite's
// held write lock stops the writes (code exchange, revocation); a
// PostgreSQL server that stops answering stops everything.
func TestFrozenDatabaseAnswers503WithinDeadline(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFaultFixture(t, db)
		code := f.code(t, "someone")
		f.fault.Freeze()

		type call struct {
			method, path string
			form         url.Values
			bearer       string
		}
		calls := map[string]call{
			"code exchange": {"POST", "/token", f.exchangeForm(code), ""},
			"refresh":       {"POST", "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {f.rt}}, ""},
			"revocation":    {"POST", "/revoke", url.Values{"token": {f.token}}, ""},
		}
		if db.Dialect() == sqlstore.Postgres {
			calls["client credentials"] = call{"POST", "/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, ""}
			calls["introspection"] = call{"POST", "/introspect", url.Values{"token": {f.token}}, ""}
			calls["userinfo"] = call{"GET", "/userinfo", nil, f.token}
		}
		for name, c := range calls {
			start := time.Now()
			status, body, h := f.do(t, c.method, c.path, c.form, c.bearer)
			took := time.Since(start)
			sqltest.AssertUnavailable(t, name, status, h, body)
			// Client authentication and the grant may each use the
			// deadline once.
			assert.Less(t, took, 2*faultDeadline+time.Second, name)
		}
	})
}
