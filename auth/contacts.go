package auth

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore"
	"github.com/egovkit/egovkit/sms"
)

// Contact registry errors, matched with errors.Is.
var (
	ErrContactNotFound = errkind.New(errkind.NotFound, "auth: no verified contact for this subject")
	ErrInvalidPhone    = errkind.New(errkind.Invalid, "auth: not a mobile number in international form")
)

// Contact is a subject's verified contact details.
type Contact struct {
	Subject          string
	Mobile           string // E.164, such as +306912345678; "" when none is verified
	MobileVerifiedAt time.Time
	Email            string // "" when none is verified
	EmailVerifiedAt  time.Time
	UpdatedAt        time.Time
}

// ContactEvent is one change in a subject's contact details. Details are
// masked.
type ContactEvent struct {
	Kind   string // "mobile_verified" (first number), "mobile_changed", "mobile_imported", "email_verified", "email_changed"
	Detail string
	At     time.Time
}

// ContactRegistry keeps the mobile number, verified with a one-time code
// sent to it, at which each subject receives sign-in and confirmation codes.
// It is safe for concurrent use.
type ContactRegistry struct {
	db     *sqlstore.DB
	codes  *otp.Service
	notify sms.Sender
	now    func() time.Time
	log    *zap.Logger

	emailCodes  *otp.Service // nil: no e-mail addresses
	emailSender sms.Sender

	// Get's reads, which every request with a citizen's token may make
	// (the phone claim, a service's confirmation codes), prepared once:
	// on SQLite, parsing the SQL cost as much as running it.
	mobileStmt, emailStmt *sql.Stmt
}

// NewContactRegistry opens the registry in db. codes sends and checks the
// verification codes; notify tells the old number when the number changes
// (usually the same SMS gateway as codes uses). Besides WithLogger
// (changes are logged, numbers and addresses masked), WithClock and
// WithDBTimeout it takes WithEmail.
func NewContactRegistry(ctx context.Context, db *sql.DB, codes *OneTimeCodes, notify sms.Sender, opts ...Option) (*ContactRegistry, error) {
	if codes == nil || notify == nil {
		return nil, errors.New("auth: contact registry needs a code service and a sender")
	}
	o, err := collect("NewContactRegistry", opts, "WithEmail")
	if err != nil {
		return nil, err
	}
	sdb, err := sqlstore.New(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if err := sdb.Migrate(ctx, "auth", migrations); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	r := &ContactRegistry{db: sdb.WithTimeout(o.dbTimeout), codes: codes.svc, notify: notify, now: o.now, log: o.log}
	if o.emailCodes != nil {
		r.emailCodes, r.emailSender = o.emailCodes.svc, o.emailSender
	}
	if r.mobileStmt, err = r.db.PrepareContext(ctx,
		`SELECT mobile, mobile_verified_at, updated_at FROM auth_contacts WHERE subject = $1`); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if r.emailStmt, err = r.db.PrepareContext(ctx,
		`SELECT email, verified_at, updated_at FROM auth_contact_emails WHERE subject = $1`); err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return r, nil
}

// NormalizeMobile returns a number in E.164 form: "+" and 8 to 15 digits.
// Spaces, dots, dashes and brackets are dropped, "00" becomes "+", and a
// ten-digit Greek mobile number starting with 69 gets the +30 prefix.
func NormalizeMobile(s string) (string, error) {
	d := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', '-', '(', ')', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	switch {
	case strings.HasPrefix(d, "00"):
		d = "+" + d[2:]
	case len(d) == 10 && strings.HasPrefix(d, "69"):
		d = "+30" + d
	}
	if !strings.HasPrefix(d, "+") || len(d) < 9 || len(d) > 16 || d[1] == '0' {
		return "", ErrInvalidPhone
	}
	for _, c := range d[1:] {
		if c < '0' || c > '9' {
			return "", ErrInvalidPhone
		}
	}
	if strings.HasPrefix(d, "+30") && !strings.HasPrefix(d, "+306") {
		return "", fmt.Errorf("%w: a Greek mobile number starts with 69", ErrInvalidPhone)
	}
	return d, nil
}

func mobilePurpose(mobile string) string { return "contact-mobile:" + mobile }

// Get returns the subject's verified contact details, or
// ErrContactNotFound when there are none.
func (r *ContactRegistry) Get(ctx context.Context, subject string) (Contact, error) {
	c := Contact{Subject: subject}
	var verified, updated int64
	err := r.db.QueryRowStmt(ctx, r.mobileStmt, subject).Scan(&c.Mobile, &verified, &updated)
	switch {
	case err == nil:
		c.MobileVerifiedAt, c.UpdatedAt = time.UnixMicro(verified).UTC(), time.UnixMicro(updated).UTC()
	case !errors.Is(err, sql.ErrNoRows):
		return Contact{}, fmt.Errorf("auth: contact: %w", err)
	}
	err = r.db.QueryRowStmt(ctx, r.emailStmt, subject).Scan(&c.Email, &verified, &updated)
	switch {
	case err == nil:
		c.EmailVerifiedAt = time.UnixMicro(verified).UTC()
		if u := time.UnixMicro(updated).UTC(); u.After(c.UpdatedAt) {
			c.UpdatedAt = u
		}
	case !errors.Is(err, sql.ErrNoRows):
		return Contact{}, fmt.Errorf("auth: contact: %w", err)
	}
	if c.Mobile == "" && c.Email == "" {
		return Contact{}, ErrContactNotFound
	}
	return c, nil
}

// StartMobileVerification sends a code to mobile for the subject to prove
// the number is theirs. The code can confirm this number only.
func (r *ContactRegistry) StartMobileVerification(ctx context.Context, subject, mobile string) (Challenge, error) {
	m, err := NormalizeMobile(mobile)
	if err != nil {
		return Challenge{}, err
	}
	ch, err := r.codes.Issue(ctx, otp.Request{
		Subject: subject, Purpose: mobilePurpose(m), Destination: m,
		Description: "επιβεβαίωση του αριθμού κινητού σας",
	})
	return Challenge(ch), codeError(err)
}

// ConfirmMobile checks the code sent by StartMobileVerification and stores
// the number as verified. When it replaces another number, the old number
// is told (so that a person whose account was taken over learns it) and the
// change is recorded as binding a new authenticator.
func (r *ContactRegistry) ConfirmMobile(ctx context.Context, subject, challengeID, mobile, code string) (Contact, error) {
	m, err := NormalizeMobile(mobile)
	if err != nil {
		return Contact{}, err
	}
	if err := r.codes.Verify(ctx, challengeID, subject, mobilePurpose(m), code); err != nil {
		return Contact{}, codeError(err)
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	var old string
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		old = ""
		err := tx.QueryRowContext(ctx, `SELECT mobile FROM auth_contacts WHERE subject = $1`+r.db.Dialect().ForUpdate(), subject).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO auth_contacts (subject, mobile, mobile_verified_at, updated_at) VALUES ($1, $2, $3, $3)
			 ON CONFLICT (subject) DO UPDATE SET mobile = excluded.mobile, mobile_verified_at = excluded.mobile_verified_at, updated_at = excluded.updated_at`,
			subject, m, now.UnixMicro()); err != nil {
			return err
		}
		kind, detail := "mobile_verified", httpx.MaskPhone(m)
		if old != "" && old != m {
			kind, detail = "mobile_changed", httpx.MaskPhone(old)+" → "+httpx.MaskPhone(m)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO auth_contact_events (id, subject, kind, detail, at) VALUES ($1, $2, $3, $4, $5)`,
			newEventID(), subject, kind, detail, now.UnixMicro())
		return err
	})
	if err != nil {
		return Contact{}, fmt.Errorf("auth: confirm mobile: %w", err)
	}
	if old != "" && old != m {
		msg := sms.Message{ID: newEventID(), To: old, Purpose: "contact-mobile-changed",
			Text: "Ο αριθμός κινητού του λογαριασμού σας άλλαξε σε " + httpx.MaskPhone(m) +
				". Αν δεν το κάνατε εσείς, επικοινωνήστε αμέσως με την υπηρεσία."}
		if err := r.notify.Send(ctx, msg); err != nil {
			// The change stands; the failed notice is logged for follow-up.
			r.log.Error("could not notify the previous mobile number", zap.String("to", httpx.MaskPhone(old)), zap.Error(err))
		}
		r.log.Info("mobile number changed", zap.String("from", httpx.MaskPhone(old)), zap.String("to", httpx.MaskPhone(m)))
	}
	return Contact{Subject: subject, Mobile: m, MobileVerifiedAt: now, UpdatedAt: now}, nil
}

// ImportMobile records a number already verified elsewhere, such as the
// national contact registry or demonstration data, without sending a code.
// The import is recorded as an event like any other change.
func (r *ContactRegistry) ImportMobile(ctx context.Context, subject, mobile, source string) (Contact, error) {
	m, err := NormalizeMobile(mobile)
	if err != nil {
		return Contact{}, err
	}
	if source == "" {
		return Contact{}, errors.New("auth: an imported number needs its source")
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO auth_contacts (subject, mobile, mobile_verified_at, updated_at) VALUES ($1, $2, $3, $3)
			 ON CONFLICT (subject) DO UPDATE SET mobile = excluded.mobile, mobile_verified_at = excluded.mobile_verified_at, updated_at = excluded.updated_at`,
			subject, m, now.UnixMicro()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO auth_contact_events (id, subject, kind, detail, at) VALUES ($1, $2, 'mobile_imported', $3, $4)`,
			newEventID(), subject, httpx.MaskPhone(m)+" from "+source, now.UnixMicro())
		return err
	})
	if err != nil {
		return Contact{}, fmt.Errorf("auth: import mobile: %w", err)
	}
	return Contact{Subject: subject, Mobile: m, MobileVerifiedAt: now, UpdatedAt: now}, nil
}

// Events lists the subject's contact changes, oldest first.
func (r *ContactRegistry) Events(ctx context.Context, subject string) ([]ContactEvent, error) {
	rows, err := r.db.QueryContext(ctx,
		`SELECT kind, detail, at FROM auth_contact_events WHERE subject = $1 ORDER BY at, id`, subject)
	if err != nil {
		return nil, fmt.Errorf("auth: contact events: %w", err)
	}
	defer rows.Close()
	var out []ContactEvent
	for rows.Next() {
		var e ContactEvent
		var at int64
		if err := rows.Scan(&e.Kind, &e.Detail, &at); err != nil {
			return nil, err
		}
		e.At = time.UnixMicro(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func newEventID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
