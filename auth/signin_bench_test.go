package auth_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// BenchmarkSignIn times a sign-in on an open single sign-on session, as
// most sign-ins of the national load are, through the provider's HTTP
// handlers on SQLite: the authorization request with PKCE carrying the
// session cookie, answered with a code, then the token exchange with the
// client's HTTP Basic authentication, the code and its verifier, answered
// with an ID token and an access token. Beside it, in the same run, the
// floor: the two signatures the exchange must make, an ID token and an
// access token signed with the provider's own key set. `paired` alternates
// turns of 16 sign-ins and 16 floors over both cores and compares the CPU
// time of each; the parallel rows are for profiles. On PostgreSQL (when
// EGOVKIT_TEST_POSTGRES_DSN is set) the CPU time is this process's alone:
// the server's work is in the wall-clock figures only.
//
//	go test -run '^$' -bench SignIn -benchmem -benchtime 2000x -count 5 ./auth/
func BenchmarkSignIn(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSignIn(b, sqltest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchSignIn(b, sqltest.Postgres(b)) })
}

func benchSignIn(b *testing.B, db *sqltest.DB) {
	ctx := context.Background()
	reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
	require.NoError(b, err)
	accounts, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
	require.NoError(b, err)
	codes, err := auth.NewCodeStore(ctx, db.DB.DB, "citizen")
	require.NoError(b, err)
	kek, _ := keys.GenerateKEK()
	ks, err := keys.New(ctx, db.DB.DB, "auth/citizen", kek)
	require.NoError(b, err)
	p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: benchIssuer, Realm: "citizen", Keys: ks, Clients: reg,
		Codes: codes, Accounts: accounts})
	require.NoError(b, err)
	h := p.Handler()
	_, err = accounts.CreateCitizen(ctx, maria(), "correct horse battery")
	require.NoError(b, err)
	// As the load generator registers its client: the code flow alone,
	// HTTP Basic.
	client := auth.Client{ID: "bench-agency", Name: "Bench agency", AuthMethod: auth.AuthSecretBasic,
		GrantTypes: []string{auth.GrantAuthorizationCode}, RedirectURIs: []string{rpCallback},
		Scopes: []string{"openid", "profile"}, Audience: []string{"https://agency.example.gr/api"}}
	_, secret, err := reg.Create(ctx, client)
	require.NoError(b, err)

	type pkce struct{ verifier, query string }
	requests := func(n int) []pkce {
		out := make([]pkce, n)
		for i := range out {
			v := rand.Text() + rand.Text()
			sum := sha256.Sum256([]byte(v))
			out[i] = pkce{v, url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {rpCallback},
				"scope": {"openid profile"}, "state": {rand.Text()}, "nonce": {rand.Text()},
				"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()}
		}
		return out
	}

	// The single sign-on session: one password sign-in before the timer.
	var cookies []*http.Cookie
	send := func(r *http.Request) *httptest.ResponseRecorder {
		for _, c := range cookies {
			r.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	first := requests(1)[0]
	w := send(httptest.NewRequest("GET", "/authorize?"+first.query, nil))
	require.Equal(b, http.StatusSeeOther, w.Code, w.Body.String())
	cookies = w.Result().Cookies()
	login, err := url.Parse(w.Header().Get("Location"))
	require.NoError(b, err)
	r := httptest.NewRequest("POST", "/login", strings.NewReader(url.Values{"tx": {login.Query().Get("tx")},
		"username": {"maria.p"}, "password": {"correct horse battery"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = send(r)
	require.Equal(b, http.StatusSeeOther, w.Code, w.Body.String())
	require.True(b, strings.HasPrefix(w.Header().Get("Location"), rpCallback), w.Header().Get("Location"))
	cookies = append(cookies, w.Result().Cookies()...)

	signIn := func(req pkce) error {
		w := send(httptest.NewRequest("GET", "/authorize?"+req.query, nil))
		loc, err := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusSeeOther || err != nil || loc.Query().Get("code") == "" {
			return &benchError{"authorize", w}
		}
		r := httptest.NewRequest("POST", "/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
			"code": {loc.Query().Get("code")}, "redirect_uri": {rpCallback}, "code_verifier": {req.verifier}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.SetBasicAuth(client.ID, secret)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		// The answer is checked, not decoded: decoding is the client's
		// work, not the provider's.
		if body := w.Body.Bytes(); w.Code != http.StatusOK || !bytes.Contains(body, []byte(`"access_token":"ey`)) ||
			!bytes.Contains(body, []byte(`"id_token":"ey`)) {
			return &benchError{"token", w}
		}
		return nil
	}
	// The floor: the exchange's two signatures, with claims of the same
	// shape.
	sign := func() error {
		now := time.Now().Truncate(time.Second)
		at, _ := jwt.NewBuilder().Issuer(benchIssuer).Subject("0123456789abcdefghijklmn").Audience(client.Audience).
			IssuedAt(now).Expiration(now.Add(10*time.Minute)).JwtID(rand.Text()).
			Claim("client_id", client.ID).Claim("scope", "openid profile").Claim("acr", auth.LoALow).
			Claim("auth_time", now.Unix()).Build()
		if _, err := ks.SignJWT(ctx, at, keys.WithType("at+jwt")); err != nil {
			return err
		}
		it, _ := jwt.NewBuilder().Issuer(benchIssuer).Subject("0123456789abcdefghijklmn").Audience([]string{client.ID}).
			IssuedAt(now).Expiration(now.Add(5*time.Minute)).Claim("auth_time", now.Unix()).Claim("acr", auth.LoALow).
			Claim("amr", []string{"pwd"}).Claim("azp", client.ID).Claim("nonce", rand.Text()).
			Claim("sid", rand.Text()).Claim("at_hash", rand.Text()).Build()
		_, err := ks.SignJWT(ctx, it, keys.WithType("JWT"))
		return err
	}

	b.Run("paired", func(b *testing.B) {
		reqs := requests(b.N)
		paired(b, func(i int) {
			if err := signIn(reqs[i]); err != nil {
				b.Error(err)
			}
		}, func(int) {
			if err := sign(); err != nil {
				b.Error(err)
			}
		})
	})
	b.Run("sign-in/parallel", func(b *testing.B) {
		reqs := requests(b.N)
		var cursor atomic.Int64
		run(b, true, func(next func() bool) {
			for next() {
				if err := signIn(reqs[cursor.Add(1)-1]); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("baseline-sign-id-and-access-token/parallel", func(b *testing.B) {
		run(b, true, func(next func() bool) {
			for next() {
				if err := sign(); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

type benchError struct {
	step string
	w    *httptest.ResponseRecorder
}

func (e *benchError) Error() string {
	return e.step + ": " + http.StatusText(e.w.Code) + " " + e.w.Header().Get("Location") + " " + e.w.Body.String()
}
