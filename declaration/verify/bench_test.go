package verify_test

import (
	"errors"
	"testing"

	"github.com/egovkit/egovkit/declaration/verify"
)

// BenchmarkNew prepares a verifier from a JWK Set of
// DefaultMaxKeys ES256 keys, and refuses one of 1,000 keys
// (ErrTooManyKeys).
func BenchmarkNew(b *testing.B) {
	full, _ := keySet(b, verify.DefaultMaxKeys)
	over, _ := keySet(b, 1000)
	b.Run("64 keys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := verify.New("https://docs.example.gr", full); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("1000 keys refused", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := verify.New("https://docs.example.gr", over); !errors.Is(err, verify.ErrTooManyKeys) {
				b.Fatal(err)
			}
		}
	})
}
