package consent_test

import (
	"context"
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

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/internal/testclock"
)

const returnTo = "https://efka.example/return"

// previews is a source that shows what it holds.
type previews struct{ fail bool }

func (p previews) Preview(_ context.Context, q consent.PreviewQuery) ([]consent.PreviewValue, error) {
	if p.fail {
		return nil, errors.New("the source does not answer")
	}
	var out []consent.PreviewValue
	for _, it := range q.Items {
		if it.ID == "marital_status" {
			out = append(out, consent.PreviewValue{Item: it.ID, Value: "έγγαμη"})
		}
	}
	return out, nil
}

// site serves the pages at /consent and the API at /consent/api, with
// the citizen named by X-Test-User and the requester by X-Test-Requester.
type site struct {
	t     *testing.T
	svc   *consent.Service
	clock *testclock.Clock
	srv   *httptest.Server
}

var people = map[string]consent.Citizen{
	"maria": citizen,
	"nikos": {TaxNumber: nikos, Session: "sess-2", LoA: consent.LoAHigh},
	"low":   {TaxNumber: maria, Session: "sess-3", LoA: consent.LoALow},
}

var requesters = map[string]consent.Requester{
	"efka":  agency,
	"other": {Organisation: "dypa", Client: "dypa-app"},
}

var offers = []consent.Offer{{ID: "dypa-unemployment", Requester: requesters["other"], Source: source,
	Items:      []consent.Item{{ID: "marital_status"}},
	Purpose:    consent.Purpose{Code: "unemployment", Text: consent.Text{EL: "Επίδομα ανεργίας", EN: "Unemployment benefit"}},
	LegalBasis: "GDPR art. 6(1)(a)", Validity: 90 * 24 * time.Hour, MaxUses: consent.Unlimited}}

var itemNames = map[string]consent.Text{"marital_status": {EL: "Οικογενειακή κατάσταση", EN: "Marital status"},
	"children": {EL: "Αριθμός παιδιών", EN: "Number of children"}}

func newSite(t *testing.T, preview consent.PreviewFetcher) *site { return newSiteAs(t, preview, "") }

// newSiteAs is newSite where a request that names no citizen is fixed's,
// as a browser's are.
func newSiteAs(t *testing.T, preview consent.PreviewFetcher, fixed string) *site {
	t.Helper()
	return newSiteWith(t, preview, fixed, nil)
}

// newSiteWith is newSiteAs with the pages' configuration changed by tune.
func newSiteWith(t *testing.T, preview consent.PreviewFetcher, fixed string, tune func(*consent.PagesConfig)) *site {
	t.Helper()
	svc, _, clock := receiptService(t)
	s := &site{t: t, svc: svc, clock: clock}
	cit := func(r *http.Request) (consent.Citizen, error) {
		who := r.Header.Get("X-Test-User")
		if who == "" {
			who = fixed
		}
		c, ok := people[who]
		if !ok {
			return consent.Citizen{}, errors.New("not signed in")
		}
		return c, nil
	}
	pcfg := consent.PagesConfig{Service: svc, Citizen: cit, Prefix: "/consent", SignInURL: "/signin",
		SignOutURL: "/consent/signout", Preview: preview, Offers: offers, ItemNames: itemNames}
	if tune != nil {
		tune(&pcfg)
	}
	pages, err := consent.PagesHandler(pcfg)
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/consent/", http.StripPrefix("/consent", pages))
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	api, err := consent.APIHandler(consent.APIConfig{Service: svc, Citizen: cit, PagesURL: s.srv.URL + "/consent",
		Requester: func(r *http.Request) (consent.Requester, error) {
			req, ok := requesters[r.Header.Get("X-Test-Requester")]
			if !ok {
				return consent.Requester{}, errors.New("no token")
			}
			return req, nil
		},
		ReturnURLAllowed: func(_ context.Context, req consent.Requester, u string) (bool, error) {
			return req == agency && u == returnTo, nil
		}})
	require.NoError(t, err)
	mux.Handle("/consent/api/", http.StripPrefix("/consent/api", api))
	return s
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type answer struct {
	status int
	header http.Header
	body   string
}

// do sends a request as user (a citizen) or, with a "req:" prefix, as a
// requester; a form is sent from the same site unless crossSite.
func (s *site) do(method, path, who string, body string, hdr ...string) answer {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	require.NoError(s.t, err)
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	} else if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if r, ok := strings.CutPrefix(who, "req:"); ok {
		req.Header.Set("X-Test-Requester", r)
	} else {
		req.Header.Set("X-Test-User", who)
	}
	req.Header.Set("Accept-Language", "en")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noFollow.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (s *site) request(t *testing.T, state string) string {
	t.Helper()
	d := draft(s.clock)
	d.ReturnState = state
	r, err := s.svc.Request(t.Context(), agency, d)
	require.NoError(t, err)
	return r.ID
}

// TestPagesApproveAndRefuse follows a request from the citizen's page to
// the requester's return URL, both ways, and every refusal on the way.
func TestPagesApproveAndRefuse(t *testing.T) {
	s := newSite(t, previews{})
	id := s.request(t, "xyz-1")

	a := s.do("GET", "/consent/", "", "")
	assert.Equal(t, http.StatusSeeOther, a.status)
	assert.Equal(t, "/signin?return=%2Fconsent%2F", a.header.Get("Location"))
	a = s.do("GET", "/consent/r/"+id, "low", "")
	assert.Equal(t, http.StatusForbidden, a.status, "LoA low sees no request")
	assert.Contains(t, a.body, "one-time code")
	a = s.do("GET", "/consent/r/"+id, "nikos", "")
	assert.Equal(t, http.StatusNotFound, a.status, "another citizen's request")
	a = s.do("GET", "/consent/r/nothing", "maria", "")
	assert.Equal(t, http.StatusNotFound, a.status)

	a = s.do("GET", "/consent/", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Contains(t, a.body, "Waiting for your answer")
	assert.Contains(t, a.body, `href="/consent/r/`+id+`"`)

	a = s.do("GET", "/consent/r/"+id, "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Contains(t, a.body, "efka asks to receive from civil-registry (family-status) these data about you: Marital status, Number of children. Purpose: Child benefit.")
	assert.Contains(t, a.body, "έγγαμη", "the preview")
	assert.Contains(t, a.body, `formaction="/consent/r/`+id+`/refuse"`)

	form := "lang=en"
	a = s.do("POST", "/consent/r/"+id+"/approve", "maria", form, "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, a.status, "a form from another site")
	a = s.do("POST", "/consent/r/"+id+"/approve", "maria", "lang=fr")
	assert.Equal(t, http.StatusBadRequest, a.status)
	a = s.do("POST", "/consent/r/"+id+"/approve", "nikos", form)
	assert.Equal(t, http.StatusNotFound, a.status)
	a = s.do("POST", "/consent/r/"+id+"/approve", "low", form)
	assert.Equal(t, http.StatusForbidden, a.status)
	a = s.do("POST", "/consent/r/"+id+"/approve", "", form)
	assert.Equal(t, http.StatusUnauthorized, a.status)
	rec, err := s.svc.Get(t.Context(), citizen, id)
	require.NoError(t, err)
	require.Equal(t, consent.StateAwaitingAuthorisation, rec.State, "no refusal changed anything")

	a = s.do("POST", "/consent/r/"+id+"/approve", "maria", form)
	require.Equal(t, http.StatusSeeOther, a.status, a.body)
	back, err := url.Parse(a.header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, "efka.example", back.Host)
	assert.Equal(t, url.Values{"consent_id": {id}, "state": {"xyz-1"}}, back.Query())
	rec, err = s.svc.Get(t.Context(), citizen, id)
	require.NoError(t, err)
	assert.Equal(t, consent.StateAuthorised, rec.State)
	assert.Equal(t, "en", rec.Notice.Language)
	assert.Equal(t, consent.LoASubstantial, rec.Evidence.LoA)
	a = s.do("POST", "/consent/r/"+id+"/approve", "maria", form)
	assert.Equal(t, http.StatusConflict, a.status, "answered already")
	a = s.do("GET", "/consent/r/"+id, "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.NotContains(t, a.body, "/approve")
	assert.Contains(t, a.body, "consent_id="+id, "a link back to the requester")

	refused := s.request(t, "")
	a = s.do("POST", "/consent/r/"+refused+"/refuse", "maria", "lang=el")
	require.Equal(t, http.StatusSeeOther, a.status, a.body)
	back, err = url.Parse(a.header.Get("Location"))
	require.NoError(t, err)
	assert.Equal(t, url.Values{"error": {"access_denied"}}, back.Query())
	rec, err = s.svc.Get(t.Context(), citizen, refused)
	require.NoError(t, err)
	assert.Equal(t, consent.StateRejected, rec.State)

	// Without a return URL the citizen stays on the pages.
	d := draft(s.clock)
	d.ReturnURL = ""
	r, err := s.svc.Request(t.Context(), agency, d)
	require.NoError(t, err)
	a = s.do("POST", "/consent/r/"+r.ID+"/refuse", "maria", "lang=el")
	assert.Equal(t, "/consent/?done=refused", a.header.Get("Location"))

	// An expired request can no longer be answered.
	late := s.request(t, "")
	s.clock.Advance(2 * time.Hour)
	a = s.do("POST", "/consent/r/"+late+"/approve", "maria", form)
	assert.Equal(t, http.StatusConflict, a.status)
	a = s.do("GET", "/consent/r/"+late, "maria", "")
	assert.Contains(t, a.body, "This request is expired")
	assert.Contains(t, a.body, "error=access_denied")
}

// TestPagesReceiptWithdrawLog: a consent's receipt page and signed copy,
// the access log with its pages and filter, and the withdrawal with its
// confirmation.
func TestPagesReceiptWithdrawLog(t *testing.T) {
	s := newSite(t, previews{fail: true})
	ctx := t.Context()
	d := draft(s.clock)
	d.MaxUses = consent.Unlimited
	r, err := s.svc.Request(ctx, agency, d)
	require.NoError(t, err)
	a := s.do("GET", "/consent/r/"+r.ID, "maria", "")
	assert.Contains(t, a.body, "cannot show the data right now", "a preview that failed")
	_, err = s.svc.Approve(ctx, citizen, r.ID, consent.NoticeOf("shown", "el"))
	require.NoError(t, err)

	a = s.do("GET", "/consent/c/"+r.ID, "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	for _, want := range []string{"Receipt number", r.ID, "KI-CR-v1.1.0", "https://consent.gov.example", "explicit",
		"substantial", "Withdraw this consent", "/consent/c/" + r.ID + "/receipt", "approved the request"} {
		assert.Contains(t, a.body, want)
	}
	a = s.do("GET", "/consent/c/"+r.ID+"/receipt", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, "application/jwt", a.header.Get("Content-Type"))
	assert.Contains(t, a.header.Get("Content-Disposition"), "attachment")
	assert.Len(t, strings.Split(a.body, "."), 3)
	a = s.do("GET", "/consent/c/"+r.ID+"/receipt", "nikos", "")
	assert.Equal(t, http.StatusNotFound, a.status)

	// 25 uses: two pages, newest first.
	for i := range 25 {
		q := check()
		q.ExchangeID = "x-" + string(rune('a'+i))
		dec, err := s.svc.Check(ctx, q)
		require.NoError(t, err)
		require.True(t, dec.Allowed)
		s.clock.Advance(time.Minute)
	}
	a = s.do("GET", "/consent/log", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, 20, strings.Count(a.body, "<td>efka</td>"))
	assert.Contains(t, a.body, `href="/consent/log?page=2"`)
	assert.NotContains(t, a.body, `rel="prev"`)
	a = s.do("GET", "/consent/log?page=2", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Equal(t, 5, strings.Count(a.body, "<td>efka</td>"))
	assert.Contains(t, a.body, `rel="prev"`)
	assert.NotContains(t, a.body, `rel="next"`)
	a = s.do("GET", "/consent/log?requester=dypa", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Contains(t, a.body, "This agency has not used data about you.")
	a = s.do("GET", "/consent/log?requester=efka", "maria", "")
	assert.Equal(t, 20, strings.Count(a.body, "<td>efka</td>"))
	a = s.do("GET", "/consent/log?page=0", "maria", "")
	assert.Equal(t, http.StatusBadRequest, a.status)
	a = s.do("GET", "/consent/log", "nikos", "")
	assert.Contains(t, a.body, "No agency has used data about you yet.")

	a = s.do("GET", "/consent/c/"+r.ID+"/withdraw", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Contains(t, a.body, "Withdraw your consent to efka?")
	a = s.do("POST", "/consent/c/"+r.ID+"/withdraw", "maria", "x=1", "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, a.status)
	a = s.do("POST", "/consent/c/"+r.ID+"/withdraw", "nikos", "x=1")
	assert.Equal(t, http.StatusNotFound, a.status)
	dec, err := s.svc.Check(ctx, check())
	require.NoError(t, err)
	require.True(t, dec.Allowed, "nothing withdrawn yet")
	a = s.do("POST", "/consent/c/"+r.ID+"/withdraw", "maria", "x=1")
	require.Equal(t, http.StatusSeeOther, a.status, a.body)
	assert.Equal(t, "/consent/c/"+r.ID+"?done=withdrawn", a.header.Get("Location"))
	dec, err = s.svc.Check(ctx, check())
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonWithdrawn, dec.Reason)
	a = s.do("POST", "/consent/c/"+r.ID+"/withdraw", "maria", "x=1")
	assert.Equal(t, http.StatusConflict, a.status)
	a = s.do("GET", "/consent/c/"+r.ID+"/withdraw", "maria", "")
	assert.Equal(t, http.StatusConflict, a.status)
	a = s.do("GET", "/consent/c/"+r.ID+"?done=withdrawn", "maria", "")
	assert.Contains(t, a.body, "You withdrew your consent")
	assert.NotContains(t, a.body, "Withdraw this consent")
	a = s.do("GET", "/consent/", "maria", "")
	assert.Contains(t, a.body, "withdrawn")
}

// TestPagesGive: a standing consent chosen from the offers.
func TestPagesGive(t *testing.T) {
	s := newSite(t, nil)
	a := s.do("GET", "/consent/give", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Contains(t, a.body, "dypa asks to receive from civil-registry")
	a = s.do("POST", "/consent/give", "maria", "lang=en")
	assert.Equal(t, http.StatusUnprocessableEntity, a.status)
	assert.Contains(t, a.body, "Choose the consent you give.")
	a = s.do("POST", "/consent/give", "maria", "lang=en&offer=nothing")
	assert.Equal(t, http.StatusUnprocessableEntity, a.status)
	a = s.do("POST", "/consent/give", "low", "lang=en&offer=dypa-unemployment")
	assert.Equal(t, http.StatusForbidden, a.status)
	recs, err := s.svc.List(t.Context(), citizen)
	require.NoError(t, err)
	require.Empty(t, recs, "no refusal stored anything")

	// Given two minutes after the form was shown, the consent keeps the
	// hash of the words read.
	a = s.do("GET", "/consent/give", "maria", "")
	shown := regexp.MustCompile(`name="shown" value="([0-9]+)"`).FindStringSubmatch(a.body)
	words := regexp.MustCompile(`<br>([^<]+)</label>`).FindStringSubmatch(a.body)
	require.NotNil(t, shown, a.body)
	require.NotNil(t, words, a.body)
	s.clock.Advance(2 * time.Minute)
	a = s.do("POST", "/consent/give", "maria", "lang=en&offer=dypa-unemployment&shown="+shown[1])
	require.Equal(t, http.StatusSeeOther, a.status, a.body)
	loc := a.header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/consent/c/"), loc)
	recs, err = s.svc.List(t.Context(), citizen)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, consent.NoticeOf(html.UnescapeString(words[1]), "en"), recs[0].Notice)
	a = s.do("GET", loc, "maria", "")
	assert.Contains(t, a.body, "You gave your consent.")
	q := consent.CheckRequest{Requester: requesters["other"], TaxNumber: maria, Source: source, Items: []string{"marital_status"},
		Purpose: "unemployment", ExchangeID: "x-9"}
	dec, err := s.svc.Check(t.Context(), q)
	require.NoError(t, err)
	assert.True(t, dec.Allowed)
}

func TestPagesConfig(t *testing.T) {
	svc, _, _ := receiptService(t)
	_, err := consent.PagesHandler(consent.PagesConfig{Service: svc})
	assert.Error(t, err, "no Citizen")
	_, err = consent.PagesHandler(consent.PagesConfig{Citizen: func(*http.Request) (consent.Citizen, error) { return citizen, nil }})
	assert.Error(t, err, "no Service")
	_, err = consent.PagesHandler(consent.PagesConfig{Service: svc, Citizen: func(*http.Request) (consent.Citizen, error) { return citizen, nil },
		Offers: []consent.Offer{offers[0], offers[0]}})
	assert.Error(t, err, "two offers of one id")
	_, err = consent.APIHandler(consent.APIConfig{Service: svc, Requester: func(*http.Request) (consent.Requester, error) { return agency, nil }})
	assert.Error(t, err, "a requester's API without PagesURL")
}

// proofs answers the proofs of exchanges by their id: "x-ok" verified,
// "x-new" not yet in a checkpoint, any other an error.
type proofs struct{}

func (proofs) CheckProof(_ context.Context, id string) (consent.Proof, error) {
	switch id {
	case "x-ok":
		return consent.Proof{Verified: true, URL: "/log/proof/inclusion?index=0&size=1"}, nil
	case "x-new":
		return consent.Proof{URL: "/log/proof/inclusion?index=1"}, nil
	}
	return consent.Proof{}, errors.New("no such entry")
}

// TestPagesLogProofs shows, with a ProofChecker, each use's exchange id and
// what its proof says: verified with a link, not yet in a checkpoint,
// or not verified when the checker fails.
func TestPagesLogProofs(t *testing.T) {
	s := newSiteWith(t, nil, "", func(c *consent.PagesConfig) { c.Proofs = proofs{} })
	ctx := t.Context()
	d := draft(s.clock)
	d.MaxUses = consent.Unlimited
	r, err := s.svc.Request(ctx, agency, d)
	require.NoError(t, err)
	_, err = s.svc.Approve(ctx, citizen, r.ID, consent.NoticeOf("shown", "el"))
	require.NoError(t, err)
	for _, x := range []string{"x-ok", "x-new", "x-lost"} {
		q := check()
		q.ExchangeID = x
		dec, err := s.svc.Check(ctx, q)
		require.NoError(t, err)
		require.True(t, dec.Allowed)
		s.clock.Advance(time.Minute)
	}
	a := s.do("GET", "/consent/log?lang=en", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	for _, want := range []string{"<code>x-ok</code>", "In the exchange log: proof verified", `href="/log/proof/inclusion?index=0&amp;size=1"`,
		"<code>x-new</code>", "Not yet in a signed checkpoint", "<code>x-lost</code>", "could not be verified",
		"verifies each proof against the exchange log"} {
		assert.Contains(t, a.body, want)
	}
	plain := newSite(t, nil)
	a = plain.do("GET", "/consent/log?lang=en", "maria", "")
	assert.NotContains(t, a.body, "exchange log", "no column without a ProofChecker")
}
