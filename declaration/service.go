package declaration

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"go.uber.org/zap"

	"github.com/egovkit/egovkit/declaration/verify"
	"github.com/egovkit/egovkit/internal/ident"
	"github.com/egovkit/egovkit/internal/jsonschema"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/sms"
)

//go:embed migrations/*.sql
var migrations embed.FS

// SigningKeys sign issued documents; their public half is published as a
// JWK Set for verifiers. NewSigningKeys returns them; the methods are
// those a Service calls, so a key service of your own can stand in.
type SigningKeys interface {
	// Sign returns a compact JWS of payload signed with the active key;
	// headers add protected headers, such as "typ".
	Sign(ctx context.Context, payload []byte, headers ...func(jws.Headers) error) ([]byte, error)
	// PublicSet returns the public keys verifiers should accept now.
	PublicSet(ctx context.Context) (jwk.Set, error)
	// JWKSHandler serves PublicSet as a JWK Set document.
	JWKSHandler() http.Handler
}

// Signature algorithms of NewSigningKeys.
const (
	// ES256 (ECDSA P-256) is what every JOSE library and the EU's wallets
	// verify: the default.
	ES256 = "ES256"
	// EdDSA (Ed25519) verifies about half again as fast.
	EdDSA = "EdDSA"
)

// NewSigningKeys opens the key set "declaration" in db, encrypted under
// the 32-byte key-encryption key kek, rotating with overlap; every
// instance sharing the database signs with the same keys. alg is ES256
// (also when empty) or EdDSA, chosen when the set is first created. It
// takes WithLogger, WithClock and WithDBTimeout.
func NewSigningKeys(ctx context.Context, db *sql.DB, kek []byte, alg string, opts ...Option) (SigningKeys, error) {
	o, err := collect("NewSigningKeys", opts, "WithLogger", "WithClock", "WithDBTimeout")
	if err != nil {
		return nil, err
	}
	kopts := []keys.Option{keys.WithLogger(o.log), keys.WithClock(o.now), keys.WithDBTimeout(o.dbTimeout)}
	switch alg {
	case "", ES256:
		kopts = append(kopts, keys.WithAlgorithm(keys.ES256))
	case EdDSA:
		kopts = append(kopts, keys.WithAlgorithm(keys.EdDSA))
	default:
		return nil, fmt.Errorf("declaration: signature algorithm %q: ES256 or EdDSA", alg)
	}
	return keys.New(ctx, db, "declaration", kek, kopts...)
}

// Counter is told of every document issued, for statistics: one call of
// kind CountDeclaration or CountAuthorization, with the label values in
// the order CountLabels names them (issuer, channel). An issued document
// is counted once, when it is stored, whatever becomes of the request
// that confirmed it. Drafts, verifications and revocations are not
// services rendered and are not counted. *metrics.Metrics fits as it is;
// nil counts nothing.
type Counter interface {
	Count(kind string, labels ...string)
}

// What the service counts: the kinds, the names of their labels, and the
// channel value it reports. A statistics package declares the kinds with
// these label names in this order; see the package documentation.
const (
	// CountDeclaration is a solemn declaration issued, or a document of
	// an agency template that is not an authorization.
	CountDeclaration = "declaration"
	// CountAuthorization is an authorization issued: KindAuthorization,
	// or a document of a template marked Authorization.
	CountAuthorization = "authorization"
	// CountLabelIssuer is the issuing authority, Config.Issuer.
	CountLabelIssuer = "issuer"
	// CountLabelChannel is the channel; an issue is always ChannelDigital.
	CountLabelChannel = "channel"
	// ChannelDigital is the channel of everything the service counts.
	ChannelDigital = "digital"
)

// CountLabels returns the label names of CountDeclaration and
// CountAuthorization in the order the service reports their values.
func CountLabels() []string {
	return []string{CountLabelIssuer, CountLabelChannel}
}

// DefaultDraftLifetime is how long a draft waits for its one-time code.
const DefaultDraftLifetime = 30 * time.Minute

// Config configures a Service.
type Config struct {
	DB *sql.DB
	// DBTimeout bounds each database call; zero means 5 s. A database
	// that does not answer in time makes the handlers answer 503.
	DBTimeout time.Duration
	// Issuer names the issuing authority on documents and in protocol
	// numbers, which run per issuer and year, such as "gov.gr".
	Issuer string
	// BaseURL is the absolute URL verifiers reach the service at: the
	// "iss" of signed documents, and the start of the verification URL
	// in the QR code.
	BaseURL string
	// Keys sign issued documents (NewSigningKeys).
	Keys SigningKeys
	// CodeSecret keys the one-time codes (32 random bytes, the same on
	// every instance); SMS sends them: an sms.Webhook to the SMS gateway,
	// an sms.Outbox in development.
	CodeSecret []byte
	SMS        sms.Sender
	// StatusListURL is where the status list of the SD-JWT VCs is served
	// (APIHandler's /statuslist); empty means BaseURL + "/statuslist".
	StatusListURL string
	// PDFSigner, when set, signs every PDF (PAdES B-B) with the agency's
	// certificate; nil leaves PDFs unsigned (the QR code still proves them).
	PDFSigner *PDFSigner
	// Templates are the agency's own kinds of document, by name.
	Templates map[string]Template
	// DraftLifetime bounds how long a draft waits for its code; zero means
	// DefaultDraftLifetime.
	DraftLifetime time.Duration
	// Location is where people read the documents' dates, on the pages,
	// the PDF and the verification page, and decides the year of a
	// protocol number; nil means Europe/Athens. Instants are stored in UTC.
	Location *time.Location
	// Counter counts what is issued; nil counts nothing.
	Counter Counter
	// Now replaces time.Now, for tests; nil means time.Now.
	Now func() time.Time
	// Logger logs issues, revocations and refusals, persons masked; nil
	// logs nothing.
	Logger *zap.Logger
}

type template struct {
	Template
	schema *jsonschema.Schema
}

// Service issues, verifies and revokes documents. It is safe for
// concurrent use, and several instances may share one database.
type Service struct {
	cfg       Config
	db        *sqlstore.DB
	otp       *otp.Service
	templates map[string]template
	log       *zap.Logger
	batch     batcher
	stmts     issueStmts
}

// New opens the store (migrating it) and the one-time codes.
func New(ctx context.Context, cfg Config) (*Service, error) {
	switch {
	case cfg.DB == nil || cfg.Keys == nil:
		return nil, errors.New("declaration: Config needs DB and Keys")
	case strings.TrimSpace(cfg.Issuer) == "" || strings.Contains(cfg.Issuer, "\n"):
		return nil, errors.New("declaration: Config needs an Issuer name")
	case !strings.HasPrefix(cfg.BaseURL, "https://") && !strings.HasPrefix(cfg.BaseURL, "http://"):
		return nil, errors.New("declaration: Config needs an absolute BaseURL")
	case cfg.SMS == nil || len(cfg.CodeSecret) < 32:
		return nil, errors.New("declaration: Config needs SMS and a CodeSecret of 32 bytes")
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if cfg.PDFSigner != nil {
		if err := cfg.PDFSigner.check(); err != nil {
			return nil, err
		}
	}
	if cfg.StatusListURL == "" {
		cfg.StatusListURL = cfg.BaseURL + "/statuslist"
	}
	if cfg.DraftLifetime <= 0 {
		cfg.DraftLifetime = DefaultDraftLifetime
	}
	if cfg.Location == nil {
		cfg.Location = defaultLocation()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s := &Service{cfg: cfg, log: cfg.Logger, templates: map[string]template{}}
	for name, t := range cfg.Templates {
		if name == "" || len(name) > 64 {
			return nil, fmt.Errorf("declaration: template name %q: 1 to 64 characters", name)
		}
		schema, err := jsonschema.Compile(t.Schema)
		if err != nil {
			return nil, fmt.Errorf("declaration: template %q: %w", name, err)
		}
		s.templates[name] = template{Template: t, schema: schema}
	}
	var err error
	if s.db, err = sqlstore.New(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	s.db = s.db.WithTimeout(cfg.DBTimeout)
	if err := s.db.Migrate(ctx, "declaration", migrations); err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	if err := s.prepareIssue(ctx); err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	if s.otp, err = otp.New(ctx, cfg.DB, cfg.CodeSecret, cfg.SMS, otp.WithClock(cfg.Now), otp.WithLogger(cfg.Logger), otp.WithDBTimeout(cfg.DBTimeout)); err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.cfg.Now() }

// countIssued counts an issued document as a transaction of its kind.
func (s *Service) countIssued(d Draft) {
	if s.cfg.Counter == nil {
		return
	}
	kind := CountDeclaration
	if d.Kind == KindAuthorization || d.Kind == KindTemplate && s.templates[d.Template].Authorization {
		kind = CountAuthorization
	}
	s.cfg.Counter.Count(kind, s.cfg.Issuer, ChannelDigital)
}

// stored is what the content column holds.
type stored struct {
	Declarant Person `json:"declarant"`
	Draft     Draft  `json:"draft"`
}

// Create stores a draft written by declarant, who must be the signed-in
// person. The draft waits DraftLifetime for its one-time code.
func (s *Service) Create(ctx context.Context, declarant Person, d Draft) (*Document, error) {
	p, err := checkPerson(declarant)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if d, err = s.checkDraft(d, p, now); err != nil {
		return nil, err
	}
	doc := &Document{ID: rand.Text(), Issuer: s.cfg.Issuer, State: StateDraft, Declarant: p, Draft: d,
		CreatedAt: now.UTC().Truncate(time.Microsecond), ExpiresAt: now.Add(s.cfg.DraftLifetime).UTC().Truncate(time.Microsecond)}
	content, err := json.Marshal(stored{Declarant: p, Draft: d})
	if err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	grantee := ""
	if d.Grantee != nil {
		grantee = d.Grantee.AFM
	}
	var until int64
	if !d.ValidUntil.IsZero() {
		until = d.ValidUntil.UnixMicro()
	}
	_, err = s.db.ExecStmt(ctx, s.stmts.create,
		doc.ID, doc.Issuer, d.Kind, StateDraft, p.AFM, grantee, string(content), doc.CreatedAt.UnixMicro(), doc.ExpiresAt.UnixMicro(), until)
	if err != nil {
		return nil, fmt.Errorf("declaration: store draft: %w", err)
	}
	doc.Declarant.Mobile = ""
	return doc, nil
}

const selectDocument = `SELECT id, issuer, state, content, created_at, expires_at, issued_at,
	protocol_year, protocol_seq, code, token, sd_jwt, revoked_at, revoke_reason, challenge FROM declaration_documents`

type scanner interface{ Scan(dest ...any) error }

func scanDocument(row scanner) (*Document, string, error) {
	var (
		d                                      Document
		content, challenge                     string
		created, expires, issued, revoked, seq int64
		year                                   int
		code                                   sql.NullString
	)
	if err := row.Scan(&d.ID, &d.Issuer, &d.State, &content, &created, &expires, &issued,
		&year, &seq, &code, &d.Token, &d.SDJWT, &revoked, &d.RevokeReason, &challenge); err != nil {
		return nil, "", err
	}
	var st stored
	if err := json.Unmarshal([]byte(content), &st); err != nil {
		return nil, "", fmt.Errorf("declaration: stored document %s: %w", d.ID, err)
	}
	d.Declarant, d.Draft, d.Code = st.Declarant, st.Draft, code.String
	d.CreatedAt = time.UnixMicro(created).UTC()
	if d.State == StateDraft {
		d.ExpiresAt = time.UnixMicro(expires).UTC()
	}
	if issued > 0 {
		d.IssuedAt = time.UnixMicro(issued).UTC()
	}
	if revoked > 0 {
		d.RevokedAt = time.UnixMicro(revoked).UTC()
	}
	if seq > 0 {
		d.Protocol = FormatProtocol(year, seq)
	}
	return &d, challenge, nil
}

// FormatProtocol writes a protocol number as printed: "2026/000123".
func FormatProtocol(year int, seq int64) string {
	return fmt.Sprintf("%d/%06d", year, seq)
}

// own loads the document id and checks that it is the caller's (the
// declarant's, the grantor's of an authorization).
func (s *Service) own(ctx context.Context, id, afm string) (*Document, string, error) {
	d, challenge, err := scanDocument(s.db.QueryRowStmt(ctx, s.stmts.byID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", fail(ErrNotFound, "no document %q", id)
	}
	if err != nil {
		return nil, "", fmt.Errorf("declaration: %w", err)
	}
	if norm, err := (ident.AFM{}).Normalize(afm); err != nil || norm != d.Declarant.AFM {
		// The same answer as for a document that does not exist, so ids
		// cannot be probed.
		return nil, "", fail(ErrNotFound, "no document %q", id)
	}
	return d, challenge, nil
}

// Get returns one of the declarant's documents.
func (s *Service) Get(ctx context.Context, declarant Person, id string) (*Document, error) {
	d, _, err := s.own(ctx, id, declarant.AFM)
	return d, err
}

// RequestCode sends the one-time code that confirms the issue of a draft
// to the declarant's registered mobile. Asking again within a minute is
// refused (ErrCode with RetryAfter); a new code replaces the old.
func (s *Service) RequestCode(ctx context.Context, declarant Person, id string) (time.Time, error) {
	d, _, err := s.own(ctx, id, declarant.AFM)
	if err != nil {
		return time.Time{}, err
	}
	if d.State != StateDraft {
		return time.Time{}, fail(ErrState, "the document is already %s", d.State)
	}
	if !s.now().Before(d.ExpiresAt) {
		return time.Time{}, fail(ErrExpired, "the draft expired at %s; write it again", d.ExpiresAt.Format(time.RFC3339))
	}
	return s.sendCode(ctx, d, declarant, purpose(id), s.issueDescription(d), StateDraft)
}

// RequestRevokeCode sends the one-time code that confirms the revocation
// of an issued document to the declarant's registered mobile (for an
// authorization, the grantor's); the message names the document's kind
// and protocol number. As for issuing, asking again within a minute is
// refused (ErrCode with RetryAfter) and a new code replaces the old.
func (s *Service) RequestRevokeCode(ctx context.Context, declarant Person, id string) (time.Time, error) {
	d, _, err := s.own(ctx, id, declarant.AFM)
	if err != nil {
		return time.Time{}, err
	}
	if d.State != StateIssued {
		return time.Time{}, fail(ErrState, "only issued documents are revoked; this one is %s", d.State)
	}
	return s.sendCode(ctx, d, declarant, revokePurpose(id), s.revokeDescription(d), StateIssued)
}

// sendCode sends a code for purpose and keeps its challenge on the
// document, while it is in state.
func (s *Service) sendCode(ctx context.Context, d *Document, declarant Person, purpose, description, state string) (time.Time, error) {
	ch, err := s.otp.Issue(ctx, otp.Request{Subject: d.Declarant.AFM, Purpose: purpose,
		Description: description, Destination: declarant.Mobile, Lang: d.Draft.Lang})
	if err != nil {
		return time.Time{}, codeError(err)
	}
	if _, err := s.db.ExecStmt(ctx, s.stmts.challenge, ch.ID, d.ID, state); err != nil {
		return time.Time{}, fmt.Errorf("declaration: %w", err)
	}
	return ch.ExpiresAt, nil
}

// purpose binds a code to issuing one document: a code sent for another
// document, for a revocation or for a sign-in, does not confirm this one.
func purpose(id string) string { return "declaration:" + id }

// revokePurpose binds a code to revoking one document. Document ids hold
// no colon, so no issuing purpose is a revoking one.
func revokePurpose(id string) string { return "declaration:" + id + ":revoke" }

// smsRecipient is the most of a recipient's name an SMS quotes.
const smsRecipient = 40

// issueDescription names what a code for issuing d confirms: the kind of
// document and whom it is addressed to (for an authorization, the
// grantee), so that a person who did not ask for it sees what it would
// sign.
func (s *Service) issueDescription(d *Document) string {
	en := d.Draft.Lang == "en"
	to := d.Draft.Recipient
	if g := d.Draft.Grantee; g != nil {
		to = g.Name
	}
	var b strings.Builder
	if en {
		b.WriteString("issuing " + s.kindName(d, true))
		if to != "" {
			b.WriteString(" to «" + shorten(to, smsRecipient) + "»")
		}
		return b.String()
	}
	b.WriteString("την έκδοση " + s.kindName(d, false))
	if to != "" {
		b.WriteString(" προς «" + shorten(to, smsRecipient) + "»")
	}
	return b.String()
}

// revokeDescription names what a code for revoking d confirms: its kind
// and protocol number.
func (s *Service) revokeDescription(d *Document) string {
	if d.Draft.Lang == "en" {
		return "revoking " + s.kindName(d, true) + " " + d.Protocol
	}
	return "την ανάκληση " + s.kindName(d, false) + " " + d.Protocol
}

// kindName names the kind of d as the message says it: in English with
// its article, in Greek in the genitive ("της υπεύθυνης δήλωσης").
func (s *Service) kindName(d *Document, en bool) string {
	switch {
	case d.Draft.Kind == KindSolemn && en:
		return "the solemn declaration"
	case d.Draft.Kind == KindSolemn:
		return "της υπεύθυνης δήλωσης"
	case d.Draft.Kind == KindAuthorization && en:
		return "the authorization"
	case d.Draft.Kind == KindAuthorization:
		return "της εξουσιοδότησης"
	}
	title := d.Draft.Template
	if t, ok := s.templates[d.Draft.Template]; ok {
		title = t.Title.In(d.Draft.Lang)
	}
	if en {
		return "the document «" + shorten(title, smsRecipient) + "»"
	}
	return "του εγγράφου «" + shorten(title, smsRecipient) + "»"
}

// shorten cuts s to at most n characters, marking the cut.
func shorten(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return strings.TrimSpace(string(r[:n-1])) + "…"
	}
	return s
}

// Confirm checks the one-time code and issues the draft: it takes the
// next protocol number of the issuer's year, draws the verification code
// and signs the content.
func (s *Service) Confirm(ctx context.Context, declarant Person, id, code string) (*Document, error) {
	d, challenge, err := s.own(ctx, id, declarant.AFM)
	if err != nil {
		return nil, err
	}
	switch {
	case d.State != StateDraft:
		return nil, fail(ErrState, "the document is already %s", d.State)
	case !s.now().Before(d.ExpiresAt):
		return nil, fail(ErrExpired, "the draft expired at %s; write it again", d.ExpiresAt.Format(time.RFC3339))
	case challenge == "":
		return nil, &Error{Kind: ErrCode, Detail: "ask for a code first"}
	}
	// The code is checked and used up in the transaction that issues the
	// draft (issueBatch): an issue that fails, or a process that dies
	// before it commits, leaves the code usable.
	if err := s.issue(ctx, d, challenge, code); err != nil {
		return nil, err
	}
	d.ExpiresAt = time.Time{}
	return d, nil
}

// codeError says why a one-time code was refused.
func codeError(err error) error {
	var oe *otp.Error
	errors.As(err, &oe)
	switch {
	case errors.Is(err, otp.ErrLockedOut), errors.Is(err, otp.ErrTooSoon):
		e := &Error{Kind: ErrCode, Detail: "too many tries; wait before trying again"}
		if oe != nil {
			e.RetryAfter = oe.RetryAfter
		}
		return e
	case errors.Is(err, otp.ErrExpired):
		return &Error{Kind: ErrCode, Detail: "the code has expired; ask for a new one"}
	case errors.Is(err, otp.ErrUsed):
		return &Error{Kind: ErrCode, Detail: "the code was used already or replaced by a newer one"}
	case errors.Is(err, otp.ErrTooManyAttempts):
		return &Error{Kind: ErrCode, Detail: "the code was mistyped three times; ask for a new one"}
	case errors.Is(err, otp.ErrInvalidCode), errors.Is(err, otp.ErrBadRequest):
		return &Error{Kind: ErrCode, Detail: "the code is wrong"}
	}
	return fmt.Errorf("declaration: %w", err)
}

// Stamp is what every signed form of a document begins with: who issued
// it where, when, until when, and its kind, protocol number and
// verification code.
type Stamp = verify.Stamp

func (s *Service) stamp(d *Document) Stamp {
	st := Stamp{Issuer: s.cfg.BaseURL, ID: d.ID, IssuedAt: d.IssuedAt.Unix(), IssuerName: d.Issuer, Kind: d.Draft.Kind,
		Protocol: d.Protocol, Code: d.Code}
	if !d.Draft.ValidUntil.IsZero() {
		st.Expiry = d.Draft.ValidUntil.Unix()
	}
	return st
}

// Claims are the signed content of an issued document: what its JWS
// carries, and what offline verification of it returns.
type Claims = verify.Claims

// TokenType is the "typ" of signed documents.
const TokenType = verify.TokenType

func (s *Service) claims(d *Document) Claims {
	c := Claims{Stamp: s.stamp(d), Declarant: d.Declarant, Content: d.Draft, StatusURL: s.VerifyURL(d.Code)}
	if d.Draft.Kind == KindSolemn {
		c.Statutory = StatutoryWording.In(d.Draft.Lang)
	}
	return c
}

func (s *Service) sign(ctx context.Context, d *Document) (string, error) {
	return s.signJSON(ctx, s.claims(d), TokenType)
}

// signJSON signs v, as JSON, as a compact JWS of type typ.
func (s *Service) signJSON(ctx context.Context, v any, typ string) (string, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	tok, err := s.cfg.Keys.Sign(ctx, payload, keys.WithType(typ))
	if err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	return string(tok), nil
}

// VerifyURL is where a checker verifies the document with this code.
func (s *Service) VerifyURL(code string) string {
	return s.cfg.BaseURL + "/verify?code=" + code
}

// Status of a document as verification reports it.
const (
	StatusValid   = verify.StatusValid
	StatusRevoked = "revoked"
	StatusExpired = verify.StatusExpired
	StatusUnknown = "unknown"
)

// Verification is what a checker learns from a code: the status and,
// for a known document, its content as issued, nothing more.
type Verification struct {
	Status    string    `json:"status"`
	Kind      string    `json:"kind,omitempty"`
	Issuer    string    `json:"issuer,omitempty"`
	Protocol  string    `json:"protocol,omitempty"`
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	RevokedAt time.Time `json:"revoked_at,omitzero"`
	Declarant *Person   `json:"declarant,omitempty"`
	Content   *Draft    `json:"content,omitempty"`
	Statutory string    `json:"statutory,omitempty"`
}

// Verify looks a verification code up. A code that cannot be one, or that
// no issued document has, is StatusUnknown; the status of a revoked
// document is seen by the next verification on any instance, since
// nothing is cached.
func (s *Service) Verify(ctx context.Context, code string) (Verification, error) {
	norm, ok := NormalizeCode(code)
	if !ok {
		return Verification{Status: StatusUnknown}, nil
	}
	d, _, err := scanDocument(s.db.QueryRowStmt(ctx, s.stmts.byCode, norm))
	if errors.Is(err, sql.ErrNoRows) {
		return Verification{Status: StatusUnknown}, nil
	}
	if err != nil {
		return Verification{}, fmt.Errorf("declaration: verify: %w", err)
	}
	v := Verification{Status: StatusValid, Kind: d.Draft.Kind, Issuer: d.Issuer, Protocol: d.Protocol, IssuedAt: d.IssuedAt,
		Declarant: &d.Declarant, Content: &d.Draft}
	if d.Draft.Kind == KindSolemn {
		v.Statutory = StatutoryWording.In(d.Draft.Lang)
	}
	switch {
	case d.State == StateRevoked:
		v.Status, v.RevokedAt = StatusRevoked, d.RevokedAt
	case !d.Draft.ValidUntil.IsZero() && !s.now().Before(d.Draft.ValidUntil):
		v.Status = StatusExpired
	}
	return v, nil
}

// Revoke withdraws an issued document of the declarant's (for an
// authorization, the grantor's), confirmed with the one-time code that
// RequestRevokeCode sent; reason is optional. A wrong, expired or used
// code is refused with ErrCode and changes nothing. The code is used up
// in the transaction that revokes, so a revocation that fails leaves it
// usable. Verification says "revoked" from the next request on, on every
// instance.
func (s *Service) Revoke(ctx context.Context, declarant Person, id, code, reason string) (*Document, error) {
	reason = strings.TrimSpace(reason)
	var c checker
	c.text("/reason", reason, false, 500)
	if err := c.err(); err != nil {
		return nil, err
	}
	d, challenge, err := s.own(ctx, id, declarant.AFM)
	if err != nil {
		return nil, err
	}
	switch {
	case d.State != StateIssued:
		return nil, fail(ErrState, "only issued documents are revoked; this one is %s", d.State)
	case challenge == "":
		return nil, &Error{Kind: ErrCode, Detail: "ask for a code first"}
	}
	if err := s.otp.Check(ctx, challenge, d.Declarant.AFM, revokePurpose(id), code); err != nil {
		return nil, codeError(err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var outcome error
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		outcome = nil
		used, err := s.otp.Consume(ctx, tx, challenge)
		if err != nil {
			return err
		}
		if !used[challenge] {
			outcome = &Error{Kind: ErrCode, Detail: "the code was used already or replaced by a newer one"}
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE declaration_documents SET state = $1, revoked_at = $2, revoked_by = $3, revoke_reason = $4,
			challenge = '' WHERE id = $5 AND state = $6`, StateRevoked, now.UnixMicro(), d.Declarant.AFM, reason, id, StateIssued)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			outcome = fail(ErrState, "the document was revoked by another request")
			if err == nil {
				err = errRollback
			}
			return err
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("declaration: revoke: %w", err)
	}
	if outcome != nil {
		return nil, outcome
	}
	d.State, d.RevokedAt, d.RevokeReason = StateRevoked, now, reason
	s.log.Info("document revoked", zap.String("id", d.ID), zap.String("protocol", d.Protocol))
	return d, nil
}

// errRollback rolls a transaction back that has nothing to change; the
// outcome says why.
var errRollback = errors.New("declaration: nothing to change")

// List returns the declarant's documents, newest first: drafts still
// waiting, issued and revoked ones.
func (s *Service) List(ctx context.Context, declarant Person) ([]*Document, error) {
	afm, err := (ident.AFM{}).Normalize(declarant.AFM)
	if err != nil {
		return nil, nil
	}
	return s.query(ctx, selectDocument+` WHERE declarant = $1 AND (state <> $2 OR expires_at > $3) ORDER BY created_at DESC, id LIMIT 500`,
		afm, StateDraft, s.now().UnixMicro())
}

// Granted returns an issued authorization that names the person as
// grantee, so that they can show it (its PDF) where they act.
func (s *Service) Granted(ctx context.Context, grantee Person, id string) (*Document, error) {
	d, _, err := scanDocument(s.db.QueryRowContext(ctx, selectDocument+` WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fail(ErrNotFound, "no document %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	afm, aerr := (ident.AFM{}).Normalize(grantee.AFM)
	if aerr != nil || d.Draft.Grantee == nil || d.Draft.Grantee.AFM != afm || d.State == StateDraft {
		return nil, fail(ErrNotFound, "no document %q", id)
	}
	return d, nil
}

// GrantedTo returns the issued authorizations that name the person as
// grantee, newest first, with their state (revoked ones included, so the
// grantee learns of the revocation).
func (s *Service) GrantedTo(ctx context.Context, grantee Person) ([]*Document, error) {
	afm, err := (ident.AFM{}).Normalize(grantee.AFM)
	if err != nil {
		return nil, nil
	}
	return s.query(ctx, selectDocument+` WHERE grantee = $1 AND state <> $2 ORDER BY created_at DESC, id LIMIT 500`, afm, StateDraft)
}

func (s *Service) query(ctx context.Context, q string, args ...any) ([]*Document, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("declaration: %w", err)
	}
	defer rows.Close()
	var out []*Document
	for rows.Next() {
		d, _, err := scanDocument(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Maintain does the service's periodic work: Purge of what expired before
// now. Run it every few minutes from any number of instances (it is safe
// to repeat). It leaves the signing keys alone: documents are verified
// against the published keys for as long as they are valid.
func (s *Service) Maintain(ctx context.Context) error {
	_, err := s.Purge(ctx, s.now())
	return err
}

// Purge deletes drafts that expired before the given time, spent one-time
// codes and past rate-limit windows. Maintain calls it; call it yourself
// to purge up to another time.
func (s *Service) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM declaration_documents WHERE state = $1 AND expires_at < $2`, StateDraft, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("declaration: purge: %w", err)
	}
	n, _ := res.RowsAffected()
	if _, err := s.db.ExecContext(ctx, `DELETE FROM declaration_verify_failures WHERE window_start < $1`,
		before.Add(-VerifyWindow).UnixMicro()); err != nil {
		return n, fmt.Errorf("declaration: purge: %w", err)
	}
	if _, err := s.otp.Purge(ctx, before); err != nil {
		return n, fmt.Errorf("declaration: purge: %w", err)
	}
	return n, nil
}
