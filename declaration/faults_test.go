package declaration_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

const faultDeadline = 500 * time.Millisecond

type faultSite struct {
	fault *sqltest.Fault
	srv   *httptest.Server
}

// newFaultSite serves the API, the pages and the verification page on a
// database the test can break. "maria" needs no lookup; "lookup" is
// resolved by a query in that database, as an identity lookup would be.
func newFaultSite(t *testing.T, db *sqltest.DB) *faultSite {
	f := sqltest.Faulty(t, db, 200*time.Millisecond)
	fx := newFixture(t, f.DB, nil, func(c *declaration.Config) { c.DBTimeout = faultDeadline })
	declarant := func(r *http.Request) (declaration.Person, error) {
		switch r.Header.Get("X-Test-User") {
		case "maria":
			return maria, nil
		case "lookup":
			var one int
			if err := f.DB.QueryRowContext(r.Context(), "SELECT 1").Scan(&one); err != nil {
				return declaration.Person{}, err
			}
			return maria, nil
		}
		return declaration.Person{}, nil
	}
	api, err := declaration.APIHandler(declaration.APIConfig{Service: fx.svc, Declarant: declarant})
	require.NoError(t, err)
	pcfg := declaration.PagesConfig{Service: fx.svc, Prefix: "/declarations", SignInURL: "/signin", Declarant: declarant}
	pages, err := declaration.PagesHandler(pcfg)
	require.NoError(t, err)
	verify, err := declaration.VerifyHandler(pcfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/api/", http.StripPrefix("/api", api))
	mux.Handle("/declarations/", http.StripPrefix("/declarations", pages))
	mux.Handle("/verify", verify)
	s := &faultSite{fault: f, srv: httptest.NewServer(mux)}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *faultSite) call(t *testing.T, method, path, user, body, accept string) (int, http.Header, string) {
	req, _ := http.NewRequest(method, s.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Test-User", user)
	req.Header.Set("Accept", accept)
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const faultDraft = `{"kind":"solemn_declaration","recipient":"Δήμος Αθηναίων","text":"Τα στοιχεία της αίτησής μου είναι αληθή."}`

// With the database down, the API answers 503 problem+json with
// Retry-After (a declarant whose identity cannot be looked up is not asked
// to sign in) and the pages a readable "temporarily unavailable" page
// rather than a redirect to sign in.
func TestDatabaseDownAnswers503(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		s := newFaultSite(t, db)
		s.fault.Down()
		for name, c := range map[string]struct{ method, path, user, body string }{
			"list":          {"GET", "/api/documents", "maria", ""},
			"create":        {"POST", "/api/documents", "maria", faultDraft},
			"identity":      {"GET", "/api/documents", "lookup", ""},
			"verify":        {"GET", "/api/verify?code=ABCD-EFGH-JKLM", "", ""},
			"status list":   {"GET", "/api/statuslist", "", ""},
			"granted to me": {"GET", "/api/granted", "maria", ""},
		} {
			status, h, body := s.call(t, c.method, c.path, c.user, c.body, "application/json")
			sqltest.AssertUnavailable(t, name, status, h, body)
		}
		for name, user := range map[string]string{"home": "maria", "identity lookup": "lookup"} {
			status, h, body := s.call(t, "GET", "/declarations/?lang=en", user, "", "text/html")
			assert.Equal(t, http.StatusServiceUnavailable, status, name)
			assert.NotEmpty(t, h.Get("Retry-After"), name)
			assert.Contains(t, body, "The service is temporarily unavailable", name)
		}
	})
}

// A frozen database fails a write within the deadline with 503.
func TestFrozenDatabaseAnswers503WithinDeadline(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		s := newFaultSite(t, db)
		s.fault.Freeze()
		start := time.Now()
		status, h, body := s.call(t, "POST", "/api/documents", "maria", faultDraft, "application/json")
		sqltest.AssertUnavailable(t, "create", status, h, body)
		assert.Less(t, time.Since(start), faultDeadline+time.Second)
	})
}
