package browsertest

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestAxeFindsViolations makes sure the checker checks: a page with an
// unlabelled field and no language is reported.
func TestAxeFindsViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html><head><title>x</title></head><body><main><form><input type="text" name="q"></form></main></body></html>`))
	}))
	defer srv.Close()
	rep := Axe(t, srv.URL)
	var ids []string
	for _, v := range rep.Violations {
		ids = append(ids, v.ID)
	}
	assert.Contains(t, ids, "label")
	assert.Contains(t, ids, "html-has-lang")
}

// TestAxeAtMeasuresSidewaysScrolling checks a page in a phone's window:
// an element wider than the window makes the page scroll sideways and is
// named; the same element in a box that scrolls on its own does not.
func TestAxeAtMeasuresSidewaysScrolling(t *testing.T) {
	pages := map[string]string{
		"/wide":  `<div id="wide" style="width:600px">wide</div>`,
		"/boxed": `<div style="overflow-x:auto"><div id="wide" style="width:600px">wide</div></div>`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<!doctype html><html lang="en"><head><meta name="viewport" content="width=device-width"><title>x</title></head><body><main>` + pages[r.URL.Path] + `</main></body></html>`))
	}))
	defer srv.Close()
	rep := AxeAt(t, srv.URL+"/wide", 390, 600, "")
	assert.Equal(t, 390, rep.InnerWidth)
	assert.Greater(t, rep.ScrollWidth, rep.InnerWidth)
	assert.Contains(t, rep.Overflowing, "div#wide")
	assert.Empty(t, rep.Screenshot)
	rep = AxeAt(t, srv.URL+"/boxed", 390, 600, "boxed")
	assert.LessOrEqual(t, rep.ScrollWidth, rep.InnerWidth)
	assert.Empty(t, rep.Overflowing)
	assert.FileExists(t, rep.Screenshot)
}
