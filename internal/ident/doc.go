// Package ident validates national identifiers where they enter the system,
// so that a mistyped number is refused at the form and never stored.
//
// # Greek identifiers
//
// [AFM] is the tax registration number (ΑΦΜ): nine digits with a
// powers-of-two check digit. [AMKA] is the social-security number (ΑΜΚΑ):
// eleven digits that start with the date of birth and end with a Luhn check
// digit. Both tolerate the spaces, dots and dashes people type, and return
// the bare digits.
//
// # Other countries
//
// A [Scheme] is a name and a Normalize function. Register another country's
// schemes in a [Registry] and look them up by name:
//
//	reg := ident.Default()          // gr-afm, gr-amka
//	reg.Register(myCountryTaxID{})  // any type with Name and Normalize
//	afm, err := reg.Normalize("gr-afm", form.Value("afm"))
//	if errors.Is(err, ident.ErrInvalid) {
//		// show the reason to the person: err.(*ident.Error).Reason
//	}
//
// # Logs
//
// Identifiers are personal data. Errors never contain the value, and
// [MaskAFM], [MaskAMKA] and [Mask] give the form to log.
package ident
