package interop_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
)

// apiServer serves the API; the caller is named by the X-Test-Caller
// header: "op" (operator), "aud" (auditor), anything else unknown.
func apiServer(t *testing.T, st interop.Store) *httptest.Server {
	t.Helper()
	h, err := interop.APIHandler(interop.APIConfig{Store: st, Caller: func(r *http.Request) (interop.Caller, error) {
		switch r.Header.Get("X-Test-Caller") {
		case "op":
			return interop.Caller{ID: "op-1", Roles: []string{interop.RoleOperator}}, nil
		case "aud":
			return interop.Caller{ID: "aud-1", Roles: []string{interop.RoleAuditor}}, nil
		}
		return interop.Caller{}, errors.New("no token")
	}})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	ctype  string
	body   map[string]any
	raw    string
}

func call(t *testing.T, srv *httptest.Server, who, method, path, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Test-Caller", who)
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	a := answer{status: res.StatusCode, ctype: res.Header.Get("Content-Type"), raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	if a.status >= 400 {
		assert.Equal(t, "application/problem+json", a.ctype, "%s %s: %s", method, path, b)
	}
	return a
}

const serviceJSON = `{
	"id": "GR/GOV/EL-AADE/REGISTRY/address",
	"title": {"el": "Διεύθυνση κατοικίας", "en": "Residence address"},
	"upstream": "https://registry.aade.example/api",
	"openapi": {"openapi": "3.0.3", "info": {"title": "Address", "version": "1"}, "paths": {}},
	"items": [{"code": "residence_address", "type": "text", "label": {"el": "Διεύθυνση", "en": "Address"}}],
	"consent_required": true,
	"limits": {"max_request_bytes": 65536, "timeout_ms": 5000, "rate_per_second": 20, "burst": 40}
}`

func TestAPI(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		st := sqlStore(t, db.DB.DB)
		srv := apiServer(t, st)
		const svc = "/services/GR/GOV/EL-AADE/REGISTRY/address"

		assert.Equal(t, 401, call(t, srv, "", "GET", "/services", "").status)
		assert.Equal(t, 403, call(t, srv, "aud", "POST", "/services", serviceJSON).status, "auditors read only")

		a := call(t, srv, "op", "POST", "/services", serviceJSON)
		require.Equal(t, 201, a.status, a.raw)
		assert.Equal(t, float64(1), a.body["revision"])
		assert.Equal(t, "op-1", a.body["updated_by"])
		assert.Equal(t, "GR/GOV/EL-AADE", a.body["owner"])
		assert.Equal(t, float64(5000), a.body["limits"].(map[string]any)["timeout_ms"])
		assert.Equal(t, 409, call(t, srv, "op", "POST", "/services", serviceJSON).status)

		list := call(t, srv, "aud", "GET", "/services", "")
		require.Equal(t, 200, list.status)
		assert.Len(t, list.body["services"], 1)
		got := call(t, srv, "aud", "GET", svc, "")
		require.Equal(t, 200, got.status)
		assert.Equal(t, "3.0.3", got.body["openapi"].(map[string]any)["openapi"])
		doc := call(t, srv, "aud", "GET", svc+"/openapi", "")
		assert.Equal(t, "application/vnd.oai.openapi+json", doc.ctype)
		assert.Equal(t, 404, call(t, srv, "aud", "GET", "/services/GR/GOV/EL-AADE/REGISTRY/none", "").status)
		assert.Equal(t, 404, call(t, srv, "aud", "GET", "/services/GR/GOV/EL%20AADE/REGISTRY/x", "").status)

		// Refused input: 400 for what is not JSON, 422 for what is not valid.
		assert.Equal(t, 400, call(t, srv, "op", "POST", "/services", `{"id":`).status)
		assert.Equal(t, 400, call(t, srv, "op", "POST", "/services", `{"unknown": 1}`).status)
		bad := call(t, srv, "op", "POST", "/services", strings.Replace(serviceJSON, "https://registry", "file://registry", 1))
		assert.Equal(t, 422, bad.status)
		assert.Contains(t, bad.raw, "/upstream")
		assert.Equal(t, 422, call(t, srv, "op", "POST", "/services", strings.Replace(serviceJSON, "EL-AADE/", "EL AADE/", 1)).status)

		// Update: names its revision; a stale one is 409.
		upd := strings.Replace(serviceJSON, `"consent_required": true`, `"consent_required": false, "legal_basis": "ν. 4727/2020", "revision": 1`, 1)
		assert.Equal(t, 200, call(t, srv, "op", "PUT", svc, upd).status)
		assert.Equal(t, 409, call(t, srv, "op", "PUT", svc, upd).status)
		assert.Equal(t, 422, call(t, srv, "op", "PUT", svc, serviceJSON).status, "no revision")
		assert.Equal(t, 422, call(t, srv, "op", "PUT", "/services/GR/GOV/EL-AADE/REGISTRY/other", upd).status, "identifier changed")

		dis := call(t, srv, "op", "POST", svc+"/disable", "")
		require.Equal(t, 200, dis.status, dis.raw)
		assert.Equal(t, true, dis.body["disabled"])
		en := call(t, srv, "op", "POST", svc+"/enable", "")
		assert.Equal(t, false, en.body["disabled"])
		assert.Equal(t, float64(4), en.body["revision"])

		// Rights.
		right := `{"consumer": "GR/GOV/DYPA/APP", "service": "GR/GOV/EL-AADE/REGISTRY/address", "method": "GET", "path": "/persons/*/address"}`
		g := call(t, srv, "op", "POST", "/rights", right)
		require.Equal(t, 201, g.status, g.raw)
		id := g.body["id"].(string)
		assert.Equal(t, "op-1", g.body["granted_by"])
		assert.Equal(t, 409, call(t, srv, "op", "POST", "/rights", right).status)
		assert.Equal(t, 422, call(t, srv, "op", "POST", "/rights", strings.Replace(right, `"GET"`, `"get"`, 1)).status)
		assert.Equal(t, 422, call(t, srv, "op", "POST", "/rights", strings.Replace(right, "GR/GOV/DYPA/APP", "GR/GOV", 1)).status)
		assert.Equal(t, 404, call(t, srv, "op", "POST", "/rights", strings.Replace(right, "REGISTRY/address", "REGISTRY/none", 1)).status)
		rs := call(t, srv, "aud", "GET", "/rights?consumer=GR/GOV/DYPA/APP", "")
		assert.Len(t, rs.body["rights"], 1)
		rs = call(t, srv, "aud", "GET", "/rights?service=GR/GOV/EL-AADE/REGISTRY/other", "")
		assert.Len(t, rs.body["rights"], 0)
		assert.Equal(t, 422, call(t, srv, "aud", "GET", "/rights?service=nope", "").status)
		assert.Equal(t, 403, call(t, srv, "aud", "DELETE", "/rights/"+id, "").status)
		assert.Equal(t, 204, call(t, srv, "op", "DELETE", "/rights/"+id, "").status)
		assert.Equal(t, 404, call(t, srv, "op", "DELETE", "/rights/"+id, "").status)
		assert.Equal(t, 404, call(t, srv, "op", "GET", "/nothing", "").status)
	})
}

// TestAPIUnavailable: a database that does not answer is a 503 with
// Retry-After, and nothing else.
func TestAPIUnavailable(t *testing.T) {
	db := sqltest.SQLite(t)
	st := sqlStore(t, db.DB.DB)
	srv := apiServer(t, st)
	require.NoError(t, db.DB.DB.Close())
	a := call(t, srv, "op", "GET", "/services", "")
	assert.Equal(t, 503, a.status, a.raw)
	a = call(t, srv, "op", "POST", "/services", serviceJSON)
	assert.Equal(t, 503, a.status, a.raw)
}

func TestAPIWithoutCaller(t *testing.T) {
	st, err := interop.NewMemoryStore()
	require.NoError(t, err)
	h, err := interop.APIHandler(interop.APIConfig{Store: st})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/services", nil))
	assert.Equal(t, 401, rec.Code)
	_, err = interop.APIHandler(interop.APIConfig{})
	assert.Error(t, err)
}
