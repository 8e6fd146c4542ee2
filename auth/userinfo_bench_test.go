package auth_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// BenchmarkDeclarantLookup times what a service that trusts the citizens'
// provider in process asks it on every request carrying an access token,
// as the example portal does before each call to the declarations API:
// UserInfo for a token with the scopes openid, profile, gr_identity and
// phone (the token checked, its revocation looked up, the client read, the
// citizen and their verified mobile read), then the citizen's account by
// tax number and their contact details. On SQLite, one caller; cpu-ns/op
// is the CPU time of the whole process per lookup.
//
//	go test -run '^$' -bench DeclarantLookup -benchmem -count 5 ./auth/
func BenchmarkDeclarantLookup(b *testing.B) {
	ctx := b.Context()
	db := sqltest.SQLite(b)
	acc, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
	require.NoError(b, err)
	c, err := acc.CreateCitizen(ctx, maria(), "σωστός κωδικός")
	require.NoError(b, err)
	outbox := otp.NewOutbox(0)
	codes, err := otp.New(ctx, db.DB.DB, []byte("0123456789abcdef0123456789abcdef"), outbox)
	require.NoError(b, err)
	contacts, err := auth.NewContactRegistry(ctx, db.DB.DB, auth.OneTimeCodesOf(codes), outbox)
	require.NoError(b, err)
	_, err = contacts.ImportMobile(ctx, c.ID, "+306912345678", "benchmark")
	require.NoError(b, err)
	f := newUserinfoFixture(b, db, "citizen", acc, func(cfg *auth.ProviderConfig) {
		cfg.OneTimeCodes, cfg.Contacts = auth.OneTimeCodesOf(codes), contacts
	})
	tok := f.accessToken(b, c.ID, "openid", "profile", auth.ScopeGreekIdentity, auth.ScopePhone)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		claims, err := f.p.UserInfo(ctx, tok)
		if err != nil {
			b.Fatal(err)
		}
		afm, _ := claims["afm"].(string)
		who, err := acc.CitizenByAFM(ctx, afm)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := contacts.Get(ctx, who.ID); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}
