package main

import (
	"context"
	"database/sql"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/examples/agency/agency"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/sms"
	"github.com/egovkit/egovkit/sqldb"
)

// TestPopulationNumbers: every citizen -demo-citizens can create has a
// valid tax number (check digit included), social security number and
// Greek mobile number, none shared with another or with a demo account.
func TestPopulationNumbers(t *testing.T) {
	afms := map[string]int{demoCitizenAFM: 0, demoCitizen2AFM: 0}
	mobiles := map[string]int{demoMobile: 0, demoMobile2: 0, demoServantMobile: 0, demoApproverMobile: 0}
	users := map[string]bool{}
	for i := 1; i <= maxDemoCitizens; i++ {
		c := populationCitizen(i)
		require.True(t, ident.ValidAFM(c.AFM), "citizen %d: AFM %s", i, c.AFM)
		require.True(t, ident.ValidAMKA(c.AMKA), "citizen %d: AMKA %s", i, c.AMKA)
		require.Equal(t, c.BirthDate[8:10]+c.BirthDate[5:7]+c.BirthDate[2:4], c.AMKA[:6], "the AMKA starts with the birth date")
		m, err := auth.NormalizeMobile(populationMobile(i))
		require.NoError(t, err, "citizen %d", i)
		require.Equal(t, populationMobile(i), m, "already in E.164")
		if j, dup := afms[c.AFM]; dup {
			t.Fatalf("citizens %d and %d share the AFM %s", i, j, c.AFM)
		}
		if j, dup := mobiles[m]; dup {
			t.Fatalf("citizens %d and %d share the mobile %s", i, j, m)
		}
		afms[c.AFM], mobiles[m] = i, i
		require.False(t, users[c.Username])
		users[c.Username] = true
		r := populationRecord(i)
		require.Equal(t, c.AFM, r.TaxNumber)
		require.Contains(t, []string{"single", "married", "divorced", "widowed"}, r.MaritalStatus)
	}
	assert.Equal(t, "citizen00001", populationUsername(1))
	assert.Equal(t, "citizen10000", populationUsername(maxDemoCitizens))
	recs := demoRecords(3)
	require.Len(t, recs, len(journeyCitizens)+3)
	assert.Equal(t, demoCitizenAFM, recs[0].TaxNumber)
	assert.Equal(t, populationAFM(3), recs[len(recs)-1].TaxNumber)
}

// TestDemoPopulation: -demo-citizens creates the generated citizens once,
// each signing in with the published password, hashed apart at the
// configured cost, with its mobile number; a second start creates none, a
// larger number only the missing ones. On SQLite, and on PostgreSQL when
// its DSN is set.
func TestDemoPopulation(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dataDir := filepath.Join(t.TempDir(), "data")
		testDemoPopulation(t, dataDir, "sqlite:"+filepath.Join(dataDir, "egovkit.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		db := sqltest.Postgres(t)
		testDemoPopulation(t, filepath.Join(t.TempDir(), "data"), db.URL)
	})
}

func testDemoPopulation(t *testing.T, dataDir, dbURL string) {
	start := func(n string) string {
		return runLogged(t, "-data", dataDir, "-db", dbURL, "-demo", "-demo-citizens", n)
	}
	first := start("3")
	assert.Contains(t, first, `"created": 3`)
	assert.Contains(t, first, `"first": "citizen00001", "last": "citizen00003", "password": "citizen-password"`, "the population is printed")
	assert.Contains(t, first, "citizen00001 … / "+populationPassword, "and named among the published credentials")
	assert.NotContains(t, first, populationAFM(1), "tax numbers are not logged unmasked")
	again := start("3")
	assert.Contains(t, again, `"created": 0`, "a second start creates nobody")
	assert.NotContains(t, again, "creating demo citizens")
	more := start("5")
	assert.Contains(t, more, `"missing": 2`)
	assert.Contains(t, more, `"created": 2`, "a larger population adds the missing citizens only")

	ctx := context.Background()
	kek, _, err := loadOrCreateKEK(config{DataDir: dataDir})
	require.NoError(t, err)
	db, err := sqldb.Open(ctx, dbURL, nil)
	require.NoError(t, err)
	defer db.Close()
	a, err := newApp(ctx, appConfig{DB: db, KEK: kek, BaseURL: "http://127.0.0.1:8080", SMS: &sms.Outbox{}})
	require.NoError(t, err)
	defer a.Close()
	ids := map[string]bool{}
	for i := 1; i <= 5; i++ {
		c, err := a.accounts.CheckCitizenPassword(ctx, populationUsername(i), populationPassword)
		require.NoError(t, err, "citizen %d signs in with the published password", i)
		assert.Equal(t, populationAFM(i), c.AFM)
		assert.True(t, ident.ValidAFM(c.AFM))
		assert.NotContains(t, []string{demoCitizenAFM, demoCitizen2AFM}, c.AFM)
		assert.Equal(t, populationCitizen(i).FamilyName, c.FamilyName)
		contact, err := a.contacts.Get(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, populationMobile(i), contact.Mobile)
		ids[c.ID] = true
	}
	assert.Len(t, ids, 5)
	_, err = a.accounts.CheckCitizenPassword(ctx, populationUsername(6), populationPassword)
	assert.ErrorIs(t, err, auth.ErrBadCredentials, "no more than asked for")

	// Each account has a hash of its own, with its own salt, at the cost
	// new hashes are made with.
	hashes := populationHashes(t, db)
	require.Len(t, hashes, 5)
	seen := map[string]bool{}
	for _, h := range hashes {
		assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$"), h)
		salt := strings.Split(h, "$")[4]
		assert.False(t, seen[salt], "no two hashes share a salt")
		seen[salt] = true
	}
}

// populationHashes reads the generated citizens' stored password hashes.
func populationHashes(t *testing.T, db *sql.DB) []string {
	rows, err := db.QueryContext(context.Background(), `SELECT password_hash FROM auth_citizens WHERE username LIKE 'citizen%' ORDER BY username`)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		require.NoError(t, rows.Scan(&h))
		out = append(out, h)
	}
	require.NoError(t, rows.Err())
	return out
}

// TestPopulationInRegistry: the journey's registry, started in process,
// holds a record of each generated citizen: the consent pages' preview,
// fetched through the gateway as the portal's consumer, reads it.
func TestPopulationInRegistry(t *testing.T) {
	base, dataDir := startPortal(t, "-demo", "-demo-citizens", "2")
	key, _, err := agency.LoadOrCreateKey(filepath.Join(dataDir, "preview-key.pem"))
	require.NoError(t, err)
	preview, err := newJourneyPreview(appConfig{BaseURL: base, Journey: &demoJourney{previewKey: key}}, zap.NewNop())
	require.NoError(t, err)
	items := []consent.Item{{ID: "marital_status"}, {ID: "spouse"}, {ID: "children"}}
	for i := 1; i <= 2; i++ {
		got, err := preview.Preview(t.Context(), consent.PreviewQuery{TaxNumber: populationAFM(i), Source: journeySource, Items: items})
		require.NoError(t, err, "citizen %d", i)
		rec := populationRecord(i)
		require.Len(t, got, 3)
		assert.Equal(t, consent.PreviewValue{Item: "marital_status", Value: rec.MaritalStatus}, got[0])
		if rec.Spouse != "" {
			assert.Equal(t, rec.Spouse, got[1].Value)
		}
	}
	_, err = preview.Preview(t.Context(), consent.PreviewQuery{TaxNumber: populationAFM(3), Source: journeySource, Items: items})
	assert.ErrorContains(t, err, "404", "a citizen beyond -demo-citizens has no record")
}

// TestDemoPopulationConflict: a generated citizen's user name held by
// another account stops the start with an error that names it.
func TestDemoPopulationConflict(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	seedCitizen(t, dataDir, populationUsername(1), "another-password", "+306955555555")
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-data", dataDir, "-demo", "-demo-citizens", "2"}, env(nil), io.Discard, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "demo citizen citizen00001: another account holds its user name or tax number")
}
