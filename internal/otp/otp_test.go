package otp_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

type fixture struct {
	svc    *otp.Service
	outbox *otp.Outbox
	clock  *testclock.Clock
	db     *sqltest.DB
}

func newFixture(t *testing.T, db *sqltest.DB, opts ...otp.Option) *fixture {
	t.Helper()
	f := &fixture{outbox: otp.NewOutbox(0), clock: testclock.New(), db: db}
	svc, err := otp.New(t.Context(), db.DB.DB, secret, f.outbox, append([]otp.Option{otp.WithClock(f.clock.Now)}, opts...)...)
	require.NoError(t, err)
	f.svc = svc
	return f
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

func (f *fixture) issue(t *testing.T, subject, purpose, phone string) (otp.Challenge, string) {
	t.Helper()
	ch, err := f.svc.Issue(t.Context(), otp.Request{Subject: subject, Purpose: purpose, Description: "σύνδεση", Destination: phone})
	require.NoError(t, err)
	if phone == "" {
		return ch, ""
	}
	m, ok := f.outbox.Last(phone)
	require.True(t, ok)
	require.Equal(t, ch.ID, m.ID)
	code := sixDigits.FindString(m.Text)
	require.NotEmpty(t, code, m.Text)
	return ch, code
}

func wrong(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

const phone = "+306912345678"

func TestFlow(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db)
		ctx := t.Context()
		ch, code := f.issue(t, "123456783", "sign-in", phone)
		assert.Equal(t, f.clock.Now().Add(otp.DefaultLifetime), ch.ExpiresAt)
		m, _ := f.outbox.Last(phone)
		assert.Equal(t, "Ο κωδικός σας για σύνδεση είναι "+code+". Ισχύει 2 λεπτά. Μην τον δώσετε σε κανέναν.", m.Text)
		assert.Equal(t, "sign-in", m.Purpose)

		// Typed with a space, as people do.
		require.NoError(t, f.svc.Verify(ctx, ch.ID, "123456783", "sign-in", code[:3]+" "+code[3:]))
		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "123456783", "sign-in", code), otp.ErrUsed, "single use")
	})
}

func TestWrongPurposeSubjectOrChallenge(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db)
		ctx := t.Context()
		ch, code := f.issue(t, "alice", "sign-in", phone)
		other, _ := f.issue(t, "bob", "sign-in", "+306900000000")

		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "alice", "declaration:2026/000001", code), otp.ErrInvalidCode, "a sign-in code cannot issue a document")
		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "bob", "sign-in", code), otp.ErrInvalidCode, "another subject")
		assert.ErrorIs(t, f.svc.Verify(ctx, other.ID, "alice", "sign-in", code), otp.ErrInvalidCode, "another challenge")
		assert.ErrorIs(t, f.svc.Verify(ctx, "no-such-challenge", "alice", "sign-in", code), otp.ErrInvalidCode)
		// Two wrong tries were counted against the code (wrong purpose, wrong
		// subject); the third is the last.
		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "alice", "sign-in", wrong(code)), otp.ErrInvalidCode)
		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "alice", "sign-in", code), otp.ErrTooManyAttempts, "dead even with the right code")
	})
}

func TestThreeWrongTriesKillTheCode(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db)
		ctx := t.Context()
		ch, code := f.issue(t, "s", "sign-in", phone)
		for i := 0; i < otp.MaxAttempts; i++ {
			assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "s", "sign-in", wrong(code)), otp.ErrInvalidCode)
		}
		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "s", "sign-in", code), otp.ErrTooManyAttempts)
	})
}

func TestExpiry(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db, otp.WithLifetime(30*time.Second))
		ctx := t.Context()
		ch, code := f.issue(t, "s", "sign-in", phone)
		f.clock.Advance(30 * time.Second)
		require.NoError(t, f.svc.Verify(ctx, ch.ID, "s", "sign-in", code), "valid up to and including its last instant")

		ch, code = f.issue(t, "s", "other", phone)
		f.clock.Advance(30*time.Second + time.Microsecond)
		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "s", "other", code), otp.ErrExpired)

		n, err := f.svc.Purge(ctx, f.clock.Now())
		require.NoError(t, err)
		assert.Equal(t, int64(2), n)
		assert.Empty(t, db.Dump(t, "SELECT * FROM otp_subjects"), "subjects with nothing to remember are forgotten")
		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "s", "other", code), otp.ErrInvalidCode, "purged")
	})
}

func TestCooldownAndReplacement(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db)
		ctx := t.Context()
		first, firstCode := f.issue(t, "s", "sign-in", phone)
		f.clock.Advance(20 * time.Second)

		_, err := f.svc.Issue(ctx, otp.Request{Subject: "s", Purpose: "sign-in", Destination: phone})
		var oe *otp.Error
		require.ErrorAs(t, err, &oe)
		assert.ErrorIs(t, err, otp.ErrTooSoon)
		assert.Equal(t, 40*time.Second, oe.RetryAfter)
		assert.Len(t, f.outbox.All(), 1, "nothing was sent")

		// Another purpose has its own cool-down.
		f.issue(t, "s", "declaration:1", phone)

		f.clock.Advance(40 * time.Second)
		second, code := f.issue(t, "s", "sign-in", phone)
		assert.ErrorIs(t, f.svc.Verify(ctx, first.ID, "s", "sign-in", firstCode), otp.ErrUsed, "a new code replaces the old one")
		require.NoError(t, f.svc.Verify(ctx, second.ID, "s", "sign-in", code))
	})
}

func TestPendingIsTheNewestUsableCode(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db)
		ctx := t.Context()
		_, ok, err := f.svc.Pending(ctx, "s", "sign-in")
		require.NoError(t, err)
		assert.False(t, ok, "nothing issued")

		first, _ := f.issue(t, "s", "sign-in", phone)
		got, ok, err := f.svc.Pending(ctx, "s", "sign-in")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, first.ID, got.ID)
		assert.True(t, first.ExpiresAt.Equal(got.ExpiresAt), "%v %v", first.ExpiresAt, got.ExpiresAt)
		_, ok, _ = f.svc.Pending(ctx, "s", "declaration:1")
		assert.False(t, ok, "another purpose")
		_, ok, _ = f.svc.Pending(ctx, "t", "sign-in")
		assert.False(t, ok, "another subject")

		f.clock.Advance(otp.DefaultCooldown)
		second, code := f.issue(t, "s", "sign-in", phone)
		got, ok, _ = f.svc.Pending(ctx, "s", "sign-in")
		require.True(t, ok)
		assert.Equal(t, second.ID, got.ID, "the replacement, not the first")

		require.NoError(t, f.svc.Verify(ctx, second.ID, "s", "sign-in", code))
		_, ok, _ = f.svc.Pending(ctx, "s", "sign-in")
		assert.False(t, ok, "a used code is not pending")

		f.clock.Advance(otp.DefaultCooldown)
		f.issue(t, "s", "sign-in", phone)
		f.clock.Advance(otp.DefaultLifetime + time.Second)
		_, ok, _ = f.svc.Pending(ctx, "s", "sign-in")
		assert.False(t, ok, "an expired code is not pending")

		_, _, err = f.svc.Pending(ctx, "", "sign-in")
		assert.ErrorIs(t, err, otp.ErrBadRequest)
	})
}

func TestLockoutAndBackoff(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db, otp.WithCooldown(0))
		ctx := t.Context()
		fail := func(n int) {
			for i := 0; i < n; i++ {
				ch, code := f.issue(t, "s", "sign-in", phone)
				require.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "s", "sign-in", wrong(code)), otp.ErrInvalidCode)
			}
		}
		fail(otp.MaxFailures)
		ch, err := f.svc.Issue(ctx, otp.Request{Subject: "s", Purpose: "sign-in", Destination: phone})
		var oe *otp.Error
		require.ErrorAs(t, err, &oe)
		assert.ErrorIs(t, err, otp.ErrLockedOut)
		assert.Equal(t, time.Minute, oe.RetryAfter)
		assert.Empty(t, ch.ID)
		assert.ErrorIs(t, f.svc.Verify(ctx, "x", "s", "sign-in", "000000"), otp.ErrLockedOut)
		// Other subjects are not affected.
		f.issue(t, "t", "sign-in", "+306900000001")

		f.clock.Advance(time.Minute)
		fail(otp.MaxFailures)
		_, err = f.svc.Issue(ctx, otp.Request{Subject: "s", Purpose: "sign-in", Destination: phone})
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, 2*time.Minute, oe.RetryAfter, "the second lock-out lasts twice as long")

		f.clock.Advance(2 * time.Minute)
		ch, code := f.issue(t, "s", "sign-in", phone)
		require.NoError(t, f.svc.Verify(ctx, ch.ID, "s", "sign-in", code))
		// Success resets the count: nine failures do not lock.
		fail(otp.MaxFailures - 1)
		f.issue(t, "s", "sign-in", phone)
	})
}

func TestLockoutCeiling(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t), otp.WithCooldown(0), otp.WithLockout(time.Minute, 3*time.Minute))
	ctx := t.Context()
	var oe *otp.Error
	for round, want := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
		for i := 0; i < otp.MaxFailures; i++ {
			require.ErrorIs(t, f.svc.Verify(ctx, "nope", "s", "p", "123456"), otp.ErrInvalidCode, "round %d", round)
		}
		_, err := f.svc.Issue(ctx, otp.Request{Subject: "s", Purpose: "p", Destination: phone})
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, want, oe.RetryAfter, "round %d", round)
		f.clock.Advance(want)
	}
}

func TestUnknownSubjectLooksTheSame(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db)
		ctx := t.Context()
		known, _ := f.issue(t, "known", "sign-in", phone)
		unknown, err := f.svc.Issue(ctx, otp.Request{Subject: "unknown", Purpose: "sign-in"})
		require.NoError(t, err)
		assert.Len(t, f.outbox.All(), 1, "nothing is sent for an unknown subject")
		assert.Equal(t, len(known.ID), len(unknown.ID))
		assert.Equal(t, known.ExpiresAt, unknown.ExpiresAt)

		// It is stored alike, obeys the same cool-down, and never verifies.
		_, err = f.svc.Issue(ctx, otp.Request{Subject: "unknown", Purpose: "sign-in"})
		assert.ErrorIs(t, err, otp.ErrTooSoon)
		for _, c := range []string{"000000", "123456", "999999"} {
			assert.ErrorIs(t, f.svc.Verify(ctx, unknown.ID, "unknown", "sign-in", c), otp.ErrInvalidCode)
		}
	})
}

func TestNothingInClear(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db)
		_, code := f.issue(t, "123456783", "sign-in", phone)
		for _, q := range []string{"SELECT * FROM otp_challenges", "SELECT * FROM otp_subjects"} {
			rows := db.Dump(t, q)
			require.NotEmpty(t, rows)
			for _, row := range rows {
				assert.NotContains(t, row, "123456783")
				assert.NotContains(t, row, "6912345678")
				assert.NotContains(t, row, code)
			}
		}
	})
}

// TestConcurrentRedeemAcrossInstances redeems one code from two service
// instances on two pools at once: exactly one attempt succeeds.
func TestConcurrentRedeemAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newFixture(t, db)
		other, err := otp.New(t.Context(), db.OpenAnother(t), secret, f.outbox, otp.WithClock(f.clock.Now))
		require.NoError(t, err)
		services := []*otp.Service{f.svc, other}
		for round := 0; round < 3; round++ {
			ch, code := f.issue(t, fmt.Sprint("s", round), "sign-in", phone)
			const workers = 16
			var ok, used atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := services[w%2].Verify(context.Background(), ch.ID, fmt.Sprint("s", round), "sign-in", code)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, otp.ErrUsed):
						used.Add(1)
					default:
						t.Errorf("unexpected error: %v", err)
					}
				}()
			}
			close(start)
			wg.Wait()
			assert.Equal(t, int32(1), ok.Load(), "exactly one redemption")
			assert.Equal(t, int32(workers-1), used.Load())
		}
	})
}

func TestSendFailureDiscardsCode(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		fails := &flaky{fail: true}
		c := testclock.New()
		svc, err := otp.New(t.Context(), db.DB.DB, secret, fails, otp.WithClock(c.Now))
		require.NoError(t, err)
		_, err = svc.Issue(t.Context(), otp.Request{Subject: "s", Purpose: "sign-in", Destination: phone})
		assert.ErrorIs(t, err, otp.ErrSendFailed)
		var n int
		require.NoError(t, db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM otp_challenges").Scan(&n))
		assert.Zero(t, n, "no usable code is left behind")

		fails.fail = false
		_, err = svc.Issue(t.Context(), otp.Request{Subject: "s", Purpose: "sign-in", Destination: phone})
		assert.NoError(t, err, "the cool-down did not start")
		assert.Len(t, fails.sent, 1)
	})
}

type flaky struct {
	fail bool
	sent []otp.Message
}

func (f *flaky) Send(_ context.Context, m otp.Message) error {
	if f.fail {
		return errors.New("gateway down")
	}
	f.sent = append(f.sent, m)
	return nil
}

func TestBadInput(t *testing.T) {
	db := sqltest.SQLite(t)
	_, err := otp.New(t.Context(), db.DB.DB, []byte("short"), otp.NewOutbox(1))
	assert.ErrorIs(t, err, otp.ErrWeakSecret)
	_, err = otp.New(t.Context(), db.DB.DB, secret, nil)
	assert.Error(t, err)

	f := newFixture(t, db)
	ctx := t.Context()
	for _, req := range []otp.Request{
		{Purpose: "p", Destination: phone},
		{Subject: "s", Destination: phone},
		{Subject: "s", Purpose: strings.Repeat("p", 201), Destination: phone},
		{Subject: "s", Purpose: "p", Destination: phone, Text: "no code here"},
	} {
		_, err := f.svc.Issue(ctx, req)
		assert.ErrorIs(t, err, otp.ErrBadRequest)
	}
	for _, c := range []string{"", "12345", "1234567", "12a456", "١٢٣٤٥٦", "123456\x00"} {
		assert.ErrorIs(t, f.svc.Verify(ctx, "id", "s", "p", c), otp.ErrBadRequest, "%q", c)
	}
	assert.ErrorIs(t, f.svc.Verify(ctx, "", "s", "p", "123456"), otp.ErrBadRequest)
	assert.Empty(t, db.Dump(t, "SELECT * FROM otp_challenges"), "bad input stores nothing")
	assert.Empty(t, db.Dump(t, "SELECT * FROM otp_subjects"))
}

func TestCodesAreUniform(t *testing.T) {
	f := newFixture(t, sqltest.SQLite(t), otp.WithCooldown(0))
	counts := map[byte]int{}
	leadingZero := false
	const n = 300
	for i := 0; i < n; i++ {
		_, code := f.issue(t, fmt.Sprint("u", i), "p", phone)
		require.Len(t, code, 6)
		for j := 0; j < 6; j++ {
			counts[code[j]]++
		}
		leadingZero = leadingZero || code[0] == '0'
	}
	// 1,800 digits: each of the ten should appear about 180 times; a
	// generator stuck on a few digits, or dropping leading zeros, fails.
	assert.Len(t, counts, 10)
	for d, c := range counts {
		assert.Greater(t, c, 100, "digit %c", d)
		assert.Less(t, c, 270, "digit %c", d)
	}
	assert.True(t, leadingZero || counts['0'] > 0)
}

func TestLogsAreMasked(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	f := newFixture(t, sqltest.SQLite(t), otp.WithLogger(zap.New(core)))
	ch, code := f.issue(t, "123456783", "sign-in", phone)
	_ = f.svc.Verify(t.Context(), ch.ID, "123456783", "sign-in", wrong(code))
	require.NoError(t, f.svc.Verify(t.Context(), ch.ID, "123456783", "sign-in", code))
	require.NotZero(t, logs.Len())
	for _, e := range logs.All() {
		line := e.Message + fmt.Sprint(e.ContextMap())
		assert.NotContains(t, line, "123456783")
		assert.NotContains(t, line, "6912345678")
		assert.NotContains(t, line, code)
	}
}

func TestOutbox(t *testing.T) {
	o := otp.NewOutbox(2)
	for i := 0; i < 3; i++ {
		require.NoError(t, o.Send(context.Background(), otp.Message{To: fmt.Sprint(i), Text: "t"}))
	}
	all := o.All()
	require.Len(t, all, 2)
	assert.Equal(t, "1", all[0].To)
	_, ok := o.Last("0")
	assert.False(t, ok, "the oldest was dropped")
	m, ok := o.Last("2")
	assert.True(t, ok)
	assert.Equal(t, "2", m.To)
}

func TestWebhook(t *testing.T) {
	var calls atomic.Int32
	var got otp.Message
	key := []byte("gateway-shared-secret")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(otp.HeaderTimestamp), 10, 64)
		if r.Header.Get(otp.HeaderSignature) != otp.SignWebhook(key, ts, body) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.URL.Path == "/flaky" && n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/reject" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		require.NoError(t, json.Unmarshal(body, &got))
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	msg := otp.Message{ID: "c1", To: phone, Text: "123456", Purpose: "sign-in"}

	wh := &otp.Webhook{URL: srv.URL + "/flaky", Secret: key, Client: srv.Client()}
	require.NoError(t, wh.Send(t.Context(), msg))
	assert.Equal(t, int32(2), calls.Load(), "a 503 is retried")
	assert.Equal(t, msg, got)

	calls.Store(0)
	wh = &otp.Webhook{URL: srv.URL + "/reject", Secret: key, Client: srv.Client()}
	err := wh.Send(t.Context(), msg)
	assert.ErrorContains(t, err, "HTTP 400")
	assert.Equal(t, int32(1), calls.Load(), "a 4xx is not retried")

	calls.Store(0)
	wh = &otp.Webhook{URL: srv.URL + "/ok", Secret: []byte("wrong"), Client: srv.Client(), Retries: -1}
	assert.ErrorContains(t, wh.Send(t.Context(), msg), "HTTP 401")

	srv.Close()
	wh = &otp.Webhook{URL: srv.URL + "/send?api_key=s3cr3t", Retries: 1}
	err = wh.Send(t.Context(), msg)
	require.Error(t, err, "connection refused")
	assert.NotContains(t, err.Error(), "s3cr3t", "the gateway URL, which may hold a key, stays out of errors")

	var zero otp.Outbox
	require.NoError(t, zero.Send(t.Context(), msg))
	assert.Len(t, zero.All(), 1, "the zero Outbox works")

	// Through the service, a refused message is ErrSendFailed.
	db := sqltest.SQLite(t)
	svc, err := otp.New(t.Context(), db.DB.DB, secret, wh)
	require.NoError(t, err)
	_, err = svc.Issue(t.Context(), otp.Request{Subject: "s", Purpose: "p", Destination: phone})
	assert.ErrorIs(t, err, otp.ErrSendFailed)
}

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123456", "123 456", "123-456", "12345", "1234567", "١٢٣٤٥٦", "", " \t-", "12345６"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := otp.NormalizeCode(s)
		if !ok {
			return
		}
		if len(got) != 6 {
			t.Fatalf("%q → %q", s, got)
		}
		for i := 0; i < 6; i++ {
			if got[i] < '0' || got[i] > '9' {
				t.Fatalf("%q → %q has a non-digit", s, got)
			}
		}
		again, ok := otp.NormalizeCode(got)
		if !ok || again != got {
			t.Fatalf("not idempotent: %q → %q", got, again)
		}
	})
}

var _ otp.Sender = (*otp.Outbox)(nil)
var _ otp.Sender = (*otp.Webhook)(nil)

// TestCheckThenConsume: Check leaves a right code pending, so an action
// whose transaction fails keeps its code; Consume in a transaction that
// commits uses it once, on every instance, and one that rolls back does
// not.
func TestCheckThenConsume(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db)
		ch, code := f.issue(t, "alice", "declaration:X", "+306900000001")
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		assert.ErrorIs(t, f.svc.Check(ctx, ch.ID, "alice", "declaration:X", wrong), otp.ErrInvalidCode)
		assert.ErrorIs(t, f.svc.Check(ctx, ch.ID, "alice", "declaration:Y", code), otp.ErrInvalidCode, "another purpose")
		require.NoError(t, f.svc.Check(ctx, ch.ID, "alice", "declaration:X", code))
		require.NoError(t, f.svc.Check(ctx, ch.ID, "alice", "declaration:X", code), "still pending")

		// A transaction that fails after consuming gives the code back.
		tx, err := db.DB.DB.BeginTx(ctx, nil)
		require.NoError(t, err)
		used, err := f.svc.Consume(ctx, tx, ch.ID)
		require.NoError(t, err)
		assert.True(t, used[ch.ID])
		require.NoError(t, tx.Rollback())
		require.NoError(t, f.svc.Check(ctx, ch.ID, "alice", "declaration:X", code), "rolled back: usable")

		// Two instances consume at once: one of them uses it.
		otherDB := db.OpenAnother(t)
		other, err := otp.New(ctx, otherDB, secret, f.outbox, otp.WithClock(f.clock.Now))
		require.NoError(t, err)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for i, svc := range []*otp.Service{f.svc, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tx, err := []*sql.DB{db.DB.DB, otherDB}[i].BeginTx(ctx, nil)
				if !assert.NoError(t, err) {
					return
				}
				used, err := svc.Consume(ctx, tx, ch.ID, "no-such-challenge")
				if !assert.NoError(t, err) {
					_ = tx.Rollback()
					return
				}
				assert.False(t, used["no-such-challenge"])
				if used[ch.ID] {
					wins.Add(1)
				}
				assert.NoError(t, tx.Commit())
			}()
		}
		wg.Wait()
		assert.EqualValues(t, 1, wins.Load())
		assert.ErrorIs(t, f.svc.Check(ctx, ch.ID, "alice", "declaration:X", code), otp.ErrUsed)
		assert.ErrorIs(t, f.svc.Verify(ctx, ch.ID, "alice", "declaration:X", code), otp.ErrUsed)
	})
}

// TestVerifyTx: a code checked in the caller's transaction is used up,
// and a wrong one counted, only when that transaction commits.
func TestVerifyTx(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		f := newFixture(t, db)
		ch, code := f.issue(t, "alice", "declaration:X", phone)
		inTx := func(fn func(tx *sql.Tx) error, commit bool) {
			t.Helper()
			tx, err := db.DB.DB.BeginTx(ctx, nil)
			require.NoError(t, err)
			require.NoError(t, fn(tx))
			if commit {
				require.NoError(t, tx.Commit())
			} else {
				require.NoError(t, tx.Rollback())
			}
		}

		// Bad input refuses without touching the database.
		refused, err := f.svc.VerifyTx(ctx, nil, ch.ID, "alice", "declaration:X", "12ab")
		require.NoError(t, err)
		assert.ErrorIs(t, refused, otp.ErrBadRequest)

		// A wrong code rolled back is not counted: three more are needed.
		inTx(func(tx *sql.Tx) error {
			refused, err := f.svc.VerifyTx(ctx, tx, ch.ID, "alice", "declaration:X", wrong(code))
			assert.ErrorIs(t, refused, otp.ErrInvalidCode)
			return err
		}, false)
		for range otp.MaxAttempts - 1 {
			inTx(func(tx *sql.Tx) error {
				refused, err := f.svc.VerifyTx(ctx, tx, ch.ID, "alice", "declaration:X", wrong(code))
				assert.ErrorIs(t, refused, otp.ErrInvalidCode)
				return err
			}, true)
		}
		// The right code, its use rolled back: still usable.
		inTx(func(tx *sql.Tx) error {
			refused, err := f.svc.VerifyTx(ctx, tx, ch.ID, "alice", "declaration:X", code)
			assert.NoError(t, refused)
			return err
		}, false)
		require.NoError(t, f.svc.Check(ctx, ch.ID, "alice", "declaration:X", code), "rolled back: usable")
		// Committed: used up, and the subject's failures are cleared.
		inTx(func(tx *sql.Tx) error {
			refused, err := f.svc.VerifyTx(ctx, tx, ch.ID, "alice", "declaration:X", code)
			assert.NoError(t, refused)
			return err
		}, true)
		assert.ErrorIs(t, f.svc.Check(ctx, ch.ID, "alice", "declaration:X", code), otp.ErrUsed)

		// A third committed wrong try kills a code.
		ch2, code2 := f.issue(t, "bob", "declaration:Y", "+306900000002")
		for range otp.MaxAttempts {
			inTx(func(tx *sql.Tx) error {
				refused, err := f.svc.VerifyTx(ctx, tx, ch2.ID, "bob", "declaration:Y", wrong(code2))
				assert.ErrorIs(t, refused, otp.ErrInvalidCode)
				return err
			}, true)
		}
		inTx(func(tx *sql.Tx) error {
			refused, err := f.svc.VerifyTx(ctx, tx, ch2.ID, "bob", "declaration:Y", code2)
			assert.ErrorIs(t, refused, otp.ErrTooManyAttempts)
			return err
		}, true)
	})
}
