package auth

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fast keeps tests quick; the default settings are exercised once below.
var fast = PasswordParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPasswordRoundTrip(t *testing.T) {
	h, err := HashPassword("κωδικός με ελληνικά 123", fast)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$"), h)

	ok, rehash, err := VerifyPassword("κωδικός με ελληνικά 123", h, fast)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)

	ok, _, err = VerifyPassword("κωδικός με ελληνικά 124", h, fast)
	require.NoError(t, err)
	assert.False(t, ok)

	h2, _ := HashPassword("κωδικός με ελληνικά 123", fast)
	assert.NotEqual(t, h, h2, "every hash has its own salt")

	_, rehash, _ = VerifyPassword("κωδικός με ελληνικά 123", h, DefaultPasswordParams)
	assert.True(t, rehash, "weaker settings than wanted ask for a new hash")
}

func TestPasswordDefaultSettings(t *testing.T) {
	h, err := HashPassword("correct horse battery staple", DefaultPasswordParams)
	require.NoError(t, err)
	assert.Contains(t, h, "$m=19456,t=2,p=1$")
	ok, rehash, err := VerifyPassword("correct horse battery staple", h, DefaultPasswordParams)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, rehash)
}

func TestPasswordMalformedHashes(t *testing.T) {
	good, _ := HashPassword("password1", fast)
	parts := strings.Split(good, "$")
	for _, bad := range []string{
		"", "plain", "$2a$10$bcrypthash", "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=18$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + parts[4] + "$" + parts[5], // a cost meant to exhaust memory
		"$argon2id$v=19$m=64,t=1000,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=0$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$short",
		good + "$extra",
	} {
		ok, _, err := VerifyPassword("password1", bad, fast)
		assert.ErrorIs(t, err, ErrBadPasswordHash, bad)
		assert.False(t, ok)
	}
}

func TestPasswordRules(t *testing.T) {
	assert.ErrorIs(t, CheckPasswordRules("short"), ErrPasswordTooShort)
	assert.ErrorIs(t, CheckPasswordRules("ελληνικά"[:5]), ErrPasswordTooShort)
	assert.NoError(t, CheckPasswordRules("ελληνικά"), "8 characters, 16 bytes")
	assert.NoError(t, CheckPasswordRules(strings.Repeat("a", 256)))
	assert.ErrorIs(t, CheckPasswordRules(strings.Repeat("a", 257)), ErrPasswordTooLong)
	_, err := HashPassword(strings.Repeat("a", 5000), fast)
	assert.ErrorIs(t, err, ErrPasswordTooLong)
}

func TestDummyVerificationTakesAsLong(t *testing.T) {
	stored, err := HashPassword("password1", DefaultPasswordParams)
	require.NoError(t, err)
	VerifyDummyPassword("warm up")
	start := time.Now()
	_, _, _ = VerifyPassword("wrong", stored, DefaultPasswordParams)
	realCost := time.Since(start)
	start = time.Now()
	VerifyDummyPassword("wrong")
	dummyCost := time.Since(start)
	// Same parameters, so the same work; the bound only guards against a
	// dummy that skipped hashing altogether.
	assert.Greater(t, dummyCost, realCost/4, "real %v, dummy %v", realCost, dummyCost)
}

func FuzzParsePasswordHash(f *testing.F) {
	good, _ := HashPassword("password1", fast)
	for _, s := range []string{good, "", "$argon2id$", "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := parsePasswordHash(s)
		if err != nil {
			return
		}
		if p.Memory > 4*1024*1024 || p.Time > 100 || len(salt) < 8 || len(key) < 16 {
			t.Fatalf("accepted costs or sizes outside the bounds: %+v", p)
		}
	})
}
