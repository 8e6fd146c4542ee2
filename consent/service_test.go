package consent_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/testclock"
)

const (
	maria = "090000045" // valid AFMs
	nikos = "123456783"
)

var (
	agency  = consent.Requester{Organisation: "efka", Client: "efka-portal", Person: "clerk-7"}
	source  = consent.Source{Registry: "civil-registry", Service: "family-status"}
	citizen = consent.Citizen{TaxNumber: maria, Session: "sess-1", LoA: consent.LoASubstantial, ClientAddress: "192.0.2.10"}
	notice  = consent.NoticeOf("Ο ΕΦΚΑ ζητά …", "el")
	key     = []byte("0123456789abcdef0123456789abcdef")
)

func draft(clock *testclock.Clock) consent.Draft {
	return consent.Draft{
		TaxNumber: maria, Source: source,
		Items:      []consent.Item{{ID: "marital_status", Type: "string"}, {ID: "children", Type: "number"}},
		Purpose:    consent.Purpose{Code: "child-benefit", Text: consent.Text{EL: "Επίδομα παιδιού", EN: "Child benefit"}},
		LegalBasis: "GDPR art. 6(1)(a)", ValidUntil: clock.Now().Add(30 * 24 * time.Hour),
		ReturnURL: "https://efka.example/return",
	}
}

type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) Count(kind string, labels ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[fmt.Sprint(kind, " ", labels)]++
}

func newService(t *testing.T, store consent.Store, clock *testclock.Clock, cnt consent.Counter) *consent.Service {
	t.Helper()
	svc, err := consent.New(t.Context(), consent.Config{Store: store, SubjectKey: key, Clock: clock.Now, Counter: cnt,
		Withdrawal: "https://gov.example/consents"})
	require.NoError(t, err)
	return svc
}

func check(items ...string) consent.CheckRequest {
	if len(items) == 0 {
		items = []string{"marital_status"}
	}
	return consent.CheckRequest{Requester: agency, TaxNumber: maria, Source: source, Items: items,
		Purpose: "child-benefit", ExchangeID: "x-1"}
}

func TestTransitions(t *testing.T) {
	states := []consent.State{consent.StateAwaitingAuthorisation, consent.StateAuthorised, consent.StateRejected,
		consent.StateRevoked, consent.StateExpired, consent.StateConsumed}
	actions := []consent.Action{consent.ActionApproved, consent.ActionRefused, consent.ActionWithdrawn,
		consent.ActionExpired, consent.ActionConsumed}
	legal := map[[2]string]consent.State{
		{"AwaitingAuthorisation", "approved"}: consent.StateAuthorised,
		{"AwaitingAuthorisation", "refused"}:  consent.StateRejected,
		{"AwaitingAuthorisation", "expired"}:  consent.StateExpired,
		{"Authorised", "withdrawn"}:           consent.StateRevoked,
		{"Authorised", "expired"}:             consent.StateExpired,
		{"Authorised", "consumed"}:            consent.StateConsumed,
	}
	for _, from := range states {
		for _, a := range actions {
			to, err := consent.Transition(from, a)
			if want, ok := legal[[2]string{string(from), string(a)}]; ok {
				assert.NoError(t, err, "%s %s", from, a)
				assert.Equal(t, want, to)
				continue
			}
			var se *consent.StateError
			require.ErrorAs(t, err, &se, "%s %s", from, a)
			assert.Equal(t, from, se.State)
			assert.ErrorIs(t, err, consent.ErrState)
			assert.ErrorIs(t, err, errkind.Conflict)
			assert.NotErrorIs(t, err, errkind.Invalid)
			assert.True(t, from.Final() || from == consent.StateAuthorised || from == consent.StateAwaitingAuthorisation)
		}
	}
	_, err := consent.Transition("Sleeping", consent.ActionApproved)
	assert.ErrorIs(t, err, errkind.Invalid)
	_, err = consent.Transition(consent.StateAuthorised, consent.ActionRequested)
	assert.ErrorIs(t, err, errkind.Invalid, "requested starts a record; it moves none")
}

func TestRequestApproveCheck(t *testing.T) {
	ctx := t.Context()
	clock := testclock.New()
	cnt := &counts{n: map[string]int{}}
	store := consent.NewMemoryStore()
	svc := newService(t, store, clock, cnt)

	r, err := svc.Request(ctx, agency, draft(clock))
	require.NoError(t, err)
	assert.Equal(t, consent.StateAwaitingAuthorisation, r.State)
	assert.Equal(t, consent.SchemaVersion, r.SchemaVersion)
	assert.Equal(t, 1, r.MaxUses, "single use by default")
	assert.NotContains(t, r.Subject, maria, "the subject is a pseudonym")
	assert.NotContains(t, string(r.SealedSubject), maria, "the tax number is sealed")
	afm, err := svc.TaxNumber(r)
	require.NoError(t, err)
	assert.Equal(t, maria, afm, "recoverable with the key")
	other, err := consent.New(ctx, consent.Config{Store: store, SubjectKey: []byte("another key of thirty-two bytes!")})
	require.NoError(t, err)
	_, err = other.TaxNumber(r)
	assert.Error(t, err, "not with another key")

	d, err := svc.Check(ctx, check())
	require.NoError(t, err)
	assert.Equal(t, consent.Decision{Reason: consent.ReasonNone}, d, "a request not yet answered allows nothing")

	// Only the citizen it is about may answer it.
	_, err = svc.Approve(ctx, consent.Citizen{TaxNumber: nikos, Session: "s", LoA: consent.LoAHigh}, r.ID, notice)
	assert.ErrorIs(t, err, consent.ErrNotFound)
	low := citizen
	low.LoA = consent.LoALow
	_, err = svc.Approve(ctx, low, r.ID, notice)
	assert.ErrorIs(t, err, consent.ErrAssurance)
	assert.ErrorIs(t, err, errkind.Forbidden)

	clock.Advance(time.Minute)
	r, err = svc.Approve(ctx, citizen, r.ID, notice)
	require.NoError(t, err)
	assert.Equal(t, consent.StateAuthorised, r.State)
	assert.Equal(t, notice, r.Notice)
	assert.Equal(t, consent.Evidence{Session: "sess-1", LoA: consent.LoASubstantial, At: clock.Now(), ClientAddress: "192.0.2.10"}, r.Evidence)
	assert.Equal(t, []consent.Action{consent.ActionRequested, consent.ActionApproved}, actionsOf(r))

	_, err = svc.Refuse(ctx, citizen, r.ID, notice)
	var se *consent.StateError
	require.ErrorAs(t, err, &se, "an approved consent cannot be refused")
	assert.Equal(t, consent.StateAuthorised, se.State)

	// Items not covered and another purpose are refused without using it.
	d, err = svc.Check(ctx, check("marital_status", "income"))
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonItemsNotCovered, d.Reason)
	q := check()
	q.Purpose = "housing-benefit"
	d, err = svc.Check(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonWrongPurpose, d.Reason)
	q = check()
	q.Requester.Client = "another-client"
	d, err = svc.Check(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonNone, d.Reason, "another client of the organisation has no consent")

	d, err = svc.Check(ctx, check("children", "marital_status"))
	require.NoError(t, err)
	assert.Equal(t, consent.Decision{Allowed: true, ConsentID: r.ID}, d)
	assert.NoError(t, d.Err())

	q = check()
	q.ExchangeID = "x-2"
	d, err = svc.Check(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonUsedUp, d.Reason)
	assert.ErrorIs(t, d.Err(), consent.ErrRefused)
	assert.ErrorIs(t, d.Err(), errkind.Forbidden)

	r, err = svc.Get(ctx, citizen, r.ID)
	require.NoError(t, err)
	assert.Equal(t, consent.StateConsumed, r.State)
	_, err = svc.Withdraw(ctx, citizen, r.ID)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, consent.StateConsumed, se.State)

	page, err := svc.AccessLog(ctx, citizen, consent.LogQuery{})
	require.NoError(t, err)
	require.Len(t, page.Entries, 1)
	e := page.Entries[0]
	assert.Equal(t, clock.Now(), e.At)
	assert.Equal(t, agency, e.Requester)
	assert.Equal(t, []string{"children", "marital_status"}, e.Items)
	assert.Equal(t, "child-benefit", e.Purpose)
	assert.Equal(t, r.ID, e.ConsentID)
	assert.Equal(t, "x-1", e.ExchangeID)

	assert.Equal(t, map[string]int{
		"consent [efka none]": 2, "consent [efka items_not_covered]": 1, "consent [efka wrong_purpose]": 1,
		"consent [efka allowed]": 1, "consent [efka used_up]": 1,
	}, cnt.n)
}

func actionsOf(r *consent.Record) []consent.Action {
	var out []consent.Action
	for _, e := range r.Events {
		out = append(out, e.Action)
	}
	return out
}

func TestRefuseAndExpiry(t *testing.T) {
	ctx := t.Context()
	clock := testclock.New()
	svc := newService(t, consent.NewMemoryStore(), clock, nil)

	r, err := svc.Request(ctx, agency, draft(clock))
	require.NoError(t, err)
	r, err = svc.Refuse(ctx, citizen, r.ID, notice)
	require.NoError(t, err)
	assert.Equal(t, consent.StateRejected, r.State)
	_, err = svc.Approve(ctx, citizen, r.ID, notice)
	var se *consent.StateError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, consent.StateRejected, se.State)

	late, err := svc.Request(ctx, agency, draft(clock))
	require.NoError(t, err)
	clock.Advance(consent.DefaultRequestLifetime)
	_, err = svc.Approve(ctx, citizen, late.ID, notice)
	require.ErrorAs(t, err, &se, "a request unanswered for its lifetime expires")
	assert.Equal(t, consent.StateExpired, se.State)

	d, err := svc.Check(ctx, check())
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonNone, d.Reason, "refused and expired requests never allowed anything")

	given, err := svc.Give(ctx, citizen, agency, draft(clock), notice)
	require.NoError(t, err)
	clock.Set(given.ValidUntil)
	d, err = svc.Check(ctx, check())
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonExpired, d.Reason)
	got, err := svc.Get(ctx, citizen, given.ID)
	require.NoError(t, err)
	assert.Equal(t, consent.StateExpired, got.StateAt(clock.Now()))
	_, err = svc.Withdraw(ctx, citizen, given.ID)
	require.ErrorAs(t, err, &se)
	assert.Equal(t, consent.StateExpired, se.State)
}

func TestStandingConsentAndWithdrawal(t *testing.T) {
	ctx := t.Context()
	clock := testclock.New()
	svc := newService(t, consent.NewMemoryStore(), clock, nil)

	d := draft(clock)
	d.TaxNumber = ""
	d.MaxUses = consent.Unlimited
	r, err := svc.Give(ctx, citizen, agency, d, notice)
	require.NoError(t, err)
	assert.Equal(t, consent.StateAuthorised, r.State)
	assert.Equal(t, []consent.Action{consent.ActionGiven}, actionsOf(r))
	assert.Equal(t, "https://gov.example/consents", r.Withdrawal)

	for i := range 3 {
		q := check()
		q.ExchangeID = fmt.Sprint("x-", i)
		dec, err := svc.Check(ctx, q)
		require.NoError(t, err)
		assert.True(t, dec.Allowed)
	}
	r, err = svc.Withdraw(ctx, citizen, r.ID)
	require.NoError(t, err)
	assert.Equal(t, consent.StateRevoked, r.State)
	dec, err := svc.Check(ctx, check())
	require.NoError(t, err)
	assert.Equal(t, consent.ReasonWithdrawn, dec.Reason)

	d.TaxNumber = nikos
	_, err = svc.Give(ctx, citizen, agency, d, notice)
	assert.ErrorIs(t, err, errkind.Invalid, "a standing consent is the citizen's own")

	list, err := svc.List(ctx, citizen)
	require.NoError(t, err)
	assert.Len(t, list, 1)
	none, err := svc.List(ctx, consent.Citizen{TaxNumber: nikos})
	require.NoError(t, err)
	assert.Empty(t, none)
	_, err = svc.Get(ctx, consent.Citizen{TaxNumber: nikos}, r.ID)
	assert.ErrorIs(t, err, consent.ErrNotFound)
	_, err = svc.Status(ctx, agency, r.ID)
	assert.NoError(t, err)
	_, err = svc.Status(ctx, consent.Requester{Organisation: "aade", Client: "x"}, r.ID)
	assert.ErrorIs(t, err, consent.ErrNotFound)
}

// TestBadInputChangesNothing: every malformed input is a typed error of
// kind Invalid (or Forbidden, for a sign-in too weak), and nothing is
// stored or counted.
func TestBadInputChangesNothing(t *testing.T) {
	ctx := t.Context()
	clock := testclock.New()
	store := consent.NewMemoryStore()
	cnt := &counts{n: map[string]int{}}
	svc := newService(t, store, clock, cnt)

	drafts := map[string]func(d *consent.Draft){
		"tax number":   func(d *consent.Draft) { d.TaxNumber = "123456789" },
		"no source":    func(d *consent.Draft) { d.Source.Registry = "" },
		"no items":     func(d *consent.Draft) { d.Items = nil },
		"twice":        func(d *consent.Draft) { d.Items = append(d.Items, d.Items[0]) },
		"control":      func(d *consent.Draft) { d.Items[0].ID = "a\x00b" },
		"purpose":      func(d *consent.Draft) { d.Purpose.Code = " " },
		"purpose text": func(d *consent.Draft) { d.Purpose.Text.EN = "" },
		"legal basis":  func(d *consent.Draft) { d.LegalBasis = "" },
		"until past":   func(d *consent.Draft) { d.ValidUntil = clock.Now().Add(-time.Second) },
		"until zero":   func(d *consent.Draft) { d.ValidUntil = time.Time{} },
		"too long":     func(d *consent.Draft) { d.ValidUntil = clock.Now().Add(2 * consent.DefaultMaxValidity) },
		"from > until": func(d *consent.Draft) { d.ValidFrom = d.ValidUntil.Add(time.Hour) },
		"uses":         func(d *consent.Draft) { d.MaxUses = -2 },
		"return":       func(d *consent.Draft) { d.ReturnURL = "http://efka.example/" },
		"return rel":   func(d *consent.Draft) { d.ReturnURL = "/relative" },
		"invalid utf8": func(d *consent.Draft) { d.Recipients = []string{"\xff"} },
	}
	for name, mutate := range drafts {
		d := draft(clock)
		mutate(&d)
		_, err := svc.Request(ctx, agency, d)
		assert.ErrorIs(t, err, errkind.Invalid, name)
		var ie *consent.InvalidError
		assert.True(t, errors.As(err, &ie), name)
		_, err = svc.Request(ctx, consent.Requester{Organisation: "efka"}, draft(clock))
		assert.ErrorIs(t, err, errkind.Invalid, "a requester needs its client")
	}
	_, err := svc.Give(ctx, citizen, agency, draft(clock), consent.Notice{Hash: "zz", Language: "el"})
	assert.ErrorIs(t, err, errkind.Invalid)
	_, err = svc.Give(ctx, citizen, agency, draft(clock), consent.Notice{Hash: notice.Hash, Language: "fr"})
	assert.ErrorIs(t, err, errkind.Invalid)
	noSession := citizen
	noSession.Session = ""
	_, err = svc.Give(ctx, noSession, agency, draft(clock), notice)
	assert.ErrorIs(t, err, errkind.Invalid)

	checks := map[string]func(q *consent.CheckRequest){
		"tax number": func(q *consent.CheckRequest) { q.TaxNumber = "" },
		"items":      func(q *consent.CheckRequest) { q.Items = nil },
		"purpose":    func(q *consent.CheckRequest) { q.Purpose = "" },
		"exchange":   func(q *consent.CheckRequest) { q.ExchangeID = "" },
		"requester":  func(q *consent.CheckRequest) { q.Requester.Organisation = "" },
		"source":     func(q *consent.CheckRequest) { q.Source.Service = "" },
	}
	for name, mutate := range checks {
		q := check()
		mutate(&q)
		_, err := svc.Check(ctx, q)
		assert.ErrorIs(t, err, errkind.Invalid, name)
	}
	list, err := svc.List(ctx, citizen)
	require.NoError(t, err)
	assert.Empty(t, list, "nothing stored")
	assert.Empty(t, cnt.n, "nothing counted")

	_, err = consent.New(ctx, consent.Config{Store: store, SubjectKey: key[:16]})
	assert.Error(t, err, "a short subject key is refused")
	_, err = consent.New(ctx, consent.Config{SubjectKey: key})
	assert.Error(t, err, "a store is required")
}
