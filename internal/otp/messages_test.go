package otp_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// TestMessagePluralForms: the lifetime in the message takes the plural
// form of its language ("1 λεπτό", "5 λεπτά"; "1 minute", "5 minutes"),
// rounded up to whole minutes.
func TestMessagePluralForms(t *testing.T) {
	db := sqltest.SQLite(t)
	for _, c := range []struct {
		lifetime time.Duration
		lang     string
		want     string
	}{
		{time.Minute, "", "Ισχύει 1 λεπτό."},
		{time.Minute, "el", "Ισχύει 1 λεπτό."},
		{5 * time.Minute, "el", "Ισχύει 5 λεπτά."},
		{90 * time.Second, "el", "Ισχύει 2 λεπτά."},
		{time.Minute, "en", "It is valid for 1 minute."},
		{5 * time.Minute, "en", "It is valid for 5 minutes."},
		{21 * time.Minute, "en", "It is valid for 21 minutes."},
		{time.Minute, "fr", "Ισχύει 1 λεπτό."},
	} {
		f := newFixture(t, db, otp.WithLifetime(c.lifetime))
		subject := c.lang + c.lifetime.String()
		_, err := f.svc.Issue(t.Context(), otp.Request{Subject: subject, Purpose: "sign-in", Description: "x", Destination: phone, Lang: c.lang})
		require.NoError(t, err)
		m, ok := f.outbox.Last(phone)
		require.True(t, ok)
		assert.Contains(t, m.Text, c.want, "%s in %q", c.lifetime, c.lang)
	}
}

// TestMessagesComplete: every language has the message in every plural
// form it needs.
func TestMessagesComplete(t *testing.T) {
	assert.Empty(t, otp.MissingMessages())
}
