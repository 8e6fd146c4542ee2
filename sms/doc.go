// Package sms delivers the one-time codes egovkit's packages send to
// people's phones (and, through the same interface, e-mail addresses).
//
// auth (sign-in codes, contact verification) and declaration (the code
// that confirms an issue) take a [Sender]. Implement it for your
// operator's API, or use one of the two here:
//
//   - [Webhook] posts each [Message] as JSON to an SMS gateway, signed with
//     HMAC-SHA-256 over a timestamp and the body, retrying 5xx answers;
//   - [Outbox] keeps messages in memory, for development and tests.
//
// # Wiring
//
//	sender := &sms.Webhook{URL: "https://sms.example.gr/send", Secret: gatewayKey}
//	codes, err := auth.NewOneTimeCodes(ctx, db, codeSecret, sender, auth.WithLogger(log))
//
// A gateway checks a request with [SignWebhook]: the [HeaderTimestamp] must
// be recent and the [HeaderSignature] must equal
// SignWebhook(secret, timestamp, body).
package sms
