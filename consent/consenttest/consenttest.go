// Package consenttest is the conformance suite of consent.Store: any
// store that passes RunStoreTests keeps consents as the consent.Service
// relies on. The SQL store runs it on SQLite and PostgreSQL, and the
// memory store runs it too:
//
//	func TestMyStore(t *testing.T) {
//		consenttest.RunStoreTests(t, func(t *testing.T) consent.Store {
//			return newMyStore(t)
//		})
//	}
//
// Subjects here are opaque strings, as the pseudonyms a Service hands a
// store are.
package consenttest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/errkind"
)

// Start is the instant the suite's records are made at.
var Start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

var seq atomic.Int64

// NewRecord returns an authorised single-use consent of subject for the
// requester organisation "org-a" (client "client-a") and the source
// "registry"/"service", valid from Start for a day, with one event.
func NewRecord(subject string) *consent.Record {
	n := seq.Add(1)
	return &consent.Record{
		ID: fmt.Sprintf("rec-%06d", n), SchemaVersion: consent.SchemaVersion,
		Subject: subject, SealedSubject: []byte{1, 2, 3, byte(n)},
		Requester:  consent.Requester{Organisation: "org-a", Client: "client-a", Person: "servant-1"},
		Source:     consent.Source{Registry: "registry", Service: "service"},
		Items:      []consent.Item{{ID: "name", Type: "string"}, {ID: "birth_date", Type: "date"}},
		Purpose:    consent.Purpose{Code: "benefit", Text: consent.Text{EL: "Επίδομα", EN: "Benefit"}},
		LegalBasis: "GDPR 6(1)(a)", Recipients: []string{"auditor"}, Withdrawal: "https://example.test/consents",
		Notice:    consent.Notice{Hash: "ab", Language: "el"},
		Evidence:  consent.Evidence{Session: "s1", LoA: consent.LoASubstantial, At: Start, ClientAddress: "192.0.2.1"},
		ValidFrom: Start, ValidUntil: Start.Add(24 * time.Hour), RequestExpires: Start,
		MaxUses: 1, State: consent.StateAuthorised, CreatedAt: Start, UpdatedAt: Start,
		Events: []consent.Event{{At: Start, Actor: consent.ActorCitizen, Action: consent.ActionGiven, State: consent.StateAuthorised}},
	}
}

// NewRequest returns a request of subject awaiting authorisation until
// Start plus an hour.
func NewRequest(subject string) *consent.Record {
	r := NewRecord(subject)
	r.State, r.RequestExpires = consent.StateAwaitingAuthorisation, Start.Add(time.Hour)
	r.Notice, r.Evidence = consent.Notice{}, consent.Evidence{}
	r.Events = []consent.Event{{At: Start, Actor: "requester:org-a", Action: consent.ActionRequested, State: consent.StateAwaitingAuthorisation}}
	return r
}

// UseOf returns a use of r at t in exchange x.
func UseOf(r *consent.Record, t time.Time, x string) consent.Use {
	return consent.Use{ConsentID: r.ID, Access: consent.Access{Subject: r.Subject, At: t, Requester: r.Requester,
		Source: r.Source, Items: []string{"name"}, Purpose: r.Purpose.Code, ExchangeID: x}}
}

// used reports whether Use counted.
func used(id string, err error) (bool, error) { return id != "", err }

// RunStoreTests runs the conformance suite; newStore returns an empty
// store for each subtest.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) consent.Store) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, s consent.Store)
	}{
		{"CreateGet", testCreateGet},
		{"Update", testUpdate},
		{"UpdateExpired", testUpdateExpired},
		{"List", testList},
		{"Candidates", testCandidates},
		{"UseLimits", testUseLimits},
		{"UseWindow", testUseWindow},
		{"UseMatching", testUseMatching},
		{"AccessLog", testAccessLog},
		{"ConcurrentUse", testConcurrentUse},
		{"ConcurrentLog", testConcurrentLog},
		{"UseRepeated", testUseRepeated},
		{"ConcurrentRepeat", testConcurrentRepeat},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

func testCreateGet(t *testing.T, s consent.Store) {
	ctx := t.Context()
	r := NewRecord("subject-1")
	require.NoError(t, s.Create(ctx, r))
	got, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, r, got, "a record reads back as stored")

	err = s.Create(ctx, NewRecordWithID(r.ID, "subject-2"))
	assert.ErrorIs(t, err, consent.ErrExists)
	assert.ErrorIs(t, err, errkind.Conflict)

	_, err = s.Get(ctx, "no-such-id")
	assert.ErrorIs(t, err, consent.ErrNotFound)
	assert.ErrorIs(t, err, errkind.NotFound)

	got.Items[0].ID = "changed"
	again, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "name", again.Items[0].ID, "a record returned is the caller's copy")
}

// NewRecordWithID is NewRecord with a chosen id.
func NewRecordWithID(id, subject string) *consent.Record {
	r := NewRecord(subject)
	r.ID = id
	return r
}

func testUpdate(t *testing.T, s consent.Store) {
	ctx := t.Context()
	r := NewRequest("subject-1")
	require.NoError(t, s.Create(ctx, r))
	at := Start.Add(10 * time.Minute)
	notice := consent.Notice{Hash: "cd", Language: "en"}
	ev := consent.Evidence{Session: "s2", LoA: consent.LoAHigh, At: at, ClientAddress: "198.51.100.7"}
	approve := consent.Change{ID: r.ID, Subject: "subject-1", From: consent.StateAwaitingAuthorisation, To: consent.StateAuthorised,
		At: at, Event: consent.Event{At: at, Actor: consent.ActorCitizen, Action: consent.ActionApproved, State: consent.StateAuthorised},
		Notice: &notice, Evidence: &ev}

	wrong := approve
	wrong.Subject = "subject-2"
	_, err := s.Update(ctx, wrong)
	assert.ErrorIs(t, err, consent.ErrNotFound, "another subject's record is not found")
	missing := approve
	missing.ID = "no-such-id"
	_, err = s.Update(ctx, missing)
	assert.ErrorIs(t, err, consent.ErrNotFound)

	got, err := s.Update(ctx, approve)
	require.NoError(t, err)
	assert.Equal(t, consent.StateAuthorised, got.State)
	assert.Equal(t, notice, got.Notice)
	assert.Equal(t, ev, got.Evidence)
	assert.Equal(t, at, got.UpdatedAt)
	require.Len(t, got.Events, 2)
	assert.Equal(t, approve.Event, got.Events[1])

	// The same change again meets the new state.
	_, err = s.Update(ctx, approve)
	var se *consent.StateError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, consent.StateAuthorised, se.State)
	assert.ErrorIs(t, err, errkind.Conflict)

	stored, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, got, stored)
	assert.Len(t, stored.Events, 2, "a refused change appends nothing")
}

func testUpdateExpired(t *testing.T, s consent.Store) {
	ctx := t.Context()
	req := NewRequest("subject-1")
	require.NoError(t, s.Create(ctx, req))
	late := req.RequestExpires
	ch := consent.Change{ID: req.ID, From: consent.StateAwaitingAuthorisation, To: consent.StateAuthorised, At: late,
		Event: consent.Event{At: late, Actor: consent.ActorCitizen, Action: consent.ActionApproved, State: consent.StateAuthorised}}
	_, err := s.Update(ctx, ch)
	var se *consent.StateError
	require.ErrorAs(t, err, &se, "a request answered at its deadline has expired")
	assert.Equal(t, consent.StateExpired, se.State)

	ch.To, ch.Event.Action, ch.Event.State, ch.Event.Actor = consent.StateExpired, consent.ActionExpired, consent.StateExpired, consent.ActorSystem
	got, err := s.Update(ctx, ch)
	require.NoError(t, err, "an expired request may be marked expired")
	assert.Equal(t, consent.StateExpired, got.State)

	rec := NewRecord("subject-1")
	require.NoError(t, s.Create(ctx, rec))
	end := rec.ValidUntil.Add(time.Second)
	_, err = s.Update(ctx, consent.Change{ID: rec.ID, From: consent.StateAuthorised, To: consent.StateRevoked, At: end,
		Event: consent.Event{At: end, Actor: consent.ActorCitizen, Action: consent.ActionWithdrawn, State: consent.StateRevoked}})
	require.ErrorAs(t, err, &se, "a consent past its window cannot be withdrawn")
	assert.Equal(t, consent.StateExpired, se.State)
}

func testList(t *testing.T, s consent.Store) {
	ctx := t.Context()
	var want []string
	for i := range 3 {
		r := NewRecord("subject-1")
		r.CreatedAt = Start.Add(time.Duration(i) * time.Minute)
		require.NoError(t, s.Create(ctx, r))
		want = append([]string{r.ID}, want...)
	}
	require.NoError(t, s.Create(ctx, NewRecord("subject-2")))
	got, err := s.List(ctx, "subject-1")
	require.NoError(t, err)
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
		assert.Len(t, r.Events, 1, "listed records carry their events")
	}
	assert.Equal(t, want, ids, "newest first, the subject's only")
	none, err := s.List(ctx, "subject-3")
	require.NoError(t, err)
	assert.Empty(t, none)
}

func testCandidates(t *testing.T, s consent.Store) {
	ctx := t.Context()
	a := NewRecord("subject-1")
	b := NewRecord("subject-1")
	b.UpdatedAt = Start.Add(time.Minute)
	b.State = consent.StateRevoked
	otherClient := NewRecord("subject-1")
	otherClient.Requester.Client = "client-b"
	otherSource := NewRecord("subject-1")
	otherSource.Source.Service = "other"
	otherSubject := NewRecord("subject-2")
	for _, r := range []*consent.Record{a, b, otherClient, otherSource, otherSubject} {
		require.NoError(t, s.Create(ctx, r))
	}
	got, err := s.Candidates(ctx, consent.CandidateQuery{Subject: "subject-1", Organisation: "org-a", Client: "client-a",
		Source: consent.Source{Registry: "registry", Service: "service"}})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, b.ID, got[0].ID, "most recently changed first, in any state")
	assert.Equal(t, a.ID, got[1].ID)
	assert.Equal(t, a.Items, got[1].Items)
	assert.Equal(t, a.Purpose, got[1].Purpose)
}

func testUseLimits(t *testing.T, s consent.Store) {
	ctx := t.Context()
	at := Start.Add(time.Minute)

	single := NewRecord("subject-1")
	require.NoError(t, s.Create(ctx, single))
	ok, err := used(s.Use(ctx, UseOf(single, at, "x1")))
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = used(s.Use(ctx, UseOf(single, at, "x2")))
	require.NoError(t, err)
	assert.False(t, ok, "a single-use consent counts once")
	got, err := s.Get(ctx, single.ID)
	require.NoError(t, err)
	assert.Equal(t, consent.StateConsumed, got.State)
	assert.Equal(t, 1, got.Uses)
	require.Len(t, got.Events, 2)
	assert.Equal(t, consent.Event{At: at, Actor: consent.ActorSystem, Action: consent.ActionConsumed, State: consent.StateConsumed}, got.Events[1])

	three := NewRecord("subject-1")
	three.MaxUses = 3
	require.NoError(t, s.Create(ctx, three))
	for i := range 4 {
		ok, err := used(s.Use(ctx, UseOf(three, at, fmt.Sprint("y", i))))
		require.NoError(t, err)
		assert.Equal(t, i < 3, ok, "use %d of 3", i+1)
	}

	unlimited := NewRecord("subject-1")
	unlimited.MaxUses = consent.Unlimited
	require.NoError(t, s.Create(ctx, unlimited))
	for i := range 5 {
		ok, err := used(s.Use(ctx, UseOf(unlimited, at, fmt.Sprint("z", i))))
		require.NoError(t, err)
		assert.True(t, ok)
	}
	got, err = s.Get(ctx, unlimited.ID)
	require.NoError(t, err)
	assert.Equal(t, consent.StateAuthorised, got.State)
	assert.Equal(t, 5, got.Uses)
	assert.Equal(t, consent.Unlimited, got.MaxUses)

	for _, st := range []consent.State{consent.StateRevoked, consent.StateAwaitingAuthorisation, consent.StateRejected, consent.StateExpired} {
		r := NewRecord("subject-1")
		r.State = st
		require.NoError(t, s.Create(ctx, r))
		ok, err := used(s.Use(ctx, UseOf(r, at, "w")))
		require.NoError(t, err)
		assert.False(t, ok, "a consent %s is not used", st)
	}
	ok, err = used(s.Use(ctx, consent.Use{ConsentID: "no-such-id", Access: consent.Access{At: at, ExchangeID: "v"}}))
	require.NoError(t, err)
	assert.False(t, ok)

	page, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Limit: consent.MaxPage})
	require.NoError(t, err)
	assert.Len(t, page.Entries, 1+3+5, "only counted uses are logged")
}

// testUseMatching: a use that names no consent counts against the
// subject's consent for the requester, source and purpose that covers
// every item, the one whose window ends first.
func testUseMatching(t *testing.T, s consent.Store) {
	ctx := t.Context()
	at := Start.Add(time.Minute)
	later := NewRecord("subject-1")
	later.ValidUntil = Start.Add(48 * time.Hour)
	sooner := NewRecord("subject-1")
	sooner.ValidUntil = Start.Add(2 * time.Hour)
	sooner.MaxUses = 2
	for _, r := range []*consent.Record{later, sooner} {
		require.NoError(t, s.Create(ctx, r))
	}
	exchanges := 0
	ask := func(mutate func(u *consent.Use)) string {
		exchanges++
		u := UseOf(later, at, fmt.Sprint("m", exchanges))
		u.ConsentID = ""
		u.Items = []string{"birth_date", "name"}
		if mutate != nil {
			mutate(&u)
		}
		id, err := s.Use(ctx, u)
		require.NoError(t, err)
		return id
	}
	for name, mutate := range map[string]func(u *consent.Use){
		"another purpose":   func(u *consent.Use) { u.Purpose = "other" },
		"an item not given": func(u *consent.Use) { u.Items = []string{"name", "address"} },
		"a part of an item": func(u *consent.Use) { u.Items = []string{"nam"} },
		"another client":    func(u *consent.Use) { u.Requester.Client = "client-b" },
		"another org":       func(u *consent.Use) { u.Requester.Organisation = "org-b" },
		"another source":    func(u *consent.Use) { u.Source.Service = "other" },
		"another subject":   func(u *consent.Use) { u.Subject = "subject-2" },
		"before the window": func(u *consent.Use) { u.At = Start.Add(-time.Second) },
	} {
		assert.Empty(t, ask(mutate), name)
	}
	assert.Equal(t, sooner.ID, ask(nil), "the consent ending first")
	assert.Equal(t, sooner.ID, ask(func(u *consent.Use) { u.Items = []string{"name"} }), "a subset of the items")
	assert.Equal(t, later.ID, ask(nil), "then the next")
	assert.Empty(t, ask(nil), "then none")
	page, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{})
	require.NoError(t, err)
	require.Len(t, page.Entries, 3)
	assert.Equal(t, later.ID, page.Entries[0].ConsentID, "the log names the consent counted")
	assert.Equal(t, []string{"birth_date", "name"}, page.Entries[0].Items)
}

func testUseWindow(t *testing.T, s consent.Store) {
	ctx := t.Context()
	r := NewRecord("subject-1")
	r.ValidFrom = Start.Add(time.Hour)
	r.MaxUses = consent.Unlimited
	require.NoError(t, s.Create(ctx, r))
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{Start, false}, {r.ValidFrom, true}, {r.ValidUntil.Add(-time.Microsecond), true}, {r.ValidUntil, false},
	} {
		ok, err := used(s.Use(ctx, UseOf(r, c.at, "x")))
		require.NoError(t, err)
		assert.Equal(t, c.ok, ok, "use at %s", c.at)
	}
}

func testAccessLog(t *testing.T, s consent.Store) {
	ctx := t.Context()
	a := NewRecord("subject-1")
	a.MaxUses = consent.Unlimited
	b := NewRecord("subject-1")
	b.MaxUses = consent.Unlimited
	b.Requester = consent.Requester{Organisation: "org-b", Client: "client-b"}
	other := NewRecord("subject-2")
	for _, r := range []*consent.Record{a, b, other} {
		require.NoError(t, s.Create(ctx, r))
	}
	var want []consent.Access // newest first
	for i := range 25 {
		r := a
		if i%5 == 4 {
			r = b
		}
		u := UseOf(r, Start.Add(time.Duration(i)*time.Second), fmt.Sprint("x", i))
		ok, err := used(s.Use(ctx, u))
		require.NoError(t, err)
		require.True(t, ok)
		u.Access.ConsentID = r.ID
		want = append([]consent.Access{u.Access}, want...)
	}
	ok, err := used(s.Use(ctx, UseOf(other, Start, "elsewhere")))
	require.NoError(t, err)
	require.True(t, ok)

	strip := func(es []consent.Access) []consent.Access {
		out := make([]consent.Access, len(es))
		for i, e := range es {
			assert.Positive(t, e.Seq)
			e.Seq = 0
			out[i] = e
		}
		return out
	}
	first, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, want[:10], strip(first.Entries), "newest first")
	require.Positive(t, first.Next)

	second, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Limit: 10, Before: first.Next})
	require.NoError(t, err)
	assert.Equal(t, want[10:20], strip(second.Entries), "keyset page")
	byOffset, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Limit: 10, Offset: 10})
	require.NoError(t, err)
	assert.Equal(t, second, byOffset, "offset page is the same page")

	last, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Limit: 10, Before: second.Next})
	require.NoError(t, err)
	assert.Equal(t, want[20:], strip(last.Entries))
	assert.Zero(t, last.Next, "the last page says so")

	exact, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Limit: 25})
	require.NoError(t, err)
	assert.Len(t, exact.Entries, 25)
	assert.Zero(t, exact.Next, "a page that ends the log exactly has no next page")

	onlyB, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Organisation: "org-b"})
	require.NoError(t, err)
	require.Len(t, onlyB.Entries, 5)
	for _, e := range onlyB.Entries {
		assert.Equal(t, "org-b", e.Requester.Organisation)
	}
	assert.Equal(t, "x24", onlyB.Entries[0].ExchangeID)
	assert.Equal(t, int64(25), onlyB.Entries[0].Seq, "numbered in the citizen's log")
	b1, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Organisation: "org-b", Limit: 2})
	require.NoError(t, err)
	b2, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Organisation: "org-b", Limit: 2, Before: b1.Next})
	require.NoError(t, err)
	b3, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Organisation: "org-b", Limit: 2, Before: b2.Next})
	require.NoError(t, err)
	bOffset, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Organisation: "org-b", Limit: 2, Offset: 2})
	require.NoError(t, err)
	assert.Equal(t, b2, bOffset, "a requester's pages by key and by offset agree")
	var paged []consent.Access
	for _, p := range []consent.LogPage{b1, b2, b3} {
		paged = append(paged, p.Entries...)
	}
	assert.Equal(t, onlyB.Entries, paged, "a requester's keyset pages")
	assert.Zero(t, b3.Next)
	beyond, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Offset: 1000})
	require.NoError(t, err)
	assert.Empty(t, beyond.Entries)
	assert.Zero(t, beyond.Next)

	def, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{})
	require.NoError(t, err)
	assert.Len(t, def.Entries, consent.DefaultPage)

	empty, err := s.AccessLog(ctx, "subject-3", consent.LogQuery{})
	require.NoError(t, err)
	assert.Empty(t, empty.Entries)

	for _, q := range []consent.LogQuery{{Limit: -1}, {Limit: consent.MaxPage + 1}, {Offset: -1}, {Before: -1}} {
		_, err := s.AccessLog(ctx, "subject-1", q)
		assert.ErrorIs(t, err, errkind.Invalid, "%+v", q)
	}
}

// testConcurrentUse: many goroutines using one single-use consent count
// one use between them.
func testConcurrentUse(t *testing.T, s consent.Store) {
	ctx := t.Context()
	r := NewRecord("subject-1")
	require.NoError(t, s.Create(ctx, r))
	var wg sync.WaitGroup
	var counted atomic.Int32
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			ok, err := used(s.Use(ctx, UseOf(r, Start.Add(time.Minute), fmt.Sprint("c", i))))
			if err != nil {
				errs <- err
				return
			}
			if ok {
				counted.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(1), counted.Load())
	page, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{})
	require.NoError(t, err)
	assert.Len(t, page.Entries, 1)
}

// testConcurrentLog: uses of several consents of one citizen at once are
// all counted and numbered once each in the citizen's log.
func testConcurrentLog(t *testing.T, s consent.Store) {
	ctx := t.Context()
	var recs []*consent.Record
	for i := range 4 {
		r := NewRecord("subject-1")
		r.MaxUses = consent.Unlimited
		r.Source.Service = fmt.Sprint("service-", i)
		require.NoError(t, s.Create(ctx, r))
		recs = append(recs, r)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Go(func() {
			id, err := s.Use(ctx, UseOf(recs[i%4], Start.Add(time.Minute), fmt.Sprint("c", i)))
			if err == nil && id == "" {
				err = fmt.Errorf("use %d not counted", i)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	page, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{Limit: consent.MaxPage})
	require.NoError(t, err)
	require.Len(t, page.Entries, 40)
	for i, e := range page.Entries {
		assert.Equal(t, int64(40-i), e.Seq, "dense numbers, newest first")
	}
}

// testUseRepeated: an exchange counted once is answered again with the
// same consent, without a second use or log entry, while that consent is
// not withdrawn and within its window; another exchange is counted.
func testUseRepeated(t *testing.T, s consent.Store) {
	ctx := t.Context()
	at := Start.Add(time.Minute)
	single := NewRecord("subject-1")
	three := NewRecord("subject-1")
	three.MaxUses = 3
	three.Source.Service = "service-3"
	for _, r := range []*consent.Record{single, three} {
		require.NoError(t, s.Create(ctx, r))
	}
	for i := range 3 {
		id, err := s.Use(ctx, UseOf(single, at.Add(time.Duration(i)*time.Second), "x1"))
		require.NoError(t, err)
		assert.Equal(t, single.ID, id, "the same exchange, try %d", i)
	}
	ok, err := used(s.Use(ctx, UseOf(single, at, "x2")))
	require.NoError(t, err)
	assert.False(t, ok, "another exchange finds the single use made")
	got, err := s.Get(ctx, single.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Uses)
	assert.Equal(t, consent.StateConsumed, got.State)
	ok, err = used(s.Use(ctx, UseOf(single, single.ValidUntil, "x1")))
	require.NoError(t, err)
	assert.False(t, ok, "not once its window has closed")

	// Without a consent named, a repeat is answered with the consent the
	// exchange was counted against.
	match := func(x string) consent.Use {
		u := UseOf(three, at, x)
		u.ConsentID = ""
		return u
	}
	for range 2 {
		id, err := s.Use(ctx, match("y1"))
		require.NoError(t, err)
		assert.Equal(t, three.ID, id)
	}
	other := match("y1")
	other.Purpose = "another"
	ok, err = used(s.Use(ctx, other))
	require.NoError(t, err)
	assert.False(t, ok, "the same exchange for another purpose is neither counted nor allowed")
	id, err := s.Use(ctx, match("y2"))
	require.NoError(t, err)
	assert.Equal(t, three.ID, id)
	got, err = s.Get(ctx, three.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, got.Uses, "two exchanges, two uses")

	_, err = s.Update(ctx, consent.Change{ID: three.ID, From: consent.StateAuthorised, To: consent.StateRevoked, At: at,
		Event: consent.Event{At: at, Actor: consent.ActorCitizen, Action: consent.ActionWithdrawn, State: consent.StateRevoked}})
	require.NoError(t, err)
	ok, err = used(s.Use(ctx, match("y1")))
	require.NoError(t, err)
	assert.False(t, ok, "withdrawn: the repeat is refused too")
	ok, err = used(s.Use(ctx, UseOf(three, at, "y1")))
	require.NoError(t, err)
	assert.False(t, ok, "withdrawn, with the consent named")

	page, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{})
	require.NoError(t, err)
	var exchanges []string
	for _, e := range page.Entries {
		exchanges = append(exchanges, e.ExchangeID)
	}
	assert.Equal(t, []string{"y2", "y1", "x1"}, exchanges, "one entry per exchange")
}

// testConcurrentRepeat: an exchange asked about by many goroutines at
// once is counted once, and every one of them is allowed.
func testConcurrentRepeat(t *testing.T, s consent.Store) {
	ctx := t.Context()
	r := NewRecord("subject-1")
	r.MaxUses = consent.Unlimited
	require.NoError(t, s.Create(ctx, r))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			id, err := s.Use(ctx, UseOf(r, Start.Add(time.Minute), "same"))
			if err == nil && id != r.ID {
				err = fmt.Errorf("answered %q", id)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, err := s.Get(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, got.Uses)
	page, err := s.AccessLog(ctx, "subject-1", consent.LogQuery{})
	require.NoError(t, err)
	assert.Len(t, page.Entries, 1)
}
