package interop_test

import (
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/interoptest"
)

const pagesAt = "/interop/registry"

// pagesSite serves the pages at pagesAt. The caller is named by the
// X-Test-Caller header: "op" (operator), "aud" (auditor), "none" (signed
// in without a role), "anon" (nobody); a request without the header is
// fixed's, as a browser's are.
type pagesSite struct {
	st  interop.Store
	srv *httptest.Server
	now time.Time
}

func newPagesSite(t *testing.T, st interop.Store, fixed string) *pagesSite {
	t.Helper()
	s := &pagesSite{st: st, now: time.Date(2027, 3, 10, 9, 0, 0, 0, time.UTC)}
	h, err := interop.PagesHandler(interop.PagesConfig{Store: st, Prefix: pagesAt, SignInURL: "/signin", SignOutURL: "/signout",
		Now: func() time.Time { return s.now },
		Caller: func(r *http.Request) (interop.Caller, error) {
			who := r.Header.Get("X-Test-Caller")
			if who == "" {
				who = fixed
			}
			switch who {
			case "op":
				return interop.Caller{ID: "op-1", Roles: []string{interop.RoleOperator}}, nil
			case "op2":
				return interop.Caller{ID: "op-2", Roles: []string{interop.RoleOperator}}, nil
			case "aud":
				return interop.Caller{ID: "aud-1", Roles: []string{interop.RoleAuditor}}, nil
			case "none":
				return interop.Caller{ID: "clerk-1", Roles: []string{"clerk"}}, nil
			}
			return interop.Caller{}, errors.New("not signed in")
		}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(pagesAt+"/", http.StripPrefix(pagesAt, h))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func memoryStore(t *testing.T) interop.Store {
	t.Helper()
	st, err := interop.NewMemoryStore()
	require.NoError(t, err)
	return st
}

type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

// text is the page's body without tags, entities decoded.
func (p page) text() string {
	return html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(p.body, ""))
}

// do sends a request as who; a form is posted from the site itself
// unless origin says otherwise ("" for no Origin header).
func (s *pagesSite) do(t *testing.T, who, method, path string, form url.Values, origin ...string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.srv.URL+pagesAt+path, body)
	require.NoError(t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		o := s.srv.URL
		if len(origin) > 0 {
			o = origin[0]
		}
		if o != "" {
			req.Header.Set("Origin", o)
		}
	}
	req.Header.Set("X-Test-Caller", who)
	if strings.Contains(path, "lang=el") || form != nil && form.Get("lang") == "el" {
		req.Header.Set("Accept-Language", "el")
	} else {
		req.Header.Set("Accept-Language", "en")
	}
	c := *s.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return page{status: res.StatusCode, body: string(b), location: res.Header.Get("Location"), header: res.Header}
}

func (s *pagesSite) get(t *testing.T, who, path string) page {
	t.Helper()
	return s.do(t, who, http.MethodGet, path, nil)
}

func (s *pagesSite) post(t *testing.T, who, path string, form url.Values, origin ...string) page {
	t.Helper()
	return s.do(t, who, http.MethodPost, path, form, origin...)
}

// register puts a service in the store.
func (s *pagesSite) register(t *testing.T, name string) interop.Service {
	t.Helper()
	svc, err := s.st.CreateService(t.Context(), interoptest.Service(name))
	require.NoError(t, err)
	return svc
}

func svcPath(id interop.ServiceID) string { return "/services/" + id.String() }

// validForm is the form of a new service that registers.
func validForm() url.Values {
	return url.Values{
		"id": {"GR/GOV/EL-AADE/REGISTRY/tax-residence"}, "title_el": {"Φορολογική κατοικία"}, "title_en": {"Tax residence"},
		"upstream": {"https://registry.aade.example/tax"}, "legal_basis": {"Law 4727/2020, article 84"},
		"items":             {"tax_residence; text; Φορολογική κατοικία; Tax residence\n\nsince; date; Από; Since\n"},
		"max_request_bytes": {"65536"}, "timeout_ms": {"3000"}, "rate_per_second": {"2,5"}, "burst": {"10"},
		"openapi": {`{"openapi": "3.1.0", "info": {"title": "Tax", "version": "1"}, "paths": {}}`},
	}
}

func TestPagesSignInAndRoles(t *testing.T) {
	s := newPagesSite(t, memoryStore(t), "")
	svc := s.register(t, "address")

	// Nobody signed in: sent to sign in and back; a post is refused.
	p := s.get(t, "anon", "/services/"+svc.ID.String()+"?lang=en")
	assert.Equal(t, http.StatusSeeOther, p.status)
	assert.Equal(t, "/signin?return="+url.QueryEscape(pagesAt+"/services/"+svc.ID.String()+"?lang=en"), p.location)
	p = s.post(t, "anon", "/services/new", validForm())
	assert.Equal(t, http.StatusUnauthorized, p.status)
	assert.Contains(t, p.text(), "Sign in as an operator or an auditor")

	// Signed in without a role.
	p = s.get(t, "none", "/")
	assert.Equal(t, http.StatusForbidden, p.status)
	assert.Contains(t, p.text(), "has no role in the interoperability registry")

	// An auditor reads everything and is shown no way to change it.
	for _, path := range []string{"/", svcPath(svc.ID), "/rights"} {
		p = s.get(t, "aud", path)
		assert.Equal(t, http.StatusOK, p.status, path)
	}
	p = s.get(t, "aud", svcPath(svc.ID))
	for _, link := range []string{"/services/new", "/edit", "/grant", "/disable", "/revoke"} {
		assert.NotContains(t, p.body, link+`"`, "an auditor is offered %s", link)
	}
	p = s.get(t, "op", svcPath(svc.ID))
	for _, link := range []string{"/edit", "/grant", "/disable"} {
		assert.Contains(t, p.body, link+`"`, "an operator is offered %s", link)
	}
	assert.Contains(t, s.get(t, "op", "/").body, pagesAt+`/services/new"`)

	// An auditor is refused every form and every change; nothing changes.
	right, err := s.st.GrantRight(t.Context(), interop.Right{Consumer: interoptest.Consumer("DYPA"), Service: svc.ID, Method: "GET", Path: "/**"})
	require.NoError(t, err)
	for _, path := range []string{"/services/new", svcPath(svc.ID) + "/edit", svcPath(svc.ID) + "/disable", svcPath(svc.ID) + "/grant", "/rights/" + right.ID + "/revoke"} {
		p = s.get(t, "aud", path)
		assert.Equal(t, http.StatusForbidden, p.status, path)
		assert.Contains(t, p.text(), "Auditors see the registry but do not change it", path)
		p = s.post(t, "aud", path, url.Values{"revision": {"1"}, "consumer": {"GR/GOV/X/APP"}, "method": {"GET"}, "path": {"/**"}})
		assert.Equal(t, http.StatusForbidden, p.status, path)
	}
	p = s.post(t, "aud", "/services/new", validForm())
	assert.Equal(t, http.StatusForbidden, p.status)
	list, err := s.st.Services(t.Context())
	require.NoError(t, err)
	assert.Len(t, list, 1)
	got, err := s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.False(t, got.Disabled)
	rights, err := s.st.Rights(t.Context(), interop.RightFilter{})
	require.NoError(t, err)
	assert.Len(t, rights, 1)
}

// TestPagesRefuseOtherSites: a form posted from another site, or with no
// sign of where it comes from, changes nothing.
func TestPagesRefuseOtherSites(t *testing.T) {
	s := newPagesSite(t, memoryStore(t), "")
	svc := s.register(t, "address")
	right, err := s.st.GrantRight(t.Context(), interop.Right{Consumer: interoptest.Consumer("DYPA"), Service: svc.ID, Method: "GET", Path: "/**"})
	require.NoError(t, err)
	for _, origin := range []string{"", "https://evil.example"} {
		for path, form := range map[string]url.Values{
			"/services/new":                   validForm(),
			svcPath(svc.ID) + "/edit":         {"revision": {"1"}, "title_el": {"x"}, "title_en": {"x"}, "upstream": {"https://x.example"}, "consent_required": {"on"}},
			svcPath(svc.ID) + "/disable":      {"revision": {"1"}},
			svcPath(svc.ID) + "/grant":        {"consumer": {"GR/GOV/X/APP"}, "method": {"GET"}, "path": {"/**"}},
			"/rights/" + right.ID + "/revoke": {},
		} {
			p := s.post(t, "op", path, form, origin)
			assert.Equal(t, http.StatusForbidden, p.status, "%s from %q", path, origin)
			assert.Contains(t, p.text(), "can only be sent from this site", path)
		}
	}
	// A browser's own word for a cross-site post is believed too.
	req, err := http.NewRequest(http.MethodPost, s.srv.URL+pagesAt+svcPath(svc.ID)+"/disable", strings.NewReader("revision=1"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("X-Test-Caller", "op")
	res, err := s.srv.Client().Do(req)
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusForbidden, res.StatusCode)

	got, err := s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(1), got.Revision)
	assert.False(t, got.Disabled)
	list, err := s.st.Services(t.Context())
	require.NoError(t, err)
	assert.Len(t, list, 1)
	rights, err := s.st.Rights(t.Context(), interop.RightFilter{})
	require.NoError(t, err)
	assert.Equal(t, []interop.Right{right}, rights)
}

// TestPagesRegisterService: the form registers a service attributed to
// its operator; what is wrong is said beside each field in the operator's
// language, with what was typed kept.
func TestPagesRegisterService(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		st, err := interop.NewSQLStore(t.Context(), db.DB.DB)
		require.NoError(t, err)
		s := newPagesSite(t, st, "")

		p := s.get(t, "op", "/services/new")
		require.Equal(t, http.StatusOK, p.status)
		assert.Contains(t, p.body, `name="consent_required" value="on" checked`, "consent is asked for unless unticked")

		p = s.post(t, "op", "/services/new", validForm())
		require.Equal(t, http.StatusSeeOther, p.status, p.text())
		id := interop.ServiceID{Instance: "GR", Class: "GOV", Member: "EL-AADE", Subsystem: "REGISTRY", Service: "tax-residence"}
		assert.Equal(t, pagesAt+svcPath(id)+"?done=created", p.location)
		got, err := st.Service(t.Context(), id)
		require.NoError(t, err)
		assert.Equal(t, "op-1", got.UpdatedBy)
		assert.False(t, got.ConsentRequired)
		assert.Equal(t, "Law 4727/2020, article 84", got.LegalBasis)
		assert.Equal(t, []interop.DataItem{
			{Code: "tax_residence", Type: interop.ItemText, Label: interop.Text{El: "Φορολογική κατοικία", En: "Tax residence"}},
			{Code: "since", Type: interop.ItemDate, Label: interop.Text{El: "Από", En: "Since"}},
		}, got.Items)
		assert.Equal(t, interop.Limits{MaxRequestBytes: 65536, Timeout: 3 * time.Second, RatePerSecond: 2.5, Burst: 10}, got.Limits)
		assert.JSONEq(t, validForm().Get("openapi"), string(got.OpenAPI))

		p = s.get(t, "aud", svcPath(id)+"?done=created")
		assert.Contains(t, p.text(), "The service was registered.")
		assert.Contains(t, p.text(), "by op-1")
		assert.Contains(t, p.text(), "The law, without consent: Law 4727/2020, article 84")
		assert.Contains(t, p.text(), "3000 milliseconds")
		assert.Contains(t, p.text(), "the gateway's default", "the response's limit is not set")
		assert.Contains(t, p.text(), "The registry keeps who made the last change of a service")

		// Taken already.
		p = s.post(t, "op", "/services/new", validForm())
		assert.Equal(t, http.StatusConflict, p.status)
		assert.Contains(t, p.text(), "A service with this identifier is registered already.")
		assert.Contains(t, p.body, `value="https://registry.aade.example/tax"`)

		// Everything wrong at once, beside its field.
		bad := url.Values{
			"id": {"GR/GOV/EL AADE/REGISTRY/x"}, "title_el": {""}, "title_en": {"Kept title"}, "upstream": {"ftp://registry.example"},
			"items":      {"ok_item; text; Α; A\nBad Code; text; Β; B\nno parts here\n"},
			"timeout_ms": {"soon"}, "rate_per_second": {"-1"},
		}
		p = s.post(t, "op", "/services/new", bad)
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		txt := p.text()
		for _, want := range []string{
			"There are 8 problems",
			"Identifier: Write five parts separated by '/'",
			"Title in Greek: required",
			"the provider's URL is http or https",
			"line 2: a code of lower-case letters",
			"line 3: write four parts separated by ';'",
			"Time allowed (milliseconds): Write a whole number",
			"Calls per second per consumer: Write a number, 0 or more",
			"a service that needs no consent names the legal basis",
		} {
			assert.Contains(t, txt, want)
		}
		order := []string{"Identifier: Write five parts", "Title in Greek: required", "Provider's address: the provider's URL",
			"Legal basis: a service", "Data items: line", "Time allowed (milliseconds):"}
		for i := 1; i < len(order); i++ {
			assert.Less(t, strings.Index(txt, order[i-1]), strings.Index(txt, order[i]), "the summary follows the form: %s", order[i])
		}
		assert.Regexp(t, `id="f-upstream-error"><p>the provider&#39;s URL is http or https<`, p.body, "beside its field")
		assert.Contains(t, p.body, `aria-describedby="f-upstream-hint f-upstream-error"`)
		assert.Contains(t, p.body, `<a href="#f-title_el">`)
		assert.Contains(t, p.body, `value="Kept title"`)
		assert.Contains(t, p.body, `value="soon"`)
		assert.Contains(t, p.body, "no parts here")
		assert.NotContains(t, p.body, `name="consent_required" value="on" checked`, "the box stays unticked")

		// In Greek.
		bad.Set("lang", "el")
		p = s.post(t, "op", "/services/new", bad)
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		for _, want := range []string{"Υπάρχουν 8 προβλήματα", "Τίτλος στα ελληνικά: υποχρεωτικό", "μη αποδεκτή διεύθυνση παρόχου",
			"γραμμή 2: κωδικός με πεζά λατινικά", "χωρίς συγκατάθεση απαιτείται νομική βάση", "Γράψτε έναν ακέραιο"} {
			assert.Contains(t, p.text(), want)
		}
		// One problem, in the singular.
		one := validForm()
		one.Set("id", "GR/GOV/EL-AADE/REGISTRY/other")
		one.Set("upstream", "")
		p = s.post(t, "op", "/services/new", one)
		require.Equal(t, http.StatusUnprocessableEntity, p.status)
		assert.Contains(t, p.text(), "There is 1 problem")

		list, err := st.Services(t.Context())
		require.NoError(t, err)
		assert.Len(t, list, 1, "nothing refused was stored")
	})
}

func TestPagesEditService(t *testing.T) {
	s := newPagesSite(t, memoryStore(t), "")
	svc := s.register(t, "address")
	path := svcPath(svc.ID) + "/edit"

	p := s.get(t, "op", path)
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, `name="revision" value="1"`)
	assert.Contains(t, p.body, "residence_address; text; Διεύθυνση; Address")
	assert.Contains(t, p.body, `value="Residence address"`)
	assert.NotContains(t, p.body, `name="id"`, "the identifier does not change")

	form := url.Values{"revision": {"1"}, "title_el": {"Διεύθυνση"}, "title_en": {"Address of residence"},
		"upstream": {"https://registry.aade.example/v2"}, "consent_required": {"on"}, "items": {"residence_address; text; Διεύθυνση; Address"}}
	p = s.post(t, "op", path, form)
	require.Equal(t, http.StatusSeeOther, p.status, p.text())
	assert.Equal(t, pagesAt+svcPath(svc.ID)+"?done=saved", p.location)
	got, err := s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.Revision)
	assert.Equal(t, "op-1", got.UpdatedBy)
	assert.Equal(t, "Address of residence", got.Title.En)
	assert.Equal(t, interop.Limits{}, got.Limits, "limits left empty are the gateway's default")
	assert.Len(t, got.Items, 1)

	// Someone else's form, opened at revision 1, is refused, and keeps
	// what they typed.
	stale := url.Values{"revision": {"1"}, "title_el": {"Δ"}, "title_en": {"Typed by two"}, "upstream": {"https://x.example"}, "consent_required": {"on"}}
	p = s.post(t, "op2", path, stale)
	require.Equal(t, http.StatusConflict, p.status)
	assert.Contains(t, p.text(), "op-1 changed this service on")
	assert.Contains(t, p.text(), "(revision 2), after you opened the form. Your changes were not saved")
	assert.Contains(t, p.body, `value="Typed by two"`)
	assert.Contains(t, p.body, `name="revision" value="2"`, "saving again is a knowing choice")
	got, err = s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.Equal(t, "Address of residence", got.Title.En)
	stale.Set("revision", "2")
	p = s.post(t, "op2", path, stale)
	require.Equal(t, http.StatusSeeOther, p.status, p.text())
	got, err = s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.Equal(t, "op-2", got.UpdatedBy)

	// In Greek.
	stale.Set("lang", "el")
	p = s.post(t, "op", path, stale)
	require.Equal(t, http.StatusConflict, p.status)
	assert.Contains(t, p.text(), "Ο/Η op-2 άλλαξε την υπηρεσία")

	// A form without its revision, or one that is not valid.
	p = s.post(t, "op", path, url.Values{"title_el": {"x"}})
	assert.Equal(t, http.StatusBadRequest, p.status)
	assert.Contains(t, p.text(), "does not say which revision")
	p = s.post(t, "op", path, url.Values{"revision": {"3"}, "title_el": {"Δ"}, "title_en": {"T"}, "upstream": {"https://x.example/?q=1"}})
	assert.Equal(t, http.StatusUnprocessableEntity, p.status)
	assert.Contains(t, p.text(), "no query or fragment")
	assert.Contains(t, p.text(), "names the legal basis")
	p = s.post(t, "op", path, url.Values{"revision": {"3"}, "title_el": {"Δ"}, "title_en": {"T"}, "upstream": {"https://x.example"},
		"consent_required": {"on"}, "openapi": {`{"swagger": "2.0"}`}})
	assert.Equal(t, http.StatusUnprocessableEntity, p.status)
	assert.Contains(t, p.text(), `no "openapi": "3.x" member`)
	got, err = s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.Equal(t, int64(3), got.Revision, "nothing refused was stored")

	// A service that is not there.
	p = s.get(t, "op", "/services/GR/GOV/EL-AADE/REGISTRY/nothing/edit")
	assert.Equal(t, http.StatusNotFound, p.status)
	p = s.post(t, "op", "/services/GR/GOV/EL-AADE/REGISTRY/nothing/edit", form)
	assert.Equal(t, http.StatusNotFound, p.status)
	p = s.get(t, "op", "/services/GR/GOV/EL%20AADE/REGISTRY/x")
	assert.Equal(t, http.StatusNotFound, p.status)
	assert.Contains(t, p.text(), "There is no such service")
}

func TestPagesDisableEnable(t *testing.T) {
	s := newPagesSite(t, memoryStore(t), "")
	svc := s.register(t, "address")
	base := svcPath(svc.ID)

	p := s.get(t, "op", base+"/disable")
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.text(), "Disable Residence address?")
	assert.Contains(t, p.body, `name="revision" value="1"`)
	got, err := s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.False(t, got.Disabled, "asking is not doing")

	// Confirmed on a revision that moved meanwhile: shown again.
	_, err = s.st.UpdateService(t.Context(), got)
	require.NoError(t, err)
	p = s.post(t, "op", base+"/disable", url.Values{"revision": {"1"}})
	assert.Equal(t, http.StatusConflict, p.status)
	assert.Contains(t, p.text(), "The service was changed meanwhile")
	got, err = s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.False(t, got.Disabled)
	p = s.post(t, "op", base+"/disable", url.Values{})
	assert.Equal(t, http.StatusBadRequest, p.status)

	p = s.post(t, "op", base+"/disable", url.Values{"revision": {"2"}})
	require.Equal(t, http.StatusSeeOther, p.status)
	assert.Equal(t, pagesAt+base+"?done=disabled", p.location)
	got, err = s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.True(t, got.Disabled)
	assert.Equal(t, "op-1", got.UpdatedBy)
	p = s.get(t, "aud", base+"?done=disabled")
	assert.Contains(t, p.text(), "The service was disabled")
	assert.Contains(t, p.text(), "the gateway refuses every call to it")
	assert.Contains(t, s.get(t, "op", base+"/disable").text(), "This service is disabled already.")

	p = s.get(t, "op", "/?state=disabled")
	assert.Contains(t, p.text(), "1 of 1 services matches.")
	p = s.get(t, "op", "/?state=enabled")
	assert.Contains(t, p.text(), "0 of 1 services match.")

	p = s.post(t, "op2", base+"/enable", url.Values{"revision": {"3"}})
	require.Equal(t, http.StatusSeeOther, p.status)
	got, err = s.st.Service(t.Context(), svc.ID)
	require.NoError(t, err)
	assert.False(t, got.Disabled)
	assert.Equal(t, "op-2", got.UpdatedBy)
}

func TestPagesListAndSearch(t *testing.T) {
	s := newPagesSite(t, memoryStore(t), "")
	s.register(t, "address")
	other := interoptest.Service("persons")
	other.ID.Member, other.ID.Subsystem = "DYPA", "BENEFITS"
	other.Owner = interop.ClientID{}
	other.Title = interop.Text{El: "Επιδόματα ανεργίας", En: "Unemployment benefits"}
	_, err := s.st.CreateService(t.Context(), other)
	require.NoError(t, err)

	p := s.get(t, "aud", "/")
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.text(), "2 services are registered.")
	for q, want := range map[string]string{
		"διευθυνση":    "GR/GOV/EL-AADE/REGISTRY/address", // without accents
		"GR/GOV/DYPA":  "GR/GOV/DYPA/BENEFITS/persons",    // the owner
		"unemployment": "GR/GOV/DYPA/BENEFITS/persons",
	} {
		p = s.get(t, "aud", "/?q="+url.QueryEscape(q))
		assert.Contains(t, p.text(), "1 of 2 services matches.", q)
		assert.Contains(t, p.text(), want, q)
	}
	p = s.get(t, "aud", "/?q=nothing-like-it")
	assert.Contains(t, p.text(), "0 of 2 services match.")
	p = s.get(t, "aud", "/?state=gone")
	assert.Equal(t, http.StatusBadRequest, p.status)
	p = s.get(t, "aud", "/?q="+strings.Repeat("x", 201))
	assert.Equal(t, http.StatusBadRequest, p.status)
	p = s.get(t, "aud", "/?lang=el")
	assert.Contains(t, p.text(), "Είναι καταχωρισμένες 2 υπηρεσίες.")
	assert.Contains(t, p.body, `action="/signout"`)
}

func TestPagesRights(t *testing.T) {
	s := newPagesSite(t, memoryStore(t), "")
	svc := s.register(t, "address")
	base := svcPath(svc.ID)

	p := s.get(t, "op", base+"/grant?consumer=GR/GOV/DYPA/APP")
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.body, `value="GR/GOV/DYPA/APP"`)
	assert.Contains(t, p.body, `value="/**"`)

	form := url.Values{"consumer": {"GR/GOV/DYPA/APP"}, "method": {"GET"}, "path": {"/persons/*/address"},
		"not_before": {"2027-03-01"}, "not_after": {"2027-12-31"}}
	p = s.post(t, "op", base+"/grant", form)
	require.Equal(t, http.StatusSeeOther, p.status, p.text())
	assert.Equal(t, pagesAt+base+"?done=granted#rights", p.location)
	rights, err := s.st.Rights(t.Context(), interop.RightFilter{Service: svc.ID})
	require.NoError(t, err)
	require.Len(t, rights, 1)
	r := rights[0]
	assert.Equal(t, "op-1", r.GrantedBy)
	athens, err := time.LoadLocation("Europe/Athens")
	require.NoError(t, err)
	assert.True(t, r.NotBefore.Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, athens)), "the first day from its start: %v", r.NotBefore)
	assert.True(t, r.NotAfter.Equal(time.Date(2028, 1, 1, 0, 0, 0, 0, athens)), "the last day to its end: %v", r.NotAfter)

	p = s.get(t, "aud", base)
	assert.Contains(t, p.text(), "GR/GOV/DYPA/APP")
	assert.Contains(t, p.text(), "in force")
	assert.Contains(t, p.text(), "from 01/03/2027 until 31/12/2027")
	s.now = time.Date(2028, 1, 1, 0, 0, 0, 0, athens)
	assert.Contains(t, s.get(t, "aud", base).text(), "expired")
	s.now = time.Date(2027, 2, 28, 12, 0, 0, 0, athens)
	assert.Contains(t, s.get(t, "aud", base).text(), "not yet in force")

	// Refusals, each beside its field, in the operator's language.
	for _, tt := range []struct {
		name   string
		change url.Values
		status int
		want   string
	}{
		{"consumer", url.Values{"consumer": {"GR GOV"}}, http.StatusUnprocessableEntity, "Consumer: Write three or four parts separated by '/'"},
		{"pattern", url.Values{"path": {"/a/**/b"}}, http.StatusUnprocessableEntity, `Paths: "**" may only be the last segment`},
		{"no pattern", url.Values{"path": {""}}, http.StatusUnprocessableEntity, "a path pattern is required"},
		{"method", url.Values{"method": {"get"}}, http.StatusUnprocessableEntity, "Method: an HTTP method in upper case"},
		{"day", url.Values{"not_before": {"1/3/2027"}}, http.StatusUnprocessableEntity, "First day: Write a day as the box asks"},
		{"window", url.Values{"not_before": {"2027-06-01"}, "not_after": {"2027-05-31"}}, http.StatusUnprocessableEntity, "the end of the validity comes after its start"},
		{"twice", url.Values{}, http.StatusConflict, "This consumer has this right already"},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		for k, v := range tt.change {
			f[k] = v
		}
		p = s.post(t, "op", base+"/grant", f)
		assert.Equal(t, tt.status, p.status, tt.name)
		assert.Contains(t, p.text(), tt.want, tt.name)
		assert.Contains(t, p.body, `value="`+html.EscapeString(f.Get("consumer"))+`"`, "%s: what was typed is kept", tt.name)
	}
	f := url.Values{"consumer": {"GR GOV"}, "method": {"GET"}, "path": {"/**"}, "lang": {"el"}}
	p = s.post(t, "op", base+"/grant", f)
	assert.Contains(t, p.text(), "Γράψτε τρία ή τέσσερα μέρη χωρισμένα με '/'")
	p = s.post(t, "op", "/services/GR/GOV/EL-AADE/REGISTRY/nothing/grant", form)
	assert.Equal(t, http.StatusNotFound, p.status)
	rights, err = s.st.Rights(t.Context(), interop.RightFilter{})
	require.NoError(t, err)
	assert.Len(t, rights, 1, "nothing refused was granted")

	// Another consumer, every method: the lists by consumer.
	p = s.post(t, "op", base+"/grant", url.Values{"consumer": {"GR/GOV/EFKA"}, "method": {"*"}, "path": {"/**"}})
	require.Equal(t, http.StatusSeeOther, p.status, p.text())
	p = s.get(t, "aud", "/rights")
	assert.Contains(t, p.text(), "2 rights.")
	assert.Contains(t, p.text(), "any method")
	p = s.get(t, "aud", "/rights?consumer="+url.QueryEscape("GR/GOV/EFKA"))
	assert.Contains(t, p.text(), "Rights of the consumer")
	assert.Contains(t, p.body, "GR/<wbr>GOV/<wbr>EFKA")
	assert.Contains(t, p.text(), "1 right.")
	assert.NotContains(t, p.text(), "GR/GOV/DYPA/APP</a>")
	assert.NotContains(t, p.body, "/revoke", "an auditor is offered no revocation")
	p = s.get(t, "aud", "/rights?consumer=GR+GOV")
	assert.Equal(t, http.StatusBadRequest, p.status)
	assert.Contains(t, p.text(), "Write three or four parts")

	// Revoked after a confirmation.
	p = s.get(t, "op", "/rights/"+r.ID+"/revoke")
	require.Equal(t, http.StatusOK, p.status)
	assert.Contains(t, p.text(), "Revoke this right?")
	assert.Contains(t, p.text(), "/persons/*/address")
	assert.Contains(t, p.text(), "op-1, ")
	p = s.post(t, "op", "/rights/"+r.ID+"/revoke", url.Values{})
	require.Equal(t, http.StatusSeeOther, p.status)
	assert.Equal(t, pagesAt+base+"?done=revoked#rights", p.location)
	rights, err = s.st.Rights(t.Context(), interop.RightFilter{Consumer: r.Consumer})
	require.NoError(t, err)
	assert.Empty(t, rights)
	for _, id := range []string{r.ID, "r-nonsense"} {
		p = s.get(t, "op", "/rights/"+id+"/revoke")
		assert.Equal(t, http.StatusNotFound, p.status, id)
		p = s.post(t, "op", "/rights/"+id+"/revoke", url.Values{})
		assert.Equal(t, http.StatusNotFound, p.status, id)
		assert.Contains(t, p.text(), "There is no such right", id)
	}
}

func TestPagesOpenAPIAndStatic(t *testing.T) {
	s := newPagesSite(t, memoryStore(t), "")
	svc := interoptest.Service("address")
	svc.OpenAPI = []byte(`{"openapi": "3.0.3"}`)
	_, err := s.st.CreateService(t.Context(), svc)
	require.NoError(t, err)
	p := s.get(t, "aud", svcPath(svc.ID)+"/openapi")
	assert.Equal(t, http.StatusOK, p.status)
	assert.Equal(t, `{"openapi": "3.0.3"}`, p.body)
	assert.Contains(t, s.get(t, "aud", svcPath(svc.ID)).text(), "Download (20 bytes)")
	other := s.register(t, "other")
	p = s.get(t, "aud", svcPath(other.ID)+"/openapi")
	assert.Equal(t, http.StatusNotFound, p.status)
	assert.Contains(t, p.text(), "published no OpenAPI document")

	_, err = interop.PagesHandler(interop.PagesConfig{Caller: func(*http.Request) (interop.Caller, error) { return interop.Caller{}, nil }})
	assert.Error(t, err)
	_, err = interop.PagesHandler(interop.PagesConfig{Store: s.st})
	assert.Error(t, err)
}

// TestPagesDatabaseDown: a database that stops answering shows the
// "temporarily unavailable" page, and a form refused so changes nothing.
func TestPagesDatabaseDown(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := sqltest.Faulty(t, db, 200*time.Millisecond)
		st, err := interop.NewSQLStore(t.Context(), f.DB, interop.WithDBTimeout(500*time.Millisecond))
		require.NoError(t, err)
		s := newPagesSite(t, st, "")
		svc := s.register(t, "address")
		f.Freeze()
		// SQLite's readers go on while the writer is stuck; PostgreSQL's
		// connection answers nothing at all.
		if db.Name() == "postgres" {
			for _, path := range []string{"/", svcPath(svc.ID), "/rights"} {
				p := s.get(t, "aud", path)
				assert.Equal(t, http.StatusServiceUnavailable, p.status, path)
				assert.NotEmpty(t, p.header.Get("Retry-After"), path)
			}
		}
		p := s.post(t, "op", svcPath(svc.ID)+"/grant", url.Values{"consumer": {"GR/GOV/DYPA/APP"}, "method": {"GET"}, "path": {"/**"}})
		assert.Equal(t, http.StatusServiceUnavailable, p.status)
		assert.NotEmpty(t, p.header.Get("Retry-After"))
		assert.Contains(t, p.text(), "unavailable")
		f.Thaw()
		rights, err := st.Rights(t.Context(), interop.RightFilter{})
		require.NoError(t, err)
		assert.Empty(t, rights)
	})
}
