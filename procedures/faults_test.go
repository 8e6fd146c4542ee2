package procedures_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

const faultDeadline = 500 * time.Millisecond

type faultSite struct {
	fault *sqltest.Fault
	srv   *httptest.Server
}

// newFaultSite serves the registry's API and pages on a database the test
// can break. The "editor" token is resolved by a lookup in that database,
// as a real identity lookup would; "static-editor" needs none.
func newFaultSite(t *testing.T, db *sqltest.DB) *faultSite {
	ctx := t.Context()
	f := sqltest.Faulty(t, db, 200*time.Millisecond)
	reg, err := procedures.NewRegistry(ctx, f.DB, procedures.WithDBTimeout(faultDeadline))
	require.NoError(t, err)
	publish(t, reg, sample(t, "permanent-residence-certificate"))
	idx, err := search.New(ctx, reg)
	require.NoError(t, err)
	t.Cleanup(func() { idx.Close() })
	caller := func(r *http.Request) (procedures.Caller, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer static-editor":
			return editor, nil
		case "Bearer editor":
			var one int
			if err := f.DB.QueryRowContext(r.Context(), "SELECT 1").Scan(&one); err != nil {
				return procedures.Caller{}, err
			}
			return editor, nil
		}
		return procedures.Caller{}, nil
	}
	api, err := procedures.APIHandler(procedures.APIConfig{Registry: reg, Index: idx, Caller: caller})
	require.NoError(t, err)
	pages, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures", Caller: caller})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/procedures/api/", http.StripPrefix("/procedures/api", api))
	mux.Handle("/procedures/", http.StripPrefix("/procedures", pages))
	s := &faultSite{fault: f, srv: httptest.NewServer(mux)}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *faultSite) call(t *testing.T, method, path, token string, body []byte, accept string) (int, http.Header, string) {
	req, _ := http.NewRequest(method, s.srv.URL+path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", accept)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// With the database down, the API answers 503 problem+json with
// Retry-After (an editor whose identity cannot be looked up is not asked
// to sign in) and the pages a readable "temporarily unavailable" page.
func TestDatabaseDownAnswers503(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		s := newFaultSite(t, db)
		doc := sample(t, "permanent-residence-certificate")
		s.fault.Down()
		for name, c := range map[string]struct {
			method, path, token string
			body                []byte
		}{
			"published":      {"GET", "/procedures/api/procedures/permanent-residence-certificate", "", nil},
			"list":           {"GET", "/procedures/api/procedures", "", nil},
			"create":         {"POST", "/procedures/api/procedures", "static-editor", doc},
			"caller lookup":  {"POST", "/procedures/api/procedures", "editor", doc},
			"editor history": {"GET", "/procedures/api/procedures/permanent-residence-certificate/history", "editor", nil},
		} {
			status, h, body := s.call(t, c.method, c.path, c.token, c.body, "application/json")
			sqltest.AssertUnavailable(t, name, status, h, body)
		}
		status, h, body := s.call(t, "GET", "/procedures/permanent-residence-certificate?lang=en", "", nil, "text/html")
		assert.Equal(t, http.StatusServiceUnavailable, status)
		assert.NotEmpty(t, h.Get("Retry-After"))
		assert.Contains(t, body, "The service is temporarily unavailable")
	})
}

// A frozen database fails a write within the deadline with 503.
func TestFrozenDatabaseAnswers503WithinDeadline(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		s := newFaultSite(t, db)
		doc := sample(t, "permanent-residence-certificate")
		s.fault.Freeze()
		start := time.Now()
		status, h, body := s.call(t, "POST", "/procedures/api/procedures", "static-editor", doc, "application/json")
		sqltest.AssertUnavailable(t, "create", status, h, body)
		assert.Less(t, time.Since(start), faultDeadline+time.Second)
	})
}
