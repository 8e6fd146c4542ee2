// Package problem is how egovkit's JSON APIs describe an error: RFC 9457
// problem details (application/problem+json).
//
// Every package's typed error has a Problem method ([Problemer]) that says
// how it is shown over HTTP; the handlers the packages serve write it. An
// importer that calls a package from its own handlers can do the same
// with [Write]:
//
//	var pe problem.Problemer
//	if errors.As(err, &pe) {
//		problem.Write(w, r, pe.Problem())
//		return
//	}
//
// Write fills in the title and, when the request went through package
// middleware's RequestID, the instance "urn:request:<id>" that the
// access log quotes too. [Unavailable] is the 503 with Retry-After that a
// service answers while its database cannot serve.
//
// # Types
//
// Problem type URIs start with [TypeBase]; the shared ones are the Type
// constants, and each package documents its own under TypeBase +
// "<package>/". A rejected input lists what is wrong with each field as
// [FieldError] values; a document rejected by a JSON Schema is a
// [ValidationError] listing every [Violation], in English and in Greek.
//
// # Errors
//
// [ValidationError] matches [ErrInvalidDocument] and errkind.Invalid with
// errors.Is.
package problem
