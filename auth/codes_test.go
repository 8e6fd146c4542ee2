package auth_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// The RFC 7636 appendix B pair.
const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

func grant() auth.Grant {
	return auth.Grant{ClientID: "demo-agency", RedirectURI: "https://agency.example.gr/callback", Subject: "citizen-7f3a",
		Scopes: []string{"openid"}, Nonce: "n-0S6", ACR: auth.LoASubstantial, AMR: []string{"pwd", "sms"},
		AuthTime: testclock.Start, CodeChallenge: challenge}
}

func TestCodeStore(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		s, err := auth.NewCodeStore(ctx, db.DB.DB, "citizen", auth.WithClock(clock.Now))
		require.NoError(t, err)

		code, err := s.Create(ctx, grant())
		require.NoError(t, err)
		assert.Len(t, code, 43)
		for _, row := range db.Dump(t, "SELECT * FROM auth_codes") {
			assert.NotContains(t, row, code, "only the hash is stored")
		}

		for name, try := range map[string][3]string{
			"other client":                  {"other-client", "https://agency.example.gr/callback", verifier},
			"other redirect":                {"demo-agency", "https://agency.example.gr/other", verifier},
			"wrong verifier":                {"demo-agency", "https://agency.example.gr/callback", verifier[:42] + "x"},
			"challenge as verifier (plain)": {"demo-agency", "https://agency.example.gr/callback", challenge},
			"short verifier":                {"demo-agency", "https://agency.example.gr/callback", "abc"},
		} {
			_, err := s.Redeem(ctx, code, try[0], try[1], try[2])
			assert.ErrorIs(t, err, auth.ErrInvalidGrant, name)
		}
		_, err = s.Redeem(ctx, "unknown-code", "demo-agency", "https://agency.example.gr/callback", verifier)
		assert.ErrorIs(t, err, auth.ErrInvalidGrant)

		g, err := s.Redeem(ctx, code, "demo-agency", "https://agency.example.gr/callback", verifier)
		require.NoError(t, err)
		assert.Equal(t, grant(), g)
		issued := []auth.IssuedToken{{JTI: "at-1", ExpiresAt: clock.Now().Add(10 * time.Minute).UTC()}}
		require.NoError(t, s.RecordTokens(ctx, code, issued...))

		_, err = s.Redeem(ctx, code, "demo-agency", "https://agency.example.gr/callback", verifier)
		assert.ErrorIs(t, err, auth.ErrCodeReused)
		var re *auth.ReusedCodeError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "demo-agency", re.ClientID)
		assert.Equal(t, issued, re.Tokens, "the tokens to revoke")

		// Codes live 60 seconds.
		late, err := s.Create(ctx, grant())
		require.NoError(t, err)
		clock.Advance(auth.CodeLifetime)
		_, err = s.Redeem(ctx, late, "demo-agency", "https://agency.example.gr/callback", verifier)
		assert.ErrorIs(t, err, auth.ErrInvalidGrant)

		n, err := s.Purge(ctx, clock.Now().Add(time.Second))
		require.NoError(t, err)
		assert.Equal(t, int64(2), n)

		bad := grant()
		bad.CodeChallenge = "plain-value"
		_, err = s.Create(ctx, bad)
		assert.Error(t, err)
	})
}

// TestCodeRedeemedOnTwoInstancesAtOnce: exactly one redemption succeeds;
// every other sees the reuse.
func TestCodeRedeemedOnTwoInstancesAtOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		a, err := auth.NewCodeStore(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		b, err := auth.NewCodeStore(ctx, db.OpenAnother(t), "citizen")
		require.NoError(t, err)
		for round := 0; round < 3; round++ {
			code, err := a.Create(ctx, grant())
			require.NoError(t, err)
			var ok, reused atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := 0; i < 16; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, err := []*auth.CodeStore{a, b}[i%2].Redeem(context.Background(), code, "demo-agency", "https://agency.example.gr/callback", verifier)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, auth.ErrCodeReused):
						reused.Add(1)
					default:
						t.Errorf("unexpected: %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int32(1), ok.Load())
			assert.Equal(t, int32(15), reused.Load())
		}
	})
}
