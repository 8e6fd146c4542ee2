package ident

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// AFM is the Greek tax registration number (ΑΦΜ): nine digits, the last a
// check digit. Each of the first eight digits is weighted by a power of two
// (2⁸ for the first down to 2¹ for the eighth); the weighted sum modulo 11,
// then modulo 10, is the check digit. The all-zero number is refused.
//
// Normalize drops spaces, dots and dashes, and an "EL" or "GR" prefix (the
// VAT form of the number).
type AFM struct{}

// Name returns "gr-afm".
func (AFM) Name() string { return "gr-afm" }

// Normalize returns the nine digits of a valid AFM.
func (AFM) Normalize(s string) (string, error) {
	s = strings.ToUpper(compact(s))
	s = strings.TrimPrefix(strings.TrimPrefix(s, "EL"), "GR")
	bad := func(reason string) error { return &Error{Scheme: "gr-afm", Reason: reason} }
	switch {
	case len(s) != 9:
		return "", bad("must have 9 digits")
	case !digitsOnly(s):
		return "", bad("must contain digits only")
	case s == "000000000":
		return "", bad("cannot be all zeros")
	case afmCheck(s[:8]) != s[8]:
		return "", bad("check digit does not match")
	}
	return s, nil
}

// afmCheck computes the check digit of the first eight digits.
func afmCheck(d string) byte {
	sum := 0
	for i := 0; i < 8; i++ {
		sum += int(d[i]-'0') << (8 - i)
	}
	return byte('0' + sum%11%10)
}

// ValidAFM reports whether s is a valid AFM (after normalisation).
func ValidAFM(s string) bool {
	_, err := AFM{}.Normalize(s)
	return err == nil
}

// AMKA is the Greek social-security number (ΑΜΚΑ): eleven digits. The first
// six are the holder's date of birth as DDMMYY and must be a real date; the
// last is a Luhn check digit over all eleven. Normalize drops spaces, dots
// and dashes.
type AMKA struct{}

// Name returns "gr-amka".
func (AMKA) Name() string { return "gr-amka" }

// Normalize returns the eleven digits of a valid AMKA.
func (AMKA) Normalize(s string) (string, error) {
	s = compact(s)
	bad := func(reason string) error { return &Error{Scheme: "gr-amka", Reason: reason} }
	switch {
	case len(s) != 11:
		return "", bad("must have 11 digits")
	case !digitsOnly(s):
		return "", bad("must contain digits only")
	case !amkaDateValid(s):
		return "", bad("does not start with a valid date of birth (DDMMYY)")
	case !luhnValid(s):
		return "", bad("check digit does not match")
	}
	return s, nil
}

// ValidAMKA reports whether s is a valid AMKA (after normalisation).
func ValidAMKA(s string) bool {
	_, err := AMKA{}.Normalize(s)
	return err == nil
}

func amkaDateParts(s string) (day, month, yy int) {
	n := func(i int) int { return int(s[i]-'0')*10 + int(s[i+1]-'0') }
	return n(0), n(2), n(4)
}

// amkaDateValid accepts DDMMYY when the date exists in either century that
// YY can stand for (29 February needs a leap year in one of them).
func amkaDateValid(s string) bool {
	d, m, yy := amkaDateParts(s)
	return dateExists(1900+yy, m, d) || dateExists(2000+yy, m, d)
}

func dateExists(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t.Day() == d && int(t.Month()) == m
}

// AMKABirthDate returns the date of birth encoded in a valid AMKA. The
// two-digit year is read in the latest century that does not put the date
// after now: on 2026-11-22, "…25" is 2025 and "…30" is 1930.
func AMKABirthDate(amka string, now time.Time) (time.Time, error) {
	s, err := AMKA{}.Normalize(amka)
	if err != nil {
		return time.Time{}, err
	}
	d, m, yy := amkaDateParts(s)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	for _, y := range []int{2000 + yy, 1900 + yy} {
		if dateExists(y, m, d) {
			t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
			if !t.After(today) {
				return t, nil
			}
		}
	}
	return time.Time{}, &Error{Scheme: "gr-amka", Reason: "date of birth lies in the future"}
}

// luhnValid checks the Luhn digit, the last of s.
func luhnValid(s string) bool {
	return luhnCheck(s[:len(s)-1]) == s[len(s)-1]
}

// luhnCheck computes the Luhn check digit to append to digits.
func luhnCheck(digits string) byte {
	sum := 0
	double := true // the digit next to the check digit is doubled
	for i := len(digits) - 1; i >= 0; i-- {
		v := int(digits[i] - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return byte('0' + (10-sum%10)%10)
}

// MaskAFM shows the last two digits only: "*******89".
func MaskAFM(s string) string { return Mask(s, 2) }

// MaskAMKA shows the last two digits only.
func MaskAMKA(s string) string { return Mask(s, 2) }

// GenerateAFM returns a valid AFM made from random bytes read from r (use
// crypto/rand.Reader, or a seeded source in tests). It is for demo data and
// benchmarks, never for real people.
func GenerateAFM(r io.Reader) (string, error) {
	for {
		var b [8]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return "", fmt.Errorf("ident: generate AFM: %w", err)
		}
		d := make([]byte, 9)
		for i := range 8 {
			d[i] = '0' + b[i]%10
		}
		d[8] = afmCheck(string(d[:8]))
		if s := string(d); s != "000000000" {
			return s, nil
		}
	}
}

// GenerateAMKA returns a valid AMKA for the given date of birth, with a
// random serial read from r. It is for demo data and benchmarks.
func GenerateAMKA(birth time.Time, r io.Reader) (string, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("ident: generate AMKA: %w", err)
	}
	s := birth.Format("020106")
	for i := range 4 {
		s += string(rune('0' + b[i]%10))
	}
	return s + string(luhnCheck(s)), nil
}
