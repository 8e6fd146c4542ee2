package auth_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/auth"
	"github.com/egovkit/egovkit/internal/otp"
	"github.com/egovkit/egovkit/internal/sqlstore/sqltest"
	"github.com/egovkit/egovkit/internal/testclock"
)

// codeScene is one person at the code step, in one browser with as many
// tabs as the scenario opens.
type codeScene struct {
	t     *testing.T
	f     *signinFixture
	b     *browser
	clock *testclock.Clock
	tabs  []string // the sign-in of each tab
	codes []string // every code sent, oldest first
}

// open starts a sign-in in a new tab up to the code step and returns the
// tab's number.
func (s *codeScene) open() int {
	s.t.Helper()
	p := s.b.authorize(authorizeParams("demo-agency"))
	require.Equal(s.t, http.StatusOK, p.Status, p.Body)
	id := tx(s.t, p)
	p = s.b.post("/login", url.Values{"tx": {id}, "username": {"maria.p"}, "password": {"correct horse battery"}})
	require.Equal(s.t, http.StatusOK, p.Status, p.Body)
	require.Contains(s.t, p.Body, `name="code"`, "the code page")
	s.noteSent()
	s.tabs = append(s.tabs, id)
	return len(s.tabs) - 1
}

// noteSent records a code sent since the last look.
func (s *codeScene) noteSent() {
	if len(s.f.outbox.All()) > len(s.codes) {
		s.codes = append(s.codes, s.f.lastCode(s.t))
	}
}

func (s *codeScene) resend(tab int) page {
	s.t.Helper()
	p := s.b.post("/login/resend", url.Values{"tx": {s.tabs[tab]}})
	s.noteSent()
	return p
}

func (s *codeScene) enter(tab int, code string) page {
	s.t.Helper()
	return s.b.post("/login/code", url.Values{"tx": {s.tabs[tab]}, "code": {code}})
}

func (s *codeScene) first() string  { return s.codes[0] }
func (s *codeScene) latest() string { return s.codes[len(s.codes)-1] }

// readable checks that the answer is a page for a person, with this status
// and this text, and never a server error.
func readable(t *testing.T, p page, status int, text string) {
	t.Helper()
	require.NotEqual(t, http.StatusInternalServerError, p.Status, p.Body)
	assert.Equal(t, status, p.Status, p.Body)
	assert.Contains(t, p.Body, text)
}

// signedIn checks that the browser went back to the client with a code
// that gives a substantial ID token for the citizen.
func (s *codeScene) signedIn(p page) {
	s.t.Helper()
	require.NotEqual(s.t, http.StatusInternalServerError, p.Status, p.Body)
	cb := callback(s.t, p)
	tok := s.f.idToken(s.t, s.f.exchange(s.t, "demo-agency", cb.Get("code")).IDToken)
	assert.Equal(s.t, s.f.citizen.ID, tok.Subject())
	assert.Equal(s.t, auth.LoASubstantial, tok.PrivateClaims()["acr"])
}

const (
	textWait     = "You already have a code that works"
	textReplaced = "A newer code has been sent"
	textWrong    = "The code is wrong."
	textDead     = "This code can no longer be used."
	textExpired  = "This sign-in has expired"
)

// TestCodeStepInEveryOrder drives the code page through the orders people
// actually take: asking again, a second tab, the back button, a wrong
// code. None ends in a server error; each ends signed in or on a page that
// says what to do.
func TestCodeStepInEveryOrder(t *testing.T) {
	scenarios := map[string]func(s *codeScene){
		"resend within the cool-down, then the code": func(s *codeScene) {
			tab := s.open()
			s.clock.Advance(10 * time.Second)
			p := s.resend(tab)
			readable(s.t, p, http.StatusTooManyRequests, textWait)
			assert.NotEmpty(s.t, p.Header.Get("Retry-After"))
			assert.Len(s.t, s.codes, 1, "no second code")
			s.signedIn(s.enter(tab, s.first()))
		},
		"resend twice within the cool-down, then the code": func(s *codeScene) {
			tab := s.open()
			readable(s.t, s.resend(tab), http.StatusTooManyRequests, textWait)
			readable(s.t, s.resend(tab), http.StatusTooManyRequests, textWait)
			s.signedIn(s.enter(tab, s.first()))
		},
		"resend after the cool-down, then the new code": func(s *codeScene) {
			tab := s.open()
			s.clock.Advance(otp.DefaultCooldown)
			readable(s.t, s.resend(tab), http.StatusOK, `name="code"`)
			require.Len(s.t, s.codes, 2)
			s.signedIn(s.enter(tab, s.latest()))
		},
		"resend after the cool-down, the old code, then the new": func(s *codeScene) {
			tab := s.open()
			s.clock.Advance(otp.DefaultCooldown)
			s.resend(tab)
			require.Len(s.t, s.codes, 2)
			readable(s.t, s.enter(tab, s.first()), http.StatusUnauthorized, textWrong)
			s.signedIn(s.enter(tab, s.latest()))
		},
		"second tab, then the first tab's code": func(s *codeScene) {
			first := s.open()
			s.clock.Advance(5 * time.Second)
			s.open()
			assert.Len(s.t, s.codes, 1, "the second tab waits for the code already sent")
			s.signedIn(s.enter(first, s.first()))
		},
		"second tab, then the code in the second tab": func(s *codeScene) {
			s.open()
			second := s.open()
			s.signedIn(s.enter(second, s.first()))
		},
		"second tab after the cool-down, the newest code in the first": func(s *codeScene) {
			first := s.open()
			s.clock.Advance(otp.DefaultCooldown)
			s.open()
			require.Len(s.t, s.codes, 2)
			s.signedIn(s.enter(first, s.latest()))
		},
		"second tab after the cool-down, the first tab's own code": func(s *codeScene) {
			first := s.open()
			s.clock.Advance(otp.DefaultCooldown)
			s.open()
			readable(s.t, s.enter(first, s.first()), http.StatusUnauthorized, textReplaced)
			s.signedIn(s.enter(first, s.latest()))
		},
		"second tab used the code, then the first tab": func(s *codeScene) {
			first := s.open()
			second := s.open()
			s.signedIn(s.enter(second, s.first()))
			readable(s.t, s.enter(first, s.first()), http.StatusUnauthorized, textDead)
			// Asking again in the first tab, once the cool-down is over,
			// finishes it.
			readable(s.t, s.resend(first), http.StatusTooManyRequests, "Try again in 1 minute.")
			s.clock.Advance(otp.DefaultCooldown)
			readable(s.t, s.resend(first), http.StatusOK, `name="code"`)
			s.signedIn(s.enter(first, s.latest()))
		},
		"back button re-posts the code after signing in": func(s *codeScene) {
			tab := s.open()
			s.signedIn(s.enter(tab, s.first()))
			readable(s.t, s.enter(tab, s.first()), http.StatusBadRequest, textExpired)
		},
		"back button re-posts the password at the code step": func(s *codeScene) {
			tab := s.open()
			p := s.b.post("/login", url.Values{"tx": {s.tabs[tab]}, "username": {"maria.p"}, "password": {"correct horse battery"}})
			readable(s.t, p, http.StatusOK, `name="code"`)
			assert.Len(s.t, s.codes, 1)
			s.signedIn(s.enter(tab, s.first()))
		},
		"back button re-posts a resend after signing in": func(s *codeScene) {
			tab := s.open()
			s.signedIn(s.enter(tab, s.first()))
			readable(s.t, s.resend(tab), http.StatusBadRequest, textExpired)
		},
		"a wrong code, then the right one": func(s *codeScene) {
			tab := s.open()
			readable(s.t, s.enter(tab, wrongCode(s.first())), http.StatusUnauthorized, textWrong)
			s.signedIn(s.enter(tab, s.first()))
		},
		"a wrong code, a resend within the cool-down, then the right one": func(s *codeScene) {
			tab := s.open()
			readable(s.t, s.enter(tab, wrongCode(s.first())), http.StatusUnauthorized, textWrong)
			readable(s.t, s.resend(tab), http.StatusTooManyRequests, textWait)
			s.signedIn(s.enter(tab, s.first()))
		},
		"the code after it expired, then a new one": func(s *codeScene) {
			tab := s.open()
			s.clock.Advance(otp.DefaultLifetime + time.Second)
			readable(s.t, s.enter(tab, s.first()), http.StatusUnauthorized, textDead)
			readable(s.t, s.resend(tab), http.StatusOK, `name="code"`)
			s.signedIn(s.enter(tab, s.latest()))
		},
	}
	for name, run := range scenarios {
		t.Run(name, func(t *testing.T) {
			sqltest.Run(t, func(t *testing.T, db *sqltest.DB) {
				clock := testclock.New()
				f := newSigninFixture(t, db, func(c *auth.ProviderConfig) { c.Now = clock.Now })
				run(&codeScene{t: t, f: f, b: f.browser(t), clock: clock})
			})
		})
	}
}
