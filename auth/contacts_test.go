package auth_test

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/errkind"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

func TestNormalizeMobile(t *testing.T) {
	for in, want := range map[string]string{
		"+30 691 234 5678": "+306912345678",
		"0030-6912345678":  "+306912345678",
		"6912345678":       "+306912345678",
		"(+357) 99 123456": "+35799123456",
		"+4915112345678":   "+4915112345678",
	} {
		got, err := auth.NormalizeMobile(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "2101234567", "+302101234567", "+30 69x1234567", "12345", "+0123456789", "+1234567890123456789"} {
		_, err := auth.NormalizeMobile(in)
		assert.ErrorIs(t, err, auth.ErrInvalidPhone, in)
	}
}

func TestContactRegistry(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		outbox := otp.NewOutbox(0)
		codes, err := otp.New(ctx, db.DB.DB, []byte("0123456789abcdef0123456789abcdef"), outbox, otp.WithClock(clock.Now))
		require.NoError(t, err)
		reg, err := auth.NewContactRegistry(ctx, db.DB.DB, auth.OneTimeCodesOf(codes), outbox, auth.WithClock(clock.Now))
		require.NoError(t, err)
		const subject = "citizen-7f3a"

		_, err = reg.Get(ctx, subject)
		assert.ErrorIs(t, err, auth.ErrContactNotFound)
		_, err = reg.StartMobileVerification(ctx, subject, "210 1234567")
		assert.ErrorIs(t, err, auth.ErrInvalidPhone)

		codeFor := func(to string) string {
			m, ok := outbox.Last(to)
			require.True(t, ok, to)
			return sixDigits.FindString(m.Text)
		}

		ch, err := reg.StartMobileVerification(ctx, subject, "69 1234 5678")
		require.NoError(t, err)
		code := codeFor("+306912345678")

		// Another code at once is refused with the wait, which importers
		// can read.
		_, err = reg.StartMobileVerification(ctx, subject, "69 1234 5678")
		var rl *auth.RateLimitError
		require.ErrorAs(t, err, &rl)
		assert.ErrorIs(t, err, auth.ErrCodeTooSoon)
		assert.ErrorIs(t, err, errkind.RateLimited)
		assert.Equal(t, otp.DefaultCooldown, rl.RetryAfter)
		assert.Equal(t, 429, rl.Problem().Status)

		// A wrong code stores nothing.
		_, err = reg.ConfirmMobile(ctx, subject, ch.ID, "6912345678", wrongCode(code))
		assert.ErrorIs(t, err, otp.ErrInvalidCode)
		assert.ErrorIs(t, err, auth.ErrCodeRejected, "importers, who cannot name otp's errors, test the package's")
		assert.ErrorIs(t, err, errkind.Unauthorized, "or the kind")
		_, err = reg.Get(ctx, subject)
		assert.ErrorIs(t, err, auth.ErrContactNotFound)
		assert.ErrorIs(t, err, errkind.NotFound)
		// The code was sent to one number and cannot confirm another.
		_, err = reg.ConfirmMobile(ctx, subject, ch.ID, "6900000000", code)
		assert.True(t, errors.Is(err, otp.ErrInvalidCode), "%v", err)

		c, err := reg.ConfirmMobile(ctx, subject, ch.ID, "+30 6912345678", code)
		require.NoError(t, err)
		assert.Equal(t, "+306912345678", c.Mobile)
		got, err := reg.Get(ctx, subject)
		require.NoError(t, err)
		assert.Equal(t, c, got)

		// Changing the number tells the old one.
		clock.Advance(time.Hour)
		sent := len(outbox.All())
		ch, err = reg.StartMobileVerification(ctx, subject, "+306987654321")
		require.NoError(t, err)
		_, err = reg.ConfirmMobile(ctx, subject, ch.ID, "+306987654321", codeFor("+306987654321"))
		require.NoError(t, err)
		all := outbox.All()
		require.Len(t, all, sent+2, "a code to the new number, a notice to the old")
		notice := all[len(all)-1]
		assert.Equal(t, "+306912345678", notice.To)
		assert.Contains(t, notice.Text, "+3069******21")
		assert.NotContains(t, notice.Text, "6987654321", "the notice shows the new number masked")

		events, err := reg.Events(ctx, subject)
		require.NoError(t, err)
		require.Len(t, events, 2)
		assert.Equal(t, "mobile_verified", events[0].Kind)
		assert.Equal(t, "mobile_changed", events[1].Kind)
		assert.Equal(t, "+3069******78 → +3069******21", events[1].Detail)
		for _, row := range db.Dump(t, "SELECT * FROM auth_contact_events") {
			assert.False(t, strings.Contains(row, "6912345678") || strings.Contains(row, "6987654321"), row)
		}
	})
}

func TestImportMobile(t *testing.T) {
	db := sqltest.SQLite(t)
	ctx := t.Context()
	outbox := otp.NewOutbox(0)
	codes, err := otp.New(ctx, db.DB.DB, []byte("0123456789abcdef0123456789abcdef"), outbox)
	require.NoError(t, err)
	reg, err := auth.NewContactRegistry(ctx, db.DB.DB, auth.OneTimeCodesOf(codes), outbox)
	require.NoError(t, err)
	c, err := reg.ImportMobile(ctx, "s1", "6912345678", "national contact registry")
	require.NoError(t, err)
	assert.Equal(t, "+306912345678", c.Mobile)
	assert.Empty(t, outbox.All(), "no code is sent for an import")
	ev, err := reg.Events(ctx, "s1")
	require.NoError(t, err)
	require.Len(t, ev, 1)
	assert.Equal(t, "mobile_imported", ev[0].Kind)
	assert.Equal(t, "+3069******78 from national contact registry", ev[0].Detail)
	_, err = reg.ImportMobile(ctx, "s1", "210", "x")
	assert.ErrorIs(t, err, auth.ErrInvalidPhone)
	_, err = reg.ImportMobile(ctx, "s1", "6912345678", "")
	assert.Error(t, err)
}

func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

func TestContactEmail(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		clock := testclock.New()
		sms, mail := otp.NewOutbox(0), otp.NewOutbox(0)
		secret := []byte("0123456789abcdef0123456789abcdef")
		smsCodes, err := otp.New(ctx, db.DB.DB, secret, sms, otp.WithClock(clock.Now))
		require.NoError(t, err)
		mailCodes, err := otp.New(ctx, db.DB.DB, secret, mail, otp.WithClock(clock.Now))
		require.NoError(t, err)
		plain, err := auth.NewContactRegistry(ctx, db.DB.DB, auth.OneTimeCodesOf(smsCodes), sms)
		require.NoError(t, err)
		_, err = plain.StartEmailVerification(ctx, "s1", "maria@example.gr")
		assert.ErrorIs(t, err, auth.ErrNoEmailSender)

		reg, err := auth.NewContactRegistry(ctx, db.DB.DB, auth.OneTimeCodesOf(smsCodes), sms, auth.WithClock(clock.Now), auth.WithEmail(auth.OneTimeCodesOf(mailCodes), mail))
		require.NoError(t, err)
		for _, bad := range []string{"maria", "Maria <maria@example.gr>", "maria@localhost", "@example.gr"} {
			_, err := reg.StartEmailVerification(ctx, "s1", bad)
			assert.ErrorIs(t, err, auth.ErrInvalidEmail, bad)
		}
		ch, err := reg.StartEmailVerification(ctx, "s1", " Maria.P@Example.GR ")
		require.NoError(t, err)
		m, ok := mail.Last("Maria.P@example.gr")
		require.True(t, ok, "the code goes to the address, domain in lower case")
		code := sixDigits.FindString(m.Text)
		_, err = reg.ConfirmEmail(ctx, "s1", ch.ID, "Maria.P@example.gr", wrongCode(code))
		assert.ErrorIs(t, err, otp.ErrInvalidCode)
		_, err = reg.Get(ctx, "s1")
		assert.ErrorIs(t, err, auth.ErrContactNotFound, "nothing stored")
		c, err := reg.ConfirmEmail(ctx, "s1", ch.ID, "Maria.P@example.gr", code)
		require.NoError(t, err)
		assert.Equal(t, "Maria.P@example.gr", c.Email)
		assert.Empty(t, c.Mobile, "an e-mail address alone is a contact")
		assert.Empty(t, sms.All(), "e-mail codes do not go by SMS")

		// A mobile number beside it, then a new address: the old one hears.
		clock.Advance(time.Minute)
		_, err = reg.ImportMobile(ctx, "s1", "+306912345678", "test")
		require.NoError(t, err)
		clock.Advance(2 * time.Minute)
		ch, err = reg.StartEmailVerification(ctx, "s1", "maria@new.example.gr")
		require.NoError(t, err)
		m, _ = mail.Last("maria@new.example.gr")
		c, err = reg.ConfirmEmail(ctx, "s1", ch.ID, "maria@new.example.gr", sixDigits.FindString(m.Text))
		require.NoError(t, err)
		assert.Equal(t, "maria@new.example.gr", c.Email)
		assert.Equal(t, "+306912345678", c.Mobile)
		notice, ok := mail.Last("Maria.P@example.gr")
		require.True(t, ok)
		assert.Contains(t, notice.Text, "άλλαξε")
		assert.NotContains(t, notice.Text, "maria@new.example.gr", "the new address is masked")

		events, err := reg.Events(ctx, "s1")
		require.NoError(t, err)
		var kinds []string
		for _, e := range events {
			kinds = append(kinds, e.Kind)
			assert.NotContains(t, e.Detail, "aria", "details are masked")
		}
		assert.Equal(t, []string{"email_verified", "mobile_imported", "email_changed"}, kinds)
	})
}
