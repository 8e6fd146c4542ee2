// Package middleware is the HTTP layer a service that embeds egovkit puts
// around its mux, the same one the example portal uses: request ids, an
// access log that keeps personal data out, recovery from panics, and
// problem+json answers to requests no route takes.
//
// It is not a building block: the packages' handlers mount on any mux
// without it. It is for the program that wires them together. Handlers are
// http.Handler values and middleware has the standard shape,
// func(http.Handler) http.Handler, so it composes with any other.
//
// # Wiring
//
//	mux := http.NewServeMux()
//	mux.Handle("/declarations/", http.StripPrefix("/declarations", pages))
//	…
//	logged := middleware.WithLogger(log)
//	handler := middleware.Chain(
//		middleware.RequestID,          // X-Request-ID in, out and in the context
//		middleware.AccessLog(logged),  // one line per request, personal data masked
//		middleware.Recover(logged),    // a panic becomes a logged 500 problem
//	)(middleware.Fallbacks(mux, nil)) // 404 and 405 as problem+json
//	http.ListenAndServe(addr, handler)
//
// # Request ids
//
// [RequestID] gives every request an id, kept from a well-formed incoming
// X-Request-ID header or freshly drawn, and echoes it in the response.
// [RequestIDFromContext] reads it back; the access log, panic reports,
// problem.Write (as the problem's instance) and the pages of package page
// quote the same id, so a person's report of a failure finds its log lines.
//
// # Personal data
//
// Tax numbers, phone numbers and e-mail addresses travel in paths and query
// strings. The access log writes every path with runs of six or more digits
// cut to their last two and e-mail addresses to their first letter and
// domain, replaces the value of every query parameter outside a short list
// of harmless ones (lang, page, scope, client_id …) with "xxx", and keeps
// only the network part of the client address.
package middleware
