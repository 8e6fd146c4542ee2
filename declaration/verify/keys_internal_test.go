package verify

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// derSignature is what crypto/ecdsa.Verify hands to VerifyASN1 for r and
// s: the DER SEQUENCE of two INTEGERs, as encoding/asn1 writes it.
func derSignature(t testing.TB, r, s []byte) []byte {
	der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(r), new(big.Int).SetBytes(s)})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestASN1Signature compares the verifier's encoding of r||s with
// encoding/asn1's on the edge cases: zero, leading zero bytes, the high
// bit set (which needs a zero byte in front), all bits set.
func TestASN1Signature(t *testing.T) {
	halves := [][]byte{
		make([]byte, 32),
		append(make([]byte, 31), 1),
		append(make([]byte, 31), 0x80),
		append([]byte{0, 0x7f}, bytes.Repeat([]byte{0xff}, 30)...),
		append([]byte{0, 0x80}, make([]byte, 30)...),
		append([]byte{0x80}, make([]byte, 31)...),
		append([]byte{0x7f}, bytes.Repeat([]byte{0xff}, 31)...),
		bytes.Repeat([]byte{0xff}, 32),
	}
	for _, r := range halves {
		for _, s := range halves {
			var buf [72]byte
			got := asn1Signature(buf[:0], r, s)
			if want := derSignature(t, r, s); !bytes.Equal(got, want) {
				t.Errorf("r %x s %x: got %x, want %x", r, s, got, want)
			}
		}
	}
}

// FuzzASN1Signature: for any 64 bytes, the same DER as encoding/asn1's,
// within the 72 bytes the verifier sets aside.
func FuzzASN1Signature(f *testing.F) {
	f.Add(make([]byte, 64))
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Fuzz(func(t *testing.T, sig []byte) {
		if len(sig) != 64 {
			return
		}
		var buf [72]byte
		got := asn1Signature(buf[:0], sig[:32], sig[32:])
		if want := derSignature(t, sig[:32], sig[32:]); !bytes.Equal(got, want) || len(got) > len(buf) {
			t.Fatalf("%x: got %x, want %x", sig, got, want)
		}
	})
}
