package verify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// CodeAlphabet holds the symbols of verification codes: 30, and none that
// people confuse: no 0 or O, no 1, I or L, no U (Crockford's base 32
// without 0 and 1).
const CodeAlphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"

// Verification codes have CodeLen symbols of CodeAlphabet (about 98
// bits), printed in groups of CodeGroup joined by dashes.
const (
	CodeLen   = 20
	CodeGroup = 4
)

// NormalizeCode turns a typed or scanned verification code into its
// printed form: case, spaces and dashes do not matter. It reports false
// for anything that cannot be a code (wrong length, a symbol outside the
// alphabet), so such input never reaches a database.
func NormalizeCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var raw []byte
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == ' ' || r == '-' || r == '\t':
			continue
		case r < 0x80 && strings.IndexByte(CodeAlphabet, byte(r)) >= 0:
			raw = append(raw, byte(r))
		default:
			return "", false
		}
	}
	if len(raw) != CodeLen {
		return "", false
	}
	var b strings.Builder
	for i, c := range raw {
		if i > 0 && i%CodeGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// ParseQR splits what a QR code holds into the verification code and the
// signed summary (empty when the code carries none). It does not verify
// anything.
func ParseQR(content string) (code, token string, err error) {
	if len(content) > 8<<10 {
		return "", "", errors.New("declaration: QR content too long")
	}
	raw, fragment, _ := strings.Cut(content, "#")
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", fmt.Errorf("declaration: QR content is not a URL: %w", err)
	}
	code, ok := NormalizeCode(queryCode(u.RawQuery))
	if !ok {
		return "", "", errors.New("declaration: QR content has no verification code")
	}
	return code, fragment, nil
}

// queryCode is the first value of the parameter "code" in a URL's raw
// query, as url.URL.Query().Get("code") reads it (pairs with a semicolon,
// or whose name or value does not unescape, are skipped), without making
// the map of every parameter. ParseQR's 8 KiB bound keeps the number of
// parameters under the limit beyond which url.ParseQuery reads none.
func queryCode(query string) string {
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		name, value, _ := strings.Cut(pair, "=")
		if name, err := url.QueryUnescape(name); err != nil || name != "code" {
			continue
		}
		if value, err := url.QueryUnescape(value); err == nil {
			return value
		}
	}
	return ""
}
