package httpx

import (
	"net/url"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Personal data must not reach the logs: tax numbers (9 digits), social
// security numbers (11), phone numbers, e-mail addresses and names travel in
// paths and query strings. These helpers give the form that may be logged.

// minDigitRun is the shortest run of digits Mask treats as an identifier.
// Shorter runs (page numbers, years, ports) are kept.
const minDigitRun = 6

// Mask masks identifiers in free text: every number of six or more digits
// (groups joined by one space, hyphen or dot count as one number) keeps its
// last two digits only ("123456789" → "*******89", "691 234 5678" →
// "*** *** **78"), and every e-mail
// address keeps the first character of its local part and its domain
// ("maria@example.gr" → "m***@example.gr").
func Mask(s string) string {
	if s == "" {
		return s
	}
	return maskEmails(maskDigits(s))
}

// maskDigits masks numbers of minDigitRun digits or more, counting digit
// groups joined by one space, hyphen or dot as one number, as people write
// phone numbers ("691 234 5678") and dates.
func maskDigits(s string) string {
	isDigit := func(i int) bool { return i < len(s) && s[i] >= '0' && s[i] <= '9' }
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for i < len(s) {
		if !isDigit(i) {
			b.WriteByte(s[i])
			i++
			continue
		}
		// Find the end of the number and count its digits.
		j, digits := i, 0
		for {
			for isDigit(j) {
				j++
				digits++
			}
			if j+1 < len(s) && (s[j] == ' ' || s[j] == '-' || s[j] == '.') && isDigit(j+1) {
				j++
				continue
			}
			break
		}
		if digits < minDigitRun {
			b.WriteString(s[i:j])
			i = j
			continue
		}
		seen := 0
		for k := i; k < j; k++ {
			if isDigit(k) {
				seen++
				if seen <= digits-2 {
					b.WriteByte('*')
					continue
				}
			}
			b.WriteByte(s[k])
		}
		i = j
	}
	return b.String()
}

func maskEmails(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	for {
		at := strings.IndexByte(s, '@')
		if at < 0 {
			b.WriteString(s)
			return b.String()
		}
		start := at
		for start > 0 && isLocalChar(s[start-1]) {
			start--
		}
		b.WriteString(s[:start])
		if at > start {
			b.WriteByte(s[start])
			b.WriteString("***")
		}
		b.WriteByte('@')
		s = s[at+1:]
	}
}

func isLocalChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '_' || c == '%' || c == '+' || c == '-' || c == '*'
}

// MaskPhone keeps the country prefix shape and the last two digits:
// "+30 6912345678" → "+30 69******78".
func MaskPhone(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
		}
	}
	keepHead := 4 // country code and the first digits of the number
	if digits < 8 {
		keepHead = 0
	}
	var b strings.Builder
	seen := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			b.WriteByte(c)
			continue
		}
		seen++
		if seen <= keepHead || seen > digits-2 {
			b.WriteByte(c)
		} else {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// MaskEmail masks one address: "maria@example.gr" → "m***@example.gr".
func MaskEmail(s string) string { return maskEmails(s) }

// MaskName keeps the first letter of each word: "Μαρία Παπαδοπούλου" →
// "Μ*** Π***".
func MaskName(s string) string {
	words := strings.FieldsFunc(s, unicode.IsSpace)
	for i, w := range words {
		r, _ := utf8.DecodeRuneInString(w)
		words[i] = string(r) + "***"
	}
	return strings.Join(words, " ")
}

// loggableParams are query parameters whose values are never personal data
// and help to read a log. Every other parameter's value is replaced.
var loggableParams = map[string]bool{
	"lang": true, "page": true, "limit": true, "offset": true, "sort": true, "order": true,
	"format": true, "kind": true, "period": true, "base": true,
	"status": true, "category": true, "life_event": true, "channel": true, "version": true,
	"response_type": true, "response_mode": true, "scope": true, "client_id": true,
	"prompt": true, "acr_values": true, "max_age": true, "code_challenge_method": true,
	"ui_locales": true, "grant_type": true, "error": true,
}

// MaskURL returns the path and query of u as they may be logged: long digit
// runs and e-mail addresses in the path masked as by [Mask], and the value of
// every query parameter outside a short allow-list (lang, page, sort, scope,
// client_id …) replaced by "xxx", since values such as codes, state, names
// and numbers must not be kept. Allowed values are masked too.
func MaskURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	// Mask the decoded path: digits written as %31%32… are still digits.
	p := Mask(u.Path)
	if u.RawQuery == "" {
		return p
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return p + "?(unparsable query)"
	}
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(p)
	for i, k := range keys {
		for j, v := range q[k] {
			if i == 0 && j == 0 {
				b.WriteByte('?')
			} else {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(Mask(k)))
			b.WriteByte('=')
			switch {
			case v == "":
			case loggableParams[k]:
				b.WriteString(url.QueryEscape(Mask(v)))
			default:
				b.WriteString("xxx")
			}
		}
	}
	return b.String()
}
