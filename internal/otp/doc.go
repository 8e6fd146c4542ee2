// Package otp issues and verifies the six-digit one-time codes that confirm
// a sign-in or the issue of a document, sent by SMS to the number in the
// contact registry.
//
// # Rules
//
//   - Codes are six digits drawn uniformly from crypto/rand and stored only as
//     an HMAC-SHA-256 under the server secret, bound to the challenge, the
//     purpose and the subject: a code issued for "sign-in" cannot confirm
//     "declaration:2026/000123", and one person's code is useless to another.
//     Subjects are stored as keyed hashes too, so the table holds no phone or
//     tax number.
//   - A code lives 120 seconds (WithLifetime), is consumed by its first
//     successful verification (also between instances sharing one
//     PostgreSQL), and dies after three wrong tries (ErrTooManyAttempts).
//     An action stored in the same database can instead check and use the
//     code in its own transaction with VerifyTx (a wrong code counted, a
//     right one used, both only if that transaction commits), or Check it
//     first and Consume it there: if the action fails before it commits,
//     the code stays usable.
//   - Ten failures in a row for one subject, across codes, lock the subject
//     out: one minute, then twice as long each time, at most one hour
//     (WithLockout); a success resets the count.
//   - A subject waits 60 seconds (WithCooldown) before another code for the
//     same purpose; the new code replaces the old.
//   - A subject with no destination (unknown to the caller) gets the same
//     answer, the same database work and, on average, the same delay as a
//     known one, so the answer never tells whether someone exists.
//
// # Wiring
//
//	svc, err := otp.New(ctx, db, secret, &otp.Webhook{URL: gatewayURL, Secret: gatewayKey})
//	…
//	ch, err := svc.Issue(ctx, otp.Request{
//		Subject: user.ID, Purpose: "sign-in", Description: "σύνδεση στις υπηρεσίες",
//		Destination: contact.Mobile, // "" when there is none
//	})
//	// keep ch.ID in the session; later:
//	err = svc.Verify(ctx, ch.ID, user.ID, "sign-in", form.Code)
//	switch {
//	case err == nil: // confirmed
//	case errors.Is(err, otp.ErrLockedOut), errors.Is(err, otp.ErrTooSoon):
//		var oe *otp.Error
//		errors.As(err, &oe) // oe.RetryAfter says how long to wait
//	}
//
// # Senders
//
// Senders are the public package sms's: [Outbox] keeps messages in memory
// for development and tests, [Webhook] posts them as signed JSON to an SMS
// gateway, and any other channel implements [Sender].
package otp
