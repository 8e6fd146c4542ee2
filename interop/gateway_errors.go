package interop

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/egovkit/egovkit/problem"
)

// Problem types of the gateway's answers, besides TypeServiceNotFound,
// TypeAccessDenied and TypeServiceDisabled. Each answer carries the type,
// the status, a detail, the exchange id as "instance" (urn:uuid:…) and
// the X-Road-Error value as the "xroad_error" member, like the typed
// errors of OOTS's evidence exchange.
const (
	TypeInvalidRequest      = problem.TypeBase + "interop/invalid-request"
	TypeUnauthenticated     = problem.TypeBase + "interop/unauthenticated"
	TypeClientMismatch      = problem.TypeBase + "interop/client-mismatch"
	TypeConsentRefused      = problem.TypeBase + "interop/consent-refused"
	TypeRequestTooLarge     = problem.TypeBase + "interop/request-too-large"
	TypeRateLimited         = problem.TypeBase + "interop/rate-limited"
	TypeDigestMismatch      = problem.TypeBase + "interop/digest-mismatch"
	TypeUpstreamUnavailable = problem.TypeBase + "interop/upstream-unavailable"
	TypeResponseTooLarge    = problem.TypeBase + "interop/response-too-large"
	TypeUpstreamTimeout     = problem.TypeBase + "interop/upstream-timeout"
	TypeGatewayUnavailable  = problem.TypeBase + "interop/gateway-unavailable"
)

// X-Road-Error values of the gateway's answers. Errors of the caller's
// making start with "Client.", those of the gateway with
// "Server.ClientProxy." and those of the provider's side with
// "Server.ServerProxy.", as X-Road's security servers spell them.
const (
	xrInvalidRequest     = "Client.InvalidRequest"
	xrUnauthenticated    = "Client.InvalidToken"
	xrImpersonation      = "Client.ClientMismatch"
	xrRequestTooLarge    = "Client.RequestTooLarge"
	xrDigest             = "Client.DigestMismatch"
	xrRateLimited        = "Client.RateLimited"
	xrClientGone         = "Client.Gone"
	xrConsentRefused     = "Server.ServerProxy.ConsentRefused"
	xrConsentUnavailable = "Server.ClientProxy.ConsentUnavailable"
	xrTokensUnavailable  = "Server.ClientProxy.TokenKeysUnavailable"
	xrLogUnavailable     = "Server.ClientProxy.LogUnavailable"
	xrInternal           = "Server.ClientProxy.InternalError"
	xrServiceFailed      = "Server.ServerProxy.ServiceFailed"
	xrResponseTooLarge   = "Server.ServerProxy.ResponseTooLarge"
	xrServiceTimeout     = "Server.ServerProxy.ServiceTimeout"
)

// Outcomes of a call besides those of the Authorizer's refusals, the
// third label of [KindCall].
const (
	OutcomeInvalid         = "invalid"
	OutcomeUnauthenticated = "unauthenticated"
	OutcomeConsentRefused  = "consent_refused"
	OutcomeRateLimited     = "rate_limited"
	OutcomeTooLarge        = "too_large"
	OutcomeUpstream        = "upstream_error"
	OutcomeTimeout         = "timeout"
	OutcomeUnavailable     = "unavailable"
)

// failure is one answer of the gateway that did not come from the
// provider.
type failure struct {
	p            *problem.Problem
	xroad        string
	outcome      string
	authenticate bool
}

func fails(typ string, status int, detail, xroad, outcome string) *failure {
	return &failure{p: problem.New(typ, status, detail), xroad: xroad, outcome: outcome}
}

func errBadRequest(detail string) *failure {
	return fails(TypeInvalidRequest, http.StatusBadRequest, detail, xrInvalidRequest, OutcomeInvalid)
}

func errUnauthenticated(detail string) *failure {
	f := fails(TypeUnauthenticated, http.StatusUnauthorized, detail, xrUnauthenticated, OutcomeUnauthenticated)
	f.authenticate = true
	return f
}

func errTokensUnavailable() *failure {
	f := &failure{p: problem.Unavailable("the access token cannot be checked now", 5), xroad: xrTokensUnavailable, outcome: OutcomeUnavailable}
	f.p.Type = TypeGatewayUnavailable
	return f
}

func errImpersonation(claimed ClientID) *failure {
	return fails(TypeClientMismatch, http.StatusForbidden,
		"X-Road-Client "+claimed.String()+" is not the client the access token was issued to", xrImpersonation, OutcomeForbidden)
}

func errRateLimited(wait time.Duration) *failure {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	f := fails(TypeRateLimited, http.StatusTooManyRequests, "too many calls of this service; try again in "+strconv.Itoa(secs)+" s", xrRateLimited, OutcomeRateLimited)
	f.p.Extensions = map[string]any{"retry_after": secs}
	return f
}

func errRequestTooLarge(limit int64) *failure {
	return fails(TypeRequestTooLarge, http.StatusRequestEntityTooLarge,
		"the request body is larger than the service's limit of "+strconv.FormatInt(limit, 10)+" bytes", xrRequestTooLarge, OutcomeTooLarge)
}

func errDigest(detail string) *failure {
	return fails(TypeDigestMismatch, http.StatusBadRequest, detail, xrDigest, OutcomeInvalid)
}

func errConsentRefused(reason ConsentReason) *failure {
	if reason == "" {
		reason = ConsentMissing
	}
	f := fails(TypeConsentRefused, http.StatusForbidden, "the citizen's consent does not allow this call: "+string(reason), xrConsentRefused, OutcomeConsentRefused)
	f.p.Extensions = map[string]any{"consent_reason": string(reason)}
	return f
}

func errConsentUnavailable() *failure {
	f := &failure{p: problem.Unavailable("the citizen's consent cannot be checked now", 5), xroad: xrConsentUnavailable, outcome: OutcomeUnavailable}
	f.p.Type = TypeGatewayUnavailable
	return f
}

func errLogUnavailable() *failure {
	f := &failure{p: problem.Unavailable("the exchange cannot be logged now, so its answer is held back", 5), xroad: xrLogUnavailable, outcome: OutcomeUnavailable}
	f.p.Type = TypeGatewayUnavailable
	return f
}

func errInternal() *failure {
	return fails(problem.TypeInternal, http.StatusInternalServerError, "the gateway could not forward the call", xrInternal, OutcomeError)
}

func errUpstream() *failure {
	return fails(TypeUpstreamUnavailable, http.StatusBadGateway, "the provider could not be reached or failed", xrServiceFailed, OutcomeUpstream)
}

func errResponseTooLarge(limit int64) *failure {
	return fails(TypeResponseTooLarge, http.StatusBadGateway,
		"the provider's response is larger than the service's limit of "+strconv.FormatInt(limit, 10)+" bytes", xrResponseTooLarge, OutcomeTooLarge)
}

func errUpstreamTimeout() *failure {
	return fails(TypeUpstreamTimeout, http.StatusGatewayTimeout, "the provider did not answer in time", xrServiceTimeout, OutcomeTimeout)
}

// refusalOf turns an error of Authorizer.Authorize into the answer.
func refusalOf(err error) *failure {
	var r *Refusal
	if errors.As(err, &r) {
		return &failure{p: r.Problem(), xroad: r.XRoadError(), outcome: Outcome(err)}
	}
	var e *Error
	if errors.As(err, &e) && errors.Is(err, ErrRegistryStale) {
		f := &failure{p: e.Problem(), xroad: "Server.ClientProxy.RegistryUnavailable", outcome: OutcomeUnavailable}
		return f
	}
	return &failure{p: problem.New(problem.TypeInternal, http.StatusInternalServerError, "the call could not be decided"),
		xroad: xrInternal, outcome: OutcomeError}
}
