package consent

import (
	"context"
	"strings"
	"time"
)

// Store keeps consent records, their events and the citizens' access
// logs. The SQL store (NewSQLStore) keeps them in SQLite or PostgreSQL and
// the memory store (NewMemoryStore) in memory; any other passes the
// conformance suite in package consenttest. Subjects are the pseudonyms
// the Service computes: a store never sees a tax number in clear.
//
// Every method is safe for concurrent use; with several instances of a
// service on one database, the invariants hold across instances: Update
// and Use decide on the stored state at the moment they write.
type Store interface {
	// Create stores a new record with its events. A record whose ID is
	// stored already fails with ErrExists.
	Create(ctx context.Context, r *Record) error
	// Get returns the record id with its events, or ErrNotFound.
	Get(ctx context.Context, id string) (*Record, error)
	// Update applies ch to the record ch.ID if its state is still ch.From
	// and it has not expired at ch.At (see Change); ErrNotFound when
	// there is no such record (or it is not ch.Subject's), a *StateError
	// when its state is another, and the updated record otherwise.
	Update(ctx context.Context, ch Change) (*Record, error)
	// List returns the subject's records, newest first, with their
	// events.
	List(ctx context.Context, subject string) ([]*Record, error)
	// Candidates returns, without events, every record of q.Subject for
	// the requester organisation and client and the source in q, in any
	// state, most recently changed first: the records a Check weighs.
	Candidates(ctx context.Context, q CandidateQuery) ([]*Record, error)
	// Use counts one use of a consent that allows u, and writes u to the
	// subject's access log, both at once. With u.ConsentID set, only that
	// consent is weighed; otherwise any consent of u.Subject for the
	// requester organisation and client and the source of u, for
	// u.Purpose, covering every item of u.Items (the one whose window
	// ends first). A consent allows u when it is stored as Authorised,
	// u.At is within its validity window, and it has made fewer uses than
	// its limit. Use returns the id of the consent counted, or "" when
	// none allowed u (and then changes nothing). The use that reaches the
	// limit also moves the consent to Consumed. Two uses of a single-use
	// consent from any number of instances count once between them.
	//
	// An exchange counts once: when u.ExchangeID was counted before
	// against the consent u names or, without one, against any consent
	// of u.Subject for the same requester and source, Use counts nothing
	// and returns the consent it was counted against if that consent
	// still allows the exchange (stored as Authorised or Consumed, u.At
	// within its window, and, without a consent named, for u.Purpose and
	// every item of u), or "" otherwise. A gateway that asks again about
	// an exchange, because the answer was lost, gets the same answer.
	Use(ctx context.Context, u Use) (string, error)
	// AccessLog returns a page of the subject's access log, newest first.
	AccessLog(ctx context.Context, subject string, q LogQuery) (LogPage, error)
}

// Change is a transition of one record, applied by Store.Update.
type Change struct {
	ID string
	// Subject, when not empty, must be the record's: another subject's
	// record is not found.
	Subject string
	From    State
	To      State
	// At is the time of the change. A record in AwaitingAuthorisation at
	// or past its RequestExpires, or Authorised at or past its
	// ValidUntil, has expired and does not change (a *StateError naming
	// StateExpired), unless To is StateExpired itself.
	At time.Time
	// Event is appended to the record's events.
	Event Event
	// Notice and Evidence, when not nil, replace the record's.
	Notice   *Notice
	Evidence *Evidence
}

// CandidateQuery selects the records a Check weighs.
type CandidateQuery struct {
	Subject      string
	Organisation string
	Client       string
	Source       Source
}

// Use is one use of a consent: the entry of the citizen's access log,
// and the consent it must count against when ConsentID is set.
type Use struct {
	ConsentID string
	Access
}

// itemSep separates item ids in the stored set; control characters are
// refused in ids, so it cannot occur in one.
const itemSep = "\x1f"

// itemSet is the stored form of a consent's item ids.
func itemSet(items []Item) string {
	var b strings.Builder
	b.WriteString(itemSep)
	for _, it := range items {
		b.WriteString(it.ID)
		b.WriteString(itemSep)
	}
	return b.String()
}

// allows reports whether r allows u: the same subject, requester and
// source (unless u names r), the purpose, every item, and usable at u.At.
func (r *Record) allows(u Use) bool {
	if u.ConsentID != "" {
		return r.ID == u.ConsentID && r.storedUsable(u.At)
	}
	return r.Subject == u.Subject && r.Requester.Organisation == u.Requester.Organisation &&
		r.Requester.Client == u.Requester.Client && r.Source == u.Source && r.Purpose.Code == u.Purpose &&
		r.Covers(u.Items) && r.storedUsable(u.At)
}

// storedUsable is what the stores test before counting a use: the stored
// state, the window and the limit.
func (r *Record) storedUsable(t time.Time) bool {
	return r.State == StateAuthorised && !t.Before(r.ValidFrom) && t.Before(r.ValidUntil) &&
		(r.MaxUses == Unlimited || r.Uses < r.MaxUses)
}

// Access is one entry of a citizen's access log: who fetched which items
// about them from which source, for what purpose, under which consent and
// in which exchange.
type Access struct {
	// Seq numbers the entries of a citizen's log from 1, the oldest;
	// the store assigns it.
	Seq        int64
	Subject    string
	At         time.Time
	Requester  Requester
	Source     Source
	Items      []string
	Purpose    string
	ConsentID  string
	ExchangeID string
}

// LogQuery asks for a page of an access log.
type LogQuery struct {
	// Organisation, when set, keeps the entries of that requester only.
	Organisation string
	// Before, when positive, starts the page after the previous page of
	// the same query (its LogPage.Next); otherwise Offset entries are
	// skipped from the newest. Both are found through the key, however
	// deep.
	Before int64
	Offset int
	// Limit is the page size: 1 to MaxPage, DefaultPage when zero.
	Limit int
}

// Page sizes of an access log.
const (
	DefaultPage = 20
	MaxPage     = 200
)

// LogPage is a page of an access log.
type LogPage struct {
	Entries []Access
	// Next, when positive, is the LogQuery.Before of the next page of the
	// same query; zero means this is the last page.
	Next int64
}

// normalise checks the query and fills the default limit.
func (q LogQuery) normalise() (LogQuery, error) {
	switch {
	case q.Limit == 0:
		q.Limit = DefaultPage
	case q.Limit < 0 || q.Limit > MaxPage:
		return q, invalid("limit", "from 1 to %d", MaxPage)
	}
	if q.Offset < 0 {
		return q, invalid("offset", "must not be negative")
	}
	if q.Before < 0 {
		return q, invalid("before", "must not be negative")
	}
	return q, nil
}

// expiredAt reports whether a record stored in state, with the given
// deadlines, has expired at t (see Change.At).
func expiredAt(state State, requestExpires, validUntil, t time.Time) bool {
	return state == StateAwaitingAuthorisation && !t.Before(requestExpires) ||
		state == StateAuthorised && !t.Before(validUntil)
}
