package consent

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/problem"
)

// SchemaVersion names the layout of a Record, kept with every record so
// that a later layout can read earlier ones.
const SchemaVersion = "egovkit-consent/1"

// State is where a consent is in its life, after UK Open Banking's
// consent states.
type State string

// The states. A request starts AwaitingAuthorisation; the citizen
// authorises it or rejects it. An authorised consent ends Revoked (the
// citizen withdrew it), Expired (its validity window closed) or Consumed
// (its uses ran out). Rejected, Revoked, Expired and Consumed are final.
const (
	StateAwaitingAuthorisation State = "AwaitingAuthorisation"
	StateAuthorised            State = "Authorised"
	StateRejected              State = "Rejected"
	StateRevoked               State = "Revoked"
	StateExpired               State = "Expired"
	StateConsumed              State = "Consumed"
)

// Final reports whether nothing can change the state any more.
func (s State) Final() bool {
	return s == StateRejected || s == StateRevoked || s == StateExpired || s == StateConsumed
}

// Valid reports whether s is one of the states.
func (s State) Valid() bool {
	return s == StateAwaitingAuthorisation || s == StateAuthorised || s.Final()
}

// Action is what happened to a consent, as written in its events.
type Action string

// The actions. Each but Requested and Given moves a consent from one
// state to another (see Transition).
const (
	ActionRequested Action = "requested" // a requester asked: AwaitingAuthorisation
	ActionGiven     Action = "given"     // the citizen gave a standing consent: Authorised
	ActionApproved  Action = "approved"  // AwaitingAuthorisation → Authorised
	ActionRefused   Action = "refused"   // AwaitingAuthorisation → Rejected
	ActionWithdrawn Action = "withdrawn" // Authorised → Revoked
	ActionExpired   Action = "expired"   // AwaitingAuthorisation or Authorised → Expired
	ActionConsumed  Action = "consumed"  // Authorised → Consumed, by the last use
)

// transitions lists, for each action that changes a state, the states it
// may start from and the state it leads to.
var transitions = map[Action]struct {
	from []State
	to   State
}{
	ActionApproved:  {[]State{StateAwaitingAuthorisation}, StateAuthorised},
	ActionRefused:   {[]State{StateAwaitingAuthorisation}, StateRejected},
	ActionWithdrawn: {[]State{StateAuthorised}, StateRevoked},
	ActionExpired:   {[]State{StateAwaitingAuthorisation, StateAuthorised}, StateExpired},
	ActionConsumed:  {[]State{StateAuthorised}, StateConsumed},
}

// Transition returns the state that action leads to from state from, or
// a *StateError (errkind.Conflict) when from does not allow it, and
// ErrInvalid for an action that changes no state or a state that does not
// exist.
func Transition(from State, action Action) (State, error) {
	t, ok := transitions[action]
	if !ok || !from.Valid() {
		return "", fmt.Errorf("%w: no transition %q from %q", ErrInvalid, action, from)
	}
	if !slices.Contains(t.from, from) {
		return "", &StateError{State: from, Action: action}
	}
	return t.to, nil
}

// Requester is who asks for the data: an organisation, the client
// (software) it asks through, and for a civil servant acting in person,
// that person's identifier.
type Requester struct {
	Organisation string `json:"organisation"`
	Client       string `json:"client"`
	Person       string `json:"person,omitempty"`
}

// Source is where the data comes from: a registry and the service of it
// that answers.
type Source struct {
	Registry string `json:"registry"`
	Service  string `json:"service"`
}

// Item is one data item of the source's catalogue: its identifier and its
// type (such as "string", "date", "document").
type Item struct {
	ID   string `json:"id"`
	Type string `json:"type,omitempty"`
}

// Text is a sentence in Greek and in English.
type Text struct {
	EL string `json:"el"`
	EN string `json:"en"`
}

// In returns the text in lang ("el" or "en"), Greek by default.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.EL
}

// Purpose is why the data is asked for: a code the requester and the
// gateway agree on, and the words the citizen reads.
type Purpose struct {
	Code string `json:"code"`
	Text Text   `json:"text"`
}

// Notice is the text the citizen was shown when consenting: its SHA-256
// (hex) and language.
type Notice struct {
	Hash     string `json:"hash"`
	Language string `json:"language"`
}

// Levels of assurance of the citizen's sign-in (eIDAS). Consent is given
// at LoASubstantial or LoAHigh.
const (
	LoALow         = "http://eidas.europa.eu/LoA/low"
	LoASubstantial = "http://eidas.europa.eu/LoA/substantial"
	LoAHigh        = "http://eidas.europa.eu/LoA/high"
)

// Evidence is how the citizen's decision was made: the sign-in session,
// its level of assurance, when, and from which client address.
type Evidence struct {
	Session       string    `json:"session"`
	LoA           string    `json:"loa"`
	At            time.Time `json:"at"`
	ClientAddress string    `json:"client_address"`
}

// Unlimited as MaxUses lets a consent be used any number of times within
// its validity window.
const Unlimited = -1

// Event is one entry of a consent's history, which only grows.
type Event struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"` // "citizen", "requester:<organisation>", "system"
	Action Action    `json:"action"`
	State  State     `json:"state"` // the state after it
}

// Actors written in events.
const (
	ActorCitizen = "citizen"
	ActorSystem  = "system"
)

// RequesterActor is the actor of events a requester caused.
func RequesterActor(r Requester) string { return "requester:" + r.Organisation }

// Record is a consent, with the fields of an ISO/IEC TS 27560 consent
// record.
type Record struct {
	ID            string
	SchemaVersion string
	// Subject is the citizen as a keyed pseudonym: the same tax number
	// gives the same Subject under one subject key, and nothing else
	// does. SealedSubject holds the tax number encrypted under the same
	// key, so that it can be recovered only with it.
	Subject       string
	SealedSubject []byte
	Requester     Requester
	Source        Source
	Items         []Item
	Purpose       Purpose
	LegalBasis    string
	// Notice and Evidence are set when the citizen decides.
	Notice   Notice
	Evidence Evidence
	// ValidFrom and ValidUntil bound when the consent may be used;
	// RequestExpires is when a request left unanswered expires.
	ValidFrom      time.Time
	ValidUntil     time.Time
	RequestExpires time.Time
	// MaxUses is how many uses the consent allows: 1 (the default), n,
	// or Unlimited. Uses counts those made.
	MaxUses int
	Uses    int
	// Recipients are those the data is passed to, beyond the requester.
	Recipients []string
	// Withdrawal says how the citizen withdraws the consent.
	Withdrawal string
	// ReturnURL is where the citizen goes back to the requester after
	// deciding, with ReturnState.
	ReturnURL   string
	ReturnState string
	// State is the stored state; StateAt tells the state at a time,
	// counting expiry.
	State     State
	CreatedAt time.Time
	UpdatedAt time.Time
	Events    []Event
}

// StateAt returns the record's state at t: a request unanswered past
// RequestExpires, or an authorised consent past ValidUntil, is Expired
// even before that is written down.
func (r *Record) StateAt(t time.Time) State {
	switch {
	case r.State == StateAwaitingAuthorisation && !t.Before(r.RequestExpires):
		return StateExpired
	case r.State == StateAuthorised && !t.Before(r.ValidUntil):
		return StateExpired
	}
	return r.State
}

// UsableAt reports whether the consent may be used at t: authorised, in
// its window, with uses left.
func (r *Record) UsableAt(t time.Time) bool {
	return r.StateAt(t) == StateAuthorised && !t.Before(r.ValidFrom) && (r.MaxUses == Unlimited || r.Uses < r.MaxUses)
}

// Covers reports whether the consent covers every item id in items.
func (r *Record) Covers(items []string) bool {
	for _, id := range items {
		if !slices.ContainsFunc(r.Items, func(it Item) bool { return it.ID == id }) {
			return false
		}
	}
	return true
}

// ItemIDs returns the identifiers of the record's items.
func (r *Record) ItemIDs() []string {
	ids := make([]string, len(r.Items))
	for i, it := range r.Items {
		ids[i] = it.ID
	}
	return ids
}

// Errors, matched with errors.Is; each matches one errkind.
var (
	// ErrNotFound means no such consent, or not the caller's.
	ErrNotFound = errkind.New(errkind.NotFound, "consent: no such consent")
	// ErrState means the consent's state does not allow the change. The
	// error returned is a *StateError naming the state.
	ErrState = errkind.New(errkind.Conflict, "consent: the consent's state does not allow this")
	// ErrExists means a consent with the same id is stored.
	ErrExists = errkind.New(errkind.Conflict, "consent: a consent with this id exists")
	// ErrInvalid means the input itself is wrong. The error returned is
	// usually an *InvalidError naming the field.
	ErrInvalid = errkind.New(errkind.Invalid, "consent: invalid input")
	// ErrAssurance means the citizen's sign-in is below LoA substantial.
	ErrAssurance = errkind.New(errkind.Forbidden, "consent: a consent is given at LoA substantial or high")
	// ErrRefused is what Decision.Err returns for a refused check; the
	// error is a *RefusedError with the reason.
	ErrRefused = errkind.New(errkind.Forbidden, "consent: no consent allows this exchange")
	// ErrNoKeys means receipts were asked for from a Service without
	// signing keys.
	ErrNoKeys = errkind.New(errkind.Invalid, "consent: the service has no signing keys for receipts")
)

// StateError is an illegal transition: the consent is in State, which
// does not allow Action. It matches ErrState and errkind.Conflict.
type StateError struct {
	ID     string
	State  State
	Action Action
}

func (e *StateError) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("consent: cannot %s a consent that is %s", verb(e.Action), e.State)
	}
	return fmt.Sprintf("consent: cannot %s consent %s: it is %s", verb(e.Action), e.ID, e.State)
}

// Is matches ErrState and, through it, errkind.Conflict.
func (e *StateError) Is(target error) bool { return target == ErrState || target == errkind.Conflict }

// Problem renders the error as a 409 problem.
func (e *StateError) Problem() *problem.Problem {
	return problem.New(problem.TypeConflict, http.StatusConflict, e.Error())
}

func verb(a Action) string {
	switch a {
	case ActionApproved:
		return "approve"
	case ActionRefused:
		return "refuse"
	case ActionWithdrawn:
		return "withdraw"
	case ActionExpired:
		return "expire"
	case ActionConsumed:
		return "use up"
	}
	return string(a)
}

// InvalidError names the field of the input that is wrong and why. It
// matches ErrInvalid and errkind.Invalid.
type InvalidError struct {
	Field  string
	Reason string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("consent: invalid %s: %s", e.Field, e.Reason)
}

// Is matches ErrInvalid and, through it, errkind.Invalid.
func (e *InvalidError) Is(target error) bool {
	return target == ErrInvalid || target == errkind.Invalid
}

// Problem renders the error as a 422 problem naming the field.
func (e *InvalidError) Problem() *problem.Problem {
	p := problem.New(problem.TypeValidation, http.StatusUnprocessableEntity, e.Error())
	p.Errors = []problem.FieldError{{Field: e.Field, Detail: e.Reason}}
	return p
}

func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
}
