package consent_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

func requestJSON(t *testing.T, s *site, mutate func(map[string]any)) string {
	t.Helper()
	body := map[string]any{
		"tax_number": maria, "source": source, "items": []consent.Item{{ID: "marital_status", Type: "string"}},
		"purpose":     consent.Purpose{Code: "child-benefit", Text: consent.Text{EL: "Επίδομα παιδιού", EN: "Child benefit"}},
		"legal_basis": "GDPR art. 6(1)(a)", "valid_until": s.clock.Now().Add(30 * 24 * time.Hour),
		"return_url": returnTo, "state": "st-42",
	}
	if mutate != nil {
		mutate(body)
	}
	b, err := json.Marshal(body)
	require.NoError(t, err)
	return string(b)
}

func problemOf(t *testing.T, a answer) map[string]any {
	t.Helper()
	assert.Equal(t, "application/problem+json", a.header.Get("Content-Type"), a.body)
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(a.body), &p), a.body)
	return p
}

// TestAPIRequester: a requester creates a request and reads its state;
// every refusal is a problem and stores nothing.
func TestAPIRequester(t *testing.T) {
	s := newSite(t, nil)
	a := s.do("POST", "/consent/api/requests", "", requestJSON(t, s, nil))
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.Contains(t, a.header.Get("WWW-Authenticate"), "Bearer")
	problemOf(t, a)
	a = s.do("POST", "/consent/api/requests", "req:efka", `{"tax_number":`)
	assert.Equal(t, http.StatusBadRequest, a.status)
	problemOf(t, a)
	a = s.do("POST", "/consent/api/requests", "req:efka", `{"unknown":1}`)
	assert.Equal(t, http.StatusBadRequest, a.status, "unknown fields are refused")
	a = s.do("POST", "/consent/api/requests", "req:efka", requestJSON(t, s, func(m map[string]any) { m["items"] = []any{} }))
	assert.Equal(t, http.StatusUnprocessableEntity, a.status)
	p := problemOf(t, a)
	assert.Equal(t, "items", p["errors"].([]any)[0].(map[string]any)["field"])
	a = s.do("POST", "/consent/api/requests", "req:efka", requestJSON(t, s, func(m map[string]any) { m["tax_number"] = "123" }))
	assert.Equal(t, http.StatusUnprocessableEntity, a.status)
	a = s.do("POST", "/consent/api/requests", "req:efka", requestJSON(t, s, func(m map[string]any) { m["return_url"] = "https://evil.example/steal" }))
	assert.Equal(t, http.StatusUnprocessableEntity, a.status, "a return URL not registered to the requester")
	assert.Contains(t, a.body, "return URL")
	a = s.do("POST", "/consent/api/requests", "req:other", requestJSON(t, s, nil))
	assert.Equal(t, http.StatusUnprocessableEntity, a.status, "another requester's return URL")
	a = s.do("POST", "/consent/api/requests", "req:efka", requestJSON(t, s, func(m map[string]any) { m["state"] = "a\x00b" }))
	assert.Equal(t, http.StatusUnprocessableEntity, a.status)
	recs, err := s.svc.List(t.Context(), citizen)
	require.NoError(t, err)
	require.Empty(t, recs, "no refusal stored anything")

	a = s.do("POST", "/consent/api/requests", "req:efka", requestJSON(t, s, nil))
	require.Equal(t, http.StatusCreated, a.status, a.body)
	var v consent.RequestView
	require.NoError(t, json.Unmarshal([]byte(a.body), &v))
	assert.Equal(t, consent.StateAwaitingAuthorisation, v.State)
	assert.Equal(t, s.srv.URL+"/consent/r/"+v.ID, v.URL)
	assert.Equal(t, "requests/"+v.ID, a.header.Get("Location"))
	assert.NotContains(t, a.body, maria, "the citizen's tax number is not given back")

	a = s.do("GET", "/consent/api/requests/"+v.ID, "req:other", "")
	assert.Equal(t, http.StatusNotFound, a.status, "another requester's request")
	problemOf(t, a)
	a = s.do("GET", "/consent/api/requests/"+v.ID, "", "")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	a = s.do("GET", "/consent/api/requests/"+v.ID, "req:efka", "")
	require.Equal(t, http.StatusOK, a.status)

	// The citizen answers through the URL and returns with the state.
	a = s.do("POST", "/consent/r/"+v.ID+"/approve", "maria", "lang=el")
	require.Equal(t, http.StatusSeeOther, a.status)
	assert.Equal(t, returnTo+"?consent_id="+v.ID+"&state=st-42", a.header.Get("Location"))
	a = s.do("GET", "/consent/api/requests/"+v.ID, "req:efka", "")
	v = consent.RequestView{}
	require.NoError(t, json.Unmarshal([]byte(a.body), &v))
	assert.Equal(t, consent.StateAuthorised, v.State)
	assert.Empty(t, v.URL, "an answered request has no URL for the citizen")
	s.clock.Advance(31 * 24 * time.Hour)
	a = s.do("GET", "/consent/api/requests/"+v.ID, "req:efka", "")
	v = consent.RequestView{}
	require.NoError(t, json.Unmarshal([]byte(a.body), &v))
	assert.Equal(t, consent.StateExpired, v.State, "the state at the time of reading")
}

// TestAPICitizen: the citizen's list, one consent, withdrawal and the
// access log in the shape of a usage query.
func TestAPICitizen(t *testing.T) {
	s := newSite(t, nil)
	ctx := t.Context()
	pending := s.request(t, "")
	s.clock.Advance(time.Second)
	d := draft(s.clock)
	d.MaxUses = 3
	r, err := s.svc.Request(ctx, agency, d)
	require.NoError(t, err)
	_, err = s.svc.Approve(ctx, citizen, r.ID, consent.NoticeOf("shown", "el"))
	require.NoError(t, err)
	for _, x := range []string{"x-1", "x-2"} {
		q := check()
		q.ExchangeID = x
		dec, err := s.svc.Check(ctx, q)
		require.NoError(t, err)
		require.True(t, dec.Allowed)
		s.clock.Advance(time.Second)
	}

	a := s.do("GET", "/consent/api/consents", "", "")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	problemOf(t, a)
	a = s.do("GET", "/consent/api/consents", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	var list struct{ Consents []consent.ConsentView }
	require.NoError(t, json.Unmarshal([]byte(a.body), &list))
	require.Len(t, list.Consents, 2)
	assert.Equal(t, r.ID, list.Consents[0].ID, "newest first")
	assert.Equal(t, 2, list.Consents[0].Uses)
	a = s.do("GET", "/consent/api/consents", "nikos", "")
	assert.JSONEq(t, `{"consents":[]}`, a.body)

	a = s.do("GET", "/consent/api/consents/"+r.ID, "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	assert.Contains(t, a.body, `"events"`)
	a = s.do("GET", "/consent/api/consents/"+r.ID, "nikos", "")
	assert.Equal(t, http.StatusNotFound, a.status)
	problemOf(t, a)

	a = s.do("POST", "/consent/api/consents/"+r.ID+"/withdraw", "low", "")
	assert.Equal(t, http.StatusForbidden, a.status, "LoA low withdraws nothing")
	problemOf(t, a)
	a = s.do("POST", "/consent/api/consents/"+pending+"/withdraw", "maria", "")
	assert.Equal(t, http.StatusConflict, a.status, "a request is refused, not withdrawn")
	problemOf(t, a)
	a = s.do("POST", "/consent/api/consents/"+r.ID+"/withdraw", "nikos", "")
	assert.Equal(t, http.StatusNotFound, a.status)

	a = s.do("GET", "/consent/api/usage?limit=1", "maria", "")
	require.Equal(t, http.StatusOK, a.status)
	var page consent.UsagePage
	require.NoError(t, json.Unmarshal([]byte(a.body), &page))
	require.Len(t, page.Entries, 1)
	e := page.Entries[0]
	assert.Equal(t, "x-2", e.ExchangeID, "newest first")
	assert.Equal(t, consent.ActionFetched, e.Action)
	assert.Equal(t, "efka", e.Receiver)
	assert.Equal(t, []string{"marital_status"}, e.UsedData)
	assert.Equal(t, r.ID, e.ConsentID)
	require.NotNil(t, page.NextOffset)
	a = s.do("GET", "/consent/api/usage?limit=1&offset=1", "maria", "")
	page = consent.UsagePage{}
	require.NoError(t, json.Unmarshal([]byte(a.body), &page))
	require.Len(t, page.Entries, 1)
	assert.Equal(t, "x-1", page.Entries[0].ExchangeID)
	assert.Nil(t, page.NextOffset)
	a = s.do("GET", "/consent/api/usage?requester=dypa", "maria", "")
	assert.Contains(t, a.body, `"entries":[]`)
	for _, bad := range []string{"limit=0", "limit=201", "offset=-1", "offset=x", "requester=%00"} {
		a = s.do("GET", "/consent/api/usage?"+bad, "maria", "")
		assert.Equal(t, http.StatusUnprocessableEntity, a.status, bad)
		problemOf(t, a)
	}

	a = s.do("POST", "/consent/api/consents/"+r.ID+"/withdraw", "maria", "")
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Contains(t, a.body, `"state":"Revoked"`)
	dec, err := s.svc.Check(ctx, check())
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonWithdrawn, dec.Reason)
	a = s.do("GET", "/consent/api/jwks.json", "", "")
	assert.Equal(t, http.StatusOK, a.status)
	assert.True(t, strings.Contains(a.body, `"keys"`))
}

// TestMaintain writes down expiries once, with an event by the system,
// on both stores.
func TestMaintain(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testMaintain(t, consent.NewMemoryStore()) })
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		s, err := consent.NewSQLStore(t.Context(), db.DB.DB)
		require.NoError(t, err)
		testMaintain(t, s)
	})
}

func testMaintain(t *testing.T, store consent.Store) {
	ctx := t.Context()
	clock := testclock.New()
	svc := newService(t, store, clock, nil)
	unanswered, err := svc.Request(ctx, agency, draft(clock))
	require.NoError(t, err)
	short := draft(clock)
	short.ValidUntil = clock.Now().Add(3 * time.Hour)
	given, err := svc.Give(ctx, citizen, agency, short, notice)
	require.NoError(t, err)
	live, err := svc.Give(ctx, citizen, agency, draft(clock), notice)
	require.NoError(t, err)

	n, err := svc.ExpireDue(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is due yet")
	clock.Advance(2 * time.Hour)
	n, err = svc.ExpireDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the request nobody answered")
	clock.Advance(2 * time.Hour)
	require.NoError(t, svc.Maintain(ctx))
	n, err = svc.ExpireDue(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "written down once")

	for _, id := range []string{unanswered.ID, given.ID} {
		r, err := svc.Get(ctx, citizen, id)
		require.NoError(t, err)
		assert.Equal(t, consent.StateExpired, r.State)
		last := r.Events[len(r.Events)-1]
		assert.Equal(t, consent.ActionExpired, last.Action)
		assert.Equal(t, consent.ActorSystem, last.Actor)
	}
	r, err := svc.Get(ctx, citizen, live.ID)
	require.NoError(t, err)
	assert.Equal(t, consent.StateAuthorised, r.State)
}
