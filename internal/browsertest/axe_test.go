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
