package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// signHook runs hook once, before the first token it signs.
type signHook struct {
	*keys.Manager
	once sync.Once
	hook func()
}

func (k *signHook) SignJWT(ctx context.Context, tok jwt.Token, headers ...func(jws.Headers) error) ([]byte, error) {
	k.once.Do(k.hook)
	return k.Manager.SignJWT(ctx, tok, headers...)
}

// TestCodeReplayedWhileTheExchangeSigns: a code presented again while its
// first exchange is signing the tokens is refused, and the first exchange
// learns of it after signing: it hands out nothing, and the access token it
// made is revoked (with the refresh token family, for a client that has
// them).
func TestCodeReplayedWhileTheExchangeSigns(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		codes, err := auth.NewCodeStore(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		kek, _ := keys.GenerateKEK()
		ks, err := keys.New(ctx, db.DB.DB, "auth/citizen", kek)
		require.NoError(t, err)

		codeOnly := webClient()
		codeOnly.ID, codeOnly.GrantTypes = "code-agency", []string{auth.GrantAuthorizationCode}
		for _, c := range []auth.Client{codeOnly, webClient()} {
			t.Run(c.ID, func(t *testing.T) {
				_, secret, err := reg.Create(ctx, c)
				require.NoError(t, err)
				hooked := &signHook{Manager: ks}
				p, err := auth.NewProvider(ctx, auth.ProviderConfig{Issuer: benchIssuer, Keys: hooked, Clients: reg, Codes: codes})
				require.NoError(t, err)
				h := p.Handler()
				g := grant()
				g.ClientID = c.ID
				code, err := codes.Create(ctx, g)
				require.NoError(t, err)
				exchange := func() *httptest.ResponseRecorder {
					r := httptest.NewRequest("POST", "/token", strings.NewReader(url.Values{"grant_type": {"authorization_code"},
						"code": {code}, "redirect_uri": {g.RedirectURI}, "code_verifier": {verifier}}.Encode()))
					r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					r.SetBasicAuth(c.ID, secret)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					return w
				}
				var replay *httptest.ResponseRecorder
				hooked.hook = func() { replay = exchange() }

				first := exchange()
				require.NotNil(t, replay)
				assert.Equal(t, http.StatusBadRequest, replay.Code, replay.Body.String())
				assert.Contains(t, replay.Body.String(), "invalid_grant")
				assert.Equal(t, http.StatusBadRequest, first.Code, "the first exchange hands out nothing: %s", first.Body.String())
				assert.Contains(t, first.Body.String(), "invalid_grant")
				assert.NotContains(t, first.Body.String(), "access_token")
				var revoked int
				require.NoError(t, db.DB.DB.QueryRowContext(ctx,
					`SELECT COUNT(*) FROM auth_revoked_tokens WHERE client_id = $1`, c.ID).Scan(&revoked))
				assert.Equal(t, 1, revoked, "the access token signed for the first exchange is revoked")
			})
		}
	})
}
