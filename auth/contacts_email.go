package auth

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/httpx"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/sms"
)

// E-mail errors, matched with errors.Is.
var (
	ErrInvalidEmail = errkind.New(errkind.Invalid, "auth: not an e-mail address")
	// ErrNoEmailSender: the registry was built without WithEmail, so it
	// keeps no e-mail addresses; asking it to is a mistake in the program.
	ErrNoEmailSender = errkind.New(errkind.Invalid, "auth: the contact registry has no e-mail sender (WithEmail)")
)

// WithEmail lets the registry keep verified e-mail addresses: codes sends
// the verification codes by e-mail (a OneTimeCodes built with an e-mail
// sender), and sender tells the old address when the address changes.
// NewContactRegistry takes it.
func WithEmail(codes *OneTimeCodes, sender sms.Sender) Option {
	return func(o *options) { o.mark("WithEmail"); o.emailCodes, o.emailSender = codes, sender }
}

// NormalizeEmail returns a bare address (no display name) with the domain
// in lower case, or ErrInvalidEmail.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s || len(s) > 254 {
		return "", ErrInvalidEmail
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	if !ok || local == "" || !strings.Contains(domain, ".") {
		return "", ErrInvalidEmail
	}
	return local + "@" + strings.ToLower(domain), nil
}

func emailPurpose(email string) string { return "contact-email:" + email }

// StartEmailVerification sends a code to the address for the subject to
// prove it is theirs. The code can confirm this address only.
func (r *ContactRegistry) StartEmailVerification(ctx context.Context, subject, email string) (Challenge, error) {
	if r.emailCodes == nil {
		return Challenge{}, ErrNoEmailSender
	}
	e, err := NormalizeEmail(email)
	if err != nil {
		return Challenge{}, err
	}
	ch, err := r.emailCodes.Issue(ctx, otp.Request{
		Subject: subject, Purpose: emailPurpose(e), Destination: e,
		Description: "επιβεβαίωση της διεύθυνσης e-mail σας",
	})
	return Challenge(ch), codeError(err)
}

// ConfirmEmail checks the code sent by StartEmailVerification and stores
// the address as verified. A changed address is told at the old one and
// recorded as a new contact detail.
func (r *ContactRegistry) ConfirmEmail(ctx context.Context, subject, challengeID, email, code string) (Contact, error) {
	if r.emailCodes == nil {
		return Contact{}, ErrNoEmailSender
	}
	e, err := NormalizeEmail(email)
	if err != nil {
		return Contact{}, err
	}
	if err := r.emailCodes.Verify(ctx, challengeID, subject, emailPurpose(e), code); err != nil {
		return Contact{}, codeError(err)
	}
	now := r.now().UTC().Truncate(time.Microsecond)
	var old string
	ctx, cancel := r.db.Bound(ctx) // the transaction's statements run on ctx
	defer cancel()
	err = r.db.Tx(ctx, func(tx *sql.Tx) error {
		old = ""
		err := tx.QueryRowContext(ctx, `SELECT email FROM auth_contact_emails WHERE subject = $1`+r.db.Dialect().ForUpdate(), subject).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO auth_contact_emails (subject, email, verified_at, updated_at) VALUES ($1, $2, $3, $3)
			 ON CONFLICT (subject) DO UPDATE SET email = excluded.email, verified_at = excluded.verified_at, updated_at = excluded.updated_at`,
			subject, e, now.UnixMicro()); err != nil {
			return err
		}
		kind, detail := "email_verified", httpx.MaskEmail(e)
		if old != "" && old != e {
			kind, detail = "email_changed", httpx.MaskEmail(old)+" → "+httpx.MaskEmail(e)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO auth_contact_events (id, subject, kind, detail, at) VALUES ($1, $2, $3, $4, $5)`,
			newEventID(), subject, kind, detail, now.UnixMicro())
		return err
	})
	if err != nil {
		return Contact{}, fmt.Errorf("auth: confirm e-mail: %w", err)
	}
	if old != "" && old != e {
		msg := sms.Message{ID: newEventID(), To: old, Purpose: "contact-email-changed",
			Text: "Η διεύθυνση e-mail του λογαριασμού σας άλλαξε σε " + httpx.MaskEmail(e) +
				". Αν δεν το κάνατε εσείς, επικοινωνήστε αμέσως με την υπηρεσία."}
		if err := r.emailSender.Send(ctx, msg); err != nil {
			r.log.Error("could not notify the previous e-mail address", zap.String("to", httpx.MaskEmail(old)), zap.Error(err))
		}
		r.log.Info("e-mail address changed", zap.String("from", httpx.MaskEmail(old)), zap.String("to", httpx.MaskEmail(e)))
	}
	return r.Get(ctx, subject)
}
