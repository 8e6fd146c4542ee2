package otp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/internal/web"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Defaults, each changeable by an option.
const (
	DefaultLifetime     = 120 * time.Second
	DefaultCooldown     = 60 * time.Second
	MaxAttempts         = 3  // wrong tries one code survives
	MaxFailures         = 10 // consecutive failures before a lock-out
	DefaultLockout      = time.Minute
	DefaultLockoutLimit = time.Hour
	codeDigits          = 6
	maxPurposeLength    = 200
)

// Service issues and verifies one-time codes. It is safe for concurrent use,
// and several instances on one PostgreSQL database keep every rule (single
// use, attempt limits, lock-outs, cool-down) between them.
type Service struct {
	db       *sqlstore.DB
	secret   []byte
	sender   Sender
	now      func() time.Time
	log      *zap.Logger
	lifetime time.Duration
	cooldown time.Duration
	lockout  time.Duration
	lockMax  time.Duration
	// stmts are the statements of every issue and verification, prepared
	// once: on SQLite, parsing one cost about as much as running it.
	stmts struct{ lock, challenge, use, last, supersede, insert *sql.Stmt }
	// sendNanos is a moving average of how long sending takes, so that
	// issuing for an unknown subject can take as long as for a known one.
	sendNanos atomic.Int64
}

// Option configures a Service.
type Option func(*Service)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger logs issues, failures and lock-outs (subjects and phone numbers
// masked).
func WithLogger(l *zap.Logger) Option { return func(s *Service) { s.log = l } }

// WithDBTimeout bounds each database call; zero or less keeps the default.
func WithDBTimeout(d time.Duration) Option { return func(s *Service) { s.db = s.db.WithTimeout(d) } }

// WithLifetime sets how long a code stays valid (default 120 s).
func WithLifetime(d time.Duration) Option { return func(s *Service) { s.lifetime = d } }

// WithCooldown sets how long a subject waits before another code for the
// same purpose (default 60 s).
func WithCooldown(d time.Duration) Option { return func(s *Service) { s.cooldown = d } }

// WithLockout sets the first lock-out after MaxFailures consecutive failures
// (default 1 minute; each further lock-out doubles it) and its ceiling
// (default 1 hour).
func WithLockout(first, ceiling time.Duration) Option {
	return func(s *Service) { s.lockout, s.lockMax = first, ceiling }
}

// New returns a service storing its state in db (migrating the otp tables)
// and sending codes through sender. secret keys every hash; it must be at
// least 32 random bytes and stay the same for as long as codes are
// outstanding (changing it invalidates them, nothing else).
func New(ctx context.Context, db *sql.DB, secret []byte, sender Sender, opts ...Option) (*Service, error) {
	if len(secret) < 32 {
		return nil, ErrWeakSecret
	}
	if sender == nil {
		return nil, errors.New("otp: nil sender")
	}
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("otp: %w", err)
	}
	if err := sdb.Migrate(ctx, "otp", migrations); err != nil {
		return nil, fmt.Errorf("otp: %w", err)
	}
	s := &Service{
		db: sdb, secret: append([]byte(nil), secret...), sender: sender,
		now: time.Now, log: zap.NewNop(),
		lifetime: DefaultLifetime, cooldown: DefaultCooldown,
		lockout: DefaultLockout, lockMax: DefaultLockoutLimit,
	}
	for _, o := range opts {
		o(s)
	}
	prepare := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = sdb.PrepareContext(ctx, query)
		return st
	}
	s.stmts.lock = prepare(`INSERT INTO otp_subjects (subject_hash) VALUES ($1)
		 ON CONFLICT (subject_hash) DO UPDATE SET subject_hash = excluded.subject_hash
		 RETURNING failures, lockouts, locked_until`)
	s.stmts.challenge = prepare(`SELECT code_mac, state, attempts, expires_at FROM otp_challenges WHERE id = $1` +
		sdb.Dialect().ForUpdate())
	s.stmts.use = prepare(`UPDATE otp_challenges SET state = 'used', used_at = $1 WHERE id = $2 AND state = 'pending'`)
	s.stmts.last = prepare(`SELECT MAX(created_at) FROM otp_challenges WHERE subject_hash = $1 AND purpose = $2`)
	s.stmts.supersede = prepare(`UPDATE otp_challenges SET state = 'superseded' WHERE subject_hash = $1 AND purpose = $2 AND state = 'pending'`)
	s.stmts.insert = prepare(`INSERT INTO otp_challenges (id, subject_hash, purpose, code_mac, state, attempts, created_at, expires_at)
		 VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6)`)
	if err != nil {
		return nil, fmt.Errorf("otp: %w", err)
	}
	return s, nil
}

// Request asks for a code.
type Request struct {
	// Subject is whom the code is for: a user id, a tax number. It is
	// stored only as a keyed hash.
	Subject string
	// Purpose is what the code confirms, bound into the code: a code
	// issued for "sign-in" cannot confirm "declaration:2026/000123".
	Purpose string
	// Description is the purpose in words for the message, such as
	// "σύνδεση στο gov.gr" or "έκδοση της δήλωσης 2026/000123".
	Description string
	// Destination is where the code goes, such as the phone number from
	// the contact registry. Empty means the subject has none: the answer
	// is the same, but nothing is sent and the challenge cannot succeed,
	// so a caller never reveals which subjects exist.
	Destination string
	// Lang is the language of the message: "el" (also when empty or
	// unsupported) or "en".
	Lang string
	// Text replaces the message; it must contain {code} and may contain
	// {description} and {minutes} (a bare number: a text of one's own
	// has no plural forms). Empty means the text of the catalogue in
	// messages/, in Lang, which names the purpose and the lifetime
	// ("1 λεπτό", "2 λεπτά"; "1 minute", "2 minutes") and warns never to
	// share the code.
	Text string
}

//go:embed messages/*.json
var messageFiles embed.FS

// messages holds the texts of the codes' messages, with plural forms.
var messages = func() *web.Catalog {
	c, err := web.NewCatalog(messageFiles, "messages/*.json")
	if err != nil {
		panic(err) // the embedded files are checked by the tests
	}
	return c
}()

// Challenge is what the caller keeps (in a session or a hidden field) to
// verify the code the person types.
type Challenge struct {
	ID        string
	ExpiresAt time.Time
}

// Issue creates a code for the request, stores its keyed hash and sends it.
// It fails with ErrTooSoon during the cool-down after the previous code for
// the same subject and purpose, with ErrLockedOut while the subject is locked
// out, and with ErrSendFailed when the sender fails (the new code is then
// discarded and the cool-down not started). A new code replaces any earlier
// pending code for the same subject and purpose.
func (s *Service) Issue(ctx context.Context, req Request) (Challenge, error) {
	if req.Subject == "" || req.Purpose == "" || len(req.Purpose) > maxPurposeLength {
		return Challenge{}, &Error{Kind: ErrBadRequest, Detail: "subject and purpose are required; purpose at most 200 bytes"}
	}
	text := req.Text
	if text == "" {
		text = messages.Text(req.Lang, "otp.sms", "minutes", lifetimeMinutes(s.lifetime))
	}
	if !strings.Contains(text, "{code}") {
		return Challenge{}, &Error{Kind: ErrBadRequest, Detail: "message text must contain {code}"}
	}
	code, err := newCode()
	if err != nil {
		return Challenge{}, fmt.Errorf("otp: issue: %w", err)
	}
	id := newID()
	now := s.now()
	subj := s.subjectHash(req.Subject)
	mac := s.codeMAC(id, req.Purpose, req.Subject, code)
	if req.Destination == "" {
		// Unknown subject: a MAC no code can match.
		mac = make([]byte, sha256.Size)
		_, _ = rand.Read(mac)
	}
	ch := Challenge{ID: id, ExpiresAt: now.Add(s.lifetime)}

	var outcome error
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = s.db.Tx(ctx, func(tx *sql.Tx) error {
		outcome = nil
		_, locked, err := s.lockSubject(ctx, tx, subj, now)
		if err != nil || locked != nil {
			outcome = locked
			return err
		}
		var last sql.NullInt64
		if err := tx.StmtContext(ctx, s.stmts.last).QueryRowContext(ctx, subj, req.Purpose).Scan(&last); err != nil {
			return err
		}
		if last.Valid {
			if next := time.UnixMicro(last.Int64).Add(s.cooldown); next.After(now) {
				outcome = wait(ErrTooSoon, next.Sub(now))
				return nil
			}
		}
		if _, err := tx.StmtContext(ctx, s.stmts.supersede).ExecContext(ctx, subj, req.Purpose); err != nil {
			return err
		}
		_, err = tx.StmtContext(ctx, s.stmts.insert).ExecContext(ctx,
			id, subj, req.Purpose, mac, now.UnixMicro(), ch.ExpiresAt.UnixMicro())
		return err
	})
	if err != nil {
		return Challenge{}, fmt.Errorf("otp: issue: %w", err)
	}
	if outcome != nil {
		s.log.Info("otp code refused", zap.String("subject", maskHash(subj)), zap.String("purpose", req.Purpose), zap.Error(outcome))
		return Challenge{}, outcome
	}

	if req.Destination == "" {
		s.imitateSend(ctx)
		s.log.Info("otp code issued", zap.String("subject", maskHash(subj)), zap.String("purpose", req.Purpose), zap.Bool("sent", false))
		return ch, nil
	}
	msg := Message{ID: id, To: req.Destination, Purpose: req.Purpose, Text: formatText(text, code, req.Description, s.lifetime)}
	start := time.Now()
	if err := s.sender.Send(ctx, msg); err != nil {
		// Discard the code so it cannot be used and the cool-down does not
		// hold the person back from asking again.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, derr := s.db.ExecContext(dctx, `DELETE FROM otp_challenges WHERE id = $1`, id); derr != nil {
			s.log.Error("otp: discard unsent code", zap.Error(derr))
		}
		s.log.Warn("otp code not sent", zap.String("to", httpx.MaskPhone(req.Destination)), zap.Error(err))
		return Challenge{}, &Error{Kind: ErrSendFailed, Detail: err.Error()}
	}
	s.noteSend(time.Since(start))
	s.log.Info("otp code issued", zap.String("subject", maskHash(subj)), zap.String("purpose", req.Purpose),
		zap.String("to", httpx.MaskPhone(req.Destination)), zap.Bool("sent", true))
	return ch, nil
}

// Verify checks the code typed for a challenge, for this subject and
// purpose. It succeeds once; every failure is counted against the code
// (three wrong tries kill it) and against the subject (ten in a row lock the
// subject out, for one minute at first and twice as long each further time,
// up to one hour). Success resets the subject's count.
func (s *Service) Verify(ctx context.Context, challengeID, subject, purpose, code string) error {
	return s.verify(ctx, challengeID, subject, purpose, code, true)
}

// Check is Verify that leaves a right code pending instead of using it up:
// every failure counts as in Verify, and success resets the subject's
// count, but the code is used only by Consume, in the transaction of the
// action it confirms. An action that fails before it commits (an error,
// a crash) then leaves the code usable, rather than spent on nothing and
// the subject held back by the cool-down before a new one.
func (s *Service) Check(ctx context.Context, challengeID, subject, purpose, code string) error {
	return s.verify(ctx, challengeID, subject, purpose, code, false)
}

// Consume uses up checked codes (Check) in tx, the caller's transaction
// on the same database, and returns the challenges it used. A challenge
// missing from the answer was used, replaced or dropped since its check:
// its action must not go ahead. Several instances consuming one challenge
// at once find it used by one alone: the row stays locked until tx ends.
func (s *Service) Consume(ctx context.Context, tx *sql.Tx, challengeIDs ...string) (map[string]bool, error) {
	used := make(map[string]bool, len(challengeIDs))
	if len(challengeIDs) == 0 {
		return used, nil
	}
	args := make([]any, 0, len(challengeIDs)+1)
	args = append(args, s.now().UnixMicro())
	marks := make([]string, len(challengeIDs))
	for i, id := range challengeIDs {
		args = append(args, id)
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	rows, err := tx.QueryContext(ctx, `UPDATE otp_challenges SET state = 'used', used_at = $1
		WHERE state = 'pending' AND id IN (`+strings.Join(marks, ", ")+`) RETURNING id`, args...)
	if err != nil {
		return nil, fmt.Errorf("otp: consume: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("otp: consume: %w", err)
		}
		used[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("otp: consume: %w", err)
	}
	return used, nil
}

func (s *Service) verify(ctx context.Context, challengeID, subject, purpose, code string, consume bool) error {
	if err := checkArgs(challengeID, subject, purpose, code); err != nil {
		return err
	}
	var outcome error
	subj := s.subjectHash(subject)
	ctx, cancel := s.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err := s.db.Tx(ctx, func(tx *sql.Tx) (err error) {
		outcome, err = s.verifyIn(ctx, tx, subj, challengeID, subject, purpose, code, consume)
		return err
	})
	if err != nil {
		return fmt.Errorf("otp: verify: %w", err)
	}
	s.logOutcome(subj, purpose, outcome, consume)
	return outcome
}

// VerifyTx is Verify in tx, the caller's transaction on the same database:
// a right code is used up there, and a wrong one counted there, so that
// the action the code confirms and the code's use commit or roll back
// together, with no transaction of the code's own. refused is the
// refusal (an *Error, as Verify returns) when the code is not accepted;
// err is a database failure, after which tx must be rolled back. The
// subject's row stays locked until tx ends: a caller checking codes of
// several subjects in one transaction takes them in one order (sorted),
// so that two such transactions cannot wait for each other.
func (s *Service) VerifyTx(ctx context.Context, tx *sql.Tx, challengeID, subject, purpose, code string) (refused, err error) {
	if err := checkArgs(challengeID, subject, purpose, code); err != nil {
		return err, nil
	}
	subj := s.subjectHash(subject)
	refused, err = s.verifyIn(ctx, tx, subj, challengeID, subject, purpose, code, true)
	if err != nil {
		return nil, fmt.Errorf("otp: verify: %w", err)
	}
	s.logOutcome(subj, purpose, refused, true)
	return refused, nil
}

func checkArgs(challengeID, subject, purpose, code string) error {
	if _, ok := NormalizeCode(code); !ok {
		return &Error{Kind: ErrBadRequest, Detail: "the code is six digits"}
	}
	if challengeID == "" || subject == "" || purpose == "" {
		return &Error{Kind: ErrBadRequest, Detail: "challenge, subject and purpose are required"}
	}
	return nil
}

// logOutcome logs a verification's outcome; subj is the subject's hash,
// logged masked.
func (s *Service) logOutcome(subjHash, purpose string, outcome error, consume bool) {
	subj := maskHash(subjHash)
	if outcome != nil {
		s.log.Info("otp verification failed", zap.String("subject", subj), zap.String("purpose", purpose), zap.Error(outcome))
		return
	}
	s.log.Info("otp verified", zap.String("subject", subj), zap.String("purpose", purpose), zap.Bool("used", consume))
}

// verifyIn checks a code in tx: outcome is the refusal, err a database
// failure. The arguments have passed checkArgs; subj is the subject's
// hash.
func (s *Service) verifyIn(ctx context.Context, tx *sql.Tx, subj, challengeID, subject, purpose, code string, consume bool) (outcome, err error) {
	code, _ = NormalizeCode(code)
	now := s.now()
	want := s.codeMAC(challengeID, purpose, subject, code)

	st, locked, err := s.lockSubject(ctx, tx, subj, now)
	if err != nil || locked != nil {
		return locked, err
	}
	var (
		mac      []byte
		state    string
		attempts int
		expires  int64
	)
	err = tx.StmtContext(ctx, s.stmts.challenge).QueryRowContext(ctx, challengeID).Scan(&mac, &state, &attempts, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return failure(ErrInvalidCode), s.countFailure(ctx, tx, subj, st, now)
	case err != nil:
		return nil, err
	}
	match := hmac.Equal(mac, want)
	switch {
	case state == "used" || state == "superseded":
		if match {
			return failure(ErrUsed), nil
		}
	case state == "dead":
		return failure(ErrTooManyAttempts), nil
	case now.UnixMicro() > expires:
		return failure(ErrExpired), nil
	case match && !consume:
		return nil, s.resetSubject(ctx, tx, subj, st)
	case match:
		res, err := tx.StmtContext(ctx, s.stmts.use).ExecContext(ctx, now.UnixMicro(), challengeID)
		if err != nil {
			return nil, err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return failure(ErrUsed), err
		}
		return nil, s.resetSubject(ctx, tx, subj, st)
	default:
		attempts++
		next := "pending"
		if attempts >= MaxAttempts {
			next = "dead"
		}
		if _, err := tx.ExecContext(ctx,
			`UPDATE otp_challenges SET attempts = $1, state = $2 WHERE id = $3`, attempts, next, challengeID); err != nil {
			return nil, err
		}
	}
	return failure(ErrInvalidCode), s.countFailure(ctx, tx, subj, st, now)
}

// resetSubject clears the subject's failures after a right code.
func (s *Service) resetSubject(ctx context.Context, tx *sql.Tx, subj string, st subjectState) error {
	if st == (subjectState{}) {
		return nil // nothing to reset: the common case
	}
	_, err := tx.ExecContext(ctx,
		`UPDATE otp_subjects SET failures = 0, lockouts = 0, locked_until = 0 WHERE subject_hash = $1`, subj)
	return err
}

// Pending returns the newest code still usable for the subject and
// purpose: pending and not expired. ok is false when there is none (never
// issued, used, killed by wrong tries, or expired). A caller that holds
// several challenges for one subject and purpose (a person signing in from
// two tabs, or asking again during the cool-down) uses it to verify against
// the code the person last received.
func (s *Service) Pending(ctx context.Context, subject, purpose string) (ch Challenge, ok bool, err error) {
	if subject == "" || purpose == "" {
		return Challenge{}, false, &Error{Kind: ErrBadRequest, Detail: "subject and purpose are required"}
	}
	var expires int64
	err = s.db.QueryRowContext(ctx,
		`SELECT id, expires_at FROM otp_challenges
		 WHERE subject_hash = $1 AND purpose = $2 AND state = 'pending' AND expires_at >= $3
		 ORDER BY created_at DESC LIMIT 1`,
		s.subjectHash(subject), purpose, s.now().UnixMicro()).Scan(&ch.ID, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Challenge{}, false, nil
	case err != nil:
		return Challenge{}, false, fmt.Errorf("otp: pending: %w", err)
	}
	ch.ExpiresAt = time.UnixMicro(expires).UTC()
	return ch, true, nil
}

type subjectState struct {
	failures, lockouts int
	lockedUntil        int64
}

// lockSubject creates the subject's row if needed and locks it for the rest
// of the transaction (PostgreSQL row lock; SQLite holds the write lock
// already), so that one subject's issues and verifications run one at a time
// across instances. locked is an ErrLockedOut error while the subject is
// locked out at now.
func (s *Service) lockSubject(ctx context.Context, tx *sql.Tx, subj string, now time.Time) (st subjectState, locked, err error) {
	err = tx.StmtContext(ctx, s.stmts.lock).QueryRowContext(ctx, subj).Scan(&st.failures, &st.lockouts, &st.lockedUntil)
	if err != nil {
		return st, nil, err
	}
	if until := time.UnixMicro(st.lockedUntil); until.After(now) {
		return st, wait(ErrLockedOut, until.Sub(now)), nil
	}
	return st, nil, nil
}

// countFailure adds a failure to the subject and locks it out after
// MaxFailures in a row.
func (s *Service) countFailure(ctx context.Context, tx *sql.Tx, subj string, st subjectState, now time.Time) error {
	st.failures++
	if st.failures >= MaxFailures {
		d := s.lockout << min(st.lockouts, 20)
		if d > s.lockMax || d <= 0 {
			d = s.lockMax
		}
		st.lockedUntil = now.Add(d).UnixMicro()
		st.lockouts++
		st.failures = 0
		s.log.Warn("otp subject locked out", zap.String("subject", maskHash(subj)), zap.Duration("for", d))
	}
	_, err := tx.ExecContext(ctx,
		`UPDATE otp_subjects SET failures = $1, lockouts = $2, locked_until = $3 WHERE subject_hash = $4`,
		st.failures, st.lockouts, st.lockedUntil, subj)
	return err
}

// Purge deletes challenges that expired before the given time, and the
// rows of subjects that have nothing to remember (no failures counted, no
// lock-out running then), and returns how many challenges went. Run it now
// and then; verification needs neither.
func (s *Service) Purge(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM otp_challenges WHERE expires_at < $1`, before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("otp: purge: %w", err)
	}
	if _, err := s.db.ExecContext(ctx,
		`DELETE FROM otp_subjects WHERE failures = 0 AND locked_until < $1
		 AND NOT EXISTS (SELECT 1 FROM otp_challenges c WHERE c.subject_hash = otp_subjects.subject_hash)`,
		before.UnixMicro()); err != nil {
		return 0, fmt.Errorf("otp: purge subjects: %w", err)
	}
	return res.RowsAffected()
}

// NormalizeCode accepts six ASCII digits, ignoring spaces and dashes people
// type ("123 456", "123-456"), and returns them.
func NormalizeCode(s string) (string, bool) {
	if len(s) > 32 {
		return "", false
	}
	var b [codeDigits]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == codeDigits {
				return "", false
			}
			b[n] = c
			n++
		case c == ' ' || c == '-' || c == '\t':
		default:
			return "", false
		}
	}
	if n != codeDigits {
		return "", false
	}
	return string(b[:]), true
}

var million = big.NewInt(1_000_000)

// newCode draws six digits uniformly from crypto/rand.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, million)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns 128 random bits.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// mac computes HMAC-SHA-256 over length-prefixed fields, so no two field
// lists share an input.
func (s *Service) mac(fields ...string) []byte {
	h := hmac.New(sha256.New, s.secret)
	var n [4]byte
	for _, f := range fields {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

func (s *Service) codeMAC(id, purpose, subject, code string) []byte {
	return s.mac("egovkit/otp/code/v1", id, purpose, subject, code)
}

func (s *Service) subjectHash(subject string) string {
	return hex.EncodeToString(s.mac("egovkit/otp/subject/v1", subject))
}

// maskHash shortens a subject hash for logs: enough to correlate lines,
// useless to reverse.
func maskHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// lifetimeMinutes is a code's lifetime in whole minutes, rounded up.
func lifetimeMinutes(lifetime time.Duration) int {
	return int((lifetime + time.Minute - 1) / time.Minute)
}

func formatText(text, code, description string, lifetime time.Duration) string {
	return strings.NewReplacer("{code}", code, "{description}", description,
		"{minutes}", fmt.Sprint(lifetimeMinutes(lifetime))).Replace(text)
}

// noteSend updates the moving average of send durations (weight 1/8).
func (s *Service) noteSend(d time.Duration) {
	for {
		old := s.sendNanos.Load()
		next := old + (int64(d)-old)/8
		if old == 0 {
			next = int64(d)
		}
		if s.sendNanos.CompareAndSwap(old, next) {
			return
		}
	}
}

// imitateSend waits about as long as sending usually takes, so that the
// answer for an unknown subject does not come measurably sooner.
func (s *Service) imitateSend(ctx context.Context) {
	d := time.Duration(s.sendNanos.Load())
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
