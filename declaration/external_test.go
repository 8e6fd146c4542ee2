package declaration_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

type externalResult struct {
	JWS                     map[string]any `json:"jws"`
	VC                      map[string]any `json:"vc"`
	VCError                 string         `json:"vc_error"`
	Presented               map[string]any `json:"presented"`
	PresentationDisclosures int            `json:"presentation_disclosures"`
}

// verifyExternally runs testdata/verify.mjs (jose and @sd-jwt/sd-jwt-vc),
// or skips when Node.js or the modules are missing (.ci/run installs
// them).
func verifyExternally(t *testing.T, input map[string]any) externalResult {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("external verification skipped: node is not installed")
	}
	modules := os.Getenv("EGOVKIT_NODE_MODULES")
	for _, m := range []string{"jose", "@sd-jwt/sd-jwt-vc"} {
		if _, err := os.Stat(filepath.Join(modules, m)); modules == "" || err != nil {
			t.Skipf("external verification skipped: EGOVKIT_NODE_MODULES has no %s", m)
		}
	}
	b, err := json.Marshal(input)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "input.json")
	require.NoError(t, os.WriteFile(file, b, 0o600))
	script, err := filepath.Abs("testdata/verify.mjs")
	require.NoError(t, err)
	cmd := exec.Command(node, script, file)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "%s", stderr)
	var res externalResult
	require.NoError(t, json.Unmarshal(out, &res), "%s", out)
	return res
}

// TestExternalVerification has independent libraries verify what the
// package issues: jose the signed document, @sd-jwt/sd-jwt-vc the SD-JWT
// VC (whole, and presented with two claims), with its status read from
// the status list the API serves; after a revocation the SD-JWT VC fails.
func TestExternalVerification(t *testing.T) {
	ctx := t.Context()
	db := sqltest.SQLite(t)
	// The issuer's URL must be where the status list is served.
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	f := newFixture(t, db.DB.DB, nil, func(c *declaration.Config) { c.BaseURL, c.Now = srv.URL, time.Now }) // the libraries judge times by the real clock
	api, err := declaration.APIHandler(declaration.APIConfig{Service: f.svc})
	require.NoError(t, err)
	mux.Handle("/", api)

	f.issue(t, maria, solemn()) // another document in the status list
	d := authorization()
	d.ValidUntil = time.Now().AddDate(0, 1, 0) // this test runs on the real clock
	doc := f.issue(t, maria, d)
	set, err := f.keys.PublicSet(ctx)
	require.NoError(t, err)
	input := map[string]any{"jwks": set, "token": doc.Token, "sd_jwt": doc.SDJWT, "present": []string{"protocol", "grantee_afm"}}

	res := verifyExternally(t, input)
	assert.Equal(t, doc.Protocol, res.JWS["protocol"])
	require.Empty(t, res.VCError)
	assert.Equal(t, srv.URL, res.VC["iss"])
	assert.Equal(t, srv.URL+"/vct/authorization", res.VC["vct"])
	assert.Equal(t, doc.Protocol, res.VC["protocol"])
	assert.Equal(t, "Μαρία", res.VC["given_name"])
	assert.Equal(t, nikos.AFM, res.VC["grantee_afm"])
	assert.Equal(t, doc.Draft.Text, res.VC["text"])
	assert.Equal(t, doc.Protocol, res.Presented["protocol"])
	assert.Equal(t, nikos.AFM, res.Presented["grantee_afm"])
	assert.NotContains(t, res.Presented, "given_name", "undisclosed claims stay hidden")
	assert.NotContains(t, res.Presented, "text")
	assert.Equal(t, 2, res.PresentationDisclosures)

	_, err = f.revoke(t, maria, doc.ID, "")
	require.NoError(t, err)
	res = verifyExternally(t, input)
	assert.Contains(t, res.VCError, "Status is not valid", "the status list says revoked")
	assert.Equal(t, doc.Protocol, res.JWS["protocol"], "the JWS itself stays a valid signature")
}
