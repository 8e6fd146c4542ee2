package auth_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
)

const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B

func lookupOf(clients ...auth.Client) auth.ClientLookup {
	return func(_ context.Context, id string) (auth.Client, error) {
		for _, c := range clients {
			if c.ID == id {
				return c, nil
			}
		}
		return auth.Client{}, auth.ErrClientNotFound
	}
}

func goodAuthorize() url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {"demo-agency"}, "redirect_uri": {"https://agency.example.gr/callback"},
		"scope": {"openid profile"}, "state": {"af0ifjsldkj"}, "nonce": {"n-0S6_WzA2Mj"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"},
	}
}

func TestParseAuthorizeRequest(t *testing.T) {
	client := webClient()
	require.NoError(t, client.Validate())
	par := webClient()
	par.ID, par.RequirePAR = "par-client", true
	require.NoError(t, par.Validate())
	machine := newJWTClient(t, "machine").client
	disabled := webClient()
	disabled.ID, disabled.Disabled = "disabled-client", true
	lookup := lookupOf(client, par, machine, disabled)
	ctx := context.Background()

	req, err := auth.ParseAuthorizeRequest(ctx, goodAuthorize(), lookup, true)
	require.NoError(t, err)
	assert.Equal(t, []string{"openid", "profile"}, req.Scopes)
	assert.Equal(t, "af0ifjsldkj", req.State)
	assert.Equal(t, -1, req.MaxAge)
	assert.Equal(t, auth.LoASubstantial, req.RequiredACR(), "the client's registered minimum")

	loopback := goodAuthorize()
	loopback.Set("redirect_uri", "http://127.0.0.1:49152/callback")
	_, err = auth.ParseAuthorizeRequest(ctx, loopback, lookup, true)
	var ae *auth.AuthorizeError
	require.ErrorAs(t, err, &ae, "a confidential client's loopback URI matches exactly")
	assert.False(t, ae.Redirect, "never sent to an unregistered address")
	native := auth.Client{ID: "native-app", Name: "Native app", AuthMethod: auth.AuthNone,
		GrantTypes: []string{auth.GrantAuthorizationCode}, RedirectURIs: []string{"http://127.0.0.1:8090/callback"},
		Scopes: []string{"openid", "profile"}}
	require.NoError(t, native.Validate())
	loopback.Set("client_id", "native-app")
	_, err = auth.ParseAuthorizeRequest(ctx, loopback, lookupOf(native), true)
	assert.NoError(t, err, "any port on loopback for a native app")

	type want struct {
		code     string
		redirect bool
	}
	cases := map[string]struct {
		edit func(url.Values)
		want want
	}{
		"no client":                 {func(q url.Values) { q.Del("client_id") }, want{"invalid_request", false}},
		"unknown client":            {func(q url.Values) { q.Set("client_id", "nobody") }, want{"invalid_client", false}},
		"disabled client":           {func(q url.Values) { q.Set("client_id", "disabled-client") }, want{"invalid_client", false}},
		"no redirect":               {func(q url.Values) { q.Del("redirect_uri") }, want{"invalid_request", false}},
		"mismatched redirect":       {func(q url.Values) { q.Set("redirect_uri", "https://agency.example.gr/callback/evil") }, want{"invalid_request", false}},
		"redirect with extra query": {func(q url.Values) { q.Set("redirect_uri", "https://agency.example.gr/callback?x=1") }, want{"invalid_request", false}},
		"repeated parameter":        {func(q url.Values) { q["state"] = []string{"a", "b"} }, want{"invalid_request", false}},
		"implicit flow":             {func(q url.Values) { q.Set("response_type", "token") }, want{"unsupported_response_type", true}},
		"hybrid flow":               {func(q url.Values) { q.Set("response_type", "code id_token") }, want{"unsupported_response_type", true}},
		"no response type":          {func(q url.Values) { q.Del("response_type") }, want{"invalid_request", true}},
		"fragment mode":             {func(q url.Values) { q.Set("response_mode", "fragment") }, want{"invalid_request", true}},
		"missing PKCE":              {func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, want{"invalid_request", true}},
		"plain PKCE":                {func(q url.Values) { q.Set("code_challenge_method", "plain") }, want{"invalid_request", true}},
		"PKCE without method":       {func(q url.Values) { q.Del("code_challenge_method") }, want{"invalid_request", true}},
		"malformed challenge":       {func(q url.Values) { q.Set("code_challenge", "short") }, want{"invalid_request", true}},
		"verifier sent as challenge": {func(q url.Values) {
			q.Set("code_challenge", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"+"x")
		}, want{"invalid_request", true}},
		"no openid":          {func(q url.Values) { q.Set("scope", "profile") }, want{"invalid_scope", true}},
		"scope not allowed":  {func(q url.Values) { q.Set("scope", "openid admin") }, want{"invalid_scope", true}},
		"unknown acr":        {func(q url.Values) { q.Set("acr_values", "urn:gold") }, want{"invalid_request", true}},
		"bad max_age":        {func(q url.Values) { q.Set("max_age", "-5") }, want{"invalid_request", true}},
		"prompt none+login":  {func(q url.Values) { q.Set("prompt", "none login") }, want{"invalid_request", true}},
		"unknown prompt":     {func(q url.Values) { q.Set("prompt", "create") }, want{"invalid_request", true}},
		"request object":     {func(q url.Values) { q.Set("request", "eyJ...") }, want{"request_not_supported", true}},
		"huge state":         {func(q url.Values) { q.Set("state", strings.Repeat("s", 600)) }, want{"invalid_request", true}},
		"state with newline": {func(q url.Values) { q.Set("state", "a\nb") }, want{"invalid_request", true}},
		"huge parameter":     {func(q url.Values) { q.Set("login_hint", strings.Repeat("h", 3000)) }, want{"invalid_request", false}},
		"machine client":     {func(q url.Values) { q.Set("client_id", "machine") }, want{"invalid_request", false}},
		"PAR required":       {func(q url.Values) { q.Set("client_id", "par-client") }, want{"invalid_request", true}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			q := goodAuthorize()
			tc.edit(q)
			_, err := auth.ParseAuthorizeRequest(ctx, q, lookup, true)
			var ae *auth.AuthorizeError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, tc.want.code, ae.Code)
			assert.Equal(t, tc.want.redirect, ae.Redirect)
			uri := ae.ErrorURI("https://id.example.gr/auth/citizen")
			if !tc.want.redirect {
				assert.Empty(t, uri, "never sent to an untrusted redirect URI")
				return
			}
			u, err := url.Parse(uri)
			require.NoError(t, err)
			assert.Equal(t, "agency.example.gr", u.Host)
			assert.Equal(t, tc.want.code, u.Query().Get("error"))
			assert.Equal(t, "https://id.example.gr/auth/citizen", u.Query().Get("iss"), "RFC 9207")
			if s := q.Get("state"); len(s) <= 512 && !strings.Contains(s, "\n") {
				assert.Equal(t, s, u.Query().Get("state"))
			} else {
				assert.Empty(t, u.Query().Get("state"), "an unusable state is not echoed")
			}
		})
	}

	// A request read back from the PAR store is accepted for a PAR client.
	q := goodAuthorize()
	q.Set("client_id", "par-client")
	_, err = auth.ParseAuthorizeRequest(ctx, q, lookup, false)
	assert.NoError(t, err)

	// A store failure is not a client error.
	boom := errors.New("database down")
	_, err = auth.ParseAuthorizeRequest(ctx, goodAuthorize(), func(context.Context, string) (auth.Client, error) { return auth.Client{}, boom }, true)
	assert.ErrorIs(t, err, boom)
}

func TestRequiredACR(t *testing.T) {
	c := webClient()
	c.MinACR = ""
	r := &auth.AuthorizeRequest{Client: c}
	assert.Equal(t, auth.LoALow, r.RequiredACR())
	r.ACRValues = []string{auth.LoAHigh, auth.LoASubstantial}
	assert.Equal(t, auth.LoASubstantial, r.RequiredACR(), "any listed level will do: the lowest counts")
	r.Client.MinACR = auth.LoAHigh
	assert.Equal(t, auth.LoAHigh, r.RequiredACR(), "never below the client's minimum")
}

func FuzzParseAuthorizeRequest(f *testing.F) {
	client := webClient()
	_ = client.Validate()
	lookup := lookupOf(client)
	f.Add(goodAuthorize().Encode())
	f.Add("client_id=demo-agency&redirect_uri=https%3A%2F%2Fagency.example.gr%2Fcallback")
	f.Add("response_type=code&client_id=demo-agency&redirect_uri=http%3A%2F%2F127.0.0.1%3A1%2Fcallback&scope=openid&code_challenge=" + challenge + "&code_challenge_method=S256&state=%00")
	f.Add("%zz&&==")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		req, err := auth.ParseAuthorizeRequest(context.Background(), q, lookup, true)
		if err == nil {
			if req.CodeChallengeMethod != "S256" || !client.RedirectURIAllowed(req.RedirectURI) || !slices.Contains(req.Scopes, "openid") {
				t.Fatalf("accepted a request that breaks the rules: %+v", req)
			}
			return
		}
		var ae *auth.AuthorizeError
		if !errors.As(err, &ae) {
			t.Fatalf("untyped error %v", err)
		}
		if ae.Redirect && !client.RedirectURIAllowed(ae.RedirectURI) {
			t.Fatalf("would redirect an error to an unregistered URI %q", ae.RedirectURI)
		}
	})
}
