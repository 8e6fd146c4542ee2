// Package httpx is the HTTP plumbing every egovkit package shares: one way to
// answer errors, one way to read JSON, and the middleware an operator and an
// auditor expect in front of every handler.
//
// # Errors
//
// JSON APIs answer errors as RFC 9457 problem details
// (application/problem+json) with a stable type URI under [TypeBase]. A
// package's typed error renders itself by having a Problem method
// ([Problemer]); [WriteError] finds it anywhere in the chain with errors.As.
// An error that means the database is unavailable (sqlstore.IsUnavailable)
// becomes a 503 of type [TypeUnavailable] with Retry-After, never a
// credential error; [UnavailableProblem] and [ServerErrorStatus] give the
// same verdict to handlers that answer in another format. Any other error
// becomes a 500 whose detail says nothing about the cause, and is logged
// with the request id the client sees.
//
//	func (e *NotFoundError) Problem() *httpx.Problem {
//		return httpx.NewProblem(httpx.TypeBase+"consent/not-found", http.StatusNotFound, e.Error())
//	}
//	…
//	if err != nil {
//		httpx.WriteError(w, r, log, err)
//		return
//	}
//
// # Reading JSON
//
// [Decode] accepts exactly one JSON value, of a JSON content type, no larger
// than a limit, with no unknown members, and says precisely what is wrong
// otherwise.
//
// # Middleware
//
// Handlers are http.Handler values and middleware has the standard shape, so
// everything mounts on any mux:
//
//	h := httpx.Chain(
//		httpx.RequestID,     // X-Request-ID in, out and in the context
//		httpx.AccessLog(log), // one line per request, personal data masked
//		httpx.Recover(log),   // a panic becomes a logged 500 problem
//	)(mux)
//
// # Personal data in logs
//
// Tax numbers, phone numbers, e-mail addresses and names must never reach a
// log unmasked. [Mask], [MaskPhone], [MaskEmail], [MaskName], [MaskIP] and
// [MaskURL] give the loggable forms; the access log applies them to every
// path, query and client address.
package httpx
