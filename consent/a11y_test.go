package consent_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/consent"
	"github.com/egovkit/egovkit/internal/browsertest"
)

// TestPagesAccessible checks every page with axe-core against the WCAG
// 2.1 A and AA rules, in both languages, checks that each links the
// stylesheet the handler serves, and keeps screenshots (in
// $EGOVKIT_SCREENSHOT_DIR when set) at desktop and phone widths.
func TestPagesAccessible(t *testing.T) {
	browsertest.Binary(t)
	ctx := t.Context()
	// The access log shows its exchanges' proofs.
	s := newSiteWith(t, previews{}, "maria", func(c *consent.PagesConfig) { c.Proofs = proofs{} })
	pending := s.request(t, "st")
	d := draft(s.clock)
	d.MaxUses = consent.Unlimited
	r, err := s.svc.Request(ctx, agency, d)
	require.NoError(t, err)
	_, err = s.svc.Approve(ctx, citizen, r.ID, consent.NoticeOf("shown", "el"))
	require.NoError(t, err)
	for i := range 23 {
		q := check()
		q.ExchangeID = []string{"x-ok", "x-new", "x-" + strconv.Itoa(i)}[min(i, 2)]
		_, err := s.svc.Check(ctx, q)
		require.NoError(t, err)
		s.clock.Advance(time.Minute)
	}
	withdrawn, err := s.svc.Give(ctx, citizen, requesters["other"], draft(s.clock), notice)
	require.NoError(t, err)
	_, err = s.svc.Withdraw(ctx, citizen, withdrawn.ID)
	require.NoError(t, err)

	paths := []string{
		"/consent/", "/consent/r/" + pending, "/consent/r/" + r.ID, "/consent/c/" + r.ID, "/consent/c/" + r.ID + "/withdraw",
		"/consent/c/" + withdrawn.ID + "?done=withdrawn", "/consent/log", "/consent/log?page=2&requester=efka", "/consent/give",
	}
	for _, p := range paths {
		browsertest.AssertStyled(t, nil, s.srv.URL, p, "/consent/static/")
	}
	for _, lang := range []string{"el", "en"} {
		for _, p := range paths {
			sep := "?"
			if strings.Contains(p, "?") {
				sep = "&"
			}
			rep := browsertest.AssertAccessible(t, s.srv.URL+p+sep+"lang="+lang)
			t.Logf("%s: %d rules pass", rep.URL, rep.Passes)
		}
	}
	// The error page of a refused request is styled too.
	resp, err := http.Get(s.srv.URL + "/consent/r/nothing")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	shots := map[string]string{
		"consent-request-el":  "/consent/r/" + pending + "?lang=el",
		"consent-receipt-en":  "/consent/c/" + r.ID + "?lang=en",
		"consent-log-el":      "/consent/log?lang=el",
		"consent-home-en":     "/consent/?lang=en",
		"consent-give-el":     "/consent/give?lang=el",
		"consent-withdraw-en": "/consent/c/" + r.ID + "/withdraw?lang=en",
	}
	for name, p := range shots {
		browsertest.Screenshot(t, s.srv.URL+p, name, 1280, 1900)
		browsertest.Screenshot(t, s.srv.URL+p, name+"-mobile", 390, 2600)
	}
}
