package middleware

import (
	"context"
	"net/http"

	"go.uber.org/zap"

	"github.com/egovkit/egovkit/internal/httpx"
)

// Option configures [AccessLog] and [Recover].
type Option func(*options)

type options struct{ log *zap.Logger }

// WithLogger is where the access log and panic reports are written; nil,
// like the default, writes nothing.
func WithLogger(log *zap.Logger) Option { return func(o *options) { o.log = log } }

func logger(opts []Option) *zap.Logger {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		return zap.NewNop()
	}
	return o.log
}

// Chain composes middleware so that the first one given is the outermost:
// Chain(a, b)(h) is a(b(h)).
func Chain(mw ...func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	return httpx.Chain(mw...)
}

// RequestID is middleware that gives every request an id: the incoming
// X-Request-ID header when it is 1 to 64 letters, digits, '-', '_', '.' or
// ':', else 16 fresh random characters. The id is set on the response's
// X-Request-ID header and kept in the request's context for
// [RequestIDFromContext].
func RequestID(next http.Handler) http.Handler { return httpx.RequestID(next) }

// RequestIDFromContext returns the id [RequestID] gave the request whose
// context ctx is, or "" when it went through no RequestID.
func RequestIDFromContext(ctx context.Context) string { return httpx.RequestIDFromContext(ctx) }

// AccessLog is middleware that logs one line per request, at info level
// (error level for a 5xx): method, path and query with personal data
// masked (see the package documentation), status, bytes written,
// duration, request id, the client's network and its user agent.
func AccessLog(opts ...Option) func(http.Handler) http.Handler {
	return httpx.AccessLog(logger(opts))
}

// Recover is middleware that catches a panic in the handlers it wraps,
// logs it at error level with its stack and the request id, and answers
// 500 problem+json when nothing was written yet. http.ErrAbortHandler is
// passed on, as net/http expects. Put it inside [AccessLog], so the 500 is
// logged too.
func Recover(opts ...Option) func(http.Handler) http.Handler {
	return httpx.Recover(logger(opts))
}

// Fallbacks serves mux, and answers the requests it has no route for as
// problem+json rather than net/http's plain text: 404, or 405 with the
// Allow header when the path is routed for other methods. When page is
// not nil and the client prefers HTML (a browser), page writes the answer
// instead, given the status (a page.Renderer's RenderError fits). The
// mux's redirects to a canonical path pass through.
func Fallbacks(mux *http.ServeMux, page func(w http.ResponseWriter, r *http.Request, status int)) http.Handler {
	return httpx.Fallbacks(mux, page)
}
