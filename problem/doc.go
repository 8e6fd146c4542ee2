// Package problem is how egovkit's JSON APIs describe an error: RFC 9457
// problem details (application/problem+json).
//
// Every package's typed error has a Problem method ([Problemer]) that says
// how it is shown over HTTP; the handlers the packages serve write it. An
// importer that calls a package from its own handlers can do the same:
//
//	var pe problem.Problemer
//	if errors.As(err, &pe) {
//		p := pe.Problem()
//		w.Header().Set("Content-Type", problem.ContentType)
//		w.WriteHeader(p.Status)
//		json.NewEncoder(w).Encode(p)
//	}
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
