package interop

import (
	"context"
	"time"
)

// ConsentChecker answers, for a service whose registration requires
// consent, whether this consumer may fetch these data items about this
// citizen from this service for this purpose now. The gateway asks it once
// per call; the portal satisfies it with package consent, and any type with
// the method will do (interop imports no consent store).
//
// An error means the checker could not answer (its database is down): the
// gateway refuses the call without calling the provider. A refusal is not
// an error: it is a ConsentDecision with Allowed false and a reason.
type ConsentChecker interface {
	CheckConsent(ctx context.Context, q ConsentQuery) (ConsentDecision, error)
}

// ConsentQuery is what the gateway knows of a call when it asks.
type ConsentQuery struct {
	// Consumer is the client that calls (the X-Road-Client header, checked
	// against its access token).
	Consumer ClientID
	// Service is the service called.
	Service ServiceID
	// Items are the codes of the data items the service offers (its
	// registration's [DataItem] codes): what the consent must cover.
	Items []string
	// Subject identifies the citizen the data is about, as the consumer
	// sent it (X-Road-UserId, such as "GR" and a tax number). It is
	// personal data: never log it unmasked.
	Subject string
	// Purpose is why the consumer asks: the case or procedure it works on
	// (X-Road-Issue).
	Purpose string
	// ConsentID is the consent the consumer presents in a header of its
	// request; empty when none was sent.
	ConsentID string
	// At is the time of the call.
	At time.Time
	// ExchangeID is the gateway's identifier of the exchange (its
	// X-Road-Request-Id and the exchange log's id), so that the use the
	// checker records can point at the log entry and its inclusion proof.
	ExchangeID string
}

// ConsentDecision is the checker's answer.
type ConsentDecision struct {
	// Allowed is true when a consent covers the query.
	Allowed bool
	// ConsentID identifies the consent that allows the call (the one
	// presented, or the one the checker found); the exchange log records
	// it.
	ConsentID string
	// Reason says why a call was refused; empty when allowed.
	Reason ConsentReason
}

// ConsentReason is why a [ConsentChecker] refused a call.
type ConsentReason string

// Reasons for refusing a call for want of consent.
const (
	// ConsentMissing: no consent was presented and none was found.
	ConsentMissing ConsentReason = "missing"
	// ConsentUnknown: the presented consent id names no consent.
	ConsentUnknown ConsentReason = "unknown"
	// ConsentWithdrawn: the citizen withdrew the consent.
	ConsentWithdrawn ConsentReason = "withdrawn"
	// ConsentExpired: the consent is past its end, or not yet valid.
	ConsentExpired ConsentReason = "expired"
	// ConsentUsedUp: the consent allowed as many calls as it was given
	// for (a single-use consent, once).
	ConsentUsedUp ConsentReason = "used_up"
	// ConsentOutOfScope: the consent does not cover this consumer, service,
	// these items, this citizen or this purpose.
	ConsentOutOfScope ConsentReason = "out_of_scope"
)

// Counter counts completed exchanges. It has the shape of every egovkit
// counter, Count(kind string, labels ...string), which *metrics.Metrics
// has, so one line plugs it in. The gateway counts each call once, with
// kind [KindCall] and the labels consumer, service and outcome.
type Counter interface {
	Count(kind string, labels ...string)
}

// KindCall is the kind of the count of exchanges; its labels are the
// consumer's identifier, the service's identifier and the outcome.
const KindCall = "interop_call"

// Outcomes of a call, the third label of [KindCall].
const (
	OutcomeOK        = "ok"
	OutcomeNotFound  = "not_found"
	OutcomeForbidden = "forbidden"
	OutcomeDisabled  = "disabled"
	OutcomeError     = "error"
)
