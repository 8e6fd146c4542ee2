package auth

import (
	"context"
	"database/sql"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/otp"
)

// OneTimeCodes issues the six-digit codes sent by SMS and checks them:
// stored only as keyed hashes, bound to subject and purpose, single use
// across instances, three tries per code, 120 seconds, with a cool-down
// between codes and a lock-out after repeated failures.
type OneTimeCodes = otp.Service

// SMSSender delivers a code to a phone, usually through an SMS gateway.
// Implement it for your operator's API, or use a [Webhook].
type SMSSender = otp.Sender

// SMS is one message on its way to a phone.
type SMS = otp.Message

// Webhook is an SMSSender that posts each message as JSON, signed with
// HMAC-SHA-256 over a timestamp and the body, to a gateway URL.
type Webhook = otp.Webhook

// Outbox is an SMSSender that keeps messages in memory, for development
// and tests; its zero value is ready to use.
type Outbox = otp.Outbox

// NewOneTimeCodes keeps the codes' state in db and sends codes through
// sender. secret keys every hash: at least 32 random bytes, kept as long as
// codes are outstanding. log may be nil.
func NewOneTimeCodes(ctx context.Context, db *sql.DB, secret []byte, sender SMSSender, log *zap.Logger) (*OneTimeCodes, error) {
	var opts []otp.Option
	if log != nil {
		opts = append(opts, otp.WithLogger(log))
	}
	return otp.New(ctx, db, secret, sender, opts...)
}
