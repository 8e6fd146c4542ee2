package declaration_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

func TestAPI(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db.DB.DB, nil)
		people := map[string]declaration.Person{"maria": maria, "nikos": nikos}
		h, err := declaration.APIHandler(declaration.APIConfig{Service: f.svc,
			Declarant: func(r *http.Request) (declaration.Person, error) {
				p, ok := people[r.Header.Get("X-Test-User")]
				if !ok {
					return declaration.Person{}, errors.New("not signed in")
				}
				return p, nil
			},
			ClientAddr: func(r *http.Request) string { return r.Header.Get("X-Test-Addr") }})
		require.NoError(t, err)
		srv := httptest.NewServer(h)
		defer srv.Close()
		call := func(method, path, user, body string, hdr ...string) (*http.Response, string) {
			t.Helper()
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("X-Test-User", user)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}
		count := func() string { return db.Dump(t, `SELECT count(*) FROM declaration_documents`)[0] }

		resp, _ := call("GET", "/documents", "", "")
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
		resp, _ = call("GET", "/nothing/here", "maria", "")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
		resp, _ = call("DELETE", "/documents", "maria", "")
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

		// Bad input: a problem, and nothing stored.
		for _, bad := range []string{`{`, `{"kind":"solemn_declaration"}`, `{"kind":"solemn_declaration","recipient":"Δήμος","text":"x","extra":1}`, `[]`} {
			resp, body := call("POST", "/documents", "maria", bad)
			assert.Contains(t, []int{400, 422}, resp.StatusCode, bad)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), body)
		}
		resp, body := call("POST", "/documents", "maria", `{"kind":"solemn_declaration","recipient":"Δήμος"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		assert.Contains(t, body, `"pointer":"/text"`)
		assert.Equal(t, "0", count())

		resp, body = call("POST", "/documents", "maria", `{"kind":"solemn_declaration","recipient":"Δήμος Αθηναίων","text":"Διαμένω στην Αθήνα."}`)
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		var doc declaration.Document
		require.NoError(t, json.Unmarshal([]byte(body), &doc))
		resp, _ = call("GET", "/documents/"+doc.ID, "nikos", "")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "not his")
		resp, _ = call("GET", "/documents/"+doc.ID+"/pdf", "maria", "")
		assert.Equal(t, http.StatusConflict, resp.StatusCode, "a draft has no PDF")

		resp, body = call("POST", "/documents/"+doc.ID+"/code", "maria", "")
		require.Equal(t, http.StatusAccepted, resp.StatusCode, body)
		resp, body = call("POST", "/documents/"+doc.ID+"/code", "maria", "")
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, body)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		resp, body = call("POST", "/documents/"+doc.ID+"/confirm", "maria", `{"code":"12"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		resp, body = call("POST", "/documents/"+doc.ID+"/confirm", "maria", fmt.Sprintf(`{"code":%q}`, f.code(t, maria)))
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.NoError(t, json.Unmarshal([]byte(body), &doc))
		assert.Equal(t, declaration.StateIssued, doc.State)

		resp, body = call("GET", "/documents/"+doc.ID+"/pdf", "maria", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/pdf", resp.Header.Get("Content-Type"))
		assert.Contains(t, resp.Header.Get("Content-Disposition"), "solemn_declaration-2026-000001.pdf")
		assert.True(t, strings.HasPrefix(body, "%PDF-"))

		// Public verification, limited per address on unknown codes.
		resp, body = call("GET", "/verify?code="+doc.Code, "", "", "X-Test-Addr", "192.0.2.1")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"status":"valid"`)
		assert.NotContains(t, body, maria.Mobile)
		resp, _ = call("GET", "/verify", "", "")
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		for range declaration.VerifyFailuresPerWindow {
			resp, body = call("GET", "/verify?code=2222-2222-2222-2222-2222", "", "", "X-Test-Addr", "192.0.2.66")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Contains(t, body, `"status":"unknown"`)
		}
		resp, _ = call("GET", "/verify?code="+doc.Code, "", "", "X-Test-Addr", "192.0.2.66")
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "the address guessed too often")
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		resp, _ = call("GET", "/verify?code="+doc.Code, "", "", "X-Test-Addr", "192.0.2.1")
		assert.Equal(t, http.StatusOK, resp.StatusCode, "other addresses are not held up")

		resp, body = call("GET", "/jwks.json", "", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		v, err := declaration.NewOfflineVerifier("https://docs.example.gr", []byte(body))
		require.NoError(t, err)
		_, status, err := v.Verify(doc.Token)
		require.NoError(t, err)
		assert.Equal(t, declaration.StatusValid, status)
		resp, body = call("GET", "/templates", "", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"name":"parking"`)

		resp, body = call("GET", "/documents", "maria", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, doc.ID)
		resp, body = call("GET", "/granted", "nikos", "")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.JSONEq(t, `{"documents":[]}`, body)
		resp, _ = call("GET", "/granted/"+doc.ID+"/pdf", "nikos", "")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "a declaration grants nothing")

		// Revocation takes a code, like issuing.
		resp, body = call("POST", "/documents/"+doc.ID+"/revoke/code", "nikos", "")
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, body)
		resp, body = call("POST", "/documents/"+doc.ID+"/revoke", "nikos", `{"code":"123456","reason":"x"}`)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, body)
		resp, body = call("POST", "/documents/"+doc.ID+"/revoke", "maria", `{"code":"123456","reason":"λάθος"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		assert.Contains(t, body, "ask for a code first")
		resp, body = call("POST", "/documents/"+doc.ID+"/revoke/code", "maria", "")
		require.Equal(t, http.StatusAccepted, resp.StatusCode, body)
		assert.Contains(t, body, `"expires_at"`)
		resp, body = call("POST", "/documents/"+doc.ID+"/revoke/code", "maria", "")
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, body)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		revokeCode := f.code(t, maria)
		wrong := "000000"
		if revokeCode == wrong {
			wrong = "000001"
		}
		for _, bad := range []string{"", `{"reason":"λάθος"}`, `{"code":"` + wrong + `","reason":"λάθος"}`} {
			resp, body = call("POST", "/documents/"+doc.ID+"/revoke", "maria", bad)
			assert.Contains(t, []int{400, 415, 422}, resp.StatusCode, bad)
			assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), body)
		}
		resp, body = call("GET", "/verify?code="+doc.Code, "", "", "X-Test-Addr", "192.0.2.1")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"status":"valid"`, "a refused revocation changes nothing")
		resp, body = call("POST", "/documents/"+doc.ID+"/revoke", "maria", `{"code":"`+revokeCode+`","reason":"λάθος"}`)
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		resp, body = call("GET", "/verify?code="+doc.Code, "", "", "X-Test-Addr", "192.0.2.1")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"status":"revoked"`)
		resp, _ = call("POST", "/documents/"+doc.ID+"/revoke", "maria", `{"code":"`+revokeCode+`"}`)
		assert.Equal(t, http.StatusConflict, resp.StatusCode)
		resp, _ = call("POST", "/documents/"+doc.ID+"/revoke/code", "maria", "")
		assert.Equal(t, http.StatusConflict, resp.StatusCode, "a revoked document takes no code")
	})
}
