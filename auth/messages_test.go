package auth

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/web"
)

// Every key of the sign-in pages is in both languages, with every plural
// form each language needs.
func TestMessagesComplete(t *testing.T) {
	r, err := web.NewRenderer(signinAssets, "templates/*.html", web.WithMessages(signinAssets, "messages/*.json"))
	require.NoError(t, err)
	assert.Empty(t, r.MissingTranslations())
}

// Messages that count minutes agree with the count in both languages.
func TestMessagesPlurals(t *testing.T) {
	r, err := web.NewRenderer(signinAssets, "templates/*.html", web.WithMessages(signinAssets, "messages/*.json"))
	require.NoError(t, err)
	for _, tt := range []struct {
		lang, key string
		n         int
		want      string
	}{
		{"el", "auth.error.throttled", 0, "Δοκιμάστε ξανά σε 0 λεπτά."},
		{"el", "auth.error.throttled", 1, "Δοκιμάστε ξανά σε 1 λεπτό."},
		{"el", "auth.error.throttled", 2, "Δοκιμάστε ξανά σε 2 λεπτά."},
		{"el", "auth.error.throttled", 1440, "Δοκιμάστε ξανά σε 1440 λεπτά."},
		{"en", "auth.error.throttled", 0, "Try again in 0 minutes."},
		{"en", "auth.error.throttled", 1, "Try again in 1 minute."},
		{"en", "auth.error.throttled", 2, "Try again in 2 minutes."},
		{"en", "auth.error.throttled", 1440, "Try again in 1440 minutes."},
		{"el", "auth.error.code_wait", 1, "σε 1 λεπτό."},
		{"el", "auth.error.code_wait", 3, "σε 3 λεπτά."},
		{"en", "auth.error.code_wait", 1, "in 1 minute."},
		{"en", "auth.error.code_wait", 3, "in 3 minutes."},
		{"el", "auth.error.code_still_good", 1, "νέο σε 1 λεπτό."},
		{"el", "auth.error.code_still_good", 0, "νέο σε 0 λεπτά."},
		{"en", "auth.error.code_still_good", 1, "new one in 1 minute."},
		{"en", "auth.error.code_still_good", 100, "new one in 100 minutes."},
		{"el", "auth.code.lead", 1, "Ισχύει για 1 λεπτό."},
		{"el", "auth.code.lead", 2, "Ισχύει για 2 λεπτά."},
		{"en", "auth.code.lead", 1, "valid for 1 minute."},
		{"en", "auth.code.lead", 2, "valid for 2 minutes."},
	} {
		got := r.Text(tt.lang, tt.key, "mobile", "69******12", "minutes", tt.n)
		assert.Contains(t, got, tt.want, "%s %s %d", tt.lang, tt.key, tt.n)
	}
}
