package main

import (
	_ "embed"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/browsertest"
)

//go:embed testdata/friction.js
var frictionScript []byte

// frictionState is one page state the walk recorded.
type frictionState struct {
	Name, URL, H1, Text, Screenshot string
	Width, ScrollWidth, InnerWidth  int
	Violations                      []struct {
		ID, Help string
		Nodes    []string
	}
}

// TestBrowserAuthenticatorAppAndNarrowScreens walks the demo portal in
// chromium: the demo citizen binds an authenticator app from the account
// page (QR code, a wrong first code, the right one), signs in with it in
// a fresh browser without an SMS being sent, and removes it with a code;
// then the home page, the outbox, the declarations, the consents (a
// request waiting for an answer, the form to give one, the access log),
// the demo agency site signed in and the verification page are opened at
// 390 px. No state breaks a WCAG 2.1 AA
// rule, and none scrolls sideways.
func TestBrowserAuthenticatorAppAndNarrowScreens(t *testing.T) {
	browsertest.Binary(t)
	base, _ := startPortal(t, "-demo")
	out := browsertest.Script(t, frictionScript, base)
	var rep struct {
		States        []frictionState
		Errors        []string
		SMSSentForApp int
	}
	require.NoError(t, json.Unmarshal(out, &rep), string(out))
	require.Empty(t, rep.Errors)
	byName := map[string]frictionState{}
	for _, s := range rep.States {
		byName[s.Name] = s
		t.Logf("%-22s %4d px  %s  %s", s.Name, s.Width, s.URL, s.Screenshot)
		for _, v := range s.Violations {
			t.Errorf("%s (%s): %s (%s) at %v", s.Name, s.URL, v.Help, v.ID, v.Nodes)
		}
		assert.LessOrEqual(t, s.ScrollWidth, s.InnerWidth, "%s at %d px scrolls sideways", s.Name, s.Width)
		assert.NotEmpty(t, s.H1, "%s has a heading", s.Name)
		for _, broken := range []string{"Try again later", "Δοκιμάστε ξανά αργότερα"} {
			assert.NotContains(t, s.Text, broken, "%s is not an error page", s.Name)
		}
	}
	for _, name := range []string{"account-signin", "account-code", "account", "bind", "bind-wrong", "bound",
		"app-code", "app-signed-in", "remove", "removed", "home", "outbox", "declarations", "consent", "consent-request", "consent-give", "consent-log", "demo-site", "verify", "verify-malformed"} {
		require.Contains(t, byName, name, "the walk reached %s", name)
	}
	assert.Contains(t, byName["account-signin"].Text, "development outbox", "the sign-in page links the outbox in demo mode")
	assert.Contains(t, byName["account-code"].Text, "development outbox", "so does the code page")
	assert.Contains(t, byName["bind"].Text, "scan this QR code")
	assert.Contains(t, byName["bind-wrong"].Text, "The code is wrong")
	assert.Contains(t, byName["bound"].Text, "The authenticator app is bound")
	assert.Contains(t, byName["app-code"].Text, "authenticator app shows", "the second sign-in asks for the app's code")
	assert.Zero(t, rep.SMSSentForApp, "no SMS is sent to someone who signs in with the app")
	assert.Contains(t, byName["app-signed-in"].Text, "An authenticator app is bound")
	assert.Contains(t, byName["removed"].Text, "has been removed")
	assert.Contains(t, byName["home"].Text, "demo2")
	assert.Contains(t, byName["declarations"].URL, "/declarations/")
	// The phone's pages were last switched to Greek, on the home page.
	assert.Equal(t, "Εξερχόμενα ανάπτυξης", byName["outbox"].H1)
	assert.Contains(t, byName["declaration-draft"].Text, "Το σχέδιό σας αποθηκεύτηκε")
	assert.Contains(t, byName["declarations"].Text, "Υπεύθυνη δήλωση", "the list has the draft, in its table")
	assert.Contains(t, byName["verify-malformed"].Text, "Αυτό δεν είναι κωδικός επαλήθευσης")
	assert.Contains(t, byName["demo-site"].Text, "15/03/1985", "the demo site writes the date of birth as a day")
}
