package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/zap"
)

// Counter is told of every Check, for statistics: kind CountKind with the
// label values in the order CountLabels names them (requester
// organisation, outcome). *metrics.Metrics fits as it is; nil counts
// nothing.
type Counter interface {
	Count(kind string, labels ...string)
}

// What the service counts.
const (
	// CountKind is one Check answered.
	CountKind = "consent"
	// CountLabelRequester is the requester's organisation.
	CountLabelRequester = "requester"
	// CountLabelOutcome is OutcomeAllowed or the Reason of a refusal.
	CountLabelOutcome = "outcome"
	// OutcomeAllowed is the outcome of a Check that allowed the exchange.
	OutcomeAllowed = "allowed"
)

// CountLabels returns the label names of CountKind in the order the
// service reports their values.
func CountLabels() []string { return []string{CountLabelRequester, CountLabelOutcome} }

// Defaults of Config.
const (
	DefaultRequestLifetime = time.Hour
	DefaultMaxValidity     = 365 * 24 * time.Hour
)

// Config configures a Service.
type Config struct {
	// Store keeps the records: NewSQLStore, or NewMemoryStore in tests.
	Store Store
	// SubjectKey (SubjectKeySize random bytes, the same on every
	// instance, kept outside the database) keys the citizens'
	// pseudonyms and seals their tax numbers.
	SubjectKey []byte
	// Keys sign receipts (NewSigningKeys); nil means no receipts.
	Keys SigningKeys
	// Issuer is the absolute URL of the service, the "iss" of receipts.
	Issuer string
	// Jurisdiction is the receipts' jurisdiction; empty means "GR".
	Jurisdiction string
	// PolicyURL is the privacy notice receipts point to.
	PolicyURL string
	// Withdrawal tells citizens how to withdraw, written into every
	// record, such as the URL of their consents page.
	Withdrawal string
	// RequestLifetime bounds how long a request waits for the citizen;
	// zero means DefaultRequestLifetime.
	RequestLifetime time.Duration
	// MaxValidity bounds a consent's validity window; zero means
	// DefaultMaxValidity.
	MaxValidity time.Duration
	Counter     Counter
	Clock       func() time.Time
	Logger      *zap.Logger
}

// Service asks for, records and answers for consents. It is safe for
// concurrent use; instances on one shared store agree, since it caches
// no decision.
type Service struct {
	cfg      Config
	store    Store
	subjects *subjects
	log      *zap.Logger
}

// New checks cfg and returns the service.
func New(_ context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("consent: Config needs a Store")
	}
	subj, err := newSubjects(cfg.SubjectKey)
	if err != nil {
		return nil, err
	}
	if cfg.Keys != nil {
		if u, err := url.Parse(cfg.Issuer); err != nil || !u.IsAbs() || u.Host == "" {
			return nil, errors.New("consent: receipts need Config.Issuer, an absolute URL")
		}
	}
	if cfg.Jurisdiction == "" {
		cfg.Jurisdiction = "GR"
	}
	if cfg.RequestLifetime <= 0 {
		cfg.RequestLifetime = DefaultRequestLifetime
	}
	if cfg.MaxValidity <= 0 {
		cfg.MaxValidity = DefaultMaxValidity
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	return &Service{cfg: cfg, store: cfg.Store, subjects: subj, log: cfg.Logger}, nil
}

// now is the clock's time at the stores' precision.
func (s *Service) now() time.Time { return s.cfg.Clock().UTC().Truncate(time.Microsecond) }

// Citizen is the signed-in citizen, as the caller's sign-in knows them.
type Citizen struct {
	TaxNumber string
	// Session identifies the sign-in session; LoA is its level of
	// assurance (LoASubstantial or LoAHigh to consent).
	Session       string
	LoA           string
	ClientAddress string
}

// Draft is what a consent is asked or given for.
type Draft struct {
	// TaxNumber is the citizen the data is about. In a request it is
	// required, and only that citizen may answer; in a standing consent
	// it is the citizen's own (or empty).
	TaxNumber  string
	Source     Source
	Items      []Item
	Purpose    Purpose
	LegalBasis string
	// ValidFrom (zero: when authorised) and ValidUntil (required) bound
	// when the consent may be used; at most Config.MaxValidity apart.
	ValidFrom  time.Time
	ValidUntil time.Time
	// MaxUses is 0 or 1 for a single use, n for n uses, Unlimited for
	// any number within the window.
	MaxUses    int
	Recipients []string
	// ReturnURL, in a request, is where the citizen returns to the
	// requester after deciding (absolute https, or http on loopback).
	ReturnURL string
	// ReturnState, in a request, is the requester's opaque value given
	// back with the outcome on the return URL (OAuth's "state").
	ReturnState string
}

// NoticeOf returns the Notice of a text shown to the citizen in lang.
func NoticeOf(text, lang string) Notice {
	sum := sha256.Sum256([]byte(text))
	return Notice{Hash: hex.EncodeToString(sum[:]), Language: lang}
}

func checkText(field, s string, max int) error {
	switch {
	case strings.TrimSpace(s) == "":
		return invalid(field, "required")
	case !utf8.ValidString(s) || utf8.RuneCountInString(s) > max:
		return invalid(field, "at most %d characters of valid UTF-8", max)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return invalid(field, "no control characters")
	}
	return nil
}

func checkRequester(r Requester) error {
	if err := checkText("requester organisation", r.Organisation, 200); err != nil {
		return err
	}
	if err := checkText("requester client", r.Client, 200); err != nil {
		return err
	}
	if r.Person != "" {
		return checkText("requester person", r.Person, 200)
	}
	return nil
}

func checkSource(src Source) error {
	if err := checkText("source registry", src.Registry, 200); err != nil {
		return err
	}
	return checkText("source service", src.Service, 200)
}

// MaxItems bounds the data items of one consent or check.
const MaxItems = 64

func checkItemIDs(ids []string) error {
	if len(ids) == 0 || len(ids) > MaxItems {
		return invalid("items", "from 1 to %d", MaxItems)
	}
	for i, id := range ids {
		if err := checkText("items", id, 128); err != nil {
			return err
		}
		if slices.Contains(ids[:i], id) {
			return invalid("items", "%q given twice", id)
		}
	}
	return nil
}

func checkEvidence(c Citizen) error {
	if c.LoA != LoASubstantial && c.LoA != LoAHigh {
		return ErrAssurance
	}
	if err := checkText("session", c.Session, 200); err != nil {
		return err
	}
	if c.ClientAddress != "" {
		return checkText("client address", c.ClientAddress, 100)
	}
	return nil
}

func checkNotice(n Notice) error {
	if b, err := hex.DecodeString(n.Hash); err != nil || len(b) != sha256.Size {
		return invalid("notice hash", "the SHA-256 of the notice, in hex")
	}
	if n.Language != "el" && n.Language != "en" {
		return invalid("notice language", `"el" or "en"`)
	}
	return nil
}

func checkReturnURL(s string) error {
	if s == "" {
		return nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return invalid("return URL", "an absolute URL")
	}
	host := u.Hostname()
	loopback := host == "localhost" || host == "127.0.0.1" || host == "::1"
	if u.Scheme != "https" && (u.Scheme != "http" || !loopback) {
		return invalid("return URL", "https (or http on a loopback address)")
	}
	return nil
}

// record checks d and builds a new record of it, without subject.
func (s *Service) record(req Requester, d Draft, now time.Time) (*Record, error) {
	if err := checkRequester(req); err != nil {
		return nil, err
	}
	if err := checkSource(d.Source); err != nil {
		return nil, err
	}
	ids := make([]string, len(d.Items))
	for i, it := range d.Items {
		ids[i] = it.ID
		if it.Type != "" {
			if err := checkText("item type", it.Type, 64); err != nil {
				return nil, err
			}
		}
	}
	if err := checkItemIDs(ids); err != nil {
		return nil, err
	}
	if err := checkText("purpose code", d.Purpose.Code, 128); err != nil {
		return nil, err
	}
	if err := checkText("purpose text (el)", d.Purpose.Text.EL, 2000); err != nil {
		return nil, err
	}
	if err := checkText("purpose text (en)", d.Purpose.Text.EN, 2000); err != nil {
		return nil, err
	}
	if err := checkText("legal basis", d.LegalBasis, 500); err != nil {
		return nil, err
	}
	for _, r := range d.Recipients {
		if err := checkText("recipients", r, 200); err != nil {
			return nil, err
		}
	}
	if err := checkReturnURL(d.ReturnURL); err != nil {
		return nil, err
	}
	if d.ReturnState != "" {
		if err := checkText("return state", d.ReturnState, 500); err != nil {
			return nil, err
		}
	}
	from, until := d.ValidFrom.UTC().Truncate(time.Microsecond), d.ValidUntil.UTC().Truncate(time.Microsecond)
	if from.IsZero() {
		from = now
	}
	switch {
	case until.IsZero() || !until.After(now) || !until.After(from):
		return nil, invalid("valid until", "a time after now and after valid from")
	case until.Sub(from) > s.cfg.MaxValidity:
		return nil, invalid("valid until", "at most %s after valid from", s.cfg.MaxValidity)
	}
	uses := d.MaxUses
	switch {
	case uses == 0:
		uses = 1
	case uses < Unlimited:
		return nil, invalid("max uses", "1 or more, or Unlimited")
	}
	id := rand.Text()
	return &Record{
		ID: id, SchemaVersion: SchemaVersion, Requester: req, Source: d.Source,
		Items: slices.Clone(d.Items), Purpose: d.Purpose, LegalBasis: d.LegalBasis,
		ValidFrom: from, ValidUntil: until, MaxUses: uses, Recipients: slices.Clone(d.Recipients),
		Withdrawal: s.cfg.Withdrawal, ReturnURL: d.ReturnURL, ReturnState: d.ReturnState, CreatedAt: now, UpdatedAt: now,
	}, nil
}

func (s *Service) setSubject(r *Record, afm string) {
	r.Subject = s.subjects.pseudonym(afm)
	r.SealedSubject = s.subjects.seal(afm, r.Subject)
}

// Request records a requester's request for the citizen d.TaxNumber's
// consent, AwaitingAuthorisation until the citizen answers or
// Config.RequestLifetime passes. req is the requester as the caller
// authenticated it.
func (s *Service) Request(ctx context.Context, req Requester, d Draft) (*Record, error) {
	now := s.now()
	afm, err := normaliseTaxNumber(d.TaxNumber)
	if err != nil {
		return nil, err
	}
	r, err := s.record(req, d, now)
	if err != nil {
		return nil, err
	}
	s.setSubject(r, afm)
	r.State, r.RequestExpires = StateAwaitingAuthorisation, now.Add(s.cfg.RequestLifetime)
	r.Events = []Event{{At: now, Actor: RequesterActor(req), Action: ActionRequested, State: r.State}}
	if err := s.store.Create(ctx, r); err != nil {
		return nil, err
	}
	s.log.Info("consent requested", zap.String("id", r.ID), zap.String("requester", req.Organisation))
	return r, nil
}

// Give records a standing consent the citizen gives from their own
// account to requester req, Authorised at once, with the notice they
// read.
func (s *Service) Give(ctx context.Context, c Citizen, req Requester, d Draft, n Notice) (*Record, error) {
	now := s.now()
	afm, err := normaliseTaxNumber(c.TaxNumber)
	if err != nil {
		return nil, err
	}
	if d.TaxNumber != "" {
		if own, err := normaliseTaxNumber(d.TaxNumber); err != nil || own != afm {
			return nil, invalid("tax number", "a standing consent is given by the citizen it is about")
		}
	}
	if err := checkEvidence(c); err != nil {
		return nil, err
	}
	if err := checkNotice(n); err != nil {
		return nil, err
	}
	r, err := s.record(req, d, now)
	if err != nil {
		return nil, err
	}
	s.setSubject(r, afm)
	r.State, r.RequestExpires = StateAuthorised, now
	r.Notice, r.Evidence = n, Evidence{Session: c.Session, LoA: c.LoA, At: now, ClientAddress: c.ClientAddress}
	r.Events = []Event{{At: now, Actor: ActorCitizen, Action: ActionGiven, State: r.State}}
	if err := s.store.Create(ctx, r); err != nil {
		return nil, err
	}
	s.log.Info("standing consent given", zap.String("id", r.ID), zap.String("requester", req.Organisation))
	return r, nil
}

// decide moves the citizen's consent id by action, with evidence when
// the citizen decides on a request.
func (s *Service) decide(ctx context.Context, c Citizen, id string, action Action, n *Notice) (*Record, error) {
	afm, err := normaliseTaxNumber(c.TaxNumber)
	if err != nil {
		return nil, err
	}
	if err := checkEvidence(c); err != nil {
		return nil, err
	}
	if n != nil {
		if err := checkNotice(*n); err != nil {
			return nil, err
		}
	}
	subject := s.subjects.pseudonym(afm)
	now := s.now()
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Subject != subject {
		return nil, ErrNotFound
	}
	from := r.State
	if _, err := Transition(r.StateAt(now), action); err != nil {
		return nil, withID(err, id)
	}
	to, _ := Transition(from, action)
	ch := Change{ID: id, Subject: subject, From: from, To: to, At: now,
		Event: Event{At: now, Actor: ActorCitizen, Action: action, State: to}}
	if n != nil {
		ch.Notice = n
		ch.Evidence = &Evidence{Session: c.Session, LoA: c.LoA, At: now, ClientAddress: c.ClientAddress}
	}
	r, err = s.store.Update(ctx, ch)
	if err != nil {
		return nil, err
	}
	s.log.Info("consent "+string(action), zap.String("id", id))
	return r, nil
}

func withID(err error, id string) error {
	var se *StateError
	if errors.As(err, &se) {
		se.ID = id
	}
	return err
}

// Approve authorises the request id, which must be about the citizen,
// with the notice they were shown; their sign-in is the evidence.
func (s *Service) Approve(ctx context.Context, c Citizen, id string, n Notice) (*Record, error) {
	return s.decide(ctx, c, id, ActionApproved, &n)
}

// Refuse rejects the request id, which must be about the citizen.
func (s *Service) Refuse(ctx context.Context, c Citizen, id string, n Notice) (*Record, error) {
	return s.decide(ctx, c, id, ActionRefused, &n)
}

// Withdraw revokes the citizen's authorised consent id. The next Check,
// on any instance, is refused with ReasonWithdrawn.
func (s *Service) Withdraw(ctx context.Context, c Citizen, id string) (*Record, error) {
	return s.decide(ctx, c, id, ActionWithdrawn, nil)
}

// Get returns the citizen's consent id; another's is ErrNotFound.
func (s *Service) Get(ctx context.Context, c Citizen, id string) (*Record, error) {
	afm, err := normaliseTaxNumber(c.TaxNumber)
	if err != nil {
		return nil, err
	}
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Subject != s.subjects.pseudonym(afm) {
		return nil, ErrNotFound
	}
	return r, nil
}

// Status returns the request or consent id as its requester sees it: a
// record of another organisation or client is ErrNotFound.
func (s *Service) Status(ctx context.Context, req Requester, id string) (*Record, error) {
	r, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Requester.Organisation != req.Organisation || r.Requester.Client != req.Client {
		return nil, ErrNotFound
	}
	return r, nil
}

// List returns the citizen's consents and requests, newest first.
func (s *Service) List(ctx context.Context, c Citizen) ([]*Record, error) {
	afm, err := normaliseTaxNumber(c.TaxNumber)
	if err != nil {
		return nil, err
	}
	return s.store.List(ctx, s.subjects.pseudonym(afm))
}

// AccessLog returns a page of the citizen's access log, newest first.
func (s *Service) AccessLog(ctx context.Context, c Citizen, q LogQuery) (LogPage, error) {
	afm, err := normaliseTaxNumber(c.TaxNumber)
	if err != nil {
		return LogPage{}, err
	}
	return s.store.AccessLog(ctx, s.subjects.pseudonym(afm), q)
}

// TaxNumber recovers the tax number of a record's subject, which only
// the subject key opens.
func (s *Service) TaxNumber(r *Record) (string, error) {
	return s.subjects.open(r.SealedSubject, r.Subject)
}

// Reason is why a Check was refused.
type Reason string

// The reasons.
const (
	// ReasonNone: no consent of the citizen for this requester and
	// source (or only requests not, or not yet, authorised).
	ReasonNone Reason = "none"
	// ReasonExpired: the consent's validity window has closed.
	ReasonExpired Reason = "expired"
	// ReasonWithdrawn: the citizen withdrew the consent.
	ReasonWithdrawn Reason = "withdrawn"
	// ReasonUsedUp: the consent's uses have all been made.
	ReasonUsedUp Reason = "used_up"
	// ReasonWrongPurpose: consents exist, for other purposes.
	ReasonWrongPurpose Reason = "wrong_purpose"
	// ReasonItemsNotCovered: a consent for this purpose exists but does
	// not cover every item asked for.
	ReasonItemsNotCovered Reason = "items_not_covered"
)

// CheckRequest is the gateway's question: may Requester fetch Items
// about the citizen TaxNumber from Source for Purpose now? ExchangeID is
// the gateway's identifier of the exchange, written into the citizen's
// access log.
type CheckRequest struct {
	Requester  Requester
	TaxNumber  string
	Source     Source
	Items      []string
	Purpose    string
	ExchangeID string
}

// Decision is the answer to a Check.
type Decision struct {
	Allowed bool
	// ConsentID is the consent the exchange was counted against, when
	// allowed.
	ConsentID string
	// Reason says why, when refused.
	Reason Reason
}

// Err returns nil for an allowed exchange and a *RefusedError otherwise.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &RefusedError{Reason: d.Reason}
}

// RefusedError is a refused Check as an error; it matches ErrRefused and
// errkind.Forbidden.
type RefusedError struct{ Reason Reason }

func (e *RefusedError) Error() string { return "consent: exchange refused: " + string(e.Reason) }

// Is matches ErrRefused and, through it, errkind.Forbidden.
func (e *RefusedError) Is(target error) bool {
	return target == ErrRefused || errors.Is(ErrRefused, target)
}

// Check answers the gateway's question. An allowed exchange is counted
// against the consent at once, in the database, and written to the
// citizen's access log: a single-use consent allows one exchange however
// many instances ask at the same moment. Nothing is cached, so a
// withdrawal refuses the very next Check. Bad input is ErrInvalid; a
// refusal is a Decision, not an error.
func (s *Service) Check(ctx context.Context, q CheckRequest) (Decision, error) {
	if err := checkRequester(q.Requester); err != nil {
		return Decision{}, err
	}
	if err := checkSource(q.Source); err != nil {
		return Decision{}, err
	}
	if err := checkItemIDs(q.Items); err != nil {
		return Decision{}, err
	}
	if err := checkText("purpose", q.Purpose, 128); err != nil {
		return Decision{}, err
	}
	if err := checkText("exchange id", q.ExchangeID, 200); err != nil {
		return Decision{}, err
	}
	afm, err := normaliseTaxNumber(q.TaxNumber)
	if err != nil {
		return Decision{}, err
	}
	subject := s.subjects.pseudonym(afm)
	now := s.now()
	use := Use{Access: Access{Subject: subject, At: now, Requester: q.Requester, Source: q.Source,
		Items: q.Items, Purpose: q.Purpose, ExchangeID: q.ExchangeID}}
	// Most checks are allowed: one statement finds the consent and counts
	// the use. Only a refusal reads the consents to say why.
	id, err := s.store.Use(ctx, use)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Allowed: true, ConsentID: id}
	if id == "" {
		recs, err := s.store.Candidates(ctx, CandidateQuery{Subject: subject, Organisation: q.Requester.Organisation,
			Client: q.Requester.Client, Source: q.Source})
		if err != nil {
			return Decision{}, err
		}
		if d, err = s.decideCheck(ctx, use, recs); err != nil {
			return Decision{}, err
		}
	}
	if s.cfg.Counter != nil {
		outcome := OutcomeAllowed
		if !d.Allowed {
			outcome = string(d.Reason)
		}
		s.cfg.Counter.Count(CountKind, q.Requester.Organisation, outcome)
	}
	return d, nil
}

// decideCheck weighs the candidates of a check the first Use found no
// consent for: a consent that allows it now (given or approved since) is
// used, or the refusal's reason is found.
func (s *Service) decideCheck(ctx context.Context, u Use, recs []*Record) (Decision, error) {
	q, now := u.Access, u.At
	live, samePurpose, lost := false, false, false
	for _, r := range recs {
		if !r.UsableAt(now) {
			continue
		}
		live = true
		if r.Purpose.Code != q.Purpose {
			continue
		}
		samePurpose = true
		if !r.Covers(q.Items) {
			continue
		}
		u.ConsentID = r.ID
		id, err := s.store.Use(ctx, u)
		if err != nil {
			return Decision{}, err
		}
		if id != "" {
			return Decision{Allowed: true, ConsentID: id}, nil
		}
		lost = true // used up, withdrawn or expired since it was read
	}
	switch {
	case lost:
		return Decision{Reason: ReasonUsedUp}, nil
	case samePurpose:
		return Decision{Reason: ReasonItemsNotCovered}, nil
	case live:
		return Decision{Reason: ReasonWrongPurpose}, nil
	}
	// No consent may be used: the latest one for this purpose and these
	// items says why.
	for _, r := range recs {
		if r.Purpose.Code != q.Purpose || !r.Covers(q.Items) {
			continue
		}
		switch r.StateAt(now) {
		case StateRevoked:
			return Decision{Reason: ReasonWithdrawn}, nil
		case StateExpired:
			if r.State == StateAuthorised {
				return Decision{Reason: ReasonExpired}, nil
			}
		case StateConsumed:
			return Decision{Reason: ReasonUsedUp}, nil
		}
	}
	return Decision{Reason: ReasonNone}, nil
}
