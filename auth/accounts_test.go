package auth_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

var fastParams = auth.PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func maria() auth.Citizen {
	return auth.Citizen{Username: "Maria.P", AFM: "EL 123456783", AMKA: "15038501233", GivenName: "Μαρία", FamilyName: "Παπαδοπούλου",
		FatherName: "Γεώργιος", MotherName: "Ελένη", BirthDate: "1985-03-15"}
}

func TestCitizenAccounts(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		acc, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
		require.NoError(t, err)

		c, err := acc.CreateCitizen(ctx, maria(), "σωστός κωδικός")
		require.NoError(t, err)
		assert.Equal(t, "123456783", c.AFM, "normalised")
		assert.Len(t, c.ID, 24)
		_, err = acc.CreateCitizen(ctx, maria(), "σωστός κωδικός")
		assert.ErrorIs(t, err, auth.ErrAccountExists)
		sameAFM := maria()
		sameAFM.Username = "someone-else"
		_, err = acc.CreateCitizen(ctx, sameAFM, "σωστός κωδικός")
		assert.ErrorIs(t, err, auth.ErrAccountExists, "one account per tax number")

		for name, edit := range map[string]func(*auth.Citizen){
			"bad afm":      func(c *auth.Citizen) { c.AFM = "123456784" },
			"bad username": func(c *auth.Citizen) { c.Username = "a b" },
			"bad amka":     func(c *auth.Citizen) { c.AMKA = "15038501234" },
			"no name":      func(c *auth.Citizen) { c.FamilyName = " " },
			"bad birthday": func(c *auth.Citizen) { c.BirthDate = "15/03/1985" },
		} {
			x := maria()
			x.AFM, x.Username = "090000008", "other"
			edit(&x)
			_, err := acc.CreateCitizen(ctx, x, "σωστός κωδικός")
			assert.ErrorIs(t, err, auth.ErrAccountInvalid, name)
		}
		x := maria()
		x.AFM, x.Username = "090000008", "other"
		_, err = acc.CreateCitizen(ctx, x, "short")
		assert.ErrorIs(t, err, auth.ErrPasswordTooShort)

		got, err := acc.CheckCitizenPassword(ctx, " MARIA.P ", "σωστός κωδικός")
		require.NoError(t, err)
		assert.Equal(t, c.ID, got.ID)
		assert.Equal(t, "maria.p", got.Username)
		for _, tc := range [][2]string{{"maria.p", "λάθος κωδικός"}, {"nobody", "σωστός κωδικός"}, {"123456783", "σωστός κωδικός"}} {
			_, err := acc.CheckCitizenPassword(ctx, tc[0], tc[1])
			assert.ErrorIs(t, err, auth.ErrBadCredentials, "one answer for every failure")
		}
		byAFM, err := acc.CitizenByAFM(ctx, "EL123456783")
		require.NoError(t, err)
		assert.Equal(t, c.ID, byAFM.ID)
		_, err = acc.CitizenByAFM(ctx, "090000008")
		assert.ErrorIs(t, err, auth.ErrNoSuchAccount)
		_, err = acc.CitizenByAFM(ctx, "garbage")
		assert.ErrorIs(t, err, auth.ErrNoSuchAccount)
		byID, err := acc.Citizen(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, "Μαρία", byID.GivenName)
		_, err = acc.Citizen(ctx, "nobody")
		assert.ErrorIs(t, err, auth.ErrNoSuchAccount)

		// A stronger cost upgrades the stored hash at the next sign-in.
		stronger, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(auth.PasswordParams{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}))
		require.NoError(t, err)
		_, err = stronger.CheckCitizenPassword(ctx, "maria.p", "σωστός κωδικός")
		require.NoError(t, err)
		rows := db.Dump(t, "SELECT password_hash FROM auth_citizens WHERE afm = '123456783'")
		require.Len(t, rows, 1)
		assert.Contains(t, rows[0], "m=128,")
		for _, row := range db.Dump(t, "SELECT * FROM auth_citizens") {
			assert.NotContains(t, row, "σωστός κωδικός")
		}
	})
}

func TestServantsAndAuthorizations(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		acc, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams), auth.WithClock(clock.Now))
		require.NoError(t, err)
		s, err := acc.CreateServant(ctx, auth.Servant{Username: " Clerk ", GivenName: "Νίκος", FamilyName: "Αλεξίου"}, "clerk-password")
		require.NoError(t, err)
		assert.Equal(t, "clerk", s.Username)
		_, err = acc.CreateServant(ctx, auth.Servant{Username: "clerk", GivenName: "Α", FamilyName: "Β"}, "another-password")
		assert.ErrorIs(t, err, auth.ErrAccountExists)
		_, err = acc.CreateServant(ctx, auth.Servant{Username: "a b", GivenName: "Α", FamilyName: "Β"}, "another-password")
		assert.ErrorIs(t, err, auth.ErrAccountInvalid)

		_, err = acc.CheckServantPassword(ctx, "CLERK", "clerk-password")
		require.NoError(t, err)
		_, err = acc.CheckServantPassword(ctx, "clerk", "wrong-password")
		assert.ErrorIs(t, err, auth.ErrBadCredentials)
		_, err = acc.CheckServantPassword(ctx, "nobody", "clerk-password")
		assert.ErrorIs(t, err, auth.ErrBadCredentials)

		z, err := acc.Grant(ctx, auth.Authorization{ServantID: s.ID, Agency: "Δήμος Θεσσαλονίκης", Service: "protocol",
			Role: "registrar", GrantedBy: "head-of-unit", ValidUntil: clock.Now().Add(30 * 24 * time.Hour)})
		require.NoError(t, err)
		later, err := acc.Grant(ctx, auth.Authorization{ServantID: s.ID, Agency: "ΑΑΔΕ", Service: "registry", Role: "reader",
			GrantedBy: "director", ValidFrom: clock.Now().Add(time.Hour)})
		require.NoError(t, err)
		_, err = acc.Grant(ctx, auth.Authorization{ServantID: "nobody", Agency: "a", Service: "s", Role: "r", GrantedBy: "g"})
		assert.ErrorIs(t, err, auth.ErrNoSuchAccount)
		_, err = acc.Grant(ctx, auth.Authorization{ServantID: s.ID, Agency: "a", Service: "s", Role: "r", GrantedBy: "g",
			ValidFrom: clock.Now(), ValidUntil: clock.Now()})
		assert.ErrorIs(t, err, auth.ErrAccountInvalid)

		active := func(at time.Time) []string {
			zs, err := acc.ActiveAuthorizations(ctx, s.ID, at)
			require.NoError(t, err)
			var out []string
			for _, z := range zs {
				out = append(out, z.Agency+"/"+z.Service+"/"+z.Role)
			}
			return out
		}
		assert.Equal(t, []string{"Δήμος Θεσσαλονίκης/protocol/registrar"}, active(clock.Now()))
		assert.Equal(t, []string{"ΑΑΔΕ/registry/reader", "Δήμος Θεσσαλονίκης/protocol/registrar"}, active(clock.Now().Add(2*time.Hour)))
		assert.Equal(t, []string{"ΑΑΔΕ/registry/reader"}, active(clock.Now().Add(31*24*time.Hour)), "expired ones drop out")

		// Revocation is seen at once, also through another pool.
		require.NoError(t, acc.RevokeAuthorization(ctx, z.ID))
		other, err := auth.NewAccounts(ctx, db.OpenAnother(t))
		require.NoError(t, err)
		zs, err := other.ActiveAuthorizations(ctx, s.ID, clock.Now().Add(2*time.Hour))
		require.NoError(t, err)
		require.Len(t, zs, 1)
		assert.Equal(t, later.ID, zs[0].ID)
		assert.ErrorIs(t, acc.RevokeAuthorization(ctx, z.ID), auth.ErrNoSuchAccount, "already revoked")
	})
}

func TestAccountLogsMaskIdentifiers(t *testing.T) {
	assert.Equal(t, "*******83", ident.MaskAFM("123456783"))
}

// TestCitizenReadFresh checks that the reads prepared when the accounts
// are opened see every later change: an account created afterwards, and a
// row changed behind the service's back, as another instance or an
// administrator would, are read as they are now.
func TestCitizenReadFresh(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		acc, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams))
		require.NoError(t, err)
		_, err = acc.CitizenByAFM(ctx, "123456783")
		assert.ErrorIs(t, err, auth.ErrNoSuchAccount)
		c, err := acc.CreateCitizen(ctx, maria(), "σωστός κωδικός")
		require.NoError(t, err)
		got, err := acc.CitizenByAFM(ctx, "123456783")
		require.NoError(t, err)
		assert.Equal(t, c.ID, got.ID)
		got, err = acc.Citizen(ctx, c.ID)
		require.NoError(t, err)
		assert.False(t, got.Disabled)

		_, err = db.DB.ExecContext(ctx, `UPDATE auth_citizens SET given_name = $1, afm = $2, disabled = $3 WHERE id = $4`,
			"Μαρίνα", "090000008", true, c.ID)
		require.NoError(t, err)
		got, err = acc.Citizen(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, "Μαρίνα", got.GivenName)
		assert.Equal(t, "090000008", got.AFM)
		assert.True(t, got.Disabled)
		_, err = acc.CitizenByAFM(ctx, "123456783")
		assert.ErrorIs(t, err, auth.ErrNoSuchAccount, "the old tax number is no one's now")
		got, err = acc.CitizenByAFM(ctx, "090000008")
		require.NoError(t, err)
		assert.Equal(t, c.ID, got.ID)
	})
}
