package procedures_test

import (
	"bytes"
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
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// callers by bearer token, as a real deployment would read a civil
// servant's access token.
var tokens = map[string]procedures.Caller{"editor": editor, "approver": approver, "citizen": citizen}

func TestAPI(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		reg, err := procedures.NewRegistry(ctx, db.DB.DB)
		require.NoError(t, err)
		publish(t, reg, sample(t, "permanent-residence-certificate"))
		idx, err := search.New(ctx, reg)
		require.NoError(t, err)
		defer idx.Close()
		h, err := procedures.APIHandler(procedures.APIConfig{Registry: reg, Index: idx, Caller: func(r *http.Request) (procedures.Caller, error) {
			c, ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
			if !ok {
				return procedures.Caller{}, errors.New("unknown token")
			}
			return c, nil
		}})
		require.NoError(t, err)
		srv := httptest.NewServer(http.StripPrefix("/procedures/api", h))
		defer srv.Close()
		call := func(method, path, token string, body []byte, hdr ...string) (*http.Response, string) {
			req, _ := http.NewRequest(method, srv.URL+"/procedures/api"+path, bytes.NewReader(body))
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp, string(b)
		}

		resp, body := call("GET", "/procedures", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"id":"permanent-residence-certificate"`)

		resp, _ = call("GET", "/procedures/permanent-residence-certificate", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		etag := resp.Header.Get("ETag")
		assert.True(t, strings.HasPrefix(etag, `"sha256-`))
		resp, _ = call("GET", "/procedures/permanent-residence-certificate", "", nil, "If-None-Match", etag)
		assert.Equal(t, http.StatusNotModified, resp.StatusCode, "conditional GET")
		resp, body = call("GET", "/procedures/nothing", "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode)
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))

		// Bad input: problem+json, and nothing stored.
		doc := sample(t, "solemn-declaration")
		resp, _ = call("POST", "/procedures", "", doc)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
		resp, _ = call("POST", "/procedures", "citizen", doc)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		bad := edit(t, doc, func(m map[string]any) { m["steps"].([]any)[1].(map[string]any)["max_duration"] = "soon" })
		resp, body = call("POST", "/procedures", "editor", bad)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		assert.Contains(t, body, `"pointer":"/steps/1/max_duration"`)
		assert.Contains(t, body, "errors_el")
		resp, _ = call("POST", "/procedures", "editor", []byte("{broken"))
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		counts, _ := reg.Counts(ctx)
		assert.Zero(t, counts[procedures.StateDraft], "refused requests stored nothing")

		// The workflow through the API.
		resp, _ = call("POST", "/procedures", "editor", doc)
		require.Equal(t, http.StatusCreated, resp.StatusCode)
		draftTag := resp.Header.Get("ETag")
		changed := edit(t, doc, func(m map[string]any) { m["processing_time"] = "PT4M" })
		resp, _ = call("PUT", "/procedures/solemn-declaration/versions/1", "editor", changed, "If-Match", `"sha256-stale"`)
		assert.Equal(t, http.StatusPreconditionFailed, resp.StatusCode)
		resp, _ = call("PUT", "/procedures/solemn-declaration/versions/1", "editor", changed, "If-Match", draftTag)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		resp, _ = call("POST", "/procedures/solemn-declaration/versions/1/approve", "approver", nil)
		assert.Equal(t, http.StatusConflict, resp.StatusCode, "a draft is not approved")
		for _, step := range [][2]string{{"editor", "submit"}, {"approver", "approve"}, {"approver", "publish"}} {
			resp, body = call("POST", "/procedures/solemn-declaration/versions/1/"+step[1], step[0], nil)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
		}
		resp, body = call("GET", "/procedures/solemn-declaration", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"processing_time":"PT4M"`)
		resp, body = call("GET", "/procedures/solemn-declaration/history", "approver", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"to":"published"`)

		// Search, after the index catches up.
		require.NoError(t, idx.Refresh(ctx))
		resp, body = call("GET", "/search?q=%CE%B4%CE%B7%CE%BB%CF%89%CF%83%CE%B5%CE%B9%CF%82", "", nil) // δηλωσεις
		require.Equal(t, http.StatusOK, resp.StatusCode)
		var res procedures.Results
		require.NoError(t, json.Unmarshal([]byte(body), &res))
		require.NotEmpty(t, res.Hits)
		assert.Equal(t, "solemn-declaration", res.Hits[0].ID)
		resp, _ = call("GET", "/search?q=x&limit=1000", "", nil)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		resp, _ = call("GET", "/search?q=x&limit=many", "", nil)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

		// Suggestions.
		resp, body = call("POST", "/procedures/solemn-declaration/suggestions", "", []byte(`{"kind":"simplification","text":"Και από το κινητό."}`))
		require.Equal(t, http.StatusCreated, resp.StatusCode, body)
		resp, body = call("POST", "/procedures/solemn-declaration/suggestions", "", []byte(`{"kind":"praise","text":"x"}`))
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		assert.Contains(t, body, `"pointer":"/kind"`)
		for range procedures.SuggestionsPerHour - 1 {
			resp, _ = call("POST", "/procedures/solemn-declaration/suggestions", "", []byte(`{"kind":"other","text":"x"}`))
			require.Equal(t, http.StatusCreated, resp.StatusCode)
		}
		resp, _ = call("POST", "/procedures/solemn-declaration/suggestions", "", []byte(`{"kind":"other","text":"x"}`))
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.NotEmpty(t, resp.Header.Get("Retry-After"))
		resp, body = call("GET", "/suggestions", "editor", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, procedures.SuggestionsPerHour, strings.Count(body, `"id":`))
		var open struct {
			Suggestions []procedures.Suggestion `json:"suggestions"`
		}
		require.NoError(t, json.Unmarshal([]byte(body), &open))
		closeURL := "/suggestions/" + open.Suggestions[0].ID + "/close"
		resp, body = call("POST", closeURL, "editor", []byte(`{"resolution":""}`))
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
		assert.Contains(t, body, `"pointer":"/resolution"`)
		resp, _ = call("POST", closeURL, "approver", []byte(`{"resolution":"Noted."}`))
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "approvers do not close suggestions")
		resp, _ = call("POST", closeURL, "editor", []byte(`{"resolution":"Noted."}`))
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		resp, _ = call("POST", closeURL, "editor", []byte(`{"resolution":"Noted."}`))
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "closed already")
		resp, body = call("GET", "/suggestions", "editor", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, procedures.SuggestionsPerHour-1, strings.Count(body, `"id":`))

		resp, body = call("GET", "/burden?n=1", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"id":"permanent-residence-certificate"`)
		resp, _ = call("GET", "/burden?n=0", "", nil)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		resp, body = call("GET", "/counts", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, `"published":2`)
		resp, body = call("GET", "/export/cpsv-ap", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "application/ld+json", resp.Header.Get("Content-Type"))
		assert.Contains(t, body, `"@id":"`+srv.URL+`/procedures/solemn-declaration"`)
		resp, body = call("GET", "/procedures/passport/cpsv-ap", "", nil)
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, "only published procedures")
		resp, body = call("GET", "/procedures/solemn-declaration/cpsv-ap", "", nil)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, body, "cpsv:PublicService")
		resp, _ = call("GET", "/schema", "", nil)
		assert.Equal(t, "application/schema+json", resp.Header.Get("Content-Type"))
		resp, _ = call("GET", "/procedures/solemn-declaration/versions/x", "editor", nil)
		assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	})
}
