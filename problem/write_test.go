package problem_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egovkit/egovkit/internal/reqid"
	"github.com/egovkit/egovkit/problem"
)

func TestWriteFillsInWhatIsMissing(t *testing.T) {
	r := httptest.NewRequest("GET", "/x", nil)
	r = r.WithContext(reqid.NewContext(r.Context(), "req-9"))
	w := httptest.NewRecorder()
	w.Header().Set("Content-Length", "999")
	problem.Write(w, r, &problem.Problem{Status: http.StatusConflict})
	assert.Equal(t, http.StatusConflict, w.Code)
	assert.Equal(t, problem.ContentType, w.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	assert.Empty(t, w.Header().Get("Content-Length"), "a length set for another body is dropped")
	assert.Empty(t, w.Header().Get("Retry-After"))
	var got map[string]any
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &got))
	assert.Equal(t, map[string]any{"type": "about:blank", "title": "Conflict", "status": 409.0, "instance": "urn:request:req-9"}, got)

	w = httptest.NewRecorder()
	problem.Write(w, nil, &problem.Problem{})
	assert.Equal(t, http.StatusInternalServerError, w.Code, "no status, no request")
	assert.Contains(t, w.Body.String(), `"title":"Internal Server Error"`)
}

func TestWriteKeepsWhatIsGiven(t *testing.T) {
	r := httptest.NewRequest("GET", "/x", nil)
	r = r.WithContext(reqid.NewContext(r.Context(), "req-9"))
	w := httptest.NewRecorder()
	p := problem.New(problem.TypeRateLimited, http.StatusTooManyRequests, "slow down")
	p.Instance = "urn:example:1"
	p.Extensions = map[string]any{"retry_after": 30}
	problem.Write(w, r, p)
	assert.Equal(t, "30", w.Header().Get("Retry-After"))
	assert.JSONEq(t, `{"type":"`+problem.TypeRateLimited+`","title":"Too Many Requests","status":429,"detail":"slow down","instance":"urn:example:1","retry_after":30}`, w.Body.String())
}

func TestWriteAnUnencodableProblemIsA500(t *testing.T) {
	p := problem.New(problem.TypeBadRequest, http.StatusBadRequest, "x")
	p.Extensions = map[string]any{"bad": make(chan int)}
	w := httptest.NewRecorder()
	problem.Write(w, nil, p)
	assert.Equal(t, http.StatusInternalServerError, w.Code)
	assert.JSONEq(t, `{"type":"`+problem.TypeInternal+`","title":"Internal Server Error","status":500}`, w.Body.String())
}

func TestUnavailable(t *testing.T) {
	assert.Equal(t, map[string]any{"retry_after": 5}, problem.Unavailable("down", 5).Extensions)
	p := problem.Unavailable("down", 0)
	assert.Nil(t, p.Extensions, "no Retry-After unless asked")
	assert.Equal(t, http.StatusServiceUnavailable, p.Status)
	assert.Equal(t, problem.TypeUnavailable, p.Type)
}
