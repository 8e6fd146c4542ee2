package p256

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWycheproof runs Project Wycheproof's vectors for ECDSA P-256 with
// SHA-256 in the r||s form: edge-case keys, signatures with r or s out of
// range, intermediate points at infinity, overflowing integers.
func TestWycheproof(t *testing.T) {
	b, err := os.ReadFile("testdata/ecdsa_secp256r1_sha256_p1363_test.json")
	require.NoError(t, err)
	var vectors struct {
		NumberOfTests int `json:"numberOfTests"`
		TestGroups    []struct {
			PublicKey struct {
				Uncompressed string `json:"uncompressed"`
			} `json:"publicKey"`
			SHA   string `json:"sha"`
			Tests []struct {
				TcID    int    `json:"tcId"`
				Comment string `json:"comment"`
				Msg     string `json:"msg"`
				Sig     string `json:"sig"`
				Result  string `json:"result"`
			} `json:"tests"`
		} `json:"testGroups"`
	}
	require.NoError(t, json.Unmarshal(b, &vectors))
	ran := 0
	for _, g := range vectors.TestGroups {
		require.Equal(t, "SHA-256", g.SHA)
		raw, err := hex.DecodeString(g.PublicKey.Uncompressed)
		require.NoError(t, err)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		require.NoError(t, err)
		key, err := NewPublicKey(pub)
		require.NoError(t, err)
		for _, tc := range g.Tests {
			msg, err := hex.DecodeString(tc.Msg)
			require.NoError(t, err)
			sig, err := hex.DecodeString(tc.Sig)
			require.NoError(t, err)
			hash := sha256.Sum256(msg)
			assert.Equal(t, tc.Result == "valid", key.Verify(hash[:], sig), "test %d: %s", tc.TcID, tc.Comment)
			ran++
		}
	}
	assert.Equal(t, vectors.NumberOfTests, ran)
}

// TestAgreesWithCryptoECDSA compares the verdicts with crypto/ecdsa's on
// genuine signatures, every single-bit change of some of them, and
// signatures with r or s at the edges of their range.
func TestAgreesWithCryptoECDSA(t *testing.T) {
	n := elliptic.P256().Params().N
	for range 4 {
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		key, err := NewPublicKey(&priv.PublicKey)
		require.NoError(t, err)
		check := func(hash, sig []byte) {
			t.Helper()
			want := len(sig) == 64 && ecdsa.Verify(&priv.PublicKey, hash,
				new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
			assert.Equal(t, want, key.Verify(hash, sig), "%x", sig)
		}
		for i := range 25 {
			hash := sha256.Sum256([]byte{byte(i)})
			r, s, err := ecdsa.Sign(rand.Reader, priv, hash[:])
			require.NoError(t, err)
			sig := make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
			check(hash[:], sig)
			assert.True(t, key.Verify(hash[:], sig))
			for bit := i; bit < 512; bit += 25 {
				bad := append([]byte{}, sig...)
				bad[bit/8] ^= 1 << (bit % 8)
				check(hash[:], bad)
			}
			wrong := hash
			wrong[31] ^= 1
			check(wrong[:], sig)
			check(hash[:], sig[:63])
			// r or s replaced by 0, 1, n-1, n and n+1.
			for _, v := range []*big.Int{big.NewInt(0), big.NewInt(1), new(big.Int).Sub(n, big.NewInt(1)), n,
				new(big.Int).Add(n, big.NewInt(1))} {
				for half := range 2 {
					edge := append([]byte{}, sig...)
					if v.BitLen() <= 256 {
						v.FillBytes(edge[32*half : 32*half+32])
						check(hash[:], edge)
					}
				}
			}
		}
	}
}

func TestRefusesOtherCurves(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, err = NewPublicKey(&priv.PublicKey)
	assert.Error(t, err)
	_, err = NewPublicKey(nil)
	assert.Error(t, err)
}

// BenchmarkVerify compares Verify with crypto/ecdsa.Verify on the same
// key and signature, on every core -cpu allows.
func BenchmarkVerify(b *testing.B) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(b, err)
	hash := sha256.Sum256([]byte("egovkit"))
	r, s, err := ecdsa.Sign(rand.Reader, priv, hash[:])
	require.NoError(b, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	key, err := NewPublicKey(&priv.PublicKey)
	require.NoError(b, err)
	b.Run("p256.Verify", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !key.Verify(hash[:], sig) {
					b.Fatal("refused")
				}
			}
		})
	})
	b.Run("ecdsa.Verify", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !ecdsa.Verify(&priv.PublicKey, hash[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
					b.Fatal("refused")
				}
			}
		})
	})
	b.Run("NewPublicKey", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewPublicKey(&priv.PublicKey); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzVerify compares Verify with crypto/ecdsa on arbitrary hashes and
// signatures under one key, seeded with a genuine signature.
func FuzzVerify(f *testing.F) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(f, err)
	key, err := NewPublicKey(&priv.PublicKey)
	require.NoError(f, err)
	hash := sha256.Sum256([]byte("seed"))
	r, s, err := ecdsa.Sign(rand.Reader, priv, hash[:])
	require.NoError(f, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	f.Add(hash[:], sig)
	f.Add([]byte{}, make([]byte, 64))
	f.Fuzz(func(t *testing.T, hash, sig []byte) {
		want := len(sig) == 64 && ecdsa.Verify(&priv.PublicKey, hash,
			new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
		if got := key.Verify(hash, sig); got != want {
			t.Fatalf("Verify(%x, %x) = %v, crypto/ecdsa says %v", hash, sig, got, want)
		}
	})
}
