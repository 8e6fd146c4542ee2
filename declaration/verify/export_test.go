package verify

// CachedHeaders counts the protected headers a verifier has remembered,
// for tests that only signed ones are.
func CachedHeaders(v *Verifier) int {
	n := 0
	v.headers.Range(func(any, any) bool { n++; return true })
	return n
}
