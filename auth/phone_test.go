package auth_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sms"
)

// phoneClient is a client content with a password that may ask for the
// mobile number.
func phoneClient(id string) auth.Client {
	c := lowClient(id)
	c.Scopes = []string{"openid", "profile", auth.ScopePhone}
	return c
}

// TestPhoneScopeReleasesTheVerifiedMobile: with the "phone" scope a
// client learns the mobile number in the contact registry, in E.164 and
// marked verified, at UserInfo; without the scope, or for a client not
// registered for it, nothing; a number not yet confirmed is never
// released; a pairwise client gets the same number for its own
// identifier.
func TestPhoneScopeReleasesTheVerifiedMobile(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newSigninFixture(t, db, func(c *auth.ProviderConfig) { c.PairwiseSecret = []byte(strings.Repeat("p", 32)) })
		pairwise := phoneClient("phone-pairwise")
		pairwise.SubjectType, pairwise.SectorIdentifier = auth.SubjectPairwise, "health.example.gr"
		for _, c := range []auth.Client{phoneClient("phone-agency"), pairwise} {
			_, secret, err := f.reg.Create(ctx, c)
			require.NoError(t, err)
			f.secrets[c.ID] = secret
		}
		withScope := func(client, scope string) url.Values {
			q := authorizeParams(client)
			q.Set("scope", scope)
			return q
		}

		b := f.browser(t)
		tr := f.exchange(t, "phone-agency", b.signIn(withScope("phone-agency", "openid phone"), true, false).Get("code"))
		assert.Equal(t, "openid phone", tr.Scope)
		info := clientGetUserInfo(t, f, tr.AccessToken)
		assert.Equal(t, map[string]any{"sub": f.citizen.ID, "phone_number": citizenMobile, "phone_number_verified": true}, info,
			"the scope releases the number and nothing else")
		_, inIDToken := f.idToken(t, tr.IDToken).Get("phone_number")
		assert.False(t, inIDToken, "like profile's claims, the number is released at UserInfo, with the access token issued")

		// Without the scope the same client learns nothing of the number.
		tr = f.exchange(t, "phone-agency", callback(t, b.authorize(withScope("phone-agency", "openid profile"))).Get("code"))
		info = clientGetUserInfo(t, f, tr.AccessToken)
		assert.Equal(t, "Μαρία", info["given_name"])
		assert.NotContains(t, info, "phone_number")
		assert.NotContains(t, info, "phone_number_verified")

		// A client not registered for the scope may not ask for it.
		cb := callback(t, b.authorize(withScope("low-agency", "openid phone")))
		assert.Equal(t, "invalid_scope", cb.Get("error"))
		assert.Empty(t, cb.Get("code"))

		// A pairwise client gets the number for its own identifier.
		tr = f.exchange(t, "phone-pairwise", callback(t, b.authorize(withScope("phone-pairwise", "openid phone"))).Get("code"))
		info = clientGetUserInfo(t, f, tr.AccessToken)
		assert.NotEqual(t, f.citizen.ID, info["sub"])
		assert.Equal(t, f.idToken(t, tr.IDToken).Subject(), info["sub"])
		assert.Equal(t, citizenMobile, info["phone_number"])
		assert.Equal(t, true, info["phone_number_verified"])

		// A new number on its way to being confirmed is not released: the
		// verified one is, until the code confirms the new one.
		_, err := f.contacts.StartMobileVerification(ctx, f.citizen.ID, "6900000001")
		require.NoError(t, err)
		tr = f.exchange(t, "phone-agency", callback(t, b.authorize(withScope("phone-agency", "openid phone"))).Get("code"))
		assert.Equal(t, citizenMobile, clientGetUserInfo(t, f, tr.AccessToken)["phone_number"])

		// A person whose only number was never confirmed gets no phone
		// claim at all.
		nikos, err := f.accounts.CreateCitizen(ctx, auth.Citizen{Username: "nikos.a", AFM: "090000045", AMKA: "01017012343",
			GivenName: "Νίκος", FamilyName: "Αλεξίου", FatherName: "Ιωάννης", MotherName: "Άννα", BirthDate: "1970-01-01"}, "another long password")
		require.NoError(t, err)
		_, err = f.contacts.StartMobileVerification(ctx, nikos.ID, "+306900000002")
		require.NoError(t, err)
		other := f.browser(t)
		p := other.authorize(withScope("phone-agency", "openid phone"))
		require.Equal(t, http.StatusOK, p.Status, p.Body)
		p = other.post("/login", url.Values{"tx": {tx(t, p)}, "username": {"nikos.a"}, "password": {"another long password"}})
		tr = f.exchange(t, "phone-agency", callback(t, p).Get("code"))
		info = clientGetUserInfo(t, f, tr.AccessToken)
		assert.Equal(t, map[string]any{"sub": nikos.ID}, info)
	})
}

// TestServantPhone: the servants' realm releases a servant's verified
// mobile number the same way.
func TestServantPhone(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		acc, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
		require.NoError(t, err)
		s, err := acc.CreateServant(ctx, auth.Servant{Username: "clerk", GivenName: "Νίκος", FamilyName: "Αλεξίου"}, "clerk-password")
		require.NoError(t, err)
		f := newUserinfoFixture(t, db, "servant", acc, func(c *auth.ProviderConfig) {
			otps, err := auth.NewOneTimeCodes(ctx, db.DB.DB, []byte(strings.Repeat("k", 32)), &sms.Outbox{})
			require.NoError(t, err)
			c.Contacts, err = auth.NewContactRegistry(ctx, db.DB.DB, otps, &sms.Outbox{})
			require.NoError(t, err)
			c.OneTimeCodes = otps
			_, err = c.Contacts.ImportMobile(ctx, s.ID, "+30 691 000 0003", "test")
			require.NoError(t, err)
		})
		status, claims, _ := f.userinfo(t, f.accessToken(t, s.ID, "openid", auth.ScopePhone))
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, "+306910000003", claims["phone_number"])
		assert.Equal(t, true, claims["phone_number_verified"])
		status, claims, _ = f.userinfo(t, f.accessToken(t, s.ID, "openid"))
		require.Equal(t, http.StatusOK, status)
		assert.NotContains(t, claims, "phone_number")
	})
}

func TestDiscoveryAnnouncesPhone(t *testing.T) {
	f := newSigninFixture(t, sqltest.SQLite(t))
	var doc struct {
		Scopes []string `json:"scopes_supported"`
		Claims []string `json:"claims_supported"`
	}
	resp, err := http.Get(f.issuer + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	assert.Contains(t, doc.Scopes, auth.ScopePhone)
	assert.Contains(t, doc.Claims, "phone_number")
	assert.Contains(t, doc.Claims, "phone_number_verified")
}
