package procedures_test

import (
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/procedures"
	"github.com/egovkit/egovkit/procedures/search"
)

// The people of the editors' tests, with the names the pages show.
var (
	namedEditor   = procedures.Caller{ID: "epapadopoulou", Name: "Eleni Papadopoulou", Roles: []string{procedures.RoleEditor}}
	namedApprover = procedures.Caller{ID: "ngeorgiou", Name: "Nikos Georgiou", Roles: []string{procedures.RoleApprover}}
)

// testUserCookie names who a request of the editors' tests speaks for;
// a browser sets it as a cookie, a test client as a header.
const testUserCookie = "egovkit_test_user"

type editorSite struct {
	t   *testing.T
	reg *procedures.Registry
	srv *httptest.Server
}

// newEditorSite serves the catalogue and the workspace at /procedures,
// with the sample catalogue published when published is set.
func newEditorSite(t *testing.T, db *sqltest.DB, published bool) *editorSite {
	t.Helper()
	ctx := t.Context()
	reg, err := procedures.NewRegistry(ctx, db.DB.DB, procedures.WithLoopbackHTTP())
	require.NoError(t, err)
	if published {
		var docs [][]byte
		for _, d := range procedures.Samples() {
			docs = append(docs, d)
		}
		_, err = reg.ImportPublished(ctx, "samples", docs)
		require.NoError(t, err)
	}
	idx, err := search.New(ctx, reg)
	require.NoError(t, err)
	t.Cleanup(func() { idx.Close() })
	people := map[string]procedures.Caller{"editor": namedEditor, "approver": namedApprover, "citizen": citizen}
	h, err := procedures.PagesHandler(procedures.PagesConfig{Registry: reg, Index: idx, Prefix: "/procedures",
		Caller: func(r *http.Request) (procedures.Caller, error) {
			who := r.Header.Get("X-Test-User")
			if c, err := r.Cookie(testUserCookie); err == nil && who == "" {
				who = c.Value
			}
			c, ok := people[who]
			if !ok {
				return procedures.Caller{}, errors.New("not signed in")
			}
			return c, nil
		}})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/procedures/", http.StripPrefix("/procedures", h))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &editorSite{t: t, reg: reg, srv: srv}
}

// do sends a request as user (in English unless the path asks), from
// the site itself unless crossSite; redirects are not followed.
func (s *editorSite) do(method, path, user string, form url.Values, crossSite bool) (int, string, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.srv.URL+"/procedures"+path, body)
	require.NoError(s.t, err)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if !crossSite {
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	req.Header.Set("X-Test-User", user)
	req.Header.Set("Accept-Language", "en")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

var (
	formRe     = regexp.MustCompile(`(?s)<form method="post" action="[^"]*" id="form-top" novalidate>(.*?)</form>`)
	inputRe    = regexp.MustCompile(`<input type="(text|hidden|checkbox)"[^>]*? name="([^"]+)" value="([^"]*)"([^>]*)>`)
	textareaRe = regexp.MustCompile(`(?s)<textarea id="[^"]*" name="([^"]+)"[^>]*>(.*?)</textarea>`)
	selectRe   = regexp.MustCompile(`(?s)<select id="[^"]*" name="([^"]+)"[^>]*>(.*?)</select>`)
	selectedRe = regexp.MustCompile(`<option value="([^"]*)" selected>`)
)

// formValues reads the editor's form on page as a browser would send
// it, without the button pressed.
func formValues(t *testing.T, page string) url.Values {
	t.Helper()
	m := formRe.FindStringSubmatch(page)
	require.NotNil(t, m, "the page has the editor's form")
	v := url.Values{}
	for _, in := range inputRe.FindAllStringSubmatch(m[1], -1) {
		if in[1] == "checkbox" && !strings.Contains(in[4], "checked") {
			continue
		}
		v.Add(html.UnescapeString(in[2]), html.UnescapeString(in[3]))
	}
	for _, ta := range textareaRe.FindAllStringSubmatch(m[1], -1) {
		v.Set(html.UnescapeString(ta[1]), html.UnescapeString(ta[2]))
	}
	for _, sel := range selectRe.FindAllStringSubmatch(m[1], -1) {
		if o := selectedRe.FindStringSubmatch(sel[2]); o != nil {
			v.Set(html.UnescapeString(sel[1]), html.UnescapeString(o[1]))
		}
	}
	return v
}

// press returns the form's values with the button named value pressed.
func press(v url.Values, action string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	out.Set("action", action)
	return out
}

func TestEditorFormGroups(t *testing.T) {
	s := newEditorSite(t, sqltest.SQLite(t), false)
	status, _, page := s.do("GET", "/edit/new", "editor", nil, false)
	require.Equal(t, http.StatusOK, status)
	v := formValues(t, page)
	assert.Equal(t, "1", v.Get("n/steps"), "a new procedure starts with a step")
	assert.Equal(t, "1", v.Get("n/channels"), "and a channel")
	assert.Equal(t, "0", v.Get("n/faq"))
	v.Set("/title/el", "Δοκιμή")

	for _, g := range []struct{ key, field, add string }{
		{"conditions", "/el", "Add a condition"},
		{"steps", "/title/el", "Add a step"},
		{"evidence", "/title/el", "Add a document"},
		{"costs", "/title/el", "Add a cost"},
		{"channels", "/title/el", "Add a channel"},
		{"legal_basis", "/title/el", "Add a legal reference"},
		{"faq", "/question/el", "Add a question"},
	} {
		t.Run(g.key, func(t *testing.T) {
			assert.Contains(t, page, g.add)
			// Add until there are three, naming each.
			for v.Get("n/"+g.key) != "3" {
				status, _, page = s.do("POST", "/edit/new", "editor", press(v, "add:"+g.key), false)
				require.Equal(t, http.StatusOK, status, "adding shows the form again")
				v = formValues(t, page)
			}
			for i, name := range []string{"first", "second", "third"} {
				v.Set("/"+g.key+"/"+strconv.Itoa(i)+g.field, name)
			}
			order := func() []string {
				n, err := strconv.Atoi(v.Get("n/" + g.key))
				require.NoError(t, err)
				var out []string
				for i := range n {
					out = append(out, v.Get("/"+g.key+"/"+strconv.Itoa(i)+g.field))
				}
				return out
			}
			status, _, page = s.do("POST", "/edit/new", "editor", press(v, "down:"+g.key+":0"), false)
			require.Equal(t, http.StatusOK, status)
			v = formValues(t, page)
			assert.Equal(t, []string{"second", "first", "third"}, order())
			status, _, page = s.do("POST", "/edit/new", "editor", press(v, "up:"+g.key+":2"), false)
			require.Equal(t, http.StatusOK, status)
			v = formValues(t, page)
			assert.Equal(t, []string{"second", "third", "first"}, order())
			status, _, page = s.do("POST", "/edit/new", "editor", press(v, "remove:"+g.key+":1"), false)
			require.Equal(t, http.StatusOK, status)
			v = formValues(t, page)
			assert.Equal(t, "2", v.Get("n/"+g.key))
			assert.Equal(t, []string{"second", "first"}, order())
			assert.Equal(t, "Δοκιμή", v.Get("/title/el"), "every value is kept")
		})
	}
	assertNothingStored(t, s.reg, "changing the form stores nothing")
}

func TestEditorFormRefusals(t *testing.T) {
	s := newEditorSite(t, sqltest.SQLite(t), false)
	_, _, page := s.do("GET", "/edit/new", "editor", nil, false)
	v := formValues(t, page)
	for name, form := range map[string]url.Values{
		"an item that is not there": press(v, "remove:steps:7"),
		"a group that is not there": press(v, "add:secrets"),
		"an unknown button":         press(v, "explode:steps:0:1"),
		"a count that is no number": func() url.Values { f := press(v, "save"); f.Set("n/steps", "many"); return f }(),
		"a count too large":         func() url.Values { f := press(v, "save"); f.Set("n/steps", "100000"); return f }(),
		"a broken hidden field":     func() url.Values { f := press(v, "save"); f.Set("extra", "{not json"); return f }(),
	} {
		status, _, body := s.do("POST", "/edit/new", "editor", form, false)
		assert.Equal(t, http.StatusBadRequest, status, name)
		assert.Contains(t, body, "The form was not sent as this page wrote it", name)
	}
	status, _, _ := s.do("POST", "/edit/new", "editor", press(v, "add:steps"), true)
	assert.Equal(t, http.StatusForbidden, status, "a form from another site is refused")
	status, _, _ = s.do("POST", "/edit/new", "approver", press(v, "save"), false)
	assert.Equal(t, http.StatusForbidden, status, "approvers do not create")
	status, _, _ = s.do("GET", "/edit/new", "approver", nil, false)
	assert.Equal(t, http.StatusForbidden, status)

	// Saved with what a first attempt typically lacks.
	v.Set("/id", "pet-passport")
	v.Set("/title/el", "Διαβατήριο κατοικίδιου")
	v.Set("/steps/0/title/el", "Αίτηση")
	v.Set("/steps/0/actor", "applicant")
	v.Set("/steps/0/channel", "digital")
	v.Set("/channels/0/type", "digital")
	status, _, page = s.do("POST", "/edit/new", "editor", press(v, "add:costs"), false)
	require.Equal(t, http.StatusOK, status)
	v = formValues(t, page)
	v.Set("/costs/0/title/el", "Παράβολο")
	v.Set("/costs/0/min", "twelve")
	status, _, page = s.do("POST", "/edit/new", "editor", press(v, "save"), false)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, page, "There is a problem")
	assert.Regexp(t, `<p class="error-message" id="f-steps-0-url-error">Fill this in.</p>\s*<input type="text" id="f-steps-0-url" name="/steps/0/url" value="" aria-invalid="true" aria-describedby="f-steps-0-url-hint f-steps-0-url-error">`, page,
		"the missing address is said beside its field")
	assert.Contains(t, page, `<a href="#f-steps-0-url">Step 1: Where the step is taken online: Fill this in.</a>`, "and in the summary, in the form's words")
	assert.Contains(t, page, `id="f-costs-0-min-error">Write a number, such as 12.50.</p>`)
	assert.Contains(t, page, `value="twelve"`, "what was typed is kept")
	assert.NotContains(t, page, "/steps/0/url:", "no JSON pointer is shown")
	assert.NotContains(t, page, `Must validate`, "a conditional is said by what it requires")
	kept := formValues(t, page)
	assert.Equal(t, "Διαβατήριο κατοικίδιου", kept.Get("/title/el"))
	assert.Equal(t, "digital", kept.Get("/steps/0/channel"))
	assertNothingStored(t, s.reg, "nothing is stored on an error")

	// The same in Greek.
	status, _, page = s.do("POST", "/edit/new?lang=el", "editor", press(v, "save"), false)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, page, `id="f-steps-0-url-error">Συμπληρώστε το.</p>`)
	assert.Contains(t, page, "Βήμα 1: Πού γίνεται το βήμα ηλεκτρονικά: Συμπληρώστε το.")

	// Fixed: stored, and on to the preview.
	v = kept
	v.Set("/steps/0/url", "https://www.gov.gr/pet")
	v.Set("/costs/0/min", "12,50")
	v.Set("/costs/0/max", "12.50")
	v.Set("/costs/0/currency", "EUR")
	v.Set("/description/el", "Έκδοση διαβατηρίου για σκύλο ή γάτα.")
	v.Set("/type", "document")
	v.Set("/authority/id", "vet-service")
	v.Set("/authority/name/el", "Κτηνιατρική υπηρεσία")
	status, loc, page := s.do("POST", "/edit/new", "editor", press(v, "preview"), false)
	require.Equal(t, http.StatusSeeOther, status, page)
	assert.Equal(t, "/procedures/edit/pet-passport/1/preview", loc)
	got, err := s.reg.Get(t.Context(), "pet-passport", 1)
	require.NoError(t, err)
	require.Len(t, got.Procedure.Costs, 1)
	assert.Equal(t, 12.5, got.Procedure.Costs[0].Min, "a decimal comma is read")

	// A draft's form: the id cannot change, and a save that breaks the
	// schema changes nothing stored.
	status, _, page = s.do("GET", "/edit/pet-passport/1", "editor", nil, false)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, `name="/id" value="pet-passport" class="short" readonly`)
	v = formValues(t, page)
	v.Set("/title/el", "")
	status, _, page = s.do("POST", "/edit/pet-passport/1", "editor", press(v, "save"), false)
	require.Equal(t, http.StatusUnprocessableEntity, status)
	assert.Contains(t, page, `id="f-title-el-error">Fill this in.</p>`)
	again, err := s.reg.Get(t.Context(), "pet-passport", 1)
	require.NoError(t, err)
	assert.Equal(t, got.Hash, again.Hash, "nothing is stored on an error")
	status, _, _ = s.do("POST", "/edit/pet-passport/1", "editor", press(v, "save"), true)
	assert.Equal(t, http.StatusForbidden, status)
}

// TestEditorFormKeepsTheDocument saves every sample through the form
// unchanged: what the form does not show (life events, outputs, links)
// travels with it, and what it shows comes back as it was.
func TestEditorFormKeepsTheDocument(t *testing.T) {
	s := newEditorSite(t, sqltest.SQLite(t), false)
	for name, doc := range procedures.Samples() {
		var p procedures.Procedure
		require.NoError(t, json.Unmarshal(doc, &p))
		_, err := s.reg.Create(t.Context(), namedEditor, doc)
		require.NoError(t, err, name)
		before, err := s.reg.Get(t.Context(), p.ID, 1)
		require.NoError(t, err)
		status, _, page := s.do("GET", "/edit/"+p.ID+"/1", "editor", nil, false)
		require.Equal(t, http.StatusOK, status, name)
		status, _, page = s.do("POST", "/edit/"+p.ID+"/1", "editor", press(formValues(t, page), "save"), false)
		require.Equal(t, http.StatusSeeOther, status, "%s: %s", name, page)
		after, err := s.reg.Get(t.Context(), p.ID, 1)
		require.NoError(t, err)
		// The ways a document is handed in come back in the form's order.
		assert.Equal(t, normalised(t, before.Document()), normalised(t, after.Document()), name)
	}
}

// normalised is a document with the ways each document is handed in
// sorted.
func normalised(t *testing.T, doc []byte) map[string]any {
	var m map[string]any
	require.NoError(t, json.Unmarshal(doc, &m))
	ev, _ := m["evidence"].([]any)
	for _, e := range ev {
		sub, _ := e.(map[string]any)["submission"].([]any)
		slices.SortFunc(sub, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
	}
	return m
}

func assertNothingStored(t *testing.T, reg *procedures.Registry, msg string) {
	t.Helper()
	counts, err := reg.Counts(t.Context())
	require.NoError(t, err)
	for state, n := range counts {
		assert.Zero(t, n, "%s: %s", msg, state)
	}
}

func TestEditorReviewAndRevise(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		s := newEditorSite(t, db, true)

		status, _, page := s.do("GET", "/edit/", "editor", nil, false)
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, "Signed in as Eleni Papadopoulou.", "the editor is shown by name")
		assert.Contains(t, page, "20 published procedures.")
		status, _, page = s.do("GET", "/edit/?q=passport", "editor", nil, false)
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, `href="/procedures/edit/passport/1"`)
		assert.NotContains(t, page, `href="/procedures/edit/birth-certificate/1"`)
		var pub *procedures.Version
		status, _, page = s.do("GET", "/edit/?q=zzzz", "editor", nil, false)
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, "No published procedure matches.")

		// The public page offers a signed-in editor to revise it, and no
		// one else; it is not cached for the editor.
		status, _, page = s.do("GET", "/passport", "", nil, false)
		require.Equal(t, http.StatusOK, status)
		assert.NotContains(t, page, "Revise this procedure")
		status, _, page = s.do("GET", "/passport", "approver", nil, false)
		require.Equal(t, http.StatusOK, status)
		assert.NotContains(t, page, "Revise this procedure")
		status, _, page = s.do("GET", "/passport", "editor", nil, false)
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, `<form method="post" action="/procedures/edit/passport/revise">`)
		status, loc, _ := s.do("POST", "/edit/passport/revise", "editor", url.Values{}, false)
		require.Equal(t, http.StatusSeeOther, status)
		assert.Equal(t, "/procedures/edit/passport/2", loc)
		status, loc, _ = s.do("POST", "/edit/passport/revise", "editor", url.Values{}, false)
		require.Equal(t, http.StatusSeeOther, status, "a second revise leads to the draft being worked on")
		assert.Equal(t, "/procedures/edit/passport/2", loc)

		status, _, page = s.do("GET", "/edit/passport/2", "editor", nil, false)
		require.Equal(t, http.StatusOK, status)
		v := formValues(t, page)
		v.Set("/steps/1/title/en", "Have your photo and fingerprints taken")
		v.Set("/processing_time", "P5D")
		status, _, page = s.do("POST", "/edit/passport/2", "editor", press(v, "add:faq"), false)
		require.Equal(t, http.StatusOK, status)
		v = formValues(t, page)
		n, err := strconv.Atoi(v.Get("n/faq"))
		require.NoError(t, err)
		last := "/faq/" + strconv.Itoa(n-1)
		v.Set(last+"/question/el", "Πόσο ισχύει;")
		v.Set(last+"/answer/el", "Πέντε ή δέκα έτη.")
		status, loc, page = s.do("POST", "/edit/passport/2", "editor", press(v, "save"), false)
		require.Equal(t, http.StatusSeeOther, status, page)
		assert.Equal(t, "/procedures/edit/passport/2?saved=1", loc)
		_, _, page = s.do("GET", loc[len("/procedures"):], "editor", nil, false)
		assert.Contains(t, page, "The draft was saved.")

		status, _, page = s.do("GET", "/edit/passport/2/preview", "editor", nil, false)
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, "Preview: citizens do not see this yet")
		assert.Contains(t, page, "Processing time: 5 days")
		assert.NotContains(t, page, "Suggest a correction", "a preview takes no suggestions")
		assert.Contains(t, page, `action="/procedures/edit/passport/2/submit"`)
		status, _, _ = s.do("GET", "/edit/passport/9/preview", "editor", nil, false)
		assert.Equal(t, http.StatusNotFound, status)

		status, _, _ = s.do("POST", "/edit/passport/2/submit", "editor", url.Values{}, false)
		require.Equal(t, http.StatusSeeOther, status)
		status, _, page = s.do("GET", "/edit/passport/2", "approver", nil, false)
		require.Equal(t, http.StatusOK, status)
		assert.Contains(t, page, "What changed since the published version 1")
		assert.Regexp(t, `<th scope="rowgroup" colspan="2">Step 2: Title in English <span class="tag">changed</span></th></tr>\s*<tr><td><del>[^<]+</del></td><td><ins>Have your photo and fingerprints taken</ins></td>`, page)
		assert.Regexp(t, `<th scope="rowgroup" colspan="2">Processing time <span class="tag">changed</span></th>`, page)
		assert.Regexp(t, `Question [0-9]+: Question in Greek <span class="tag">added</span>`, page)
		assert.Contains(t, page, "fields are unchanged.")
		assert.Contains(t, page, ">Approve<")
		assert.NotContains(t, page, `id="form-top"`, "an approver gets no form")
		status, _, page = s.do("POST", "/edit/passport/2", "approver", press(v, "save"), false)
		assert.Equal(t, http.StatusConflict, status)
		assert.Contains(t, page, "Your account has no editor")

		for _, a := range []string{"approve", "publish"} {
			status, _, page = s.do("POST", "/edit/passport/2/"+a, "approver", url.Values{}, false)
			require.Equal(t, http.StatusSeeOther, status, page)
		}
		pub, err = s.reg.Published(t.Context(), "passport")
		require.NoError(t, err)
		assert.Equal(t, 2, pub.Version)
		assert.Equal(t, "P5D", pub.Procedure.ProcessingTime)
		history, err := s.reg.History(t.Context(), "passport")
		require.NoError(t, err)
		assert.Equal(t, "Nikos Georgiou", history[len(history)-1].ActorName)
		_, _, page = s.do("GET", "/edit/passport/2", "editor", nil, false)
		assert.Contains(t, page, "Nikos Georgiou (ngeorgiou) · Approved → Published", "the history names people")
	})
}
