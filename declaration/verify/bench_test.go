package verify_test

import (
	"encoding/json"
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

// BenchmarkDecode reads the claims of a full token and of a QR summary
// (payloads a Service signs, with every field set) with encoding/json and
// with the verifier's decoder, JSON v2 set to encoding/json's semantics.
func BenchmarkDecode(b *testing.B) {
	p := verify.BenchPayloads(b)
	for _, c := range []struct {
		name    string
		payload []byte
		fresh   func() any
	}{
		{"claims", p[0], func() any { return new(verify.Claims) }},
		{"summary", p[1], func() any { return new(verify.Summary) }},
	} {
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := json.Unmarshal(c.payload, c.fresh()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/verifier", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := verify.Decode(c.payload, c.fresh()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
