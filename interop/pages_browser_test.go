package interop_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/browsertest"
	"github.com/egovkit/egovkit/interop"
	"github.com/egovkit/egovkit/interop/interoptest"
)

// TestPagesInBrowser loads every page of the operators, and the forms as
// they come back refused, in chromium, in Greek and in English, as wide
// as a phone (390 pixels) and as a desktop (1280): axe-core finds no WCAG
// 2.1 AA violation, the page never scrolls sideways (wide tables scroll in
// their own labelled box), and each links the stylesheet the handler
// serves. The screenshots are kept in $EGOVKIT_SCREENSHOT_DIR when set.
func TestPagesInBrowser(t *testing.T) {
	browsertest.Binary(t)
	ctx := t.Context()
	st := memoryStore(t)
	s := newPagesSite(t, st, "op")
	aud := newPagesSite(t, st, "aud")

	addr := interoptest.Service("address")
	addr.OpenAPI = []byte(`{"openapi": "3.0.3", "info": {"title": "Address", "version": "1"}, "paths": {}}`)
	addr.UpdatedBy = "op-1"
	addr, err := st.CreateService(ctx, addr)
	require.NoError(t, err)
	addr.Title.En = "Residence address of a person"
	addr.UpdatedBy = "op-2"
	addr, err = st.UpdateService(ctx, addr) // revision 2: a form of revision 1 is stale
	require.NoError(t, err)
	benefits := interop.Service{ID: interop.ServiceID{Instance: "GR", Class: "GOV", Member: "DYPA", Subsystem: "BENEFITS-REGISTRY", Service: "unemployment-benefit-decisions"},
		Title:    interop.Text{El: "Αποφάσεις επιδόματος ανεργίας", En: "Unemployment benefit decisions"},
		Upstream: "https://benefits.dypa.example/api/v1", LegalBasis: "Law 4921/2022, article 12", Disabled: true, UpdatedBy: "op-1"}
	_, err = st.CreateService(ctx, benefits)
	require.NoError(t, err)
	athens, err := time.LoadLocation("Europe/Athens")
	require.NoError(t, err)
	var right interop.Right
	for i, r := range []interop.Right{
		{Consumer: interoptest.Consumer("DYPA"), Method: "GET", Path: "/persons/*/address"},
		{Consumer: interop.ClientID{Instance: "GR", Class: "GOV", Member: "EFKA"}, Method: interop.AnyMethod, Path: "/**",
			NotBefore: time.Date(2027, 1, 1, 0, 0, 0, 0, athens), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, athens)},
		{Consumer: interoptest.Consumer("MUNICIPALITY-OF-THESSALONIKI"), Method: "POST", Path: "/persons/search/by-tax-number/**",
			NotAfter: time.Date(2027, 2, 1, 0, 0, 0, 0, athens)},
	} {
		r.Service, r.GrantedBy = addr.ID, "op-1"
		got, err := st.GrantRight(ctx, r)
		require.NoError(t, err)
		if i == 0 {
			right = got
		}
	}

	// Refused forms, posted as a browser would and shown as answered.
	replays := map[string]struct {
		path string
		form url.Values
	}{
		"new-errors": {"/services/new", url.Values{"id": {"GR/GOV/EL AADE/REGISTRY/x"}, "title_en": {"Kept"}, "upstream": {"ftp://x.example"},
			"items": {"Bad Code; text; Β; B\nno parts\n"}, "timeout_ms": {"soon"}}},
		"edit-stale": {svcPath(addr.ID) + "/edit", url.Values{"revision": {"1"}, "title_el": {"Διεύθυνση"}, "title_en": {"Typed meanwhile"},
			"upstream": {"https://registry.aade.example/api"}, "consent_required": {"on"}}},
		"grant-errors": {svcPath(addr.ID) + "/grant", url.Values{"consumer": {"GR GOV"}, "method": {"GET"}, "path": {"/a/**/b"}, "not_before": {"2027-06-01"}, "not_after": {"2027-05-31"}}},
	}
	h := s.srv.Config.Handler
	replay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, pagesAt+"/") {
			h.ServeHTTP(w, r) // the stylesheet and the links
			return
		}
		rp, ok := replays[strings.TrimPrefix(r.URL.Path, "/replay/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		req := httptest.NewRequest(http.MethodPost, pagesAt+rp.path+"?lang="+r.URL.Query().Get("lang"), strings.NewReader(rp.form.Encode()))
		req.Host = r.Host
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("X-Test-Caller", "op")
		h.ServeHTTP(w, req)
	}))
	t.Cleanup(replay.Close)

	type view struct {
		lang  string
		width int
	}
	all := []view{{"el", 390}, {"en", 390}, {"el", 1280}, {"en", 1280}}
	two := []view{{"el", 390}, {"en", 1280}}
	svc := pagesAt + svcPath(addr.ID)
	for _, tt := range []struct {
		name  string
		srv   *httptest.Server
		path  string
		views []view
	}{
		{"list", s.srv, pagesAt + "/", all},
		{"list-search", s.srv, pagesAt + "/?q=address&state=enabled", two},
		{"service", s.srv, svc + "?done=granted", all},
		{"service-auditor", aud.srv, svc, two},
		{"service-disabled", s.srv, pagesAt + svcPath(benefits.ID), two},
		{"new", s.srv, pagesAt + "/services/new", two},
		{"new-errors", replay, "/replay/new-errors", all},
		{"edit", s.srv, svc + "/edit", two},
		{"edit-stale", replay, "/replay/edit-stale", two},
		{"disable", s.srv, svc + "/disable", two},
		{"enable", s.srv, pagesAt + svcPath(benefits.ID) + "/enable", two},
		{"grant", s.srv, svc + "/grant", two},
		{"grant-errors", replay, "/replay/grant-errors", all},
		{"rights", s.srv, pagesAt + "/rights", all},
		{"rights-consumer", s.srv, pagesAt + "/rights?consumer=" + url.QueryEscape("GR/GOV/DYPA/APP"), two},
		{"revoke", s.srv, pagesAt + "/rights/" + right.ID + "/revoke", two},
		{"not-found", s.srv, pagesAt + "/services/GR/GOV/X/Y/nothing", two},
	} {
		if tt.srv != replay && tt.name != "not-found" {
			browsertest.AssertStyled(t, nil, tt.srv.URL, tt.path, pagesAt+"/static/")
		}
		for _, v := range tt.views {
			sep := "?"
			if strings.Contains(tt.path, "?") {
				sep = "&"
			}
			shot := fmt.Sprintf("interop-%s-%s-%d", tt.name, v.lang, v.width)
			t.Run(shot, func(t *testing.T) {
				rep := browsertest.AxeAt(t, tt.srv.URL+tt.path+sep+"lang="+v.lang, v.width, 900, shot)
				for _, viol := range rep.Violations {
					t.Errorf("%s: %s (%s) at %v", tt.path, viol.Help, viol.ID, viol.Nodes)
				}
				assert.Equal(t, v.width, rep.InnerWidth)
				assert.LessOrEqual(t, rep.ScrollWidth, rep.InnerWidth, "the page scrolls sideways")
				assert.Empty(t, rep.Overflowing, "what sticks out of the window")
				t.Logf("%s: %d rules pass; screenshot %s", tt.path, rep.Passes, rep.Screenshot)
			})
		}
	}
}
