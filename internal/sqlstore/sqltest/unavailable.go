package sqltest

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// AssertUnavailable checks an HTTP answer to a request that met a database
// that is down or frozen: 503 problem+json of the unavailable type, with
// Retry-After, and nothing that reads as a credential error (no
// WWW-Authenticate, no OAuth invalid_client, invalid_grant or
// invalid_token). name says which request it was.
func AssertUnavailable(t testing.TB, name string, status int, h http.Header, body string) {
	t.Helper()
	require.Equal(t, http.StatusServiceUnavailable, status, "%s: %s", name, body)
	assert.Equal(t, "application/problem+json", h.Get("Content-Type"), name)
	assert.NotEmpty(t, h.Get("Retry-After"), name)
	assert.Empty(t, h.Get("WWW-Authenticate"), "%s: not a sign-in problem", name)
	var p map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &p), "%s: %q", name, body)
	assert.Equal(t, "https://egovkit.dev/problems/unavailable", p["type"], name)
	assert.NotContains(t, []any{"invalid_client", "invalid_grant", "invalid_token"}, p["error"], name)
}
