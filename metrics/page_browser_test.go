package metrics_test

import (
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/egovkit/egovkit/internal/browsertest"
)

// TestStatisticsPageInBrowser loads the statistics page in chromium in each
// of its states, in both languages, as wide as a phone (390 pixels) and as
// a desktop (1280): axe-core finds no WCAG 2.1 AA violation, the charts'
// text included, and the page never scrolls sideways (its wide tables
// scroll inside their own box). The screenshots are kept in
// $EGOVKIT_SCREENSHOT_DIR when that is set.
func TestStatisticsPageInBrowser(t *testing.T) {
	browsertest.Binary(t)
	servers := map[string]*httptest.Server{}
	server := func(st statsState) *httptest.Server {
		if servers[st.name] == nil {
			servers[st.name] = statsServer(t, st)
		}
		return servers[st.name]
	}
	type view struct {
		lang  string
		width int
	}
	all := []view{{"el", 390}, {"en", 390}, {"el", 1280}, {"en", 1280}}
	for _, tt := range []struct {
		name  string
		state statsState
		path  func(lang string) string
		views []view
	}{
		{"empty", stateEmpty, nil, []view{{"el", 390}, {"en", 1280}}},
		{"history", stateHist, nil, all},
		{"history-and-2026", statePartly, nil, all},
		{"bad-period", stateHist, func(lang string) string { return form(lang, "2021-H3", "2020") }, []view{{"el", 390}, {"en", 1280}}},
		{"comparison", statePartly, func(lang string) string { return form(lang, "2026", "2021-h1") }, []view{{"en", 390}, {"el", 1280}}},
	} {
		srv := server(tt.state)
		for _, v := range tt.views {
			path := "/stats/?lang=" + v.lang
			if tt.path != nil {
				path = tt.path(v.lang)
			}
			shot := fmt.Sprintf("metrics-stats-%s-%s-%d", tt.name, v.lang, v.width)
			t.Run(shot, func(t *testing.T) {
				rep := browsertest.AxeAt(t, srv.URL+path, v.width, 900, shot)
				for _, viol := range rep.Violations {
					t.Errorf("%s: %s (%s) at %v", path, viol.Help, viol.ID, viol.Nodes)
				}
				assert.Equal(t, v.width, rep.InnerWidth)
				assert.LessOrEqual(t, rep.ScrollWidth, rep.InnerWidth, "the page scrolls sideways")
				assert.Empty(t, rep.Overflowing, "what sticks out of the window")
				t.Logf("%s: %d rules pass; screenshot %s", path, rep.Passes, rep.Screenshot)
			})
		}
	}
}
