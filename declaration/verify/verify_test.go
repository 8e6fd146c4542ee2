package verify_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/declaration/verify"
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64dec(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

// keySet publishes n ES256 public keys, each with its own "kid", and
// returns the JWK Set and the private keys.
func keySet(t testing.TB, n int) ([]byte, []*ecdsa.PrivateKey) {
	t.Helper()
	set := jwk.NewSet()
	privs := make([]*ecdsa.PrivateKey, n)
	for i := range n {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		k, err := jwk.FromRaw(&priv.PublicKey)
		require.NoError(t, err)
		require.NoError(t, k.Set(jwk.KeyIDKey, fmt.Sprintf("k%d", i)))
		require.NoError(t, k.Set(jwk.AlgorithmKey, jwa.ES256))
		require.NoError(t, set.AddKey(k))
		privs[i] = priv
	}
	b, err := json.Marshal(set)
	require.NoError(t, err)
	return b, privs
}

// TestOfflineVerifierKeyLimit: a JWK Set with more keys than the limit is
// refused before any key in it is parsed, so that a set of a thousand
// keys costs little time and memory; up to the limit, every key is taken.
func TestOfflineVerifierKeyLimit(t *testing.T) {
	big, _ := keySet(t, 1000)
	start := time.Now()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := verify.New("https://docs.example.gr", big)
	runtime.ReadMemStats(&after)
	elapsed := time.Since(start)
	require.ErrorIs(t, err, verify.ErrTooManyKeys)
	var typed *verify.Error
	require.ErrorAs(t, err, &typed)
	assert.Contains(t, typed.Detail, "64")
	// Before the limit, preparing these keys took seconds and hundreds of
	// megabytes; refusing them reads at most 65 keys.
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated to refuse the set")
	assert.Less(t, elapsed, time.Second)

	// The limit is configurable, and zero means the default.
	_, err = verify.New("https://docs.example.gr", big, verify.WithMaxKeys(1000))
	require.NoError(t, err)
	_, err = verify.New("https://docs.example.gr", big, verify.WithMaxKeys(0))
	assert.ErrorIs(t, err, verify.ErrTooManyKeys)
	atDefault, privs := keySet(t, verify.DefaultMaxKeys)
	v, err := verify.New("https://docs.example.gr", atDefault)
	require.NoError(t, err, "a set of exactly the limit")
	_, _, err = v.Verify(signES256(t, privs[verify.DefaultMaxKeys-1], fmt.Sprintf("k%d", verify.DefaultMaxKeys-1), verify.TokenType, nil))
	assert.NoError(t, err, "the last key of the set verifies")
	three, _ := keySet(t, 3)
	_, err = verify.New("https://docs.example.gr", three, verify.WithMaxKeys(2))
	assert.ErrorIs(t, err, verify.ErrTooManyKeys)
	_, err = verify.New("https://docs.example.gr", three, verify.WithMaxKeys(3))
	assert.NoError(t, err)

	// jwk.Parse takes the keys of every "keys" member: all of them count.
	keys := strings.TrimSuffix(strings.TrimPrefix(string(atDefault), `{"keys":`), "}")
	twice := `{"keys":` + keys + `,"other":{"keys":[]},"keys":` + keys + `}`
	_, err = verify.New("https://docs.example.gr", []byte(twice))
	assert.ErrorIs(t, err, verify.ErrTooManyKeys, "two \"keys\" members")
	_, err = verify.New("https://docs.example.gr", []byte(twice), verify.WithMaxKeys(2*verify.DefaultMaxKeys))
	assert.NoError(t, err)
	// A "keys" of null, which jwk.Parse reads as no keys, does not end
	// the count before the keys that follow it.
	afterNull := `{"keys":null,"keys":` + strings.TrimSuffix(strings.TrimPrefix(string(big), `{"keys":`), "}") + `}`
	_, err = verify.New("https://docs.example.gr", []byte(afterNull))
	require.ErrorAs(t, err, &typed)
	assert.Equal(t, "more than 64 keys", typed.Detail, "refused before jwk.Parse")
}

// signES256 signs claims (a minimal valid Claims when nil) as a compact
// JWS of type typ under kid.
func signES256(t testing.TB, priv *ecdsa.PrivateKey, kid, typ string, claims any) string {
	t.Helper()
	if claims == nil {
		claims = verify.Claims{Stamp: verify.Stamp{Issuer: "https://docs.example.gr", Code: "2222-2222-2222-2222-2222"}}
	}
	header := fmt.Sprintf(`{"alg":"ES256","kid":%q,"typ":%q}`, kid, typ)
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	input := b64([]byte(header)) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	require.NoError(t, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// TestOfflineES256EdgeSignatures: signatures whose r or s begins with a
// zero byte (shorter in DER) verify, as crypto/ecdsa verifies them, and
// r or s of zero, of the group order or of all ones are refused by both.
func TestOfflineES256EdgeSignatures(t *testing.T) {
	jwks, privs := keySet(t, 1)
	v, err := verify.New("https://docs.example.gr", jwks)
	require.NoError(t, err)
	pub := &privs[0].PublicKey
	agree := func(token string) bool {
		dot := strings.LastIndexByte(token, '.')
		sig, err := b64dec(token[dot+1:])
		require.NoError(t, err)
		digest := sha256.Sum256([]byte(token[:dot]))
		want := ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		_, _, err = v.Verify(token)
		assert.Equal(t, want, err == nil, "%x: %v", sig, err)
		return want
	}
	var shortR, shortS bool
	for i := 0; i < 20000 && !(shortR && shortS); i++ {
		token := signES256(t, privs[0], "k0", verify.TokenType, nil)
		sig, err := b64dec(token[strings.LastIndexByte(token, '.')+1:])
		require.NoError(t, err)
		if sig[0] != 0 && sig[32] != 0 {
			continue
		}
		shortR, shortS = shortR || sig[0] == 0, shortS || sig[32] == 0
		assert.True(t, agree(token), "a signature with a leading zero byte")
	}
	require.True(t, shortR && shortS, "no signature with a leading zero byte came up")

	token := signES256(t, privs[0], "k0", verify.TokenType, nil)
	input := token[:strings.LastIndexByte(token, '.')]
	n := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	for _, half := range [][]byte{make([]byte, 32), n, bytes.Repeat([]byte{0xff}, 32)} {
		good, err := b64dec(token[len(input)+1:])
		require.NoError(t, err)
		assert.False(t, agree(input+"."+b64(append(slices.Clone(half), good[32:]...))), "r = %x", half)
		assert.False(t, agree(input+"."+b64(append(slices.Clone(good[:32]), half...))), "s = %x", half)
	}
}

// TestOfflineHeaderCache: the verifier remembers a protected header only
// once a signature under it has verified, so that headers nobody signed
// (here, re-encodings of a genuine one with forged signatures) neither
// skip the header's checks nor fill its memory.
func TestOfflineHeaderCache(t *testing.T) {
	jwks, privs := keySet(t, 1)
	v, err := verify.New("https://docs.example.gr", jwks)
	require.NoError(t, err)
	token := signES256(t, privs[0], "k0", verify.TokenType, nil)
	parts := strings.Split(token, ".")
	for i := 1; i <= 100; i++ {
		header := fmt.Sprintf(`{"alg":"ES256","kid":"k0","typ":%q%s}`, verify.TokenType, strings.Repeat(" ", i))
		_, _, err := v.Verify(b64([]byte(header)) + "." + parts[1] + "." + parts[2])
		require.ErrorIs(t, err, verify.ErrBadToken)
	}
	_, _, err = v.Verify(parts[0] + "." + parts[1] + "." + b64(make([]byte, 64)))
	require.ErrorIs(t, err, verify.ErrBadToken)
	assert.Zero(t, verify.CachedHeaders(v), "no header is kept without a valid signature")

	_, _, err = v.Verify(token)
	require.NoError(t, err)
	assert.Equal(t, 1, verify.CachedHeaders(v))
	// A remembered header is remembered with its type: the same header on
	// a QR summary is read again, and refused.
	_, _, err = v.VerifyQR("https://docs.example.gr/verify?code=2222-2222-2222-2222-2222#" + token)
	assert.ErrorIs(t, err, verify.ErrBadToken)
	// A remembered header does not carry a bad signature through.
	_, _, err = v.Verify(parts[0] + "." + parts[1] + "." + b64(make([]byte, 64)))
	assert.ErrorIs(t, err, verify.ErrBadToken)
	_, _, err = v.Verify(parts[0] + "." + b64([]byte(`{"iss":"https://docs.example.gr","code":"X"}`)) + "." + parts[2])
	assert.ErrorIs(t, err, verify.ErrBadToken)
	assert.Equal(t, 1, verify.CachedHeaders(v))
}

// TestClaimsOwnTheirMemory: the verifier reads each token in a buffer it
// uses again for the next; claims it returned keep their values after
// other tokens have been read.
func TestClaimsOwnTheirMemory(t *testing.T) {
	jwks, privs := keySet(t, 1)
	v, err := verify.New("https://docs.example.gr", jwks)
	require.NoError(t, err)
	claims := func(text string) verify.Claims {
		return verify.Claims{Stamp: verify.Stamp{Issuer: "https://docs.example.gr", Code: "2222-2222-2222-2222-2222"},
			Content: verify.Draft{Text: text, Fields: json.RawMessage(`{"a":"` + text + `"}`)}}
	}
	first, _, err := v.Verify(signES256(t, privs[0], "k0", verify.TokenType, claims("Πρώτο κείμενο")))
	require.NoError(t, err)
	for _, text := range []string{"Δεύτερο κείμενο", "xxxxxxxxxxxxxxxxxxxxxxxxxxx", strings.Repeat("y", 300)} {
		_, _, err := v.Verify(signES256(t, privs[0], "k0", verify.TokenType, claims(text)))
		require.NoError(t, err)
	}
	assert.Equal(t, claims("Πρώτο κείμενο"), *first)
}
