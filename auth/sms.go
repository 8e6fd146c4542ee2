package auth

import (
	"context"
	"database/sql"
	"time"

	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/sms"
)

// OneTimeCodes issues the six-digit codes sent by SMS and checks them:
// stored only as keyed hashes, bound to subject and purpose, single use
// across instances, three tries per code, 120 seconds, with a cool-down
// between codes and a lock-out after repeated failures. Build it with
// NewOneTimeCodes and hand it to ProviderConfig.OneTimeCodes and
// NewContactRegistry; Provider.Maintain purges its old records.
type OneTimeCodes struct {
	svc *otp.Service
}

// Challenge is a one-time code on its way to a person: ID identifies it
// when the person confirms (ConfirmMobile, ConfirmEmail), and the code is
// no longer accepted after ExpiresAt.
type Challenge struct {
	ID        string
	ExpiresAt time.Time
}

// NewOneTimeCodes keeps the codes' state in db and sends codes through
// sender (an sms.Webhook to the SMS gateway, an sms.Outbox in
// development). secret keys every hash: at least 32 random bytes, kept as
// long as codes are outstanding. It takes WithLogger (issues, failures
// and lock-outs are logged, subjects and numbers masked), WithClock and
// WithDBTimeout.
func NewOneTimeCodes(ctx context.Context, db *sql.DB, secret []byte, sender sms.Sender, opts ...Option) (*OneTimeCodes, error) {
	o, err := collect("NewOneTimeCodes", opts)
	if err != nil {
		return nil, err
	}
	svc, err := otp.New(ctx, db, secret, sender,
		otp.WithLogger(o.log), otp.WithClock(o.now), otp.WithDBTimeout(o.dbTimeout))
	if err != nil {
		return nil, err
	}
	return &OneTimeCodes{svc: svc}, nil
}

// Purge deletes the codes that expired before the given time, and the
// records of subjects that have nothing left to remember, and says how
// many codes went. Provider.Maintain calls it; call it yourself only when
// the codes serve no Provider.
func (c *OneTimeCodes) Purge(ctx context.Context, before time.Time) (int64, error) {
	return c.svc.Purge(ctx, before)
}
