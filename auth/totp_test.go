package auth

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test vectors of RFC 6238 Appendix B: 8-digit codes for the ASCII
// seeds "1234567890" repeated to 20, 32 and 64 bytes.
func TestTOTPRFC6238Vectors(t *testing.T) {
	seed := func(n int) []byte { return []byte(strings.Repeat("1234567890", 7)[:n]) }
	vectors := []struct {
		unix                 int64
		sha1, sha256, sha512 string
	}{
		{59, "94287082", "46119246", "90693936"},
		{1111111109, "07081804", "68084774", "25091201"},
		{1111111111, "14050471", "67062674", "99943326"},
		{1234567890, "89005924", "91819424", "93441116"},
		{2000000000, "69279037", "90698825", "38618901"},
		{20000000000, "65353130", "77737706", "47863826"},
	}
	for _, v := range vectors {
		at := time.Unix(v.unix, 0)
		for alg, want := range map[string]string{"SHA1": v.sha1, "SHA256": v.sha256, "SHA512": v.sha512} {
			n := map[string]int{"SHA1": 20, "SHA256": 32, "SHA512": 64}[alg]
			otp := TOTP{Secret: seed(n), Digits: 8, Algorithm: alg}
			got, err := otp.Code(at)
			require.NoError(t, err)
			assert.Equal(t, want, got, "%s at %d", alg, v.unix)
			step, ok := otp.Verify(want, at, 0)
			assert.True(t, ok)
			assert.Equal(t, v.unix/30, step)
		}
	}
}

func TestTOTPVerifyWindow(t *testing.T) {
	secret, err := NewTOTPSecret()
	require.NoError(t, err)
	otp := TOTP{Secret: secret}
	now := time.Date(2026, 11, 22, 10, 0, 15, 0, time.UTC)
	prev, _ := otp.Code(now.Add(-30 * time.Second))
	cur, _ := otp.Code(now)
	next, _ := otp.Code(now.Add(30 * time.Second))
	old, _ := otp.Code(now.Add(-90 * time.Second))
	assert.Len(t, cur, 6)

	for _, c := range []string{prev, cur, next} {
		_, ok := otp.Verify(c, now, 1)
		assert.True(t, ok, c)
	}
	if old != prev && old != cur && old != next {
		_, ok := otp.Verify(old, now, 1)
		assert.False(t, ok, "three periods ago is too old")
	}
	step, ok := otp.Verify(prev, now, 1)
	require.True(t, ok)
	assert.Equal(t, otp.Step(now)-1, step, "the caller learns which period to remember")

	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		_, ok := otp.Verify(bad, now, 1)
		assert.False(t, ok, bad)
	}
	_, ok = otp.Verify(cur, now, -1)
	assert.False(t, ok)
}

func TestTOTPSettings(t *testing.T) {
	for _, bad := range []TOTP{
		{Secret: []byte("short")},
		{Secret: make([]byte, 20), Digits: 5},
		{Secret: make([]byte, 20), Digits: 9},
		{Secret: make([]byte, 20), Algorithm: "MD5"},
		{Secret: make([]byte, 20), Period: time.Millisecond},
	} {
		_, err := bad.Code(time.Now())
		assert.ErrorIs(t, err, ErrTOTPConfig)
		_, ok := bad.Verify("123456", time.Now(), 1)
		assert.False(t, ok)
		_, err = bad.URI("gov.gr", "x")
		assert.Error(t, err)
	}
}

func TestTOTPURI(t *testing.T) {
	otp := TOTP{Secret: []byte("12345678901234567890")}
	u, err := otp.URI("egovkit", "maria@example.gr")
	require.NoError(t, err)
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	assert.Equal(t, "otpauth", parsed.Scheme)
	assert.Equal(t, "totp", parsed.Host)
	assert.Equal(t, "/egovkit:maria@example.gr", parsed.Path)
	q := parsed.Query()
	assert.Equal(t, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", q.Get("secret"))
	assert.Equal(t, "egovkit", q.Get("issuer"))
	assert.Equal(t, "SHA1", q.Get("algorithm"))
	assert.Equal(t, "6", q.Get("digits"))
	assert.Equal(t, "30", q.Get("period"))
}
