package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"

	"github.com/egovkit/egovkit/errkind"
)

// TOTP is a time-based one-time password generator (RFC 6238) as
// authenticator apps implement it: HMAC over the number of periods since the
// Unix epoch, dynamically truncated to a few digits (RFC 4226).
type TOTP struct {
	Secret    []byte
	Digits    int           // 6 when zero; 6 to 8
	Period    time.Duration // 30 s when zero
	Algorithm string        // "SHA1" (default, what every app supports), "SHA256" or "SHA512"
}

// ErrTOTPConfig means a TOTP has settings no authenticator app can follow.
var ErrTOTPConfig = errkind.New(errkind.Invalid, "auth: invalid TOTP settings")

// NewTOTPSecret returns a fresh 160-bit secret, the size RFC 4226 recommends.
func NewTOTPSecret() ([]byte, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}

func (t TOTP) settings() (digits int, period time.Duration, h func() hash.Hash, err error) {
	digits, period = t.Digits, t.Period
	if digits == 0 {
		digits = 6
	}
	if period == 0 {
		period = 30 * time.Second
	}
	switch strings.ToUpper(t.Algorithm) {
	case "", "SHA1":
		h = sha1.New
	case "SHA256":
		h = sha256.New
	case "SHA512":
		h = sha512.New
	default:
		return 0, 0, nil, fmt.Errorf("%w: algorithm %q", ErrTOTPConfig, t.Algorithm)
	}
	if digits < 6 || digits > 8 || period < time.Second || len(t.Secret) < 10 {
		return 0, 0, nil, fmt.Errorf("%w: 6 to 8 digits, a period of a second or more, a secret of 10 bytes or more", ErrTOTPConfig)
	}
	return digits, period, h, nil
}

// Step returns the period number that contains at.
func (t TOTP) Step(at time.Time) int64 {
	_, period, _, err := t.settings()
	if err != nil {
		period = 30 * time.Second
	}
	return at.Unix() / int64(period/time.Second)
}

// Code returns the code for the period that contains at.
func (t TOTP) Code(at time.Time) (string, error) {
	digits, _, h, err := t.settings()
	if err != nil {
		return "", err
	}
	return hotp(t.Secret, uint64(t.Step(at)), digits, h), nil
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// hotp is RFC 4226 section 5.3.
func hotp(secret []byte, counter uint64, digits int, h func() hash.Hash) string {
	mac := hmac.New(h, secret)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], counter)
	mac.Write(c[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", digits, bin%pow10[digits])
}

// Verify checks code against the period containing at and up to skew
// periods either side (1 is usual: a phone's clock drifts, and people type
// slowly). It returns the period that matched. The caller must remember the
// last period it accepted for this authenticator and refuse codes of that
// period or earlier, or a code seen over a shoulder could be used twice.
func (t TOTP) Verify(code string, at time.Time, skew int) (step int64, ok bool) {
	digits, _, h, err := t.settings()
	if err != nil || len(code) != digits || skew < 0 || skew > 10 {
		return 0, false
	}
	now := t.Step(at)
	matched := int64(-1)
	// Every candidate is computed and compared in constant time, so the
	// timing does not tell which period matched.
	for d := -int64(skew); d <= int64(skew); d++ {
		s := now + d
		if s < 0 {
			continue
		}
		if subtle.ConstantTimeCompare([]byte(hotp(t.Secret, uint64(s), digits, h)), []byte(code)) == 1 {
			matched = s
		}
	}
	return matched, matched >= 0
}

// URI returns the otpauth:// URI that authenticator apps read from a QR
// code: issuer names the service ("gov.gr"), account the person.
func (t TOTP) URI(issuer, account string) (string, error) {
	digits, period, _, err := t.settings()
	if err != nil {
		return "", err
	}
	alg := strings.ToUpper(t.Algorithm)
	if alg == "" {
		alg = "SHA1"
	}
	q := url.Values{}
	q.Set("secret", base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(t.Secret))
	q.Set("issuer", issuer)
	q.Set("algorithm", alg)
	q.Set("digits", fmt.Sprint(digits))
	q.Set("period", fmt.Sprint(int(period/time.Second)))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: q.Encode()}
	return u.String(), nil
}
