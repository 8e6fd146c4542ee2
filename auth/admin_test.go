package auth_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

func TestClientAdminAPI(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := auth.NewClientRegistry(ctx, db.DB.DB, "citizen")
		require.NoError(t, err)
		h, err := auth.NewClientAdmin(auth.ClientAdminConfig{Clients: reg, Authorize: func(r *http.Request) (string, error) {
			if r.Header.Get("Authorization") != "Bearer admin-token" {
				return "", errors.New("wrong token")
			}
			return "operator", nil
		}})
		require.NoError(t, err)
		srv := httptest.NewServer(http.StripPrefix("/admin", h))
		defer srv.Close()
		call := func(method, path string, body any, token string) (int, map[string]any) {
			var r io.Reader
			if body != nil {
				b, _ := json.Marshal(body)
				r = bytes.NewReader(b)
			}
			req, _ := http.NewRequest(method, srv.URL+"/admin"+path, r)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			out := map[string]any{}
			_ = json.NewDecoder(resp.Body).Decode(&out)
			return resp.StatusCode, out
		}

		status, out := call("GET", "/clients", nil, "")
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, "https://egovkit.dev/problems/unauthorized", out["type"])
		status, _ = call("GET", "/clients", nil, "guess")
		assert.Equal(t, http.StatusUnauthorized, status)

		status, out = call("POST", "/clients", webClient(), "admin-token")
		require.Equal(t, http.StatusCreated, status, out)
		secret := out["client_secret"].(string)
		assert.NotEmpty(t, secret)
		assert.Equal(t, "demo-agency", out["client_id"])
		status, _ = call("POST", "/clients", webClient(), "admin-token")
		assert.Equal(t, http.StatusConflict, status)

		bad := webClient()
		bad.ID = "other"
		bad.RedirectURIs = []string{"http://evil.example/cb"}
		status, out = call("POST", "/clients", bad, "admin-token")
		assert.Equal(t, http.StatusUnprocessableEntity, status)
		errs := out["errors"].([]any)
		assert.Equal(t, "/redirect_uris", errs[0].(map[string]any)["pointer"])
		_, err = reg.Get(ctx, "other")
		assert.ErrorIs(t, err, auth.ErrClientNotFound, "nothing stored")
		// A fragment or user information in a redirect URI is refused with
		// a reason that names it, on creation and on update.
		for uri, reason := range map[string]string{
			"https://agency.example.gr/cb#top":            "fragment",
			"https://agency.example.gr/cb#":               "fragment",
			"https://user@agency.example.gr/cb":           "user information",
			"https://evil.example:x@agency.example.gr/cb": "user information",
			"http://127.0.0.1:8090@evil.example/cb":       "user information",
			"https://agency.example.gr\\@evil.example/cb": "",
		} {
			bad := webClient()
			bad.ID = "other"
			bad.RedirectURIs = []string{uri}
			status, out = call("POST", "/clients", bad, "admin-token")
			assert.Equal(t, http.StatusUnprocessableEntity, status, uri)
			errs, _ := out["errors"].([]any)
			require.NotEmpty(t, errs, "%s: %v", uri, out)
			first := errs[0].(map[string]any)
			assert.Equal(t, "/redirect_uris", first["pointer"], uri)
			assert.Contains(t, first["detail"], reason, uri)
			bad.ID = "demo-agency"
			status, _ = call("PUT", "/clients/demo-agency", bad, "admin-token")
			assert.Equal(t, http.StatusUnprocessableEntity, status, uri)
		}
		status, _ = call("POST", "/clients", map[string]any{"client_id": "x", "unknown_field": 1}, "admin-token")
		assert.Equal(t, http.StatusBadRequest, status)

		c := webClient()
		c.Name = "Renamed agency"
		status, out = call("PUT", "/clients/demo-agency", c, "admin-token")
		require.Equal(t, http.StatusOK, status, out)
		assert.Equal(t, "Renamed agency", out["client_name"])
		status, _ = call("PUT", "/clients/someone-else", c, "admin-token")
		assert.Equal(t, http.StatusUnprocessableEntity, status)

		status, out = call("POST", "/clients/demo-agency/secret", nil, "admin-token")
		require.Equal(t, http.StatusOK, status)
		assert.NotEqual(t, secret, out["client_secret"])

		status, out = call("POST", "/clients/demo-agency/disable", nil, "admin-token")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, true, out["disabled"])
		got, err := reg.Get(ctx, "demo-agency")
		require.NoError(t, err)
		assert.True(t, got.Disabled)
		c.Disabled = false
		status, out = call("PUT", "/clients/demo-agency", c, "admin-token")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, true, out["disabled"], "an update does not re-enable")
		status, out = call("POST", "/clients/demo-agency/enable", nil, "admin-token")
		assert.Equal(t, false, out["disabled"])

		status, out = call("GET", "/clients", nil, "admin-token")
		require.Equal(t, http.StatusOK, status)
		assert.Len(t, out["clients"], 1)
		status, _ = call("GET", "/clients/nobody", nil, "admin-token")
		assert.Equal(t, http.StatusNotFound, status)
		status, _ = call("DELETE", "/clients/demo-agency", nil, "admin-token")
		assert.Equal(t, http.StatusMethodNotAllowed, status)
	})
}
