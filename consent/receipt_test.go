package consent_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

func receiptService(t *testing.T) (*consent.Service, consent.SigningKeys, *testclock.Clock) {
	t.Helper()
	db := sqltest.SQLite(t)
	clock := testclock.New()
	store, err := consent.NewSQLStore(t.Context(), db.DB.DB)
	require.NoError(t, err)
	keys, err := consent.NewSigningKeys(t.Context(), db.DB.DB, key)
	require.NoError(t, err)
	svc, err := consent.New(t.Context(), consent.Config{Store: store, SubjectKey: key, Keys: keys, Clock: clock.Now,
		Issuer: "https://consent.gov.example", PolicyURL: "https://gov.example/privacy", Withdrawal: "https://gov.example/consents"})
	require.NoError(t, err)
	return svc, keys, clock
}

// TestReceipt: a receipt carries the Kantara fields and verifies against
// the JWK Set the service publishes, with jwx here.
func TestReceipt(t *testing.T) {
	ctx := t.Context()
	svc, _, clock := receiptService(t)
	r, err := svc.Request(ctx, agency, draft(clock))
	require.NoError(t, err)
	_, err = svc.Receipt(ctx, citizen, r.ID)
	assert.ErrorIs(t, err, consent.ErrState, "a request not yet answered has no receipt")
	_, err = svc.Approve(ctx, citizen, r.ID, consent.NoticeOf("Child benefit …", "en"))
	require.NoError(t, err)
	_, err = svc.Receipt(ctx, consent.Citizen{TaxNumber: nikos}, r.ID)
	assert.ErrorIs(t, err, consent.ErrNotFound, "only the citizen's own")

	tok, err := svc.Receipt(ctx, citizen, r.ID)
	require.NoError(t, err)
	srv := httptest.NewServer(svc.JWKSHandler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer res.Body.Close()
	set, err := jwk.ParseReader(res.Body)
	require.NoError(t, err)
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(set, jws.WithRequireKid(true)))
	require.NoError(t, err)
	var rc consent.Receipt
	require.NoError(t, json.Unmarshal(payload, &rc))
	assert.Equal(t, consent.ReceiptVersion, rc.Version)
	assert.Equal(t, r.ID, rc.ConsentReceiptID)
	assert.Equal(t, "https://consent.gov.example", rc.Issuer)
	assert.Equal(t, "GR", rc.Jurisdiction)
	assert.Equal(t, "en", rc.Language)
	assert.Equal(t, r.Subject, rc.PIIPrincipalID, "the pseudonym, never the tax number")
	assert.NotContains(t, string(payload), maria)
	assert.Equal(t, "efka", rc.PIIControllers[0].PIIController)
	require.Len(t, rc.Services, 1)
	p := rc.Services[0].Purposes[0]
	assert.Equal(t, "Child benefit", p.Purpose)
	assert.Equal(t, []string{"marital_status", "children"}, p.PIICategory)
	assert.Equal(t, "EXPLICIT", p.ConsentType)
	assert.Equal(t, "https://gov.example/consents", p.Termination)
	assert.Equal(t, clock.Now().Unix(), rc.ConsentTimestamp)
	assert.Equal(t, consent.StateAuthorised, rc.State)

	bare, err := consent.New(ctx, consent.Config{Store: consent.NewMemoryStore(), SubjectKey: key})
	require.NoError(t, err)
	_, err = bare.Receipt(ctx, citizen, r.ID)
	assert.ErrorIs(t, err, consent.ErrNoKeys)
}

// TestReceiptVerifiedByJose has npm jose verify a receipt against the
// published JWK Set; it skips without Node.js or the module
// ($EGOVKIT_NODE_MODULES, as .ci/run installs it).
func TestReceiptVerifiedByJose(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("jose check skipped: node is not installed")
	}
	modules := os.Getenv("EGOVKIT_NODE_MODULES")
	if _, err := os.Stat(filepath.Join(modules, "jose")); modules == "" || err != nil {
		t.Skip("jose check skipped: EGOVKIT_NODE_MODULES has no jose")
	}
	ctx := t.Context()
	svc, keys, clock := receiptService(t)
	r, err := svc.Give(ctx, citizen, agency, draft(clock), notice)
	require.NoError(t, err)
	tok, err := svc.Receipt(ctx, citizen, r.ID)
	require.NoError(t, err)
	set, err := keys.PublicSet(ctx)
	require.NoError(t, err)

	run := func(token string) ([]byte, error) {
		b, err := json.Marshal(map[string]any{"jwks": set, "token": token})
		require.NoError(t, err)
		file := filepath.Join(t.TempDir(), "input.json")
		require.NoError(t, os.WriteFile(file, b, 0o600))
		script, err := filepath.Abs("testdata/verify.mjs")
		require.NoError(t, err)
		cmd := exec.Command(node, script, file)
		cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
		return cmd.Output()
	}
	out, err := run(tok)
	require.NoError(t, err)
	var rc consent.Receipt
	require.NoError(t, json.Unmarshal(out, &rc))
	assert.Equal(t, r.ID, rc.ConsentReceiptID)
	assert.Equal(t, consent.ReceiptVersion, rc.Version)
	assert.Equal(t, "Επίδομα παιδιού", rc.Services[0].Purposes[0].Purpose)

	tampered := []byte(tok)
	tampered[len(tampered)-5] ^= 1
	_, err = run(string(tampered))
	assert.Error(t, err, "jose refuses a changed signature")
}
