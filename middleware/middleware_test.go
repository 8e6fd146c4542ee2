package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/egovkit/egovkit/middleware"
	"github.com/egovkit/egovkit/problem"
)

// service is a mux behind the whole chain, as a service mounts it, with a
// handler that panics and one that names a citizen in its path.
func service(t *testing.T, opts ...middleware.Option) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /citizens/{afm}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "ok")
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) { panic("broken handler") })
	page := func(w http.ResponseWriter, r *http.Request, status int) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<p>page %d</p>", status)
	}
	return middleware.Chain(middleware.RequestID, middleware.AccessLog(opts...), middleware.Recover(opts...))(
		middleware.Fallbacks(mux, page))
}

func TestOneRequestIDInTheAnswerTheLogAndTheProblem(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	h := service(t, middleware.WithLogger(zap.New(core)))

	r := httptest.NewRequest("GET", "/citizens/123456783?lang=en&phone=6912345678", nil)
	r.RemoteAddr = "192.0.2.77:40000"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.Code)
	id := w.Header().Get("X-Request-ID")
	assert.Regexp(t, `^[0-9a-z]{16}$`, id, "a request without an id gets one")
	require.Equal(t, 1, logs.Len())
	line := logs.All()[0].ContextMap()
	assert.Equal(t, id, line["request_id"])
	assert.Equal(t, "/citizens/*******83?lang=en&phone=xxx", line["path"], "personal data masked")
	assert.Equal(t, "192.0.2.0", line["client"])

	r = httptest.NewRequest("GET", "/broken", nil)
	r.Header.Set("X-Request-ID", "incident-7")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.Equal(t, problem.ContentType, w.Header().Get("Content-Type"))
	var p problem.Problem
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &p))
	assert.Equal(t, problem.TypeInternal, p.Type)
	assert.Equal(t, "urn:request:incident-7", p.Instance)
	assert.NotContains(t, w.Body.String(), "broken handler", "the panic stays in the log")
	var panicked, logged bool
	for _, e := range logs.All() {
		f := e.ContextMap()
		panicked = panicked || f["panic"] == "broken handler" && f["request_id"] == "incident-7"
		logged = logged || e.Message == "request" && f["status"] == int64(500) && e.Level == zapcore.ErrorLevel
	}
	assert.True(t, panicked, "the panic is logged with the request id")
	assert.True(t, logged, "the access log, outside Recover, logs the 500")
}

func TestFallbacksAnswerBrowsersWithThePage(t *testing.T) {
	h := service(t) // no logger: nothing is written, nothing fails
	for _, c := range []struct {
		method, path, accept string
		status               int
		ctype, allow         string
	}{
		{"GET", "/nowhere", "text/html", http.StatusNotFound, "text/html; charset=utf-8", ""},
		{"DELETE", "/broken", "text/html,application/xhtml+xml", http.StatusMethodNotAllowed, "text/html; charset=utf-8", "GET, HEAD"},
		{"GET", "/nowhere", "application/json", http.StatusNotFound, problem.ContentType, ""},
		{"DELETE", "/broken", "", http.StatusMethodNotAllowed, problem.ContentType, "GET, HEAD"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if c.accept != "" {
			r.Header.Set("Accept", c.accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		assert.Equal(t, c.status, w.Code, "%s %s %s", c.method, c.path, c.accept)
		assert.Equal(t, c.ctype, w.Header().Get("Content-Type"), "%s %s %s", c.method, c.path, c.accept)
		assert.Equal(t, c.allow, w.Header().Get("Allow"), "%s %s %s", c.method, c.path, c.accept)
	}
}

func TestRequestIDRefusesUnsafeIDs(t *testing.T) {
	var seen string
	h := middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = middleware.RequestIDFromContext(r.Context())
	}))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Request-ID", "<script>alert(1)</script>")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Regexp(t, `^[0-9a-z]{16}$`, seen)
	assert.Equal(t, seen, w.Header().Get("X-Request-ID"))
	assert.Empty(t, middleware.RequestIDFromContext(r.Context()), "a request that went through no RequestID has none")
}
