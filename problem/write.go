package problem

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/egovkit/egovkit/internal/reqid"
)

// Unavailable is a 503 problem: a dependency, usually the database, cannot
// serve now. When retryAfterSeconds is positive it is kept as the
// "retry_after" member, and [Write] sends it as the Retry-After header too.
func Unavailable(detail string, retryAfterSeconds int) *Problem {
	p := New(TypeUnavailable, http.StatusServiceUnavailable, detail)
	if retryAfterSeconds > 0 {
		p.Extensions = map[string]any{"retry_after": retryAfterSeconds}
	}
	return p
}

// Write writes p as application/problem+json with p.Status (500 when
// zero), filling in what p leaves empty: the title from the status, the
// type "about:blank", and the instance "urn:request:<id>" when r carries a
// request id (the one package middleware's RequestID gives it, which the
// response's X-Request-ID header shows too). A positive int "retry_after"
// extension (seconds; see [Unavailable]) is also sent as Retry-After. r
// may be nil. Write changes p as it fills it in.
func Write(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Status == 0 {
		p.Status = http.StatusInternalServerError
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Instance == "" && r != nil {
		if id := reqid.FromContext(r.Context()); id != "" {
			p.Instance = "urn:request:" + id
		}
	}
	if s, ok := p.Extensions["retry_after"].(int); ok && s > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(s))
	}
	b, err := json.Marshal(p)
	if err != nil {
		b = []byte(`{"type":"` + TypeInternal + `","title":"Internal Server Error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}
