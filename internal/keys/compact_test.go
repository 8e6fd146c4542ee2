package keys

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"math/big"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSignCompact checks the compact JWS written without jws.Sign: jwx
// verifies it with the public key alone, for both algorithms, and the
// header carries the algorithm, the key and the caller's type.
func TestSignCompact(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for _, e := range []*entry{
		{kid: "p", alg: ES256, signer: ec, public: &ec.PublicKey},
		{kid: "e", alg: EdDSA, signer: ed, public: ed.Public()},
	} {
		h := jws.NewHeaders()
		require.NoError(t, h.Set(jws.KeyIDKey, e.kid))
		require.NoError(t, WithType("example+jwt")(h))
		// Many signatures, so that r or s shorter than 32 bytes turns up.
		for range 600 {
			out, err := signCompact(e, h, []byte(`{"a":"Δ"}`))
			require.NoError(t, err)
			payload, err := jws.Verify(out, jws.WithKey(e.alg, e.public))
			require.NoError(t, err, string(out))
			require.Equal(t, `{"a":"Δ"}`, string(payload))
		}
		out, _ := signCompact(e, h, []byte(`{}`))
		msg, err := jws.Parse(out)
		require.NoError(t, err)
		got := msg.Signatures()[0].ProtectedHeaders()
		assert.Equal(t, e.alg, got.Algorithm())
		assert.Equal(t, e.kid, got.KeyID())
		assert.Equal(t, "example+jwt", got.Type())
	}
}

// TestFixedECDSA converts ASN.1 signatures, short integers included, and
// refuses what is not one.
func TestFixedECDSA(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("x"))
	for range 300 {
		der, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
		require.NoError(t, err)
		sig, err := fixedECDSA(der, 32)
		require.NoError(t, err)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		require.True(t, ecdsa.Verify(&key.PublicKey, digest[:], r, s))
	}
	// r = 1 and s = 0x80 (a leading zero byte keeps it positive).
	sig, err := fixedECDSA([]byte{0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0x80}, 32)
	require.NoError(t, err)
	assert.Equal(t, byte(1), sig[31])
	assert.Equal(t, byte(0x80), sig[63])
	for _, bad := range [][]byte{
		nil,
		{0x30, 0x00},
		{0x30, 0x03, 0x02, 0x01, 0x01}, // one integer
		{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x81},                                            // negative s
		{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00},                                      // trailing byte
		append(append([]byte{0x30, 0x26, 0x02, 0x21, 0x01}, make([]byte, 32)...), 0x02, 0x01, 0x01), // r of 33 bytes
	} {
		_, err := fixedECDSA(bad, 32)
		assert.Error(t, err, "%x", bad)
	}
}
