package declaration

// CachedHeaders counts the protected headers an offline verifier has
// remembered, for tests that only signed ones are.
func CachedHeaders(v *OfflineVerifier) int {
	n := 0
	v.headers.Range(func(any, any) bool { n++; return true })
	return n
}
