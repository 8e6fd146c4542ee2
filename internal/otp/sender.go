package otp

import "github.com/egovkit/egovkit/sms"

// The messages and their senders are the public package sms's, so that
// the packages that send codes can name them in their APIs.
type (
	Message = sms.Message
	Sender  = sms.Sender
	Outbox  = sms.Outbox
	Webhook = sms.Webhook
)

// NewOutbox keeps at most max messages; see sms.NewOutbox.
func NewOutbox(max int) *Outbox { return sms.NewOutbox(max) }

// SignWebhook returns the signature header value for a body sent at ts;
// see sms.SignWebhook.
func SignWebhook(secret []byte, ts int64, body []byte) string {
	return sms.SignWebhook(secret, ts, body)
}

// Header names used by Webhook.
const (
	HeaderTimestamp = sms.HeaderTimestamp
	HeaderSignature = sms.HeaderSignature
)
