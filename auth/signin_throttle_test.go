package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/keys"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
)

// instance is a second provider on the same database as f, with its own
// pool, as a second process of the service would be, behind its own
// address. Browsers keep cookies per host, not per port, so one browser
// can move between the two.
func (f *signinFixture) instance(t *testing.T, db *sqltest.DB) *signinFixture {
	t.Helper()
	ctx := t.Context()
	other := db.OpenAnother(t)
	reg, err := auth.NewClientRegistry(ctx, other, "citizen")
	require.NoError(t, err)
	accounts, err := auth.NewAccounts(ctx, other, auth.WithPasswordParams(fastParams))
	require.NoError(t, err)
	codes, err := auth.NewCodeStore(ctx, other, "citizen")
	require.NoError(t, err)
	otps, err := otp.New(ctx, other, []byte(strings.Repeat("k", 32)), f.outbox)
	require.NoError(t, err)
	contacts, err := auth.NewContactRegistry(ctx, other, auth.OneTimeCodesOf(otps), f.outbox)
	require.NoError(t, err)
	km, err := keys.New(ctx, other, "auth/citizen", f.kek)
	require.NoError(t, err)

	g := *f
	mux := http.NewServeMux()
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	cfg := f.cfg
	cfg.Clients, cfg.Accounts, cfg.Codes, cfg.OneTimeCodes, cfg.Contacts, cfg.Keys = reg, accounts, codes, auth.OneTimeCodesOf(otps), contacts, km
	g.provider, err = auth.NewProvider(ctx, cfg)
	require.NoError(t, err)
	mux.Handle("/auth/citizen/", http.StripPrefix("/auth/citizen", g.provider.Handler()))
	g.issuer = g.srv.URL + "/auth/citizen" // where this instance's browser posts
	g.accounts = accounts
	return &g
}

// TestParallelWrongPasswordsAreCountedFirst sends twenty wrong passwords
// for one account at once, half to each of two instances sharing the
// database. The attempts are counted before the password is checked, so
// at most the account's limit of them reach the check; the others are
// throttled, and none is a server error.
func TestParallelWrongPasswordsAreCountedFirst(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		instances := []*signinFixture{f, f.instance(t, db)}
		const n = 20
		const limit = 5 // the account rule's limit
		type try struct {
			b  *browser
			tx string
		}
		tries := make([]try, n)
		for i := range tries {
			b := instances[i%2].browser(t)
			p := b.authorize(authorizeParams("low-agency"))
			require.Equal(t, http.StatusOK, p.Status, p.Body)
			tries[i] = try{b, tx(t, p)}
		}
		statuses := make([]int, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, tr := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				statuses[i] = tr.b.post("/login", url.Values{"tx": {tr.tx}, "username": {"maria.p"}, "password": {"a wrong guess"}}).Status
			}()
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		assert.LessOrEqual(t, count[http.StatusUnauthorized], limit, "at most the limit reach the password check: %v", count)
		assert.Positive(t, count[http.StatusUnauthorized], "%v", count)
		assert.Equal(t, n, count[http.StatusUnauthorized]+count[http.StatusTooManyRequests], "only refusals, no errors: %v", count)
		assert.LessOrEqual(t, f.counter.get("authentication:citizen,low-agency,,bad_credentials"), limit)

		// The right password is refused now too, on either instance.
		for _, in := range instances {
			b := in.browser(t)
			id := tx(t, b.authorize(authorizeParams("low-agency")))
			p := b.post("/login", url.Values{"tx": {id}, "username": {"maria.p"}, "password": {"correct horse battery"}})
			assert.Equal(t, http.StatusTooManyRequests, p.Status)
			assert.NotEmpty(t, p.Header.Get("Retry-After"))
		}
	})
}

// TestSignInWhenHashingIsFull takes every password-hashing slot, as a
// burst of sign-ins would: a sign-in then waits its turn, and when none
// frees up in time it is answered "try again" with Retry-After, not a
// server error, and the attempt is not counted against the account.
func TestSignInWhenHashingIsFull(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		f := newSigninFixture(t, db)
		b := f.browser(t)
		id := tx(t, b.authorize(authorizeParams("low-agency")))
		login := func(password string) page {
			return b.post("/login", url.Values{"tx": {id}, "username": {"maria.p"}, "password": {password}})
		}

		release := auth.HoldPasswordSlots(f.accounts)
		p := login("correct horse battery")
		release()
		assert.Equal(t, http.StatusServiceUnavailable, p.Status)
		assert.Equal(t, "5", p.Header.Get("Retry-After"))
		assert.Contains(t, p.Body, "Too many people are signing in right now.")
		assert.Contains(t, p.Body, `name="password"`, "the form, to try again")

		// Four failures and the busy answer would make five, the lock; the
		// busy answer was not counted, so the right password still works.
		for range 4 {
			assert.Equal(t, http.StatusUnauthorized, login("a wrong guess").Status)
		}
		assert.NotEmpty(t, callback(t, login("correct horse battery")).Get("code"))
	})
}

func TestPasswordHashingIsBounded(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
		ctx := t.Context()
		a, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams),
			auth.WithPasswordConcurrency(2, 20*time.Millisecond))
		require.NoError(t, err)
		c, err := a.CreateCitizen(ctx, maria(), "correct horse battery")
		require.NoError(t, err)

		release := auth.HoldPasswordSlots(a)
		for _, pw := range []string{"correct horse battery", "wrong"} {
			_, err = a.CheckCitizenPassword(ctx, "maria.p", pw)
			assert.ErrorIs(t, err, auth.ErrPasswordBusy, "known account")
		}
		_, err = a.CheckCitizenPassword(ctx, "nobody", "wrong")
		assert.ErrorIs(t, err, auth.ErrPasswordBusy, "unknown account: the same answer")
		_, err = a.CreateServant(ctx, auth.Servant{Username: "clerk", GivenName: "Α", FamilyName: "Β"}, "a long password")
		assert.ErrorIs(t, err, auth.ErrPasswordBusy, "new hashes wait their turn too")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = a.CheckCitizenPassword(cctx, "maria.p", "correct horse battery")
		assert.ErrorIs(t, err, context.Canceled)
		release()

		got, err := a.CheckCitizenPassword(ctx, "maria.p", "correct horse battery")
		require.NoError(t, err)
		assert.Equal(t, c.ID, got.ID)

		// Many at once all get through the two slots in turn.
		var wg sync.WaitGroup
		errs := make([]error, 8)
		slow, err := auth.NewAccounts(ctx, db.DB.DB, auth.WithPasswordParams(fastParams),
			auth.WithPasswordConcurrency(2, 10*time.Second))
		require.NoError(t, err)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = slow.CheckCitizenPassword(ctx, "maria.p", "correct horse battery")
			}()
		}
		wg.Wait()
		for _, err := range errs {
			assert.NoError(t, err)
		}
	})
}

func TestDefaultPasswordSlots(t *testing.T) {
	n := auth.DefaultPasswordSlots(auth.DefaultPasswordParams)
	assert.GreaterOrEqual(t, n, 1)
	assert.LessOrEqual(t, n, runtime.GOMAXPROCS(0), "no more than the processors")
	assert.LessOrEqual(t, n, 256/19, "no more than fit in 256 MiB at 19 MiB each")

	// A tight memory limit leaves one slot, never none.
	old := debug.SetMemoryLimit(64 << 20)
	t.Cleanup(func() { debug.SetMemoryLimit(old) })
	assert.Equal(t, 1, auth.DefaultPasswordSlots(auth.DefaultPasswordParams))
	debug.SetMemoryLimit(old)
	assert.Equal(t, n, auth.DefaultPasswordSlots(auth.DefaultPasswordParams))
}

func (c *counter) get(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key]
}
