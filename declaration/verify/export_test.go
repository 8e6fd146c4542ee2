package verify

import "testing"

// CachedHeaders counts the protected headers a verifier has remembered,
// for tests that only signed ones are.
func CachedHeaders(v *Verifier) int {
	n := 0
	v.headers.Range(func(any, any) bool { n++; return true })
	return n
}

// Decode is the verifier's decoder of claims.
var Decode = decode

// BenchPayloads are the payloads of a full token and of a QR summary
// that the decoder's tests start from.
func BenchPayloads(t testing.TB) [][]byte {
	p := payloads(t)
	return [][]byte{[]byte(p[0]), []byte(p[1])}
}
